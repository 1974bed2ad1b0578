#!/usr/bin/env bash
# Set up (venv, htmx) and run BPTT Lab: it trains on the bundled dinosaur names at once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec .venv/bin/python -m rnn_core train "$@"
