#!/usr/bin/env bash
# Set up (venv, htmx, Debian chromium) and run every test: lint, types (mypy), then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k gradcheck
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
mkdir -p test-results
exec .venv/bin/python -m pytest "$@"
