"""The page in Debian's Chromium, driven by Playwright, against a live server.

One server and one browser page for the module (the `browser` fixture is in
conftest.py); the tests run in order, each leaving the run training.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from ..conftest import CHROMIUM, RESULTS, LiveServer, by

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]


def step_of(page: Page) -> int:
    return int(by(page, "train-step").inner_text().replace(",", ""))


def chart_last_step(page: Page) -> int:
    return int(page.locator('[data-testid="loss-chart"] svg').get_attribute("data-last-step") or 0)


def test_the_page_opens_showing_training(page: Page) -> None:
    expect(by(page, "train-state")).to_have_text("running")
    expect(page.locator("#live")).to_have_attribute("data-on", "yes", timeout=5000)
    first = step_of(page)
    expect(by(page, "train-step")).not_to_have_text(by(page, "train-step").inner_text())
    assert step_of(page) > first
    expect(by(page, "train-loss")).to_have_text(re.compile(r"^\d+\.\d{4}$"))
    expect(by(page, "live-samples").locator("button.name").first).to_be_visible(timeout=5000)


def test_the_loss_chart_gains_points(page: Page) -> None:
    # the history is thinned as it grows, so new points show as a later last step
    before = chart_last_step(page)
    chart = "document.querySelector('[data-testid=loss-chart] svg').dataset"
    page.wait_for_function(f"() => +{chart}.lastStep > {before} && +{chart}.points > 1", timeout=5000)
    title = page.locator('[data-testid="loss-chart"] svg .hover title').last.text_content()
    assert title and title.startswith("step ")


def test_pause_step_resume_and_reset(page: Page) -> None:
    by(page, "pause-button").click()
    expect(by(page, "train-state")).to_have_text("paused")
    expect(by(page, "step-button")).to_be_enabled()
    paused_at = step_of(page)
    page.wait_for_timeout(400)
    assert step_of(page) == paused_at

    by(page, "step-button").click()
    expect(by(page, "train-step")).to_have_text(f"{paused_at + 1:,}")

    by(page, "resume-button").click()
    expect(by(page, "train-state")).to_have_text("running")
    moved = "+document.querySelector('[data-testid=train-step]').innerText.replace(/,/g, '')"
    page.wait_for_function(f"() => {moved} > {paused_at + 5}")

    by(page, "reset-button").click()
    expect(by(page, "train-state")).to_have_text("idle")
    expect(by(page, "train-step")).to_have_text("0")
    expect(page.locator('[data-testid="loss-chart"] svg')).to_have_attribute("data-points", "0")

    by(page, "start-button").click()
    expect(by(page, "train-state")).to_have_text("running")


def test_resume_right_after_typing_max_steps_leaves_the_page_showing_it_train(page: Page) -> None:
    # The field's change (sent as focus leaves it) and Resume race; whichever answer or event
    # lands last, the older state never overwrites the newer one.
    for attempt in range(3):
        by(page, "pause-button").click()
        expect(by(page, "train-state")).to_have_text("paused")
        by(page, "max-steps-input").fill(f"{9_000_000 + attempt}")
        by(page, "resume-button").click()
        expect(page.locator("#err-train-max_steps")).to_have_text(f"now {9_000_000 + attempt:,}")
        expect(by(page, "train-state")).to_have_text("running")
        expect(by(page, "pause-button")).to_be_enabled()
        expect(by(page, "resume-button")).to_be_disabled()
    by(page, "max-steps-input").fill("10000000")
    by(page, "max-steps-input").press("Tab")
    expect(page.locator("#err-train-max_steps")).to_have_text("now 10,000,000")


def test_start_asks_before_it_throws_a_trained_run_away(page: Page) -> None:
    by(page, "generate-button").click()
    names = by(page, "generated-names").locator('[data-testid="generated-name"]')
    expect(names).to_have_count(10)
    page.once("dialog", lambda dialog: dialog.dismiss())  # refused: nothing changes
    with page.expect_event("dialog") as asked:
        by(page, "start-button").click()
    assert "throws away this run" in asked.value.message
    expect(by(page, "train-state")).to_have_text("running")
    expect(names).to_have_count(10)
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_event("dialog"):
        by(page, "start-button").click()
    # a new run trains, and the page holds none of the old weights' names
    expect(names).to_have_count(0)
    expect(by(page, "train-state")).to_have_text("running")


def test_changing_the_learning_rate_while_running_takes_effect(page: Page, live_server: LiveServer) -> None:
    lr = by(page, "lr-input")
    lr.fill("0.02")
    lr.press("Tab")
    expect(page.locator("#err-train-learning_rate")).to_have_text("now 0.02")
    expect(by(page, "current-lr")).to_have_text("0.02")
    expect(by(page, "train-state")).to_have_text("running")
    status = httpx.get(live_server.url + "/api/status").json()
    assert status["config"]["learning_rate"] == 0.02 and status["state"] == "running"
    assert parse_qs(urlsplit(page.url).query)["learning_rate"] == ["0.02"]


def test_generate_with_a_prefix_and_a_temperature(page: Page) -> None:
    page.fill("#generate-prefix", "ste")
    by(page, "temperature-input").fill("0.5")
    by(page, "generate-button").click()
    names = by(page, "generated-names").locator('[data-testid="generated-name"] button.name')
    expect(names).to_have_count(10)
    for text in names.all_inner_texts():
        assert text.startswith("ste")
    expect(by(page, "generated-names").locator(".greedy")).to_contain_text("ste")
    query = parse_qs(urlsplit(page.url).query)
    assert query["g_prefix"] == ["ste"] and query["g_temperature"] == ["0.5"]


def test_a_bad_value_shows_its_error_beside_the_field(page: Page) -> None:
    by(page, "temperature-input").fill("hot")
    by(page, "generate-button").click()
    expect(page.locator("#err-generate-temperature")).to_contain_text("must be a number")
    by(page, "temperature-input").fill("0.8")
    by(page, "generate-button").click()
    expect(page.locator("#err-generate-temperature")).to_have_text("")

    page.fill("#train-hidden_size", "0")
    page.once("dialog", lambda dialog: dialog.accept())  # Start asks first: the run has trained
    by(page, "start-button").click()
    expect(page.locator("#err-train-hidden_size")).to_contain_text("at least 1")
    expect(by(page, "train-state")).to_have_text("running")  # the run goes on
    page.fill("#train-hidden_size", "16")


def test_a_names_file_uploads_from_the_page(page: Page, tmp_path: Path) -> None:
    names = tmp_path / "pterosaurs.txt"
    names.write_text("pteranodon\nquetzalcoatlus\nrhamphorhynchus\n")
    page.set_input_files('[data-testid="dataset-file"]', str(names))
    page.locator('button[form="dataset-form"]').click()
    expect(page.locator("#err-dataset-file")).to_contain_text("3 names")
    expect(by(page, "dataset-select")).to_have_value("uploaded")
    page.select_option('[data-testid="dataset-select"]', "bundled")


def test_the_url_restores_the_view_and_a_screenshot_is_kept(page: Page) -> None:
    url = page.url
    page.goto(url)
    expect(page.locator("#generate-prefix")).to_have_value("ste")
    expect(by(page, "lr-input")).to_have_value("0.02")
    by(page, "generate-button").click()
    expect(by(page, "generated-names").locator('[data-testid="generated-name"]')).to_have_count(10)
    page.locator('[data-testid="scale-log"]').click()
    expect(page.locator('[data-testid="loss-chart"] svg')).to_have_attribute("data-scale", "log")
    expect(page.locator("#live")).to_have_attribute("data-on", "yes", timeout=5000)
    RESULTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1200)
    page.screenshot(path=str(RESULTS / "bptt-lab-page.png"))
    page.screenshot(path=str(RESULTS / "bptt-lab-full.png"), full_page=True)


def test_clicking_a_name_inspects_it(page: Page) -> None:
    field = by(page, "inspect-input")
    first = by(page, "generated-names").locator("button.name[data-name]").nth(1)
    name = first.get_attribute("data-name")
    first.click()
    expect(field).to_have_value(name or "")
