"""The Inspect panel in Debian's Chromium (Playwright), against a live server that trains.

One server (conftest's live_server) and one page for the module; the tests run
in order on that page: type a name, click a heatmap cell, walk the accumulation table back to k = 1,
inspect a generated name, refuse a bad one, follow the training over the page's event
stream. Screenshots go to test-results/.
"""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Locator, Page, Request, Response, expect

from ..conftest import CHROMIUM, RESULTS, by
from ..web.axe import serious_violations

NAME = "boosaurus"  # T = 10 steps
IN_ITS_BOX = """row => {
  const box = row.closest('.table-box').getBoundingClientRect(), r = row.getBoundingClientRect();
  return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]


def summary(page: Page) -> Locator:
    return by(page, "inspect-summary")


def open_more(page: Page) -> None:
    """Open what the panel shows on demand: the accumulation table, the check, the decay plot."""
    page.evaluate("document.querySelectorAll('#inspect-panel details').forEach((d) => { d.open = true; })")


def shot(page: Page, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.locator("#inspect-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(RESULTS / name))


def test_the_panel_opens_with_a_first_name(page: Page) -> None:
    expect(by(page, "gamma-heatmap")).to_be_visible(timeout=20_000)
    expect(summary(page)).to_have_attribute("data-name", "tyrannosaurus")


def test_typing_a_name_shows_its_heatmap_and_table(page: Page) -> None:
    field = by(page, "inspect-input")
    field.fill(NAME)
    field.press("Enter")
    expect(summary(page)).to_have_attribute("data-name", NAME, timeout=10_000)
    T = len(NAME) + 1
    expect(by(page, "gamma-heatmap").locator("rect.g-cell")).to_have_count(T * (T + 1) // 2)
    for testid in ("bptt-table", "grad-check", "gamma-decay"):  # on demand: drawn when opened
        expect(by(page, testid)).to_have_count(0)
    open_more(page)
    expect(by(page, "bptt-table").locator("tbody tr")).to_have_count(T)
    expect(by(page, "gamma-decay")).to_be_visible()
    expect(by(page, "grad-check").locator("tbody tr")).to_have_count(15)
    expect(by(page, "grad-verdict")).to_have_attribute("data-ok", "true")
    page.evaluate("document.getElementById('inspect-panel').scrollIntoView()")
    page.screenshot(path=str(RESULTS / "inspect-panel.png"))
    page.screenshot(path=str(RESULTS / "inspect-full.png"), full_page=True)


def test_the_panel_fits_a_1366_wide_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    box = page.locator("#inspect-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1366


def test_clicking_a_cell_shows_that_gamma_vector(page: Page) -> None:
    # Still weights: a refresh of the panel already on its way would draw the cell it asked for.
    page.locator("#inspect-follow").uncheck()
    try:
        page.locator('rect.g-cell[data-t="7"][data-k="3"]').click()
        vector = by(page, "gamma-vector")
        expect(vector).to_have_attribute("data-t", "7")
        expect(vector).to_have_attribute("data-k", "3")
        expect(vector.locator("svg rect")).to_have_count(16)  # D_h of the test run
    finally:
        page.locator("#inspect-follow").check()


def test_step_back_walks_down_to_k_1(page: Page) -> None:
    T = len(NAME) + 1
    open_more(page)
    table = by(page, "bptt-table")
    for k in range(T, 0, -1):
        by(page, "step-back-button").click()
        expect(table).to_have_attribute("data-walk-k", str(k))
        lit = table.locator("tr.walk-current")
        expect(lit).to_have_attribute("data-k", str(k))
        assert lit.evaluate(IN_ITS_BOX), f"row k = {k} scrolled out of the table's box"
    expect(by(page, "walk-lines").locator('[data-line="passes"]')).to_have_attribute("data-to", "0")
    gamma = page.locator("#inspect-gamma-walk")  # the walk's layer over the gamma map
    expect(gamma.locator('rect[data-t="1"][data-k="1"]')).to_have_css("stroke-width", "2px")
    expect(gamma.locator("rect")).to_have_count(T)  # column 1, t = 1..T; nothing passed to k = 0
    expect(page.locator('#inspect-dwh-walk rect[data-k="1"]')).to_have_css(
        "fill", "rgb(185, 59, 11)"
    )  # --ins-hot
    layer_box = page.locator("#inspect-gamma-walk").bounding_box()
    chart_box = by(page, "gamma-heatmap").bounding_box()
    assert layer_box == chart_box, (layer_box, chart_box)  # the layer sits exactly on its chart
    expect(by(page, "step-back-button")).to_have_attribute("data-next-k", str(T))  # starts again
    page.locator("#inspect-walk").scroll_into_view_if_needed()
    page.screenshot(path=str(RESULTS / "inspect-walk.png"))


def test_clicking_a_generated_name_inspects_it(page: Page) -> None:
    by(page, "generate-button").click()
    # a young model may end a name at once: an empty one is refused, not inspected (see below)
    names = by(page, "generated-names").locator('li button.name[data-name]:not([data-name=""])')
    expect(names.first).to_be_visible(timeout=10_000)
    name = names.first.get_attribute("data-name") or ""
    names.first.click()
    expect(by(page, "inspect-input")).to_have_value(name)
    expect(summary(page)).to_have_attribute("data-name", name, timeout=10_000)


def test_a_bad_name_shows_its_error_and_keeps_the_view(page: Page) -> None:
    shown = summary(page).get_attribute("data-name")
    field = by(page, "inspect-input")
    field.fill("b0b")
    field.press("Enter")
    expect(by(page, "inspect-error")).to_contain_text("'0' at position 2 is not in the")
    expect(summary(page)).to_have_attribute("data-name", shown or "")
    step = summary(page).get_attribute("data-step")
    expect(summary(page)).not_to_have_attribute("data-step", step or "", timeout=10_000)
    expect(by(page, "inspect-error")).to_contain_text("'0'")  # a poll does not wipe the message
    shot(page, "inspect-error.png")
    field.fill("x" * 45)
    field.press("Enter")
    expect(by(page, "inspect-error")).to_contain_text("at most 40 characters")
    field.fill(NAME)
    field.press("Enter")
    expect(summary(page)).to_have_attribute("data-name", NAME, timeout=10_000)
    expect(by(page, "inspect-error")).to_have_text("")


def test_the_inspected_name_follows_the_training(page: Page) -> None:
    before = int(summary(page).get_attribute("data-step") or 0)
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=inspect-summary]').dataset.step) > {before}",
        timeout=10_000,
    )
    page.uncheck("#inspect-follow")
    page.wait_for_timeout(300)  # a poll already on its way may still land
    frozen = summary(page).get_attribute("data-step")
    page.wait_for_timeout(3_500)
    assert summary(page).get_attribute("data-step") == frozen
    page.check("#inspect-follow")


def next_refresh(page: Page) -> Response:
    """The panel body's next answer with a body (training's refresh after the weights moved)."""

    def body(r: Response) -> bool:
        return "/fragments/inspect?" in r.url and r.status == 200

    with page.expect_response(body, timeout=10_000) as a:
        pass
    page.wait_for_timeout(200)  # swapped and settled
    return a.value


def test_an_open_part_is_drawn_in_place_as_the_panel_follows_training(page: Page) -> None:
    """The gradient check is computed when its <details> opens; open, it is named in each refresh
    and drawn in place (no request of its own, no placeholder); closed, it waits again."""
    grad = page.locator("#more-grad")
    rows = grad.locator('[data-testid="grad-check"] tbody tr')
    if not grad.evaluate("d => d.open"):
        grad.locator("summary").click()
    expect(rows).to_have_count(15)
    asked: list[str] = []

    def note(request: Request) -> None:
        if "/fragments/inspect/more" in request.url:
            asked.append(request.url)

    page.on("request", note)
    try:
        assert "open=grad" in next_refresh(page).url
        expect(grad).to_have_attribute("open", "")
        expect(rows).to_have_count(15)
        expect(grad.locator(".lazy-pending")).to_have_count(0)
        assert asked == [], asked  # drawn in place by the refresh itself
    finally:
        page.remove_listener("request", note)
    grad.locator("summary").click()  # closed: a refresh leaves only its place
    assert "open=grad" not in next_refresh(page).url
    expect(grad.locator(".lazy-pending")).to_have_count(1)
    with page.expect_response(lambda r: "/fragments/inspect/more?" in r.url and "part=grad" in r.url):
        grad.locator("summary").click()
    expect(rows).to_have_count(15)
    expect(by(page, "grad-verdict")).to_have_attribute("data-ok", "true")


def test_the_event_stream_drives_the_refresh(page: Page) -> None:
    """No timer: the panel asks again on a weights-changed event of the page's stream, and then
    only answers 204 while the weights it shows are still current."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/fragments/inspect?" in r.url else None)
    by(page, "pause-button").click()
    expect(by(page, "train-state")).to_have_text("paused")
    page.wait_for_timeout(1_000)  # the pause's own event may still ask once
    step = summary(page).get_attribute("data-step")
    asked.clear()
    page.wait_for_timeout(3_500)  # two periods of the old 1.5 s poll
    assert asked == [], asked
    with page.expect_response(lambda r: "/fragments/inspect?" in r.url) as answer:
        page.evaluate("htmx.trigger(document.getElementById('live'), 'weights-changed', {data: '{}'})")
    assert answer.value.status == 204 and "key=" in answer.value.url
    assert summary(page).get_attribute("data-step") == step
    by(page, "resume-button").click()
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=inspect-summary]').dataset.step) > {step}",
        timeout=10_000,
    )


