"""Runs compared (app/routes/compare.py, app/web/compare.py): the page, its numbers, its refusals."""

from __future__ import annotations

import math
import re
import time
from html import unescape

from fastapi.testclient import TestClient

from app.web.compare import best_point, differences

from ..conftest import TINY


def new_run(client: TestClient, **body: object) -> str:
    response = client.post("/api/runs", json={**TINY, "eval_every": 5, **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def wait_for_validation(client: TestClient, run_id: str, points: int = 3) -> None:
    deadline = time.monotonic() + 30
    while sum("val_loss" in p for p in client.get(f"/api/runs/{run_id}/history").json()["history"]) < points:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-run="([^"]+)">(.*?)</tr>', html, re.S))


def test_the_legend_names_only_what_differs() -> None:
    configs = [
        {"activation": "tanh", "hidden_size": 16, "seed": 0},
        {"activation": "relu", "hidden_size": 16, "seed": 0},
        {"activation": "relu", "hidden_size": 64, "seed": 0},
    ]
    assert differences(configs) == [
        "activation tanh, hidden size 16",
        "activation relu, hidden size 16",
        "activation relu, hidden size 64",
    ]
    assert differences([{"seed": 1}, {"seed": 1}]) == ["", ""]


def test_the_best_point_is_the_lowest_validation_loss() -> None:
    history = [{"step": 1, "val_loss": 3.0}, {"step": 2, "train_loss": 1.0}, {"step": 5, "val_loss": 2.5}]
    history += [{"step": 9, "val_loss": 2.7}, {"step": 12, "val_loss": math.nan}]
    assert best_point(history) == (5.0, 2.5)
    assert best_point([{"step": 1, "train_loss": 2.0}]) is None


def test_two_runs_side_by_side_with_the_numbers_of_their_histories(client: TestClient) -> None:
    a, b = new_run(client, activation="tanh"), new_run(client, activation="relu")
    for run_id in (a, b):
        wait_for_validation(client, run_id)
    html = client.get("/compare", params={"runs": f"{a},{b}"}).text
    assert 'data-testid="compare-chart"' in html
    found = rows(html)
    assert set(found) == {a, b}
    assert "activation tanh" in found[a] and "activation relu" in found[b]
    assert "hidden size" not in found[a]  # the same in both: not in the legend
    for run_id in (a, b):
        history = client.get(f"/api/runs/{run_id}/history").json()["history"]
        shown = float(re.search(r'data-testid="compare-best" data-value="([^"]+)"', found[run_id]).group(1))
        vals = [p["val_loss"] for p in history if "val_loss" in p]
        assert min(vals) <= shown  # the page read the history a moment ago: never lower than it
        assert shown in vals
    ticked = client.get("/compare", params=[("runs", a), ("runs", b)])  # as /runs's ticks send them
    assert set(rows(ticked.text)) == {a, b}


def test_an_address_that_names_too_many_or_missing_runs_says_so(client: TestClient) -> None:
    missing = client.get("/compare", params={"runs": "default,nope"})
    assert missing.status_code == 404 and "no run 'nope'" in unescape(missing.text)
    many = client.get("/compare", params={"runs": "a,b,c,d,e"})
    assert many.status_code == 422 and "at most 4" in many.text
    none = client.get("/compare")
    assert none.status_code == 422 and 'data-testid="compare-problem"' in none.text
    stream = client.get("/fragments/compare/stream", params={"runs": "nope"})
    assert stream.status_code == 404
