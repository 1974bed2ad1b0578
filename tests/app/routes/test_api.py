"""The JSON API (app/routes/api.py): every route with good input and with bad."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from rnn_core import RNN, Vocab
from rnn_core.checkpoint import load_checkpoint, save_checkpoint
from rnn_core.config import TrainConfig
from rnn_core.data import bundled_names_path, load_names

from ..conftest import TINY, make_settings


def wait_for_step(client: TestClient, at_least: int, timeout: float = 20.0) -> dict:
    """Poll /api/status until the run passed `at_least` steps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/api/status").json()
        if status["step"] >= at_least:
            return status
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach step {at_least}")


def assert_refused(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The API's refusal shape: a status, a sentence, and the field when there is one."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# ---------------------------------------------------------------------- status
def test_status_of_a_fresh_run(client: TestClient) -> None:
    status = client.get("/api/status").json()
    assert status["state"] == "idle"
    assert status["step"] == 0 and status["epoch"] == 0
    assert status["config"]["hidden_size"] == TINY["hidden_size"]
    # a fresh model scores about ln V on held-out names
    assert abs(status["val_loss"] - status["uniform_loss"]) < 0.3
    assert status["dataset"]["source"] == "bundled" and status["dataset"]["vocab_size"] == 27


# ---------------------------------------------------------------- the controls
def test_start_pause_step_resume_reset(client: TestClient) -> None:
    body = {**TINY, "learning_rate": 0.02, "seed": 3}
    started = client.post("/api/train/start", json=body)
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "running"
    assert started.json()["config"]["seed"] == 3
    wait_for_step(client, 5)

    assert_refused(client.post("/api/train/step"), 409)  # not while running
    assert_refused(client.post("/api/train/resume"), 409)

    paused = client.post("/api/train/pause").json()
    assert paused["state"] == "paused"
    assert_refused(client.post("/api/train/pause"), 409)
    time.sleep(0.2)
    assert client.get("/api/status").json()["step"] == paused["step"]  # pause stops the steps

    stepped = client.post("/api/train/step").json()
    assert stepped["step"] == paused["step"] + 1 and stepped["state"] == "paused"

    assert client.post("/api/train/resume").json()["state"] == "running"
    wait_for_step(client, stepped["step"] + 3)

    reset = client.post("/api/train/reset").json()
    assert reset["state"] == "idle" and reset["step"] == 0
    assert reset["config"]["seed"] == 3  # same configuration


def test_learning_rate_changes_while_running(client: TestClient) -> None:
    client.post("/api/train/start", json=TINY)
    changed = client.patch("/api/train/config", json={"learning_rate": 0.003})
    assert changed.status_code == 200
    assert changed.json()["config"]["learning_rate"] == 0.003
    assert changed.json()["state"] == "running"
    client.post("/api/train/pause")


def test_max_steps_finishes_the_run_and_raising_it_continues(client: TestClient) -> None:
    client.post("/api/train/start", json={**TINY, "max_steps": 5})
    deadline = time.monotonic() + 20
    while client.get("/api/status").json()["state"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get("/api/status").json()["step"] == 5
    assert_refused(client.post("/api/train/resume"), 409)
    raised = client.patch("/api/train/config", json={"max_steps": 8}).json()
    assert raised["state"] == "paused"
    assert client.post("/api/train/step").json()["step"] == 6
    # Lowering the budget below the step of a paused run finishes it: resume cannot overrun.
    lowered = client.patch("/api/train/config", json={"max_steps": 6}).json()
    assert lowered["state"] == "finished"
    assert_refused(client.post("/api/train/resume"), 409)
    assert client.get("/api/status").json()["step"] == 6


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"hidden_size": 0}, "hidden_size", "at least 1"),
        ({"hidden_size": 100_000}, "hidden_size", "at most 512"),
        ({"learning_rate": -1}, "learning_rate", "greater than 0"),
        ({"activation": "softplus"}, "activation", "one of"),
        ({"batch_size": "many"}, "batch_size", "whole number"),
        ({"colour": "red"}, "colour", "not a field"),
    ],
)
def test_start_refuses_bad_values(client: TestClient, body: dict, field: str, words: str) -> None:
    refused = assert_refused(client.post("/api/train/start", json=body), 422, field)
    assert words in refused["detail"]
    assert client.get("/api/status").json()["state"] == "idle"  # nothing started


