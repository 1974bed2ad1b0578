"""Servers for tests and benchmarks, always on 127.0.0.1.

`start_live_server(settings)` serves a new app in a thread of this process (a
test can look at its hub and runs while it serves); `start_server_process(...)`
runs `python -m app` as a user does, in a process of its own (for crashes and
for honest throughput figures), and `wait_until_up` waits for it to answer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nobody listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A uvicorn server on 127.0.0.1 in a thread of this process."""

    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Ask uvicorn to stop and wait for it (streams are cut by the short graceful timeout)."""
        self.app.state.hub.close()
        self.server.should_exit = True
        self.thread.join(15)


def start_live_server(settings: Settings, timeout: float = 20.0) -> LiveServer:
    """Serve a new app for `settings` on a free port and return once it has started."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://{HOST}:{port}", app, server, thread)


def start_server_process(
    port: int,
    runs: Path | str,
    train: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    output: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """`python -m app` on 127.0.0.1:`port`, training `train` (TrainConfig fields) from the start."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "BPTT_LAB_HOST": HOST,
        "BPTT_LAB_PORT": str(port),
        "BPTT_LAB_RUNS_DIR": str(runs),
        "BPTT_LAB_AUTOSTART": "true",
        "BPTT_LAB_TRAIN": json.dumps(dict(train)),
        **(env or {}),
    }
    command = [sys.executable, "-m", "app"]
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=output)


def wait_until_up(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 90.0
) -> dict[str, Any]:
    """Poll `url`/api/status until it answers 200; its status. RuntimeError if the process dies."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the server exited with status {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server at {url} did not answer in {timeout:g} s")
            try:
                response = client.get("/api/status")
                if response.status_code == 200:
                    status: dict[str, Any] = response.json()
                    return status
            except httpx.TransportError:
                pass
            time.sleep(0.1)


def wait_training(url: str, timeout: float = 90.0, steps: int = 5) -> dict[str, Any]:
    """Poll `url`/api/status until its run trains and has taken `steps` steps; its status."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < deadline:
            try:
                status: dict[str, Any] = client.get("/api/status").json()
                if status.get("state") == "running" and status.get("step", 0) > steps:
                    return status
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    raise RuntimeError(f"the server at {url} did not start training in {timeout:g} s")
