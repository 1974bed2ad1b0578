"""Who may drive: with BPTT_LAB_CONTROL_TOKEN set, changing the run needs it; watching stays open.

The API takes the token as a bearer header; the page keeps it in the tab's
sessionStorage and its htmx requests send the same header (checked in Chromium).
"""

from __future__ import annotations

import io
import logging
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from app.deps import check_page_control, check_path_run_control
from app.http.control import check_control, exposure_warning, is_loopback, token_matches
from app.main import create_app
from app.routes.runs import require_teacher
from app.settings import Settings

from ..conftest import CHROMIUM, TINY, LiveServer, make_settings, start_live_server

TOKEN = "teacher-only-7f3a"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}
#: The routes that change the run, each with a body it would accept.
GUARDED = [
    ("POST", "/api/train/start", {"json": TINY}),
    ("POST", "/api/train/pause", {}),
    ("POST", "/api/train/resume", {}),
    ("POST", "/api/train/step", {}),
    ("POST", "/api/train/reset", {}),
    ("PATCH", "/api/train/config", {"json": {"learning_rate": 0.02}}),
    ("POST", "/api/checkpoint", {"files": {"file": ("x.npz", b"PK", "application/octet-stream")}}),
    ("POST", "/api/dataset", {"files": {"file": ("n.txt", b"ab\ncd\n", "text/plain")}}),
    ("POST", "/fragments/train/start", {"data": {"hidden_size": "8"}}),
    ("POST", "/fragments/train/step", {}),
    ("POST", "/fragments/train/reset", {}),
    ("PATCH", "/fragments/train/config", {"data": {"learning_rate": "0.02"}}),
    ("POST", "/fragments/dataset", {"files": {"file": ("n.txt", b"ab\ncd\n", "text/plain")}}),
    ("POST", "/fragments/checkpoint", {"files": {"file": ("x.npz", b"PK", "application/octet-stream")}}),
    ("POST", "/fragments/token", {}),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path / "runs", control_token=TOKEN))) as c:
        yield c


def test_every_route_that_changes_the_run_is_guarded(client: TestClient) -> None:
    # Generating changes nothing; creating a run needs no token (unless visitor runs are closed).
    open_writes = {
        "/api/generate",
        "/fragments/generate",
        "/api/runs/{run_id}/generate",
        "/api/runs",
        "/fragments/runs/new",
        "/fragments/runs/presets/{name}",
    }
    guards = {check_control, check_path_run_control, check_page_control, require_teacher}
    # tests/app/routes/test_runs.py and test_run_fragments.py
    tested_elsewhere = {"/api/runs/pause-all", "/api/runs/visitors", "/fragments/runs/visitors"}
    writes = [
        route
        for route in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if route.methods and route.methods & {"POST", "PATCH", "PUT", "DELETE"}
    ]
    assert len(writes) >= len(GUARDED)
    listed = {path for _, path, _ in GUARDED}
    for route in writes:
        guarded = bool(guards & {dep.call for dep in route.dependant.dependencies})
        assert guarded == (route.path not in open_writes), route.path
        tested = route.path in listed | tested_elsewhere or "{" in route.path
        assert not guarded or tested, f"{route.path} is untested"


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
def test_without_the_token_a_change_is_refused_with_a_message(
    client: TestClient, method: str, path: str, body: dict
) -> None:
    before = client.get("/api/status").json()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = client.request(method, path, headers=headers, **body)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        if path.startswith("/api"):
            detail = refused.json()["detail"]
            assert "control token" in detail
            assert ("is wrong" in detail) == (headers.get("Authorization") == "Bearer wrong")
        else:  # the page shows it beside the controls (or the token field)
            slot = "token-note" if path == "/fragments/token" else "err-controls"
            assert f'hx-target="#{slot}"' in refused.text and "control token" in refused.text
    after = client.get("/api/status").json()
    assert (after["state"], after["step"], after["config"]) == (
        before["state"],
        before["step"],
        before["config"],
    )
    allowed = client.request(method, path, headers=RIGHT, **body)
    assert allowed.status_code != 401, allowed.text
    lower = client.request(method, path, headers={"authorization": f"bearer {TOKEN}"}, **body)
    assert lower.status_code != 401  # the scheme's name is case-insensitive


