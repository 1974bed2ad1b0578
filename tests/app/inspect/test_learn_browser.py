"""Learn and the linked views in Debian's Chromium (Playwright), against a live server that trains.

One server and one page for the module (conftest's fixtures); the tests run in order on that
page: a link opens its step, the keyboard walks the nine steps and the buttons walk back, the
numbers of steps 5 to 7 are read from the page and compared with trace_gammas of the weights the
walk froze (the live server runs in this process, so its Inspect service is at hand), the walk
holds still while training goes on, hovering and the arrow keys link the views, and axe-core
finds nothing serious on any step. Screenshots go to test-results/.
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Locator, Page, expect

from app.inspect.service import get_inspection
from rnn_core import trace_gammas
from rnn_core.trace import GammaTrace

from ..conftest import CHROMIUM, RESULTS, LiveServer, by
from ..web.axe import serious_violations

NAME = "boosaurus"  # T = 10 steps
T = len(NAME) + 1
LINKED = re.compile(r"\blinked\b")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]


def card(page: Page) -> Locator:
    return by(page, "learn-step")


def at_step(page: Page, n: int) -> None:
    expect(card(page)).to_have_attribute("data-step", str(n), timeout=10_000)


def values(scope: Locator, q: str) -> list[float]:
    """The full values of the numbers named q (<data data-q=...>) under scope."""
    return [
        float(v) for v in scope.locator(f'data[data-q="{q}"]').evaluate_all("els => els.map(e => e.value)")
    ]


def frozen_trace(page: Page) -> GammaTrace:
    """trace_gammas of the name under the weights this walk froze (kept by the server's service)."""
    snap = get_inspection().frozen.get(card(page).get_attribute("data-snap") or "")
    assert snap is not None, "the walk's weights are not kept"
    return trace_gammas(snap.model, snap.vocab.encode(NAME))


def shot(page: Page, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / name))


