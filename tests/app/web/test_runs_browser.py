"""A visitor's own run in the browser: made from the page, driven on its own page, listed on /runs."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from ..conftest import LiveServer, by

pytestmark = pytest.mark.browser


def test_a_new_run_trains_on_its_own_page_beside_the_class_run(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/")
    by(page, "new-run-button").click()
    page.wait_for_url("**/runs/*")
    run_id = page.url.rsplit("/", 1)[1]
    expect(by(page, "train-state")).to_have_text("running", timeout=10_000)
    expect(by(page, "run-token-note")).to_contain_text("You drive this run")
    by(page, "pause-button").click()
    expect(by(page, "train-state")).to_have_text("paused")
    status = httpx.get(f"{live_server.url}/api/runs/{run_id}/status").json()
    assert status["state"] == "paused"
    assert httpx.get(f"{live_server.url}/api/status").json()["state"] == "running"  # the class's goes on

    page.reload()  # the token is kept: the run is still driven from here
    expect(by(page, "run-token-note")).to_contain_text("You drive this run")
    by(page, "resume-button").click()
    expect(by(page, "train-state")).to_have_text("running")

    page.goto(live_server.url + "/runs")
    table = by(page, "runs-table")
    expect(table.locator(f'tr[data-run="{run_id}"]')).to_be_visible()
    expect(table.locator('tr[data-run="default"]')).to_be_visible()
    other = browser.new_page()  # another visitor only watches it
    other.goto(f"{live_server.url}/runs/{run_id}")
    expect(by(other, "run-token-note")).to_contain_text("You watch this run")
    other.close()
    page.close()
    assert errors == [], errors
