"""Every screen, every student: the page in Debian's Chromium at a laptop's, a tablet's and a
phone's size, checked by axe-core and by the rules axe cannot check (no horizontal scroll, no
overlapping text, controls of at least 24 px), with skip links, a visible focus, text
alternatives for the charts, and a page that never contradicts the run.

One live server for the module (conftest's); each test opens its own tab. Screenshots of the
phone and the tablet go to test-results/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import CHROMIUM, RESULTS, LiveServer, by
from .axe import serious_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

NAME = "boosaurus"
SCREENS = {"tablet": (768, 1024), "phone": (390, 844)}

#: The checks axe cannot make (tests/app/web/screens.js): controls under 24 x 24 px, text over text.
SCREENS_JS = (Path(__file__).with_name("screens.js")).read_text()
SMALL_CONTROLS = SCREENS_JS.split("const smallControls = ", 1)[1].split(";\n", 1)[0]
OVERLAPS = SCREENS_JS.split("const overlaps = ", 1)[1].rsplit(";\n", 1)[0]


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert errors == [], errors


def opened(page: Page, url: str) -> None:
    page.goto(url)
    expect(by(page, "inspect-summary")).to_be_visible(timeout=20_000)
    if "learn=" in url:
        expect(by(page, "learn-step")).to_be_visible(timeout=10_000)


def test_axe_finds_nothing_serious_on_the_page_and_an_inspected_name(
    tab: Page, live_server: LiveServer
) -> None:
    opened(tab, live_server.url + "/")
    assert serious_violations(tab) == [], "the page"
    opened(tab, f"{live_server.url}/?name={NAME}")
    by(tab, "generate-button").click()
    expect(by(tab, "generated-names").locator("li").first).to_be_visible(timeout=10_000)
    assert serious_violations(tab) == [], "an inspected name, names generated"
    for path in ("/runs", "/compare?runs=default"):
        response = tab.goto(live_server.url + path)
        assert response is not None and response.ok, path
        assert serious_violations(tab) == [], path


@pytest.mark.parametrize("screen", SCREENS)
def test_tablet_and_phone_scroll_only_down(browser: Browser, live_server: LiveServer, screen: str) -> None:
    width, height = SCREENS[screen]
    page = browser.new_page(viewport={"width": width, "height": height})
    RESULTS.mkdir(exist_ok=True)
    try:
        for view, url in (
            ("page", f"/?name={NAME}"),
            ("learn-5", f"/?name={NAME}&learn=5"),
            ("learn-7", f"/?name={NAME}&learn=7"),
        ):
            opened(page, live_server.url + url)
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            page.wait_for_timeout(300)
            page.screenshot(path=str(RESULTS / f"{screen}-{view}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (screen, view)
            assert page.evaluate(SMALL_CONTROLS) == [], (screen, view)
            assert page.evaluate(OVERLAPS) == [], (screen, view)
            assert serious_violations(page, open_details=False) == [], (screen, view)
        for view, url in (("runs", "/runs"), ("compare", "/compare?runs=default")):
            page.goto(live_server.url + url)
            page.wait_for_timeout(300)
            page.screenshot(path=str(RESULTS / f"{screen}-{view}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (screen, view)
            assert page.evaluate(SMALL_CONTROLS) == [], (screen, view)
            assert page.evaluate(OVERLAPS) == [], (screen, view)
            assert serious_violations(page, open_details=False) == [], (screen, view)
    finally:
        page.close()


def test_the_first_view_fits_a_laptop_after_clicking_a_generated_name(
    tab: Page, live_server: LiveServer
) -> None:
    opened(tab, live_server.url + "/")
    by(tab, "generate-button").click()
    name = by(tab, "generated-names").locator('li button.name[data-name]:not([data-name=""])').first
    expect(name).to_be_visible(timeout=10_000)
    chosen = name.get_attribute("data-name") or ""
    name.click()
    expect(by(tab, "inspect-summary")).to_have_attribute("data-name", chosen, timeout=10_000)
    tab.wait_for_timeout(800)  # the smooth scroll
    for part in ("inspect-summary", "unrolled", "gamma-heatmap"):
        box = by(tab, part).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768, (part, box)


def test_skip_links_and_a_visible_focus(tab: Page, live_server: LiveServer) -> None:
    opened(tab, live_server.url + "/")
    tab.keyboard.press("Tab")
    skip = tab.locator(":focus")
    expect(skip).to_have_text("Skip to Train")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # shown when focused
    for text, target in (("Skip to Generate", "generate-title"), ("Skip to Inspect", "inspect-title")):
        link = tab.get_by_role("link", name=text)
        assert link.get_attribute("href") == f"#{target}" and tab.locator(f"#{target}").count() == 1
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")  # past the skip links: the first control of the page
    outline = tab.locator(":focus").evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("", "none")


def test_every_chart_has_a_text_alternative(tab: Page, live_server: LiveServer) -> None:
    opened(tab, f"{live_server.url}/?name={NAME}&learn=2")
    unnamed = tab.evaluate("""() => [...document.querySelectorAll('svg')]
      .filter((s) => !s.closest('[aria-hidden=true]') && !(s.getAttribute('aria-label') || '').trim())
      .map((s) => s.getAttribute('class'))""")
    assert unnamed == []
    loss = tab.locator('[data-testid="loss-chart"] svg')
    assert "step" in (loss.get_attribute("aria-label") or "")  # with its numbers
    cells = tab.locator('[data-testid="gamma-heatmap"] [role="gridcell"]')
    assert all(
        "= " in (label or "")
        for label in cells.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    )


def test_the_page_says_where_the_form_differs_from_the_run(tab: Page, live_server: LiveServer) -> None:
    opened(tab, live_server.url + "/?hidden_size=64&activation=tanh")
    note = by(tab, "run-differs")
    expect(note).to_be_visible()
    expect(note).to_contain_text("hidden size: the form says 64, the run has 16")
    expect(note).to_contain_text("activation: the form says tanh")
    expect(note).to_contain_text("Start")
    tab.fill("#train-hidden_size", "16")
    tab.select_option("#train-activation", "sigmoid")
    expect(note).to_be_hidden()
    tab.fill("#train-batch_size", "3")
    expect(note).to_contain_text("batch size: the form says 3")
