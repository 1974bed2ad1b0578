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


def test_my_runs_label_rename_fork_and_delete_from_the_page(
    browser: Browser, live_server: LiveServer
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/")
    by(page, "new-run-label").fill("my tanh run")
    page.select_option("#train-activation", "tanh")
    by(page, "fork-run-button").click()  # a fork of the class's run, under tanh
    page.wait_for_url("**/runs/*")
    run_id = page.url.rsplit("/", 1)[1]
    expect(by(page, "run-whose")).to_contain_text("my tanh run")
    status = httpx.get(f"{live_server.url}/api/runs/{run_id}/status").json()
    assert status["config"]["activation"] == "tanh" and status["step"] > 0  # it went on from the weights

    mine = by(page, "my-runs").locator(f'[data-run-id="{run_id}"]')
    expect(mine).to_contain_text("my tanh run")
    mine.get_by_test_id("my-run-label").fill("renamed run")
    mine.get_by_test_id("my-run-rename").click()
    expect(by(page, "my-runs").locator(f'[data-run-id="{run_id}"] a')).to_have_text("renamed run")
    labels = {r["id"]: r["label"] for r in httpx.get(f"{live_server.url}/api/runs").json()["runs"]}
    assert labels[run_id] == "renamed run"

    page.goto(live_server.url + "/runs")  # /runs follows the runs over one stream
    row = by(page, "runs-table").locator(f'tr[data-run="{run_id}"]')
    expect(row).to_contain_text("renamed run")
    first = row.locator("td").nth(1).inner_text()
    expect(row.locator("td").nth(1)).not_to_have_text(first, timeout=10_000)

    page.goto(f"{live_server.url}/runs/{run_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    by(page, "my-runs").locator(f'[data-run-id="{run_id}"]').get_by_test_id("my-run-delete").click()
    page.wait_for_url(live_server.url + "/")  # its own page is gone: back to the class's run
    assert httpx.get(f"{live_server.url}/api/runs/{run_id}/status").status_code == 404
    expect(by(page, "my-runs").locator(f'[data-run-id="{run_id}"]')).to_have_count(0)
    page.close()
    assert errors == [], errors


def test_ticked_runs_open_side_by_side_and_follow_training(browser: Browser, live_server: LiveServer) -> None:
    made = httpx.post(f"{live_server.url}/api/runs", json={"activation": "tanh", "eval_every": 20})
    assert made.status_code == 201, made.text
    other = made.json()["id"]
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/runs")
    table = by(page, "runs-table")
    table.locator('tr[data-run="default"]').get_by_test_id("compare-tick").check()
    first_step = table.locator(f'tr[data-run="{other}"] td').nth(2).inner_text()
    expect(table.locator(f'tr[data-run="{other}"] td').nth(2)).not_to_have_text(first_step, timeout=10_000)
    expect(
        table.locator('tr[data-run="default"]').get_by_test_id("compare-tick")
    ).to_be_checked()  # redrawn, kept
    table.locator(f'tr[data-run="{other}"]').get_by_test_id("compare-tick").check()
    by(page, "compare-button").click()
    page.wait_for_url("**/compare?*")
    expect(by(page, "compare-chart")).to_be_visible()
    rows = by(page, "compare-table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_test_id("compare-differs")).to_contain_text("activation tanh")
    step = by(page, "compare-table").locator(f'tr[data-run="{other}"]').get_by_test_id("compare-step")
    before = step.inner_text()
    expect(step).not_to_have_text(before, timeout=10_000)  # it follows the runs over the stream

    inspected = by(page, "compare-inspect")  # one name under each run, side by side
    expect(inspected.get_by_test_id("compare-gamma-map")).to_have_count(2)
    by(page, "compare-name").fill("rex")
    by(page, "compare-name").press("Enter")
    expect(by(page, "compare-inspect")).to_have_attribute("data-name", "rex")
    expect(by(page, "compare-step").first).to_be_visible()  # the stream's redraws leave it be
    assert "name=rex" in page.url  # the comparison lives in the address
    by(page, "compare-name").fill("r3x")
    by(page, "compare-name").press("Enter")
    expect(page.locator("#compare-name-error")).not_to_be_empty()
    expect(by(page, "compare-inspect")).to_have_attribute("data-name", "rex")  # what it showed stays
    page.close()
    assert errors == [], errors