def test_watching_generating_inspecting_and_downloading_stay_open(client: TestClient) -> None:
    client.post("/api/train/step", headers=RIGHT)
    assert client.get("/api/status").status_code == 200
    assert client.get("/").status_code == 200
    assert client.post("/api/generate", json={"count": 3}).status_code == 200
    assert client.post("/fragments/generate", data={"count": "3"}).status_code == 200
    assert client.get("/api/inspect", params={"name": "rex"}).status_code == 200
    assert client.get("/api/checkpoint").status_code == 200
    assert client.get("/fragments/chart").status_code == 200


def test_a_token_is_compared_in_time_that_does_not_depend_on_where_it_differs() -> None:
    """A guess wrong in its first character takes as long to refuse as one wrong in its last.

    With a long token a naive comparison (`given == expected`) stops at the first
    difference and refuses the first guess a thousand times faster; a constant-time
    one does not. The medians of interleaved trials are compared with a wide margin.
    """
    expected = "t" * 4_000_000
    early, late = "x" + expected[1:], expected[:-1] + "x"
    times: dict[str, list[float]] = {"early": [], "late": []}
    for _ in range(25):
        for label, guess in (("early", early), ("late", late)):
            started = time.perf_counter()
            assert not token_matches(guess, expected)
            times[label].append(time.perf_counter() - started)
    ratio = statistics.median(times["late"]) / statistics.median(times["early"])
    assert 1 / 3 < ratio < 3, ratio
    assert token_matches(expected, expected) and not token_matches(expected[:-1], expected)


def test_the_schema_declares_the_bearer_scheme_only_when_a_token_is_set(
    client: TestClient, tmp_path: Path
) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["controlToken"]["scheme"] == "bearer"
    assert schema["paths"]["/api/train/step"]["post"]["security"] == [{"controlToken": []}]
    assert "security" not in schema["paths"]["/api/status"]["get"]
    with TestClient(create_app(make_settings(tmp_path / "open"))) as open_client:
        assert "securitySchemes" not in open_client.get("/openapi.json").json().get("components", {})
        assert open_client.post("/api/train/step").status_code == 200  # no token: anyone drives


def test_the_server_warns_when_it_listens_beyond_loopback_with_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20") and not is_loopback("::")
    exposed = make_settings(tmp_path / "runs", host="0.0.0.0")
    warning = exposure_warning(exposed)
    assert warning and "BPTT_LAB_CONTROL_TOKEN" in warning
    assert exposure_warning(make_settings(tmp_path / "runs", host="0.0.0.0", control_token="x")) is None
    assert exposure_warning(Settings(runs_dir=tmp_path, host="127.0.0.1")) is None
    with caplog.at_level(logging.WARNING, logger="bptt_lab"), TestClient(create_app(exposed)):
        pass
    assert any(warning == r.getMessage() for r in caplog.records), caplog.text


# ------------------------------------------------------------------ the page
@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(make_settings(tmp_path_factory.mktemp("runs"), control_token=TOKEN))
    yield live
    live.stop()


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_the_page_keeps_the_token_for_the_tab_and_its_controls_send_it(
    browser: Browser, guarded_server: LiveServer
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        page.goto(guarded_server.url + "/")
        step = page.get_by_test_id("step-button")
        step.click()
        expect(page.locator("#err-controls")).to_contain_text("needs the control token")
        expect(page.get_by_test_id("train-step")).to_have_text("0")

        page.get_by_test_id("token-input").fill("not-it")
        page.get_by_test_id("token-button").click()
        expect(page.locator("#token-note")).to_contain_text("wrong")
        page.get_by_test_id("token-input").fill(TOKEN)
        page.get_by_test_id("token-button").click()
        expect(page.locator("#token-note")).to_contain_text("accepted")
        step.click()
        expect(page.get_by_test_id("train-step")).to_have_text("1")
        expect(page.locator("#err-controls")).to_have_text("")

        page.reload()  # sessionStorage outlives a reload of the tab
        expect(page.locator("#token-note")).to_contain_text("kept for this tab")
        page.get_by_test_id("step-button").click()
        expect(page.get_by_test_id("train-step")).to_have_text("2")
        page.set_input_files('[data-testid="dataset-file"]', files=[_names_file()])
        page.locator('button[form="dataset-form"]').click()
        expect(page.locator("#err-dataset-file")).to_contain_text("3 names")
    finally:
        page.close()


def _names_file() -> dict:
    return {"name": "few.txt", "mimeType": "text/plain", "buffer": io.BytesIO(b"ab\ncd\nef\n").getvalue()}
