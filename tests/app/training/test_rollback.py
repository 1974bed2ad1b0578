"""Divergence: a learning rate far too high puts the run in `diverged`, rolls it back, and says why.

"Last good" is the run at its last evaluation with a sane validation loss, not
the weights of the step before the blow-up: a batch's loss is measured before
its update, so after one SGD step at lr 10 the weights are already saturated
(every sampled character the same, J in the thousands) though that step looked fine.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.inspect.service import InspectionService
from app.inspect.views import J_UNDERFLOW
from app.main import create_app
from app.training.rollback import GOOD_LOSS_RATIO
from rnn_core.checkpoint import load_checkpoint
from rnn_core.config import TrainConfig
from rnn_core.data import bundled_names_path, load_names
from rnn_core.trainer import DivergedError, Trainer

from ..conftest import TINY, make_settings
from ..inspect.test_views import Snap

BLOW_UP = {**TINY, "optimizer": "sgd", "learning_rate": 10, "clip_value": None, "momentum": 0.0}


def wait_for_state(client: TestClient, state: str, timeout: float = 30.0) -> dict:
    """Poll /api/status until the run is in `state`."""
    deadline = time.monotonic() + timeout
    while (status := client.get("/api/status").json())["state"] != state:
        assert time.monotonic() < deadline, f"the run never got to {state}: {status}"
        time.sleep(0.05)
    return status


def assert_weights_are_sane(client: TestClient, status: dict) -> None:
    """Finite sane losses, varied names, a finite gamma trace: not saturated weights."""
    assert status["val_loss"] is not None
    assert status["val_loss"] <= GOOD_LOSS_RATIO * status["uniform_loss"]
    names = client.post("/api/generate", json={"count": 10, "seed": 1}).json()["names"]
    assert len(set("".join(n["name"] for n in names))) > 3, names  # not "ssssss..."
    trace = client.get("/api/inspect", params={"name": "tyrannosaurus"})
    assert trace.status_code == 200, trace.text
    body = trace.json()
    assert body["warning"] is None and body["loss"] is not None
    assert all(j is not None and math.isfinite(j) for j in body["step_loss"])


def test_a_huge_learning_rate_diverges_rolls_back_and_says_what_to_change(client: TestClient) -> None:
    too_big = client.post("/api/train/start", json={**BLOW_UP, "learning_rate": 1e3})
    assert too_big.status_code == 422 and "at most 10" in too_big.json()["detail"]  # the API's max
    assert client.post("/api/train/start", json=BLOW_UP).status_code == 200
    status = wait_for_state(client, "diverged")

    message = status["message"]
    assert "diverged" in message and "rolled back to step 0" in message  # what happened
    assert "learning rate (now 10" in message and "Resume" in message  # what to change
    assert status["step"] == 0 and status["config"]["learning_rate"] == 10
    assert_weights_are_sane(client, status)

    page = client.get("/")
    assert 'data-testid="run-message"' in page.text and "rolled back to step 0" in page.text
    assert load_checkpoint(client.get("/api/checkpoint").content).step == 0  # the server keeps serving

    # One step by hand looks fine (its loss is measured before its update); the next one is not.
    assert client.post("/api/train/step").json()["step"] == 1
    refused = client.post("/api/train/step")
    assert refused.status_code == 409 and "rolled back to step 0" in refused.json()["detail"]
    assert_weights_are_sane(client, client.get("/api/status").json())
    client.patch("/api/train/config", json={"learning_rate": 0.05})
    assert client.post("/api/train/resume").json()["state"] == "running"
    deadline = time.monotonic() + 30
    while (status := client.get("/api/status").json())["step"] < 30:
        assert status["state"] == "running" and time.monotonic() < deadline, status
        time.sleep(0.05)
    client.post("/api/train/pause")


def test_rollback_restores_the_run_of_the_last_sane_evaluation(tmp_path: Path) -> None:
    # Every sane evaluation is kept (no time between captures), so the step rolled back to is exact.
    with TestClient(create_app(make_settings(tmp_path / "runs", rollback_seconds=0.0))) as client:
        _roll_back_to_the_last_sane_evaluation(client)


def _roll_back_to_the_last_sane_evaluation(client: TestClient) -> None:
    client.post("/api/train/start", json={**TINY, "learning_rate": 0.01})
    deadline = time.monotonic() + 30
    while client.get("/api/status").json()["step"] < 3 * TINY["eval_every"] + 5:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    paused = client.post("/api/train/pause").json()
    good_step = paused["step"] - paused["step"] % TINY["eval_every"]
    good = load_checkpoint(client.get("/api/checkpoint").content)

    client.patch("/api/train/config", json={"learning_rate": 10})  # Adam at lr 10 blows up at once
    client.post("/api/train/resume")
    status = wait_for_state(client, "diverged")
    assert status["step"] == good_step and f"rolled back to step {good_step}" in status["message"]
    back = load_checkpoint(client.get("/api/checkpoint").content)
    assert back.history[-1]["step"] == good_step and "val_loss" in back.history[-1]
    assert back.history == [p for p in good.history if p["step"] <= good_step]
    assert back.optimizer_state is not None and back.optimizer_state["step"] == good_step
    assert back.config is not None and back.config.learning_rate == 10  # the user changes it
    assert all(np.isfinite(p).all() for p in back.model.params.values())
    assert_weights_are_sane(client, status)


# ----------------------------------------------- saturated weights in inspect
class Saturated:
    """Weights after one SGD step at lr 10: finite, but y_hat(t)[y(t)] underflows for most names."""

    def __init__(self) -> None:
        config = TrainConfig(**{**TINY, "optimizer": "sgd", "learning_rate": 10.0, "clip_value": None})
        trainer = Trainer(config, load_names(bundled_names_path()))
        trainer.train_step()
        with pytest.raises(DivergedError):
            trainer.train_step()
        self.model, self.vocab = trainer.model.astype("float64"), trainer.vocab

    def snapshot(self) -> Snap:
        return Snap(self.model, self.vocab, 1, 1)


def test_inspect_says_so_when_the_weights_are_saturated() -> None:
    source, service = Saturated(), InspectionService(processes=False)
    html = service.run(service.job(source, "tyrannosaurus", "result")).body
    assert 'data-testid="inspect-warning"' in html and "J(t) is enormous at t = " in html
    assert ">inf<" not in html and ">nan<" not in html
    body = service.run(service.job(source, "tyrannosaurus", "json")).body
    assert "Infinity" not in body and "NaN" not in body  # valid JSON
    data = json.loads(body)
    assert data["warning"].startswith("J(t) is enormous")
    # J is exact in log space, even where y_hat(t)[y(t)] underflows: it matches the model's J.
    ids = source.vocab.encode("tyrannosaurus")
    assert data["loss"] == pytest.approx(source.model.loss([ids]), rel=1e-9)
    assert data["loss"] > J_UNDERFLOW