def test_start_on_uploaded_names_needs_an_upload_first(client: TestClient) -> None:
    refused = assert_refused(client.post("/api/train/start", json={"dataset": "uploaded"}), 409)
    assert "upload" in refused["detail"]


def test_malformed_json_and_wrong_content_type(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    bad = client.post("/api/train/start", content=b"{hidden_size: 3", headers=headers)
    assert "not valid JSON" in assert_refused(bad, 422, "body")["detail"]
    text = client.post("/api/train/start", content=b"hidden_size=3", headers={"content-type": "text/plain"})
    assert "JSON" in assert_refused(text, 415)["detail"]
    assert_refused(client.post("/api/generate", data={"count": "3"}), 415)
    assert_refused(client.patch("/api/train/config", content=b"[]", headers=headers), 422)


def test_config_patch_refusals(client: TestClient) -> None:
    unchanged = client.patch("/api/train/config", json={})
    assert (
        unchanged.status_code == 200
        and unchanged.json()["config"]["learning_rate"] == TrainConfig().learning_rate
    )
    assert_refused(client.patch("/api/train/config", json={"learning_rate": 0}), 422, "learning_rate")
    assert_refused(client.patch("/api/train/config", json={"hidden_size": 5}), 422, "hidden_size")


# ----------------------------------------------------------------- generation
def test_generate_names_with_prefix_and_seed(client: TestClient) -> None:
    body = {"count": 6, "temperature": 0.8, "prefix": "Ta", "max_length": 12, "seed": 7}
    first = client.post("/api/generate", json=body)
    assert first.status_code == 200, first.text
    result = first.json()
    assert len(result["names"]) == 6
    for n in result["names"]:
        assert n["name"].startswith("ta") and len(n["name"]) <= 12
        assert n["log_prob"] < 0 and isinstance(n["novel"], bool)
        steps = len(n["name"]) + (1 if n["ended"] else 0)
        assert n["log_prob_per_char"] == pytest.approx(n["log_prob"] / steps)
    assert result["greedy"]["name"].startswith("ta")
    assert client.post("/api/generate", json=body).json() == result  # a seed repeats the draw
    greedy = client.post("/api/generate", json={**body, "temperature": 0, "count": 3}).json()
    assert len({n["name"] for n in greedy["names"]}) == 1
    long_prefix = client.post("/api/generate", json={"prefix": "abcdef", "max_length": 3}).json()
    assert all(n["name"].startswith("abcdef") for n in long_prefix["names"])  # the prefix fits


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 51}, "count"),
        ({"temperature": -0.1}, "temperature"),
        ({"prefix": "x" * 21}, "prefix"),
        ({"prefix": "t-rex"}, "prefix"),
        ({"prefix": "a b"}, "prefix"),
        ({"seed": -1}, "seed"),
    ],
)
def test_generate_refuses_bad_values(client: TestClient, body: dict, field: str) -> None:
    assert_refused(client.post("/api/generate", json=body), 422, field)


# ---------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(client: TestClient) -> None:
    client.post("/api/train/step")
    client.post("/api/train/step")
    download = client.get("/api/checkpoint")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert "bptt-lab-step-2.npz" in download.headers["content-disposition"]
    assert load_checkpoint(download.content).step == 2

    client.post("/api/train/reset")
    files = {"file": ("run.npz", download.content, "application/octet-stream")}
    loaded = client.post("/api/checkpoint", files=files)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["step"] == 2 and loaded.json()["state"] == "paused"