def test_a_what_if_K_greys_the_dropped_cells(page: Page) -> None:
    """Typing a what-if K greys the cells k <= t - K, says what they cost, and keeps them grey
    as the panel follows training (the K travels in the panel's hidden state)."""
    field = by(page, "inspect-input")
    field.fill(NAME)
    with page.expect_response(lambda r: "/fragments/inspect?" in r.url and "fresh=1" in r.url):
        field.press("Enter")
    expect(summary(page)).to_have_attribute("data-name", NAME, timeout=10_000)
    grey = by(page, "gamma-heatmap").locator("rect.g-cell.dropped")
    expect(grey).to_have_count(0)
    T, K = len(NAME) + 1, 3
    by(page, "whatif-k").fill(str(K))
    with page.expect_response(lambda r: "/fragments/inspect?" in r.url and f"k_trunc={K}" in r.url) as asked:
        by(page, "whatif-k").press("Enter")
    assert asked.value.status == 200
    expect(grey).to_have_count((T - K) * (T - K + 1) // 2, timeout=10_000)
    expect(grey.first).to_have_css("fill", "rgb(213, 216, 222)")
    assert "dropped by truncation" in (grey.first.get_attribute("aria-label") or "")
    expect(by(page, "trunc-cosine")).to_be_visible()
    expect(by(page, "trunc-ratio")).to_be_visible()
    step = summary(page).get_attribute("data-step") or "0"
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=inspect-summary]').dataset.step) > {step}",
        timeout=10_000,
    )
    expect(grey).to_have_count((T - K) * (T - K + 1) // 2)  # a refresh keeps the what-if
    by(page, "whatif-k").fill("0")
    by(page, "whatif-k").press("Enter")
    expect(by(page, "whatif-error")).to_contain_text("whole number")
    expect(grey).to_have_count((T - K) * (T - K + 1) // 2)  # refused: the view stays
    shot(page, "inspect-whatif-k.png")
    by(page, "whatif-k").fill("")
    by(page, "whatif-k").press("Enter")
    expect(grey).to_have_count(0, timeout=10_000)
    expect(by(page, "whatif-error")).to_have_text("")


def test_choosing_a_bug_turns_the_gradient_check_red(page: Page) -> None:
    verdict = by(page, "grad-verdict")
    by(page, "bug-select").select_option("no-sigma-prime")
    expect(verdict).to_have_attribute("data-ok", "false", timeout=15_000)
    expect(verdict).to_contain_text("fails")
    expect(by(page, "grad-card")).to_have_class("inspect-card grad-card broken")
    expect(verdict.locator("b").first).to_have_css("color", "rgb(197, 34, 31)")  # --bad
    expect(by(page, "broken-map-note")).to_contain_text("Eq. 6.2")
    page.locator("#more-grad").scroll_into_view_if_needed()
    page.screenshot(path=str(RESULTS / "inspect-broken.png"))
    by(page, "bug-select").select_option("")
    expect(verdict).to_have_attribute("data-ok", "true", timeout=15_000)
    expect(by(page, "broken-map-note")).to_have_count(0)


def test_the_what_if_views_are_accessible(page: Page) -> None:
    """Truncation, a bug and every part open (the estimates, the decay's spectral view): axe-clean."""
    by(page, "whatif-k").fill("2")
    by(page, "whatif-k").press("Enter")
    expect(by(page, "trunc-cosine")).to_be_visible(timeout=10_000)
    by(page, "bug-select").select_option("overwrite")
    expect(by(page, "grad-verdict")).to_have_attribute("data-ok", "false", timeout=15_000)
    open_more(page)
    expect(by(page, "grad-estimates")).to_be_visible(timeout=15_000)
    expect(by(page, "decay-spectral")).to_be_visible(timeout=15_000)
    expect(by(page, "bptt-table").locator('td[data-col="dropped"]')).to_have_count(len(NAME) + 1)
    page.locator("#more-estimates").scroll_into_view_if_needed()
    page.screenshot(path=str(RESULTS / "inspect-estimates.png"))
    page.locator("#more-decay").scroll_into_view_if_needed()
    page.screenshot(path=str(RESULTS / "inspect-decay-spectral.png"))
    assert serious_violations(page) == []
    by(page, "bug-select").select_option("")
    expect(by(page, "grad-verdict")).to_have_attribute("data-ok", "true", timeout=15_000)
    by(page, "whatif-k").fill("")
    by(page, "whatif-k").press("Enter")
    expect(by(page, "trunc-cosine")).to_have_count(0, timeout=10_000)
