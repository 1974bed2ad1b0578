"""schemathesis against /openapi.json of a live server, with every check it has: it finds nothing.

The command line runs as a user would run it: `--checks all` (server errors,
status codes, content types, response schemas and headers, positive data
accepted, negative data rejected, missing required headers, unsupported
methods and their Allow header, ignored auth, ...), the coverage and fuzzing
phases, a fixed seed. The server guards its run with a control token, so the
bearer scheme is in the schema and the auth checks have something to check;
schemathesis sends the token.

The event stream is left out (it never ends). tests/app/http/schemathesis.toml
counts a 422 as a right answer to schema-valid uploads and inspected names
(a schema cannot say which bytes make a checkpoint, nor which letters the
model knows); every check still runs on them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import make_settings, start_live_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
TOKEN = "schema-test-token"
EXAMPLES = 60  # per operation and phase: about half a minute on one core


@pytest.mark.slow
def test_schemathesis_with_every_check_finds_nothing(tmp_path: Path) -> None:
    live = start_live_server(make_settings(tmp_path / "runs", control_token=TOKEN))
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        "all",
        "--exclude-path",
        "/api/events",
        "--exclude-path",
        "/api/runs/{run_id}/events",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: Bearer {TOKEN}",
    ]
    try:
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    finally:
        live.stop()
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert " passed" in report, report
