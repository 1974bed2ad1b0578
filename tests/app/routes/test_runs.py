"""Runs as a resource: create, fork, drive with a token, rename, delete, quotas, history, restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.training.executor import Executor

from ..conftest import TINY, make_settings

# Every behaviour of runs, on the local pool and on a local Ray.
pytestmark = pytest.mark.usefixtures("executor")


@pytest.fixture
def client(settings: Settings, executor: Executor) -> Iterator[TestClient]:
    """The app on this test's executor."""
    with TestClient(create_app(settings, executor=executor)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_run(client: TestClient, **body: object) -> dict:
    response = client.post("/api/runs", json={**TINY, **body})
    assert response.status_code == 201, response.text
    return response.json()


def wait_step(client: TestClient, run_id: str, at_least: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (status := client.get(f"/api/runs/{run_id}/status").json())["step"] < at_least:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


def test_a_new_run_trains_at_once_beside_the_default_one(client: TestClient) -> None:
    made = new_run(client, label="tanh, please", activation="tanh")
    assert len(made["id"]) >= 12 and made["url"] == f"/runs/{made['id']}" and len(made["token"]) >= 24
    assert made["status"]["state"] == "running" and made["status"]["config"]["activation"] == "tanh"
    wait_step(client, made["id"], 5)
    assert client.get("/api/status").json()["state"] == "idle"  # the default run is untouched
    listed = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(listed) == {"default", made["id"]}
    assert listed[made["id"]]["label"] == "tanh, please" and listed[made["id"]]["state"] == "running"


def test_a_fork_continues_from_the_other_runs_weights_and_may_change_the_activation(
    client: TestClient,
) -> None:
    for _ in range(5):
        client.post("/api/train/step")
    fork = new_run(client, from_run="default", activation="relu")
    status = fork["status"]
    assert status["step"] >= 5 and status["config"]["activation"] == "relu"
    assert status["config"]["hidden_size"] == TINY["hidden_size"]
    refused = client.post("/api/runs", json={"from_run": "default", "hidden_size": 99})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "hidden_size"
    missing = client.post("/api/runs", json={"from_run": "nobody"})
    assert missing.status_code == 422 and "nobody" in missing.json()["detail"]


def test_only_the_runs_own_token_drives_it(client: TestClient) -> None:
    mine, theirs = new_run(client), new_run(client)
    url = f"/api/runs/{mine['id']}/train/pause"
    no_token = client.post(url)
    assert no_token.status_code == 401 and "token" in no_token.json()["detail"]
    assert client.post(url, headers=bearer("made-up")).status_code == 401
    other = client.post(url, headers=bearer(theirs["token"]))
    assert other.status_code == 403 and "another run" in other.json()["detail"]
    assert client.post(url, headers=bearer(mine["token"])).json()["state"] == "paused"
    assert client.get(f"/api/runs/{mine['id']}/status").status_code == 200  # watching is open
    generated = client.post(f"/api/runs/{mine['id']}/generate", json={"count": 2})
    assert generated.status_code == 200 and len(generated.json()["names"]) == 2


def test_the_teachers_token_drives_every_run(tmp_path: Path, executor: Executor) -> None:
    settings = make_settings(tmp_path / "runs", control_token="teacher-secret")
    with TestClient(create_app(settings, executor=executor)) as client:
        made = new_run(client)
        teacher = bearer("teacher-secret")
        assert client.post(f"/api/runs/{made['id']}/train/pause", headers=teacher).status_code == 200
        assert client.post("/api/runs/default/train/step", headers=teacher).status_code == 200
        assert client.post("/api/runs/default/train/step", headers=bearer(made["token"])).status_code == 401


def test_rename_delete_and_unknown_ids(client: TestClient) -> None:
    made = new_run(client)
    token = bearer(made["token"])
    renamed = client.patch(f"/api/runs/{made['id']}", json={"label": "my sigmoid"}, headers=token)
    assert renamed.status_code == 200 and renamed.json()["label"] == "my sigmoid"
    bad = client.patch(f"/api/runs/{made['id']}", json={"label": "bell\x07"}, headers=token)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "label"
    assert client.delete(f"/api/runs/{made['id']}", headers=token).status_code == 204
    gone = client.get(f"/api/runs/{made['id']}/status")
    assert gone.status_code == 404 and made["id"] in gone.json()["detail"]
    assert client.delete("/api/runs/default").status_code == 409


def test_a_full_quota_answers_429_with_what_to_do(tmp_path: Path, executor: Executor) -> None:
    settings = make_settings(tmp_path / "runs", max_runs_per_client=2)
    with TestClient(create_app(settings, executor=executor)) as client:
        new_run(client)
        new_run(client)
        full = client.post("/api/runs", json=TINY)
        assert full.status_code == 429 and "delete one of yours" in full.json()["detail"]
    settings = make_settings(tmp_path / "other", max_runs=2)
    with TestClient(create_app(settings, executor=executor)) as client:
        new_run(client)
        full = client.post("/api/runs", json=TINY)
        assert full.status_code == 429 and "teacher" in full.json()["detail"]


def test_history_as_json_and_csv(client: TestClient) -> None:
    made = new_run(client)
    wait_step(client, made["id"], TINY["eval_every"] + 1)
    points = client.get(f"/api/runs/{made['id']}/history").json()["history"]
    assert points and all("step" in p for p in points) and any("val_loss" in p for p in points)
    csv = client.get(f"/api/runs/{made['id']}/history", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "step,train_loss,val_loss,grad_norm,clipped" and len(lines) == len(points) + 1


def test_a_restart_brings_every_run_back_as_it_was_saved(tmp_path: Path, executor: Executor) -> None:
    settings = make_settings(tmp_path / "runs")
    with TestClient(create_app(settings, executor=executor)) as client:
        training = new_run(client, label="keeps training")
        paused = new_run(client, label="paused")
        wait_step(client, training["id"], 3)
        client.post(f"/api/runs/{paused['id']}/train/pause", headers=bearer(paused["token"]))
    with TestClient(create_app(settings, executor=executor)) as client:
        runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
        assert (
            runs[training["id"]]["state"] == "running" and runs[training["id"]]["label"] == "keeps training"
        )
        assert runs[paused["id"]]["state"] == "paused"
        pause = client.post(f"/api/runs/{paused['id']}/train/resume", headers=bearer(paused["token"]))
        assert pause.status_code == 200  # its token still drives it


@pytest.mark.parametrize("body", [{"hiden_size": 3}, {"label": "x" * 61}, {"learning_rate": -1}])
def test_a_bad_creation_is_refused_naming_the_field(client: TestClient, body: dict) -> None:
    refused = client.post("/api/runs", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == next(iter(body))


def test_an_idle_run_is_paused_out_of_memory_and_comes_back_when_resumed(
    tmp_path: Path, executor: Executor
) -> None:
    settings = make_settings(tmp_path / "runs", idle_minutes=0.01)  # 0.6 s without a viewer
    with TestClient(create_app(settings, executor=executor)) as client:
        made = new_run(client)
        wait_step(client, made["id"], 3)
        service = client.app.state.service  # type: ignore[attr-defined]
        run = service.get(made["id"])
        run.last_active -= 1.0
        service.reap()
        status = client.get(f"/api/runs/{made['id']}/status").json()
        assert status["state"] == "paused" and "no viewer" in status["message"]
        assert run.evicted  # its trainer has left the worker; the status stays readable
        resumed = client.post(f"/api/runs/{made['id']}/train/resume", headers=bearer(made["token"]))
        assert resumed.json()["state"] == "running" and resumed.json()["step"] >= status["step"]
        wait_step(client, made["id"], status["step"] + 5)
        run.last_active -= settings.run_ttl_hours * 3600 + 1
        service.reap()
        assert client.get(f"/api/runs/{made['id']}/status").status_code == 404
        assert not (tmp_path / "runs" / made["id"]).exists()


@pytest.mark.slow
def test_a_class_in_small_every_run_progresses_fairly(tmp_path: Path, executor: Executor) -> None:
    """12 runs of 6 visitors on 2 workers for a while: every run moves, none starves."""
    settings = make_settings(tmp_path / "runs")
    with TestClient(create_app(settings, executor=executor)) as client:
        made = []
        for visitor in range(6):
            client.cookies.set("bptt_visitor", f"visitor{visitor}")
            made += [new_run(client, seed=visitor * 2 + i) for i in range(2)]
        started = {m["id"]: m["status"]["step"] for m in made}
        time.sleep(8.0)
        steps = {r["id"]: r["step"] - started.get(r["id"], 0) for r in client.get("/api/runs").json()["runs"]}
        moved = [steps[m["id"]] for m in made]
        assert min(moved) > 0, moved
        assert min(moved) / max(moved) >= 0.7, moved


def test_a_runs_own_weights_are_inspected_under_its_id(client: TestClient) -> None:
    made = new_run(client, activation="tanh")
    traced = client.get(f"/api/runs/{made['id']}/inspect", params={"name": "rex"})
    assert traced.status_code == 200 and traced.json()["activation"] == "tanh"
    assert client.get("/api/inspect", params={"name": "rex"}).json()["activation"] == "sigmoid"
    assert client.get("/api/runs/nobody/inspect", params={"name": "rex"}).status_code == 404


def test_the_teacher_pauses_every_run_and_closes_visitor_runs(tmp_path: Path, executor: Executor) -> None:
    settings = make_settings(tmp_path / "runs", control_token="teacher-secret")
    with TestClient(create_app(settings, executor=executor)) as client:
        made = new_run(client)
        assert client.post("/api/runs/pause-all").status_code == 401
        teacher = bearer("teacher-secret")
        paused = client.post("/api/runs/pause-all", headers=teacher).json()["runs"]
        assert {r["id"]: r["state"] for r in paused}[made["id"]] == "paused"
        closed = client.patch("/api/runs/visitors", json={"open": False}, headers=teacher)
        assert closed.status_code == 200 and closed.json() == {"open": False}
        refused = client.post("/api/runs", json=TINY)
        assert refused.status_code == 403 and "closed" in refused.json()["detail"]
        assert client.post("/api/runs", json=TINY, headers=teacher).status_code == 201  # not the teacher
        client.patch("/api/runs/visitors", json={"open": True}, headers=teacher)
        assert client.post("/api/runs", json=TINY).status_code == 201
