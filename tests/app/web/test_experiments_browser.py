"""Experiments in the browser: each preset makes its runs and opens them compared; the gradient-norm
chart follows training; the Train form's truncation K greys the dropped cells of the Inspect map."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.training.presets import PRESETS

from ..conftest import LiveServer, by

pytestmark = pytest.mark.browser


def tab(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def test_each_preset_makes_its_runs_and_opens_the_comparison(
    browser: Browser, live_server: LiveServer
) -> None:
    page, errors = tab(browser)
    for name, preset in PRESETS.items():
        page.goto(live_server.url + "/")
        by(page, f"preset-{name}").click()
        page.wait_for_url("**/compare?*", timeout=20_000)
        assert f"preset={name}" in page.url
        rows = by(page, "compare-table").locator("tbody tr")
        expect(rows).to_have_count(len(preset.runs))
        expect(by(page, "preset-look")).to_be_visible()
        expect(by(page, "compare-inspect").get_by_test_id("compare-gamma-map")).to_have_count(
            len(preset.runs)
        )
        ids = [rows.nth(i).get_attribute("data-run") or "" for i in range(len(preset.runs))]
        for run_id in ids:  # each run is the visitor's: its token was kept; delete them for the next preset
            token = page.evaluate(f"localStorage.getItem('bptt-lab-run-token:{run_id}')")
            assert token, f"{name}: no token kept for {run_id}"
            gone = httpx.delete(
                f"{live_server.url}/api/runs/{run_id}", headers={"Authorization": f"Bearer {token}"}
            )
            assert gone.status_code == 204, gone.text
    page.close()
    assert errors == [], errors


def test_the_grad_norm_chart_gains_points(browser: Browser, live_server: LiveServer) -> None:
    made = httpx.post(f"{live_server.url}/api/runs", json={"steps_per_second": 20, "max_steps": 100_000})
    assert made.status_code == 201, made.text  # paced: its history grows a point a step, far from its bound
    page, errors = tab(browser)
    page.goto(f"{live_server.url}/runs/{made.json()['id']}")
    chart = by(page, "grad-norm-chart")
    expect(chart).to_be_visible()
    points = "Number(document.querySelector('[data-testid=grad-norm-chart] svg').dataset.points)"
    page.wait_for_function(f"{points} > 0", timeout=15_000)
    first = page.evaluate(points)
    page.wait_for_function(f"{points} > {first}", timeout=15_000)  # redrawn from the event stream
    page.close()
    assert errors == [], errors


def test_the_truncation_field_greys_the_dropped_cells(browser: Browser, live_server: LiveServer) -> None:
    page, errors = tab(browser)
    page.goto(live_server.url + "/")
    K = 2
    by(page, "truncation-input").fill(str(K))
    page.once("dialog", lambda dialog: dialog.accept())  # Start over a run that has trained asks first
    with page.expect_response(lambda r: "/fragments/train/start" in r.url) as started:
        by(page, "start-button").click()
    assert started.value.status == 200
    assert httpx.get(f"{live_server.url}/api/status").json()["config"]["truncation"] == K
    name = "stegosaurus"
    field = by(page, "inspect-input")
    field.fill(name)
    field.press("Enter")
    expect(by(page, "inspect-summary")).to_have_attribute("data-name", name, timeout=10_000)
    T = len(name) + 1
    expect(by(page, "run-truncation")).to_have_attribute("data-k", str(K))
    grey = by(page, "gamma-heatmap").locator("rect.g-cell.dropped")
    expect(grey).to_have_count((T - K) * (T - K + 1) // 2, timeout=10_000)
    page.close()
    assert errors == [], errors
