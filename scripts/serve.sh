#!/usr/bin/env bash
# Set up (venv, htmx) and serve BPTT Lab on http://127.0.0.1:8000/ (BPTT_LAB_HOST / BPTT_LAB_PORT);
# with no saved run it starts training on the bundled dinosaur names at once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec .venv/bin/python -m app "$@"
