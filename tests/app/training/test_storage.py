"""Storage faults: a runs folder that is read-only or full warns, trains on in memory, damages nothing.

Tests run as root here, where chmod does not stop writes, so the faults are
simulated where the writes happen: the disk fills up in the middle of a save
(the real atomic writer's fsync raises ENOSPC), or every write is refused
(EACCES, EROFS). Where the tests do not run as root, a real chmod 0o555 is
tried as well.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import app.training.storage
import rnn_core.fileio
from app.main import create_app
from app.training.storage import CHECKPOINT_FILE
from rnn_core.checkpoint import load_checkpoint

from ..conftest import make_settings


def fail_with(code: int) -> Callable[..., None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    return refuse


def disk_full_mid_write(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The temporary file is written, then fsync finds the disk full (the real atomic writer runs)."""
    monkeypatch.setattr(rnn_core.fileio.os, "fsync", fail_with(errno.ENOSPC))


def read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Every write into the folder is refused."""
    monkeypatch.setattr(app.training.storage, "atomic_write_bytes", fail_with(errno.EACCES))


def read_only_file_system(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setattr(app.training.storage, "atomic_write_bytes", fail_with(errno.EROFS))


def chmod_read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """A real read-only folder (only meaningful when not root)."""
    folder.chmod(0o555)


FAULTS = [
    pytest.param(disk_full_mid_write, "the disk is full", id="disk-full"),
    pytest.param(read_only, "read-only", id="read-only"),
    pytest.param(read_only_file_system, "read-only", id="read-only-fs"),
    pytest.param(
        chmod_read_only,
        "read-only",
        id="chmod-0o555",
        marks=pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0o555 folder"),
    ),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An app that also tries a periodic save every half second."""
    with TestClient(create_app(make_settings(tmp_path / "runs", checkpoint_seconds=0.5))) as c:
        yield c


def steps_past(client: TestClient, step: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (status := client.get("/api/status").json())["step"] <= step:
        assert time.monotonic() < deadline, f"training stopped at {status['step']}: {status}"
        time.sleep(0.05)
    return status


@pytest.mark.parametrize(("fault", "reason"), FAULTS)
def test_a_folder_that_cannot_be_written_warns_trains_on_and_keeps_the_old_checkpoint(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Callable, reason: str
) -> None:
    folder = tmp_path / "runs" / "default"
    client.post("/api/train/resume")
    steps_past(client, 10)
    saved_step = client.post("/api/train/pause").json()["step"]  # pausing saves
    before = (folder / CHECKPOINT_FILE).read_bytes()
    assert load_checkpoint(before).step == saved_step

    fault(monkeypatch, folder)
    try:
        client.post("/api/train/resume")
        steps_past(client, saved_step + 20)
        time.sleep(0.6)  # a periodic save is due, and fails
        status = client.post("/api/train/pause").json()  # so does the save of a pause
        warning = status["storage_warning"]
        assert warning and "cannot be saved" in warning and reason in warning, warning
        assert "Training goes on in memory" in warning
        assert 'data-testid="storage-warning"' in client.get("/").text
        assert status["state"] == "paused" and status["step"] > saved_step + 20

        client.post("/api/train/resume")  # training goes on, in memory
        status = steps_past(client, status["step"] + 20)
        assert status["storage_warning"] == warning
        assert (folder / CHECKPOINT_FILE).read_bytes() == before  # byte for byte
        assert not list(folder.glob(".*.tmp")), "a failed save left a temporary file"
        assert client.post("/api/generate", json={"count": 2}).status_code == 200
        assert load_checkpoint(client.get("/api/checkpoint").content).step >= status["step"]
    finally:
        folder.chmod(0o755)
        monkeypatch.undo()

    recovered = client.post("/api/train/pause").json()  # the folder is writable again
    assert recovered["storage_warning"] is None
    assert load_checkpoint(folder / CHECKPOINT_FILE).step == recovered["step"]


def test_a_full_disk_while_uploading_names_keeps_them_in_memory(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rnn_core.fileio.os, "fsync", fail_with(errno.ENOSPC))
    files = {"file": ("few.txt", b"alpha\nbeta\ngamma\n", "text/plain")}
    assert client.post("/api/dataset", files=files).status_code == 200
    started = client.post("/api/train/start", json={"dataset": "uploaded", "hidden_size": 8})
    assert started.json()["dataset"]["names"] == 3
    client.post("/api/train/pause")


def test_an_older_snapshot_never_overwrites_a_newer_checkpoint(tmp_path: Path) -> None:
    """A save taken before a reset but written after it is dropped: the disk keeps the newer run."""
    folder = app.training.storage.RunFolder(tmp_path)
    assert folder.write(b"run after reset", {"v": 2}, version=7)
    assert not folder.write(b"run before reset", {"v": 1}, version=5)
    assert folder.checkpoint.read_bytes() == b"run after reset"
    assert folder.write(b"later still", {"v": 2}, version=7)  # the same version may be rewritten
    assert folder.checkpoint.read_bytes() == b"later still"
