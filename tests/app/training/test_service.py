"""The training service and its run (app/training/), and the settings that shape them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.deps import get_run
from app.main import create_app
from app.settings import Settings, get_settings
from app.training.proxy import RunProxy
from app.training.storage import CHECKPOINT_FILE
from rnn_core.checkpoint import load_checkpoint

from ..conftest import TINY, make_settings


def run_of(client: TestClient) -> RunProxy:
    return client.app.state.service.get()  # type: ignore[attr-defined]


def test_a_restart_resumes_the_saved_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "runs")
    with TestClient(create_app(settings)) as client:
        for _ in range(7):
            client.post("/api/train/step")
        client.post("/api/train/resume")
        client.post("/api/train/pause")  # pausing saves
        saved = client.get("/api/status").json()
        weights = run_of(client).snapshot().model.W_h.copy()
        history = len(run_of(client).history())
    assert (tmp_path / "runs" / "default" / CHECKPOINT_FILE).is_file()

    with TestClient(create_app(settings)) as client:
        resumed = client.get("/api/status").json()
        assert resumed["state"] == "paused" and resumed["step"] == saved["step"]
        np.testing.assert_array_equal(run_of(client).snapshot().model.W_h, weights)
        assert len(run_of(client).history()) == history

    autostart = make_settings(tmp_path / "runs", autostart=True)
    with TestClient(create_app(autostart)) as client:
        assert client.get("/api/status").json()["state"] == "running"  # resumes and trains
        client.post("/api/train/pause")


def test_a_torn_checkpoint_is_ignored_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "default"
    folder.mkdir(parents=True)
    (folder / CHECKPOINT_FILE).write_bytes(b"PK\x03\x04 torn by a kill")
    with TestClient(create_app(make_settings(tmp_path / "runs"))) as client:
        status = client.get("/api/status").json()
        assert status["state"] == "idle" and status["step"] == 0


def test_divergence_keeps_the_last_good_weights_and_says_what_to_do(client: TestClient) -> None:
    client.post(
        "/api/train/start", json={**TINY, "optimizer": "sgd", "learning_rate": 10, "clip_value": None}
    )
    deadline = time.monotonic() + 20
    while (status := client.get("/api/status").json())["state"] != "diverged":
        assert time.monotonic() < deadline, "a learning rate of 10 with SGD did not diverge"
        time.sleep(0.05)
    assert "learning rate" in status["message"] and "Resume" in status["message"]
    params = run_of(client).snapshot().model.params
    assert all(np.isfinite(p).all() for p in params.values())
    assert client.get("/api/status").status_code == 200  # the server keeps serving
    assert client.post("/api/generate", json={"count": 2}).status_code == 200
    client.patch("/api/train/config", json={"learning_rate": 0.01})
    assert client.post("/api/train/resume").json()["state"] == "running"
    client.post("/api/train/pause")


def test_a_runs_folder_that_cannot_be_written_warns_and_training_goes_on(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "default").write_text("a file where the run's folder should be")  # even root fails
    with TestClient(create_app(make_settings(runs))) as client:
        client.post("/api/train/step")
        client.post("/api/train/resume")
        client.post("/api/train/pause")  # pausing tries to save
        status = client.get("/api/status").json()
        assert status["storage_warning"] and "cannot be saved" in status["storage_warning"]
        assert status["step"] > 1 and status["state"] == "paused"
        assert 'data-testid="storage-warning"' in client.get("/").text


def test_snapshots_are_copies_reused_until_the_weights_move(client: TestClient) -> None:
    run = run_of(client)
    first = run.snapshot()
    assert run.snapshot() is first
    first.model.W_h[...] = 0.0  # a copy: the run's own weights do not move with it
    saved = load_checkpoint(client.get("/api/checkpoint").content)
    assert np.abs(saved.model.W_h).max() > 0
    client.post("/api/train/step")
    second = run.snapshot()
    assert second is not first and second.step == first.step + 1


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BPTT_LAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("BPTT_LAB_AUTOSTART", "false")
    monkeypatch.setenv("BPTT_LAB_CHECKPOINT_SECONDS", "12")
    monkeypatch.setenv("BPTT_LAB_TRAIN", '{"hidden_size": 8}')
    settings = Settings()
    assert settings.runs_dir == tmp_path and settings.autostart is False
    assert settings.checkpoint_seconds == 12 and settings.train == {"hidden_size": 8}
    get_settings.cache_clear()
    try:
        assert get_settings().runs_dir == tmp_path
    finally:
        get_settings.cache_clear()


def test_dependencies_can_be_swapped_in_tests(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "runs"))
    with TestClient(app) as client:
        real = run_of(client)

        class Stub:
            def status(self) -> dict:
                return {**real.status(), "step": 4242}

        app.dependency_overrides[get_run] = Stub
        assert client.get("/api/status").json()["step"] == 4242
        app.dependency_overrides.pop(get_run)
        assert client.get("/api/status").json()["step"] == 0


def test_the_worker_answers_quickly_while_the_run_trains(client: TestClient) -> None:
    client.post("/api/train/start", json={**TINY, "hidden_size": 64, "batch_size": 64})
    run = run_of(client)
    waits = []
    for _ in range(20):
        start = time.perf_counter()
        assert run.executor.call(run.key, "status")["state"] == "running"
        waits.append(time.perf_counter() - start)
        time.sleep(0.005)
    client.post("/api/train/pause")
    assert max(waits) < 0.25, waits  # within a slice of stepping, never a long queue
