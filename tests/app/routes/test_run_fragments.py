"""The page's fragments about runs (app/routes/run_fragments.py): New run, forks, My runs, visitors."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.training.pool import LocalPool
from app.training.presets import PRESETS
from rnn_core.config import TrainConfig

from ..conftest import make_settings
from .test_fragments import HX, partial, train_form

TEACHER = "teacher-token-for-tests"


@pytest.fixture
def teacher_client(tmp_path: Path, local_pool: LocalPool) -> Iterator[TestClient]:
    """The app with a control token set: the teacher's routes are open to that token only."""
    settings = make_settings(tmp_path / "runs", control_token=TEACHER)
    with TestClient(create_app(settings, executor=local_pool)) as test_client:
        yield test_client


def made_run(client: TestClient, **fields: str) -> tuple[str, str]:
    """(id, token) of a run made with the page's New run."""
    response = client.post("/fragments/runs/new", data=train_form(**fields), headers=HX)
    assert response.status_code == 200, response.text
    found = re.search(r'data-new-run="([^"]+)" data-token="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1), found.group(2)


def my_run_ids(client: TestClient) -> list[str]:
    return re.findall(r'data-run-id="([^"]+)"', client.get("/fragments/runs/mine").text)


def test_a_new_run_is_labelled_and_listed_under_my_runs(client: TestClient) -> None:
    assert my_run_ids(client) == []
    run_id, _ = made_run(client, label="tanh, please", activation="tanh")
    assert my_run_ids(client) == [run_id]
    assert "tanh, please" in client.get("/fragments/runs/mine").text
    status = client.get(f"/api/runs/{run_id}/status").json()
    assert status["config"]["activation"] == "tanh" and status["state"] == "running"
    page = client.get("/").text  # the page lists it too, for this browser (its cookie) only
    assert f'data-run-id="{run_id}"' in page
    other = TestClient(client.app)  # another browser: no cookie, none of my runs
    assert f'data-run-id="{run_id}"' not in other.get("/").text


def test_a_bad_label_is_refused_beside_the_label_and_makes_no_run(client: TestClient) -> None:
    response = client.post("/fragments/runs/new", data=train_form(label="tab\there"), headers=HX)
    assert response.status_code == 422
    assert "control characters" in partial(response.text, "#err-newrun-label")
    assert my_run_ids(client) == []


def test_a_fork_goes_on_from_the_runs_weights_with_the_forms_changes(client: TestClient) -> None:
    for _ in range(3):
        client.post("/fragments/train/step", headers=HX)
    run_id, _ = made_run(client, fork="default", activation="tanh", label="tanh fork")
    status = client.get(f"/api/runs/{run_id}/status").json()
    assert status["step"] >= 3 and status["config"]["activation"] == "tanh"
    refused = client.post(
        "/fragments/runs/new", data=train_form(fork="default", hidden_size="32"), headers=HX
    )
    assert refused.status_code in (409, 422)
    assert "shape" in partial(refused.text, "#err-train-hidden_size")
    missing = client.post("/fragments/runs/new", data=train_form(fork="no-such-run"), headers=HX)
    assert missing.status_code == 404 and "no run" in partial(missing.text, "#err-newrun-fork")


def test_a_finished_run_offers_a_fork_that_trains_on(client: TestClient) -> None:
    client.post("/fragments/train/start", data=train_form(max_steps="3"), headers=HX)
    deadline = time.monotonic() + 30
    while client.get("/api/status").json()["state"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert 'data-testid="finished-offer"' in client.get("/").text
    run_id, _ = made_run(client, fork="default", max_steps="3")
    status = client.get(f"/api/runs/{run_id}/status").json()
    assert status["step"] >= 3 and status["config"]["max_steps"] == 6  # as many steps again: it trains on


def test_my_runs_are_renamed_and_deleted_with_their_tokens(client: TestClient) -> None:
    run_id, token = made_run(client, label="first")
    unauthorised = client.post(f"/fragments/runs/{run_id}/label", data={"label": "x"}, headers=HX)
    assert unauthorised.status_code == 401
    assert "run token" in partial(unauthorised.text, f"#err-myrun-{run_id}")
    auth = {**HX, "Authorization": f"Bearer {token}"}
    renamed = client.post(f"/fragments/runs/{run_id}/label", data={"label": "second"}, headers=auth)
    assert renamed.status_code == 200 and "second" in partial(renamed.text, "#my-runs")
    bad = client.post(f"/fragments/runs/{run_id}/label", data={"label": "a\x01b"}, headers=auth)
    assert bad.status_code == 422 and "control characters" in partial(bad.text, f"#err-myrun-{run_id}")
    gone = client.post(f"/fragments/runs/{run_id}/delete", headers={**auth, "X-BPTT-Run": run_id})
    assert gone.status_code == 200 and gone.headers["HX-Redirect"] == "/"  # from its own page: home
    assert my_run_ids(client) == [] and client.get(f"/api/runs/{run_id}/status").status_code == 404


def test_the_teacher_closes_and_opens_visitor_runs_from_the_runs_page(teacher_client: TestClient) -> None:
    client = teacher_client
    refused = client.post("/fragments/runs/visitors", data={"open": "false"}, headers=HX)
    assert refused.status_code == 401 and partial(refused.text, "#err-visitors")
    teacher = {**HX, "Authorization": f"Bearer {TEACHER}"}
    closed = client.post("/fragments/runs/visitors", data={"open": "false"}, headers=teacher)
    assert closed.status_code == 200 and 'data-testid="open-visitor-runs"' in partial(
        closed.text, "#visitors"
    )
    blocked = client.post("/fragments/runs/new", data=train_form(), headers=HX)
    assert blocked.status_code == 403 and "closed visitor runs" in partial(blocked.text, "#err-newrun")
    assert 'data-testid="open-visitor-runs"' in client.get("/runs").text
    client.post("/fragments/runs/visitors", data={"open": "true"}, headers=teacher)
    made_run(client)


def test_a_preset_makes_its_runs_for_the_visitor_and_opens_their_comparison(client: TestClient) -> None:
    response = client.post("/fragments/runs/presets/activations", headers=HX)
    assert response.status_code == 200, response.text
    made = re.search(r'data-preset-runs="([^"]+)" data-compare="([^"]+)"', response.text)
    assert made
    tokens = json.loads(unescape(made.group(1)))
    url = unescape(made.group(2))
    assert url == f"/compare?runs={','.join(tokens)}&preset=activations"
    activations = [client.get(f"/api/runs/{i}/status").json()["config"]["activation"] for i in tokens]
    assert activations == ["sigmoid", "tanh", "relu"]
    assert sorted(my_run_ids(client)) == sorted(tokens)  # the visitor's own runs
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="preset-look"' in page.text
    assert len(re.findall(r'<tr data-run="', page.text)) == 3


def test_an_unknown_preset_or_a_full_quota_is_refused_and_makes_nothing(
    tmp_path: Path, local_pool: LocalPool
) -> None:
    settings = make_settings(tmp_path / "runs", max_runs_per_client=4)
    with TestClient(create_app(settings, executor=local_pool)) as client:
        unknown = client.post("/fragments/runs/presets/nope", headers=HX)
        assert unknown.status_code == 404 and "no experiment" in partial(unknown.text, "#err-presets")
        made_run(client)
        made_run(client)
        full = client.post("/fragments/runs/presets/activations", headers=HX)
        assert full.status_code == 429 and "delete some of yours" in partial(full.text, "#err-presets")
        assert len(my_run_ids(client)) == 2  # nothing half made


def test_every_preset_is_a_valid_set_of_configurations_differing_in_its_one_thing() -> None:
    base = TrainConfig()
    for preset in PRESETS.values():
        configs = [TrainConfig.from_dict({**base.to_dict(), **changes}) for _, changes in preset.runs]
        assert len(configs) >= 2 and len({repr(c) for c in configs}) == len(configs), preset.name
