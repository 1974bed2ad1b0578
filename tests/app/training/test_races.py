"""Races: start, reset, checkpoint and data set uploads and learning-rate changes, all at once.

Eight threads fire a seeded mix of every action that changes the run (and the
readers beside them) at a live server that is training. No answer may be a
5xx; afterwards the run must be whole: a valid state, weights whose shapes fit
its vocabulary and configuration, a data set its vocabulary spells, every
route working, a checkpoint on disk that loads and resumes, and a step that
only goes up while it trains.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.training.states import RunState
from app.training.storage import CHECKPOINT_FILE
from rnn_core.checkpoint import load_checkpoint

from ..conftest import TINY, LiveServer, make_settings, start_live_server

FEW = b"abba\nbaab\ncab\nabc\nbac\ncabba\nacca\n"  # a data set of three letters: V = 4
THREADS, ACTIONS = 8, 30
OK = {200, 409, 422}  # done, not in this state, refused (a checkpoint of the other data set)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(make_settings(tmp_path / "runs", autostart=True))
    yield live
    live.stop()


def checkpoints(client: httpx.Client) -> list[bytes]:
    """Checkpoints of two runs: the bundled names, and the three-letter names."""
    bundled = client.get("/api/checkpoint").content
    client.post("/api/dataset", files={"file": ("few.txt", FEW, "text/plain")})
    client.post("/api/train/start", json={**TINY, "hidden_size": 8, "dataset": "uploaded"})
    few = client.get("/api/checkpoint").content
    client.post("/api/train/start", json=TINY)
    return [bundled, few]


def actions(ckpts: list[bytes]) -> list[Callable[[httpx.Client, random.Random], httpx.Response]]:
    """Everything that changes the run, and the readers, as (client, rng) -> response."""

    def start(c: httpx.Client, rng: random.Random) -> httpx.Response:
        config = {**TINY, "hidden_size": rng.choice([8, 12, 16]), "seed": rng.randrange(100)}
        return c.post("/api/train/start", json={**config, "dataset": rng.choice(["bundled", "uploaded"])})

    def upload_checkpoint(c: httpx.Client, rng: random.Random) -> httpx.Response:
        data = rng.choice(ckpts)
        return c.post("/api/checkpoint", files={"file": ("run.npz", data, "application/octet-stream")})

    def upload_names(c: httpx.Client, rng: random.Random) -> httpx.Response:
        names = FEW if rng.random() < 0.5 else FEW + b"abcab\n"
        return c.post("/api/dataset", files={"file": ("few.txt", names, "text/plain")})

    return [
        start,
        lambda c, rng: c.post("/api/train/reset"),
        upload_checkpoint,
        upload_names,
        lambda c, rng: c.patch("/api/train/config", json={"learning_rate": rng.choice([0.003, 0.01, 0.03])}),
        lambda c, rng: c.post(rng.choice(["/api/train/pause", "/api/train/resume", "/api/train/step"])),
        lambda c, rng: c.post("/api/generate", json={"count": 3, "prefix": "ab"}),
        lambda c, rng: c.get("/api/inspect", params={"name": "cab"}),
        lambda c, rng: c.get("/api/status"),
        lambda c, rng: c.get("/api/checkpoint"),
    ]


def storm(url: str, todo: list[Callable], seed: int) -> Counter[int]:
    """One thread's share: ACTIONS actions drawn with its own seed; the status codes it got."""
    rng, codes = random.Random(seed), Counter[int]()
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(ACTIONS):
            response = rng.choice(todo)(client, rng)
            codes[response.status_code] += 1
            assert response.status_code in OK, f"{response.request.url}: {response.text}"
            if response.request.url.path == "/api/status":
                assert response.json()["state"] in set(RunState)
    return codes


def assert_whole(client: httpx.Client, server: LiveServer) -> dict:
    """The run fits together, inside and out."""
    status = client.get("/api/status").json()
    assert status["state"] in set(RunState)
    run = server.app.state.service.get()
    snap, dataset = run.snapshot(), run.dataset
    D, V = snap.config.hidden_size, snap.vocab.size
    shapes = {name: p.shape for name, p in snap.model.params.items()}
    assert shapes == {"W_h": (D, D), "W_x": (D, V), "b1": (D,), "U": (V, D), "b2": (V,)}
    assert snap.model.hidden_size == D and snap.model.vocab_size == V
    assert set("".join(dataset.names)) <= set(snap.vocab.chars)  # its vocabulary spells the data
    assert all(np.isfinite(p).all() for p in snap.model.params.values())
    ckpt = load_checkpoint(client.get("/api/checkpoint").content)
    assert ckpt.model.hidden_size == status["config"]["hidden_size"] == D
    assert ckpt.vocab.size == V
    assert ckpt.step == status["step"] or status["state"] == "running"
    assert client.post("/api/generate", json={"count": 3}).status_code == 200
    assert client.get("/api/inspect", params={"name": "cab"}).status_code == 200
    return status


@pytest.mark.slow
def test_concurrent_changes_never_corrupt_the_run(server: LiveServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        todo = actions(checkpoints(client))
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(lambda seed: storm(server.url, todo, seed), range(THREADS)))
        codes = sum(results, Counter[int]())
        assert codes[200] > THREADS * ACTIONS // 2, codes

        assert_whole(client, server)
        client.post("/api/train/resume")  # (409 if it is running already)
        steps, deadline = [], time.monotonic() + 30
        while len(steps) < 20 or steps[-1] == steps[0]:
            status = client.get("/api/status").json()
            assert status["state"] == "running" and time.monotonic() < deadline, status
            steps.append(status["step"])
            time.sleep(0.02)
        assert steps == sorted(steps), steps  # the step only goes up while it trains
        paused = client.post("/api/train/pause").json()  # pausing saves
        assert_whole(client, server)

    on_disk = load_checkpoint(tmp_path / "runs" / "default" / CHECKPOINT_FILE)
    assert on_disk.step == paused["step"]
    server.stop()
    with TestClient(create_app(make_settings(tmp_path / "runs"))) as restarted:
        status = restarted.get("/api/status").json()
        assert (status["step"], status["config"]) == (paused["step"], paused["config"])
        assert status["dataset"] == paused["dataset"]
        assert restarted.post("/api/train/step").json()["step"] == paused["step"] + 1
