"""The local pool with real worker processes: a worker killed with -9 loses no run."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.training.storage import CHECKPOINT_FILE
from rnn_core.checkpoint import load_checkpoint

from ..conftest import make_settings


def wait_for(check, timeout: float = 30.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_no_training_step_runs_in_the_web_process(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "runs", autostart=True))) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        wait_for(lambda: client.get("/api/status").json()["step"] > 20, what="training")
        pids = {c.process.pid for c in service.executor.clients}
        assert os.getpid() not in pids and all(pids)
        run = service.get()
        assert not hasattr(run, "trainer")  # the web process holds a proxy, never a trainer


@pytest.mark.parametrize("host", ["local", "ray"])
def test_a_killed_worker_is_replaced_and_its_run_resumes_from_its_checkpoint(
    tmp_path: Path, host: str, request: pytest.FixtureRequest
) -> None:
    settings = make_settings(tmp_path / "runs", autostart=True, checkpoint_seconds=0.5)
    # The local case kills a worker of a pool of its own; the Ray case an actor of the session's Ray.
    executor = None if host == "local" else request.getfixturevalue("ray_pool")
    with TestClient(create_app(settings, executor=executor)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        path = tmp_path / "runs" / "default" / CHECKPOINT_FILE
        wait_for(lambda: path.is_file() and load_checkpoint(path.read_bytes()).step > 50, what="a checkpoint")
        os.kill(service.executor.holder(service.get().key).pid(), signal.SIGKILL)
        saved = load_checkpoint(path.read_bytes()).step

        def back() -> bool:
            status = client.get("/api/status").json()
            return status["state"] == "running" and "Recovered from step" in (status["message"] or "")

        wait_for(back, timeout=90.0, what="the run to come back")  # a new worker process starts first
        status = client.get("/api/status").json()
        recovered_from = int(
            re.search(r"Recovered from step ([\d,]+)", status["message"])[1].replace(",", "")
        )
        assert recovered_from >= saved and status["step"] >= recovered_from
        wait_for(lambda: client.get("/api/status").json()["step"] > status["step"] + 20, what="training on")
        if host == "local":
            assert all(c.process.is_alive() for c in service.executor.clients)
        assert client.post("/api/generate", json={"count": 3}).status_code == 200
