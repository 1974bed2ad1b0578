"""Crash and restart: `kill -9` of the real server mid-training, then a restart, loses only seconds.

The server runs as a user runs it (`python -m app`, a process of its own) and
checkpoints every half second. After the kill, what an interrupted save would
leave is planted beside the checkpoint: a torn temporary file, and a whole one
never renamed (holding a later step). The restarted server resumes from the
checkpoint alone: its step, the optimizer's state (Adam's step counter and
moments) and the loss history, and it deletes the leftovers unread.
"""

from __future__ import annotations

import io
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.training.storage import CHECKPOINT_FILE
from harness.servers import free_port, start_server_process, wait_until_up
from rnn_core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

from ..conftest import TINY


@contextmanager
def server(runs: Path, log: Path, autostart: bool) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """`python -m app` on a free port of 127.0.0.1, and a client for it; killed on the way out."""
    port = free_port()
    train = {**TINY, "optimizer": "adam", "learning_rate": 0.01}
    env = {"BPTT_LAB_CHECKPOINT_SECONDS": "0.5", "BPTT_LAB_AUTOSTART": "true" if autostart else "false"}
    with log.open("ab") as out:
        proc = start_server_process(port, runs, train, env=env, output=out)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=30)
    try:
        try:
            wait_until_up(url, proc)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}:\n{log.read_text()}") from None
        yield proc, client
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def saved_checkpoint(path: Path, at_least: int, client: httpx.Client, timeout: float = 60.0) -> Checkpoint:
    """Wait until the checkpoint on disk holds step `at_least` or later, and read it."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get("/api/status").json()
        assert status["state"] == "running", status
        if path.is_file():
            ckpt = load_checkpoint(path)
            if ckpt.step >= at_least:
                return ckpt
        assert time.monotonic() < deadline, f"no checkpoint past step {at_least}: {status}"
        time.sleep(0.1)


def plant_leftovers(folder: Path, ckpt: Checkpoint) -> list[Path]:
    """What a kill during a save leaves: a torn temporary file, and a whole one not yet renamed."""
    whole = io.BytesIO()
    save_checkpoint(whole, ckpt.model, ckpt.vocab, config=ckpt.config, step=ckpt.step + 1000)
    torn, unrenamed = folder / ".checkpoint.npz.kill01.tmp", folder / ".checkpoint.npz.kill02.tmp"
    torn.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    unrenamed.write_bytes(whole.getvalue())
    return [torn, unrenamed]


def assert_same_run(got: Checkpoint, want: Checkpoint) -> None:
    assert got.step == want.step and got.epoch == want.epoch
    assert got.history == want.history
    assert got.optimizer_state is not None and want.optimizer_state is not None
    assert got.optimizer_state["name"] == "adam"
    assert got.optimizer_state["step"] == want.optimizer_state["step"] == want.step  # Adam's t
    for slot, arrays in want.optimizer_state["slots"].items():
        for name, array in arrays.items():
            np.testing.assert_array_equal(got.optimizer_state["slots"][slot][name], array, err_msg=slot)
    for name, array in want.model.params.items():
        np.testing.assert_array_equal(got.model.params[name], array, err_msg=name)
    assert got.rng_state == want.rng_state


@pytest.mark.slow
def test_kill_9_then_restart_resumes_from_the_last_checkpoint(tmp_path: Path) -> None:
    runs, log = tmp_path / "runs", tmp_path / "server.log"
    folder = runs / "default"
    with server(runs, log, autostart=True) as (proc, client):
        ckpt_seen = saved_checkpoint(folder / CHECKPOINT_FILE, 3 * TINY["eval_every"], client)
        deadline = time.monotonic() + 10  # the status follows the worker's progress events, ~0.1 s behind
        while client.get("/api/status").json()["step"] < ckpt_seen.step:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # kill -9: no shutdown, no last save
        assert proc.wait(30) == -signal.SIGKILL

    last = load_checkpoint(folder / CHECKPOINT_FILE)  # the last save that completed
    assert last.step >= ckpt_seen.step
    leftovers = plant_leftovers(folder, last)

    with server(runs, log, autostart=False) as (proc, client):
        status = client.get("/api/status").json()
        assert status["state"] == "paused" and status["step"] == last.step, status
        assert status["val_loss"] == next(p["val_loss"] for p in reversed(last.history) if "val_loss" in p)
        assert_same_run(load_checkpoint(client.get("/api/checkpoint").content), last)
        assert not any(p.exists() for p in leftovers), "an interrupted save's file was kept"

        assert client.post("/api/train/resume").json()["state"] == "running"  # and it trains on
        deadline = time.monotonic() + 60
        while (step := client.get("/api/status").json()["step"]) < last.step + 50:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)  # a graceful stop saves the run
        assert proc.wait(60) in (0, -signal.SIGTERM), log.read_text()  # uvicorn re-raises SIGTERM
    assert load_checkpoint(folder / CHECKPOINT_FILE).step >= step
    text = log.read_text()
    assert text.count("Application shutdown complete") == 1, text  # the killed one never got there
    assert "removed .checkpoint.npz.kill01.tmp" in text and "beyond loopback" not in text


def test_an_unreadable_checkpoint_is_set_aside_not_overwritten(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    from ..conftest import make_settings

    folder = tmp_path / "runs" / "default"
    folder.mkdir(parents=True)
    torn = b"PK\x03\x04 a checkpoint torn by a disk that failed"
    (folder / CHECKPOINT_FILE).write_bytes(torn)
    with TestClient(create_app(make_settings(tmp_path / "runs"))) as client:
        status = client.get("/api/status").json()
        assert status["state"] == "idle" and status["step"] == 0
        assert "could not be read" in status["message"]
        client.post("/api/train/step")
        client.post("/api/train/step")  # a save now writes a new checkpoint.npz ...
    kept = list(folder.glob("checkpoint-unreadable-*.npz"))
    assert len(kept) == 1 and kept[0].read_bytes() == torn  # ... and the old file is still there
    assert load_checkpoint(folder / CHECKPOINT_FILE).step == 2


def test_a_restart_finds_the_data_set_its_checkpoint_was_trained_on(tmp_path: Path) -> None:
    """A kill between writing the checkpoint and run.json leaves run.json naming the old data set."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.training.storage import RUN_FILE

    from ..conftest import make_settings

    settings, folder = make_settings(tmp_path / "runs"), tmp_path / "runs" / "default"
    with TestClient(create_app(settings)) as client:
        client.post("/api/train/reset")  # a bundled run, saved with its run.json
        bundled_info = (folder / RUN_FILE).read_bytes()
        client.post("/api/dataset", files={"file": ("few.txt", b"abba\nbaab\ncab\n", "text/plain")})
        client.post("/api/train/start", json={**TINY, "dataset": "uploaded"})
        client.post("/api/train/pause")  # saves the uploaded run and its run.json
        uploaded_step = client.get("/api/status").json()["step"]
        uploaded_info = (folder / RUN_FILE).read_bytes()

    (folder / RUN_FILE).write_bytes(bundled_info)  # run.json one save behind
    with TestClient(create_app(settings)) as client:
        status = client.get("/api/status").json()
        assert status["step"] == uploaded_step and status["dataset"]["source"] == "uploaded"
        assert status["dataset"]["vocab_size"] == 4
        client.post("/api/train/start", json=TINY)  # back to the bundled names (V = 27) ...
        client.post("/api/train/pause")

    (folder / RUN_FILE).write_bytes(uploaded_info)  # ... whose 27 letters fit the 3-letter names too
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/status").json()["dataset"]["source"] == "bundled"  # the fingerprint says
