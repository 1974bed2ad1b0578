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
    assert differences([{"truncation": None}, {"truncation": 5}]) == ["truncation none", "truncation 5"]


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


def paused_run(client: TestClient, **body: object) -> str:
    response = client.post("/api/runs", json={**TINY, "eval_every": 5, **body})
    assert response.status_code == 201, response.text
    made = response.json()
    paused = client.post(
        f"/api/runs/{made['id']}/train/pause", headers={"Authorization": f"Bearer {made['token']}"}
    )
    assert paused.status_code == 200, paused.text
    return str(made["id"])


def map_values(html: str, run_id: str) -> dict[tuple[int, int], float]:
    figure = re.search(rf'<figure class="compare-map" data-run="{run_id}".*?</figure>', html, re.S)
    assert figure, f"no map for {run_id}"
    cells = re.findall(r'data-t="(\d+)" data-k="(\d+)" data-value="([^"]+)"', figure.group(0))
    return {(int(t), int(k)): float(v) for t, k, v in cells}


def test_one_name_under_each_run_equals_each_runs_own_trace(client: TestClient) -> None:
    a, b = paused_run(client, activation="tanh"), paused_run(client, activation="relu")  # weights stand still
    html = client.get("/compare", params={"runs": f"{a},{b}", "name": "rex"}).text
    assert 'data-testid="compare-inspect"' in html and 'data-name="rex"' in html
    assert html.count('data-testid="compare-gamma-map"') == 2
    spans = set(re.findall(r"one log colour scale \(10<sup>(-?\d+)</sup> to 10<sup>(-?\d+)</sup>\)", html))
    assert len(spans) == 1  # one scale for both maps
    lo, hi = map(int, spans.pop())
    for run_id in (a, b):
        trace = client.get(f"/api/runs/{run_id}/inspect", params={"name": "rex"}).json()
        shown = map_values(html, run_id)
        T = trace["T"]
        assert len(shown) == T * (T + 1) // 2
        for (t, k), value in shown.items():
            want = trace["gamma_norms"][t - 1][k - 1]
            assert math.isclose(value, want, rel_tol=1e-6), (run_id, t, k)
            assert value == 0 or (10.0**lo <= value * (1 + 1e-6) and value <= 10.0**hi * (1 + 1e-6))
        line = re.search(rf'<g class="compare-decay-line" data-run="{run_id}">(.*?)</g>\n', html, re.S)
        assert line, f"no decay line for {run_id}"
        medians = [float(v) for v in re.findall(r'data-value="([^"]+)"', line.group(1))]
        want = [m for m in trace["decay"][0]["median"] if m is not None and m > 0]
        assert medians and all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(medians, want, strict=True))


def test_the_compared_name_is_refused_beside_its_field_and_kept_in_the_address(client: TestClient) -> None:
    a = paused_run(client)
    refused = client.get("/fragments/compare/inspect", params={"runs": f"{a},default", "name": "r3x!"})
    assert refused.status_code == 422 and refused.headers["hx-retarget"] == "#compare-name-error"
    assert "3" in unescape(refused.text) or "!" in unescape(refused.text)
    current = f"http://testserver/compare?runs={a},default&preset=init"
    answer = client.get(
        "/fragments/compare/inspect",
        params={"runs": f"{a},default", "name": "rex"},
        headers={"HX-Current-URL": current},
    )
    assert answer.status_code == 200 and 'data-name="rex"' in answer.text
    assert answer.headers["hx-replace-url"] == f"/compare?runs={a}%2Cdefault&preset=init&name=rex"
    missing = client.get("/fragments/compare/inspect", params={"runs": "nope", "name": "rex"})
    assert missing.status_code == 404