def test_a_link_opens_its_step_and_a_reload_keeps_it(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/?name={NAME}&learn=6")
    at_step(page, 6)
    expect(by(page, "inspect-summary")).to_have_attribute("data-name", NAME)
    page.reload()
    at_step(page, 6)
    shot(page, "learn-6-linked.png")


def test_the_learn_button_opens_step_1_for_the_inspected_name(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    expect(by(page, "inspect-summary")).to_be_visible(timeout=20_000)
    by(page, "inspect-input").fill(NAME)
    by(page, "inspect-input").press("Enter")
    expect(by(page, "inspect-summary")).to_have_attribute("data-name", NAME, timeout=10_000)
    by(page, "learn-button").click()
    at_step(page, 1)
    expect(page).to_have_url(re.compile(f"name={NAME}.*learn=1|learn=1.*name={NAME}"))


def test_the_keyboard_walks_forward_and_the_buttons_walk_back(page: Page) -> None:
    page.locator("#learn-title").click()  # focus in the card, outside any field or grid
    for n in range(2, 10):
        page.keyboard.press("ArrowRight")
        at_step(page, n)
        if n in (4, 7, 9):
            shot(page, f"learn-step-{n}.png")
    expect(by(page, "learn-next")).to_be_disabled()
    for n in range(8, 0, -1):
        by(page, "learn-prev").click()
        at_step(page, n)
    expect(by(page, "learn-prev")).to_be_disabled()
    assert "learn=1" in page.url


def test_step_5_shows_the_trace_of_the_frozen_weights(page: Page) -> None:
    by(page, "learn-goto").nth(4).click()
    at_step(page, 5)
    tr = frozen_trace(page)
    t = int(by(page, "learn-pick-t").input_value())
    k = int(by(page, "learn-pick-k").input_value())
    i = int(by(page, "learn-pick-i").input_value())
    j = int(by(page, "learn-pick-j").input_value())
    claim = by(page, "learn-claim1")
    assert values(claim, "gamma") == [tr.gamma[t - 1, k - 1, i - 1]]
    assert values(claim, "sigma_prime") == [tr.sigma_prime[k - 1, i - 1]]
    assert values(claim, "h_prev") == [tr.h[k - 1, j - 1]]
    by(page, "learn-pick-k").select_option("3")  # a pick re-renders the step
    expect(by(page, "learn-pick-k")).to_have_value("3")
    expect(claim.locator('data[data-q="gamma"]')).to_have_attribute(
        "value", repr(float(tr.gamma[t - 1, 2, i - 1]))
    )


def test_step_6_fills_row_t_by_eq_6_2(page: Page) -> None:
    by(page, "learn-next").click()
    at_step(page, 6)
    tr = frozen_trace(page)
    t, i = int(by(page, "learn-pick-t").input_value()), int(by(page, "learn-pick-i").input_value())
    for k in range(t, 0, -1):
        expect(by(page, "learn-claim2")).to_have_attribute("data-k", str(k))
        (shown,) = values(by(page, "learn-claim2"), "result")
        assert shown == pytest.approx(tr.gamma[t - 1, k - 1, i - 1], rel=1e-12, abs=1e-300)
        if k > 1:
            by(page, "learn-sub-next").click()
    expect(by(page, "learn-sub-next")).to_be_disabled()


def test_step_7_receives_plus_computes_is_holds_row_by_row(page: Page) -> None:
    by(page, "learn-next").click()
    at_step(page, 7)
    tr = frozen_trace(page)
    i = int(by(page, "learn-pick-i").input_value())
    for k in range(T, 0, -1):
        expect(by(page, "learn-sums")).to_have_attribute("data-k", str(k))
        rows = by(page, "learn-sums-table").locator("tbody tr")
        expect(rows).to_have_count(T - k + 1)  # each row appears when its step runs
        for r in range(T - k + 1):
            row = rows.nth(r)
            kk = int(row.get_attribute("data-k") or 0)
            (receives,), (computes,), (holds,) = (values(row, q) for q in ("receives", "computes", "holds"))
            assert receives + computes == pytest.approx(holds, rel=1e-12, abs=1e-15)
            assert holds == pytest.approx(tr.accumulated[kk - 1, i - 1], rel=1e-12, abs=1e-300)
        if k > 1:
            by(page, "learn-sub-next").click()
    shot(page, "learn-step-7-done.png")


def test_the_walk_holds_still_while_training_goes_on(page: Page, live_server: LiveServer) -> None:
    weights = by(page, "learn-weights")
    frozen = weights.get_attribute("data-weights-step")
    holds = values(by(page, "learn-sums-table"), "holds")
    expect(weights).to_contain_text("training has gone on to step", timeout=10_000)
    page.wait_for_timeout(1_500)  # events of the stream arrive; the panel does not follow
    assert weights.get_attribute("data-weights-step") == frozen
    assert values(by(page, "learn-sums-table"), "holds") == holds
    assert by(page, "inspect-summary").get_attribute("data-step") == frozen
    by(page, "learn-fresh").click()
    expect(weights).not_to_have_attribute("data-weights-step", frozen or "", timeout=10_000)
    at_step(page, 7)


def test_hovering_a_cell_lights_its_row_its_step_and_its_bar(page: Page) -> None:
    page.locator("#more-table > summary").click()
    expect(by(page, "bptt-table").locator('tr[data-k="3"]')).to_be_visible()  # drawn when opened
    cell = page.locator('[data-testid="gamma-heatmap"] rect.g-cell[data-t="7"][data-k="3"]')
    cell.hover()
    expect(by(page, "bptt-table").locator('tr[data-k="3"]')).to_have_class(LINKED)
    expect(page.locator('.dwh-bar[data-k="3"]')).to_have_class(LINKED)
    expect(by(page, "unrolled").locator('td[data-link-k="3"]').first).to_have_class(LINKED)
    vector = by(page, "gamma-vector")
    expect(vector).to_have_attribute("data-t", "7")
    expect(vector).to_have_attribute("data-k", "3")
    expect(vector).to_contain_text("Eq. 5.2")
    by(page, "bptt-table").locator('tr[data-k="5"]').hover()  # the same from the table
    expect(page.locator('[data-testid="gamma-heatmap"] rect.g-cell[data-k="5"]').first).to_have_class(LINKED)
    expect(vector).to_have_attribute("data-k", "5")
    shot(page, "linked-views.png")


def test_the_arrow_keys_move_in_the_triangle(page: Page) -> None:
    grid = page.locator('[data-testid="gamma-heatmap"] [role="grid"]')
    stop = grid.locator('[tabindex="0"]')
    expect(stop).to_have_count(1)
    stop.focus()
    t, k = int(stop.get_attribute("data-t") or 0), int(stop.get_attribute("data-k") or 0)
    page.keyboard.press("ArrowLeft")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("data-k", str(k - 1))
    expect(focused).to_have_attribute("tabindex", "0")
    page.keyboard.press("ArrowUp")
    expect(page.locator(":focus")).to_have_attribute("data-t", str(t - 1))
    assert "t = " in (page.locator(":focus").get_attribute("aria-label") or "")
    page.keyboard.press("Enter")
    expect(by(page, "gamma-vector")).to_have_attribute("data-t", str(t - 1))
    at_step(page, 7)  # the arrow keys inside the grid never moved the walk


def test_axe_finds_nothing_serious_on_any_step(page: Page) -> None:
    for n in range(1, 10):
        by(page, "learn-goto").nth(n - 1).click()
        at_step(page, n)
        page.wait_for_timeout(200)
        assert serious_violations(page) == [], f"step {n}"


def test_reduced_motion_turns_the_animations_into_plain_steps(page: Page) -> None:
    page.emulate_media(reduced_motion="reduce")
    cell = page.locator('[data-testid="gamma-heatmap"] rect.g-cell').first
    assert cell.evaluate("el => getComputedStyle(el).transitionDuration") in ("0s", "0s, 0s, 0s")
    page.emulate_media(reduced_motion="no-preference")
    assert "0.35s" in cell.evaluate("el => getComputedStyle(el).transitionDuration")
    by(page, "learn-close").click()
    expect(card(page)).to_have_count(0)
    assert "learn=" not in page.url