def test_a_bad_checkpoint_leaves_the_run_untouched(client: TestClient) -> None:
    client.post("/api/train/step")
    before = client.get("/api/checkpoint").content
    probe = {"count": 3, "seed": 1}
    names_before = client.post("/api/generate", json=probe).json()
    for payload in (b"not a zip at all", before[: len(before) // 2], b""):
        files = {"file": ("bad.npz", payload, "application/octet-stream")}
        refused = assert_refused(client.post("/api/checkpoint", files=files), 422, "file")
        assert "checkpoint" in refused["detail"]
    assert client.get("/api/status").json()["step"] == 1
    assert client.post("/api/generate", json=probe).json() == names_before
    assert_refused(client.post("/api/checkpoint"), 422, "file")  # no file at all


def test_a_checkpoint_of_other_names_is_refused(client: TestClient, tmp_path: Path) -> None:
    other = create_app(make_settings(tmp_path / "other", names_file=_names(tmp_path, "qq\nqqq\nqz\n")))
    with TestClient(other) as other_client:
        foreign = other_client.get("/api/checkpoint").content
    files = {"file": ("other.npz", foreign, "application/octet-stream")}
    assert_refused(client.post("/api/checkpoint", files=files), 422, "file")


def test_a_checkpoint_beyond_the_servers_bounds_is_refused(client: TestClient) -> None:
    """A valid file of a model this server would not train (D_h = 600 > 512) is refused by name."""
    vocab = Vocab.from_names(load_names(bundled_names_path()))
    buffer = io.BytesIO()
    save_checkpoint(buffer, RNN(vocab.size, 600, seed=0, dtype="float32"), vocab)
    files = {"file": ("big.npz", buffer.getvalue(), "application/octet-stream")}
    refused = assert_refused(client.post("/api/checkpoint", files=files), 422, "file")
    assert "hidden_size" in refused["detail"]
    assert client.get("/api/status").json()["config"]["hidden_size"] == TINY["hidden_size"]


# ------------------------------------------------------------------ data sets
def _names(folder: Path, text: str) -> Path:
    path = folder / "names.txt"
    path.write_text(text)
    return path


def test_upload_names_then_train_on_them(client: TestClient) -> None:
    files = {"file": ("mine.txt", b"Alpha\nbeta\n\ngamma\ndelta\nepsilon\n", "text/plain")}
    uploaded = client.post("/api/dataset", files=files)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {
        "source": "uploaded",
        "filename": "mine.txt",
        "names": 5,
        "vocab_size": len(set("alphabetagammadeltaepsilon")) + 1,
    }
    started = client.post("/api/train/start", json={**TINY, "dataset": "uploaded"}).json()
    assert started["dataset"]["source"] == "uploaded"
    client.post("/api/train/pause")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"", "empty"),
        (b"\n \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"\xff\xfe\xfa", "UTF-8"),
        (b"rex\nt-rex\n", "'-'"),
        (b"onlyone\n", "at least two"),
    ],
)
def test_unusable_names_files_are_refused(client: TestClient, payload: bytes, words: str) -> None:
    files = {"file": ("bad.txt", payload, "text/plain")}
    refused = assert_refused(client.post("/api/dataset", files=files), 422, "file")
    assert words in refused["detail"]


def test_huge_uploads_are_refused_before_reading(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "runs", max_names_bytes=2_000, max_body_bytes=1_000)
    with TestClient(create_app(settings)) as client:
        files = {"file": ("big.txt", b"abc\n" * 10_000, "text/plain")}
        refused = assert_refused(client.post("/api/dataset", files=files), 413)
        assert "too large" in refused["detail"]
        big_json = {"prefix": "a", "padding": "x" * 5_000}
        assert_refused(client.post("/api/generate", json=big_json), 413)

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(100):
                yield b"x" * 100

        streamed = client.post(
            "/api/generate", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_refused(streamed, 413)
        assert client.get("/api/status").status_code == 200


# ------------------------------------------------------------------- the rest
def test_unknown_routes_and_methods(client: TestClient) -> None:
    assert_refused(client.get("/api/nothing-here"), 404)
    assert_refused(client.get("/api/train/start"), 405)


def test_docs_list_every_route(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/api/status",
        "/api/train/start",
        "/api/train/pause",
        "/api/train/resume",
        "/api/train/step",
        "/api/train/reset",
        "/api/train/config",
        "/api/generate",
        "/api/checkpoint",
        "/api/dataset",
        "/api/events",
    ]:
        assert path in paths, path
    assert not any(p.startswith("/fragments") for p in paths)


def test_control_token_guards_the_routes_that_change_the_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "runs", control_token="s3cret")
    with TestClient(create_app(settings)) as client:
        assert_refused(client.post("/api/train/step"), 401)
        wrong = {"Authorization": "Bearer nope"}
        assert_refused(client.post("/api/train/step", headers=wrong), 401)
        right = {"Authorization": "Bearer s3cret"}
        assert client.post("/api/train/step", headers=right).status_code == 200
        assert client.get("/api/status").status_code == 200
        assert client.post("/api/generate", json={"count": 2}).status_code == 200
        files = {"file": ("x.npz", io.BytesIO(b"x"), "application/octet-stream")}
        assert_refused(client.post("/api/checkpoint", files=files), 401)
