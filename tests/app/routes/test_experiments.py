"""The experiments' fields through the API and the page: truncation, W_h's norm, the best weights."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from ..conftest import TINY
from .test_fragments import HX, partial, train_form


def wait_state(client: TestClient, state: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (status := client.get("/api/status").json())["state"] != state:
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    return status


def test_a_finished_keep_best_run_holds_its_best_weights_and_says_so(client: TestClient) -> None:
    body = {**TINY, "max_steps": 120, "eval_every": 10, "learning_rate": 0.05, "keep_best": True}
    assert client.post("/api/train/start", json=body).status_code == 200
    status = wait_state(client, "finished")
    assert status["step"] == 120 and status["best_step"] is not None
    assert status["val_loss"] == status["best_val_loss"]  # what it reports is the weights it holds
    history = client.get("/api/runs/default/history").json()["history"]
    vals = [p["val_loss"] for p in history if "val_loss" in p]
    assert min(vals) == status["best_val_loss"]
    if status["holds_best"]:
        assert "holds its best weights" in status["message"]
    missing = [
        p
        for p in history
        if "train_loss" in p and not ("grad_norm" in p and isinstance(p.get("clipped"), bool))
    ]
    assert not missing, missing[:3]
    raised = client.patch("/api/train/config", json={"max_steps": 200})
    assert raised.status_code == 200 and client.get("/api/status").json()["state"] == "paused"


def test_the_train_form_sets_truncation_and_w_hs_norm(client: TestClient) -> None:
    form = train_form(truncation="3", w_h_init_norm="1.5", keep_best="false")
    response = client.post("/fragments/train/start", data=form, headers=HX)
    assert response.status_code == 200, response.text
    config = client.get("/api/status").json()["config"]
    assert (config["truncation"], config["w_h_init_norm"], config["keep_best"]) == (3, 1.5, False)
    page = client.get("/").text
    assert 'data-testid="truncation-input"' in page and 'value="3"' in page
    for bad, field, says in (("0", "truncation", "at least 1"), ("2.5", "truncation", "whole number")):
        refused = client.post("/fragments/train/start", data=train_form(**{field: bad}), headers=HX)
        assert refused.status_code == 422 and says in partial(refused.text, f"#err-train-{field}")
    refused = client.post("/fragments/train/start", data=train_form(w_h_init_norm="-1"), headers=HX)
    assert refused.status_code == 422 and partial(refused.text, "#err-train-w_h_init_norm")
    assert client.get("/api/status").json()["config"]["truncation"] == 3  # the run goes on as it was
    client.post("/api/train/pause")
