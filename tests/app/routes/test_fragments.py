"""The page's fragment endpoints (app/routes/fragments.py): swaps, notes beside fields, URLs."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from ..conftest import TINY

HX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/?scale=log&g_count=3"}


def partial(html: str, target: str) -> str:
    """The content of the <hx-partial> that targets `target` ("" when absent)."""
    match = re.search(rf'<hx-partial hx-target="{re.escape(target)}"[^>]*>(.*?)</hx-partial>', html, re.S)
    return match.group(1) if match else ""


def train_form(**changes: str) -> dict[str, str]:
    form = {k: "" if v is None else str(v) for k, v in TINY.items()}
    form.update({"activation": "sigmoid", "optimizer": "adam", "learning_rate": "0.01"})
    form.update({"clip_value": "5", "seed": "0", "dataset": "bundled"})
    form.update(changes)
    return form


def test_start_swaps_the_live_blocks_and_puts_the_config_in_the_url(client: TestClient) -> None:
    response = client.post("/fragments/train/start", data=train_form(seed="9"), headers=HX)
    assert response.status_code == 200, response.text
    for target in ("#controls", "#stats", "#chart", "#samples"):
        assert partial(response.text, target), target
    assert 'data-testid="train-state" title="the run\'s state">running' in response.text
    assert 'data-scale="log"' in partial(response.text, "#chart")  # keeps the page's scale
    url = response.headers["HX-Replace-Url"]
    assert url.startswith("/?") and "seed=9" in url and "scale=log" in url and "g_count=3" in url
    assert partial(response.text, "#err-train-seed") == ""  # old errors cleared
    client.post("/api/train/pause")


def test_a_bad_value_is_answered_beside_its_field(client: TestClient) -> None:
    response = client.post(
        "/fragments/train/start", data=train_form(hidden_size="0", learning_rate="fast"), headers=HX
    )
    assert response.status_code == 422
    assert "at least 1" in partial(response.text, "#err-train-hidden_size")
    assert "must be a number" in partial(response.text, "#err-train-learning_rate")
    assert partial(response.text, "#err-train-seed") == ""
    assert "HX-Replace-Url" not in response.headers
    assert client.get("/api/status").json()["state"] == "idle"


def test_controls_and_their_refusals(client: TestClient) -> None:
    stepped = client.post("/fragments/train/step", headers=HX)
    assert stepped.status_code == 200
    assert '<dd data-testid="train-step">1</dd>' in stepped.text
    refused = client.post("/fragments/train/pause", headers=HX)
    assert refused.status_code == 409
    assert "cannot pause" in partial(refused.text, "#err-controls")
    reset = client.post("/fragments/train/reset", headers=HX)
    assert '<dd data-testid="train-step">0</dd>' in reset.text
    assert 'data-testid="generated-name"' not in partial(reset.text, "#generated")  # old names go
    assert "Press <b>Generate</b>" in partial(reset.text, "#generated")
    assert client.post("/fragments/train/resume", headers=HX).status_code == 200
    assert client.post("/fragments/train/pause", headers=HX).status_code == 200


def test_learning_rate_change_is_confirmed_beside_the_field(client: TestClient) -> None:
    response = client.patch("/fragments/train/config", data=train_form(learning_rate="0.05"), headers=HX)
    assert response.status_code == 200
    assert "now 0.05" in partial(response.text, "#err-train-learning_rate")
    assert "learning_rate=0.05" in response.headers["HX-Replace-Url"]
    assert client.get("/api/status").json()["config"]["learning_rate"] == 0.05
    bad = client.patch("/fragments/train/config", data=train_form(learning_rate="-2"), headers=HX)
    assert bad.status_code == 422
    assert "greater than 0" in partial(bad.text, "#err-train-learning_rate")


def test_raising_max_steps_lets_a_finished_run_go_on(client: TestClient) -> None:
    client.post("/api/train/start", json={**TINY, "max_steps": 3})
    for _ in range(200):
        if client.get("/api/status").json()["state"] == "finished":
            break
        time.sleep(0.02)
    source = {**HX, "HX-Source": "input#train-max_steps"}
    response = client.patch("/fragments/train/config", data=train_form(max_steps="50"), headers=source)
    assert response.status_code == 200
    assert "now 50" in partial(response.text, "#err-train-max_steps")
    assert 'data-testid="train-state" title="the run\'s state">paused' in response.text
    assert "max_steps=50" in response.headers["HX-Replace-Url"]
    bad = client.patch("/fragments/train/config", data=train_form(max_steps="0"), headers=source)
    assert bad.status_code == 422 and "at least 1" in partial(bad.text, "#err-train-max_steps")


def test_generate_shows_names_that_can_be_inspected(client: TestClient) -> None:
    form = {"count": "5", "temperature": "0.6", "prefix": "ra", "max_length": "15", "seed": "2"}
    response = client.post("/fragments/generate", data=form, headers=HX)
    assert response.status_code == 200
    block = partial(response.text, "#generated")
    names = re.findall(r'<li data-testid="generated-name">\s*<button[^>]*data-name="([a-z]+)"', block)
    assert len(names) == 5 and all(n.startswith("ra") for n in names)
    assert "greedy" in block
    url = response.headers["HX-Replace-Url"]
    assert "g_prefix=ra" in url and "g_temperature=0.6" in url and "scale=log" in url


def test_generate_refusals_go_beside_their_fields(client: TestClient) -> None:
    form = {"count": "500", "temperature": "1", "prefix": "a7", "max_length": "15", "seed": ""}
    response = client.post("/fragments/generate", data=form, headers=HX)
    assert response.status_code == 422
    assert "at most 50" in partial(response.text, "#err-generate-count")
    ok = {**form, "count": "3"}
    vocab = client.post("/fragments/generate", data=ok, headers=HX)
    assert vocab.status_code == 422
    assert "only the letters a-z" in partial(vocab.text, "#err-generate-prefix")


def test_chart_scale_toggle_reconnects_the_stream(client: TestClient) -> None:
    response = client.get("/fragments/chart?scale=log", headers=HX)
    assert 'data-scale="log"' in partial(response.text, "#chart")
    assert "/fragments/stream?scale=log" in partial(response.text, "#live")
    assert "scale=log" in response.headers["HX-Replace-Url"]


def test_uploads_from_the_page(client: TestClient) -> None:
    files = {"file": ("pets.txt", b"rex\nfido\nbella\n", "text/plain")}
    response = client.post("/fragments/dataset", files=files, headers=HX)
    assert response.status_code == 200
    assert "uploaded: pets.txt (3 names)" in partial(response.text, "#train-dataset")
    assert "3 names" in partial(response.text, "#err-dataset-file")
    bad = client.post("/fragments/dataset", files={"file": ("x.txt", b"r2d2\n", "text/plain")}, headers=HX)
    assert bad.status_code == 422 and "&#39;2&#39;" in partial(bad.text, "#err-dataset-file")
    none = client.post("/fragments/dataset", data={}, headers=HX)
    assert none.status_code == 422 and "choose a file" in partial(none.text, "#err-dataset-file")

    junk = {"file": ("x.npz", b"junk", "application/octet-stream")}
    refused = client.post("/fragments/checkpoint", files=junk, headers=HX)
    assert refused.status_code == 422
    assert "checkpoint refused" in partial(refused.text, "#err-checkpoint-file")
    good = {"file": ("run.npz", client.get("/api/checkpoint").content, "application/octet-stream")}
    loaded = client.post("/fragments/checkpoint", files=good, headers=HX)
    assert loaded.status_code == 200 and "loaded step 0" in loaded.text
    assert partial(loaded.text, "#train-form")


def test_every_answer_carries_the_runs_version_and_it_grows(client: TestClient) -> None:
    """The page drops a swap older than what it shows (static/app.js): the versions must grow."""

    def versions(html: str) -> tuple[int, int]:
        found = re.findall(r'id="(controls|stats)"[^>]*data-version="(\d+)"', html)
        by_block = dict(found)
        return int(by_block["controls"]), int(by_block["stats"])

    first = versions(client.post("/fragments/train/step", headers=HX).text)
    second = versions(client.post("/fragments/train/step", headers=HX).text)
    assert first[0] == first[1] and second[0] > first[0]
