#!/usr/bin/env bash
# Set up a fresh machine for BPTT Lab: a venv from the lock file, and htmx from npm.
# Idempotent: a second run only checks. The code runs from this folder (no install of
# the project itself). Usage: scripts/setup.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $PY"
    "$PY" -m venv .venv
fi
stamp=.venv/.lock-installed
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
    echo "setup: installing Python packages from requirements.lock"
    # (This machine's pip may warn about missing local package folders: noise, filtered.)
    .venv/bin/python -m pip install --quiet -r requirements.lock 2>&1 \
        | { grep -v "^WARNING: Location .* is ignored" || true; }
    cp requirements.lock "$stamp"
fi

if [ ! -f node_modules/htmx.org/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing htmx from npm (package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/htmx.org/dist/ext/hx-sse.min.js static/vendor/hx-sse.min.js

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
    echo "setup: installing Debian's chromium for the browser tests"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
