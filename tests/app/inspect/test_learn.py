"""Learn (app/inspect/learn*.py, app/routes/learn.py): every number a step shows is the trace's.

The inspect and learn routers on a bare app, with test_views' fake run whose weights the test
moves; each step's numbers are read from the <data value> elements of its card and compared with
trace_gammas of the weights the walk froze. Then the frozen weights themselves, the address the
answers put in the page, and every way a request can be refused in words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.deps import get_run
from app.inspect.learn import STEPS
from app.inspect.numbers import adding
from app.inspect.service import InspectionService, get_inspection
from app.routes.inspect import router as inspect_router
from app.routes.learn import router as learn_router
from rnn_core import trace_gammas

from .test_views import NAME, VOCAB, FakeRun, Node, by_testid, has_class, parse

T = len(NAME) + 1


@pytest.fixture
def run() -> FakeRun:
    return FakeRun()


@pytest.fixture
def service() -> InspectionService:
    return InspectionService(processes=False)


@pytest.fixture
def client(run: FakeRun, service: InspectionService) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(inspect_router)
    app.include_router(learn_router)
    app.dependency_overrides[get_run] = lambda: run
    app.dependency_overrides[get_inspection] = lambda: service
    with TestClient(app) as test_client:
        yield test_client


def opened(client: TestClient, **params: object) -> tuple[Node, str]:
    """The panel body with Learn open, and the key of the weights the walk froze."""
    response = client.get("/fragments/learn/open", params={"name": NAME, **params})
    assert response.status_code == 200, response.text
    root = parse(response.text)
    return root, root.one(by_testid("learn-step")).attrs["data-snap"] or ""


def step(client: TestClient, snap: str, n: int, **picks: object) -> Node:
    response = client.get("/fragments/learn", params={"name": NAME, "snap": snap, "step": n, **picks})
    assert response.status_code == 200, response.text
    card = parse(response.text).one(by_testid("learn-step"))
    assert card.attrs["data-step"] == str(n)
    return card


def nums(root: Node, q: str) -> list[float]:
    """The full values of the numbers named ``q`` (<data data-q=...>), in document order."""
    return [
        float(n.attrs["value"] or "nan")
        for n in root.all(lambda n: n.tag == "data" and n.attrs.get("data-q") == q)
    ]


def one(root: Node, q: str) -> float:
    found = nums(root, q)
    assert len(found) == 1, (q, found)
    return found[0]


def bars(svg: Node) -> list[float]:
    """The values in the titles of a vector chart's bars."""
    return [float(r.title().rsplit("=", 1)[1]) for r in svg.all(lambda n: n.tag == "rect")]


def marked(strip: Node) -> tuple[int, float]:
    """The unit a Learn strip outlines, and its value (named in the strip's accessible name too)."""
    rect = strip.one(has_class("rect", "marked"))
    unit, value = int(rect.attrs["data-unit"] or 0), float(rect.attrs["data-value"] or "nan")
    assert f"unit {unit} = {rect.attrs['data-value']}" in (strip.attrs["aria-label"] or "")
    return unit, value


# ------------------------------------------------------------- the steps
def test_every_step_names_its_equations_and_lights_its_views(client: TestClient) -> None:
    root, snap = opened(client)
    assert root.one(by_testid("learn-step")).attrs["data-step"] == "1"
    assert root.one(by_testid("gamma-heatmap"))  # the panel's views are there to be lit
    want = {1: "1.1", 2: "3.2", 3: "1.1", 4: "4.1", 5: "5.2", 6: "6.2", 7: "6.2", 8: "4.1", 9: "6.2"}
    for n in range(1, STEPS + 1):
        card = step(client, snap, n)
        links = {a.attrs["href"] for a in card.all(lambda a: a.tag == "a" and "eq" in a.classes())}
        assert f"#eq-{want[n].replace('.', '-')}" in links, n
        assert card.attrs["data-lit"], n
        prev, nxt = card.one(by_testid("learn-prev")), card.one(by_testid("learn-next"))
        assert ("disabled" in prev.attrs) == (n == 1) and ("disabled" in nxt.attrs) == (n == STEPS)
        if n < STEPS:
            assert f"step={n + 1}" in (nxt.attrs["hx-get"] or "") and f"snap={snap}" in (
                nxt.attrs["hx-get"] or ""
            )


def test_step_1_the_unit_adds_up_to_z_and_h(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    tr = trace_gammas(run.model, VOCAB.encode(NAME))
    m = run.model
    for t, i in [(1, 1), (4, 7), (T, 12)]:
        card = step(client, snap, 1, t=t, i=i)
        recurrent, inp, bias = one(card, "recurrent"), one(card, "input"), one(card, "bias")
        assert recurrent == pytest.approx(float(m.W_h[i - 1] @ tr.h[t - 1]), abs=1e-12)
        assert bias == m.b1[i - 1] and (inp == 0.0) == (t == 1)  # x(1) is the zero vector
        assert recurrent + inp + bias == pytest.approx(one(card, "z"), abs=1e-12)
        assert one(card, "z") == pytest.approx(tr.z[t - 1, i - 1], rel=1e-12)
        assert one(card, "h") == pytest.approx(1 / (1 + np.exp(-tr.z[t - 1, i - 1])), rel=1e-12)


def test_step_2_the_loss_is_the_trace(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    tr = trace_gammas(run.model, VOCAB.encode(NAME))
    card = step(client, snap, 2, t=3)
    assert one(card, "J_t") == pytest.approx(tr.step_loss[2], rel=1e-12)
    assert one(card, "log_sum") - one(card, "theta_y") == pytest.approx(tr.step_loss[2], rel=1e-9)
    assert one(card, "J") == pytest.approx(tr.loss, rel=1e-12)
    target = card.one(lambda n: n.tag == "tr" and "target" in n.classes())
    assert "the target" in target.text()  # told in words, not by colour alone


def test_step_4_the_triangle_of_terms(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    tr = trace_gammas(run.model, VOCAB.encode(NAME))
    card = step(client, snap, 4, t=6)
    assert card.one(by_testid("learn-count")).text() == str(T * (T + 1) // 2)
    assert len(card.one(by_testid("learn-terms")).all(has_class("rect", "g-cell"))) == T * (T + 1) // 2
    terms = [np.outer(tr.gamma[5, k] * tr.sigma_prime[k], tr.h[k]) for k in range(6)]
    np.testing.assert_allclose(nums(card, "term"), [np.linalg.norm(x) for x in terms], rtol=1e-10, atol=1e-15)
    assert nums(card, "term")[0] == 0.0  # W_h(1) multiplies h(0) = 0
    assert one(card, "row_sum") == pytest.approx(np.linalg.norm(sum(terms)), rel=1e-9)


def test_step_5_claim_1_is_the_trace(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    tr = trace_gammas(run.model, VOCAB.encode(NAME))
    for t, k, i, j in [(T, 7, 3, 5), (5, 5, 1, 12), (4, 1, 2, 2)]:
        card = step(client, snap, 5, t=t, k=k, i=i, j=j)
        gamma, sigma, h = tr.gamma[t - 1, k - 1, i - 1], tr.sigma_prime[k - 1, i - 1], tr.h[k - 1, j - 1]
        assert (one(card, "gamma"), one(card, "sigma_prime"), one(card, "h_prev")) == (gamma, sigma, h)
        assert one(card, "product") == pytest.approx(gamma * sigma * h, rel=1e-12, abs=1e-300)
        term = np.outer(tr.gamma[t - 1, k - 1] * tr.sigma_prime[k - 1], tr.h[k - 1])
        assert one(card, "term_norm") == pytest.approx(np.linalg.norm(term), rel=1e-10, abs=1e-300)
        strips = card.all(has_class("svg", "strip"))
        unit, shown = marked(strips[0])
        assert unit == i and shown == pytest.approx(gamma, rel=2e-6, abs=1e-300)
        assert marked(strips[2])[0] == j
        kinds = [f.text() for f in card.all(has_class("span", "factor-kind"))]
        assert kinds[0] == "from later steps" and all(kind.startswith("local") for kind in kinds[1:])


def test_step_6_claim_2_walks_row_t_back_by_eq_6_2(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    tr = trace_gammas(run.model, VOCAB.encode(NAME))
    t, i = 7, 4
    card = step(client, snap, 6, t=t, i=i)
    assert card.one(by_testid("learn-claim2")).attrs["data-k"] == str(t)  # it starts at gamma_t(t)
    for k in range(t, 0, -1):
        card = step(client, snap, 6, t=t, i=i, k=k)
        assert one(card, "result") == pytest.approx(tr.gamma[t - 1, k - 1, i - 1], rel=1e-12, abs=1e-300)
        unit, shown = marked(card.all(has_class("svg", "strip"))[-1])
        assert unit == i and shown == pytest.approx(tr.gamma[t - 1, k - 1, i - 1], rel=2e-6, abs=1e-300)
        if k < t:  # Eq. 6.2 itself, from the vector before it
            before = tr.gamma[t - 1, k] * tr.sigma_prime[k]
            assert one(card, "result") == pytest.approx((run.model.W_h.T @ before)[i - 1], rel=1e-10)
        filled = card.one(by_testid("learn-row")).all(
            lambda n: n.tag == "rect" and "g-cell" in n.classes() and "blank" not in n.classes()
        )
        assert {(int(c.attrs["data-t"] or 0), int(c.attrs["data-k"] or 0)) for c in filled} == {
            (t, kk) for kk in range(k, t + 1)
        }
        nxt = card.one(by_testid("learn-sub-next"))
        assert ("disabled" in nxt.attrs) == (k == 1)


def test_step_7_receives_plus_computes_is_holds(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    tr = trace_gammas(run.model, VOCAB.encode(NAME))
    i = 5
    for k in range(T, 0, -1):
        card = step(client, snap, 7, k=k, i=i)
        table = card.one(by_testid("learn-sums-table"))
        rows = table.all(lambda n: n.tag == "tr" and "data-k" in n.attrs)
        assert [int(r.attrs["data-k"] or 0) for r in rows] == list(range(T, k - 1, -1))  # a row per step run
        assert "new" in rows[-1].classes()
        for row in rows:
            kk = int(row.attrs["data-k"] or 0)
            receives, computes, holds = one(row, "receives"), one(row, "computes"), one(row, "holds")
            assert receives + computes == pytest.approx(holds, rel=1e-12, abs=1e-15)
            assert holds == pytest.approx(tr.accumulated[kk - 1, i - 1], rel=1e-12, abs=1e-300)
            assert computes == tr.gamma[kk - 1, kk - 1, i - 1]
            shown = [Decimal(d.text()) for d in row.all(lambda n: n.tag == "data")][:3]
            assert shown[0] + shown[1] == shown[2]  # and as written, digit for digit
        strips = card.all(has_class("svg", "strip"))
        unit, shown_holds = marked(strips[2])
        assert unit == i and shown_holds == pytest.approx(tr.accumulated[k - 1, i - 1], rel=2e-6, abs=1e-300)
    assert one(card, "total") == pytest.approx(np.linalg.norm(tr.grads["W_h"]), rel=1e-10)


def test_steps_8_and_9_the_payoff_and_the_decay(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    card = step(client, snap, 8)
    payoff = card.one(by_testid("learn-payoff"))
    per_loss = payoff.one(lambda n: n.attrs.get("data-q") == "per_loss").text()
    assert per_loss.startswith(str(T * (T + 1) // 2)) and payoff.one(
        lambda n: n.attrs.get("data-q") == "one_pass"
    ).text().startswith(str(T))
    assert one(card, "gap") <= 1e-12 * one(card, "scale")  # summed loss by loss: the same gradient
    checks = card.one(by_testid("learn-check")).all(lambda n: n.tag == "tr" and bool(n.attrs.get("class")))
    assert len(checks) == 3 and all("✓" in r.text() for r in checks)
    card = step(client, snap, 9)
    assert one(card, "rate") == pytest.approx(0.25 * np.linalg.norm(run.model.W_h, 2), rel=1e-3)
    assert card.one(by_testid("learn-decay"))


def test_opening_and_closing_learn_keep_the_open_parts_drawn(client: TestClient) -> None:
    """The buttons that swap the panel body name the parts the page has open; they come back drawn."""
    root, _ = opened(client, step=8, open=["grad", "table"])
    drawn = {d.attrs["id"]: d for d in root.all(lambda n: n.tag == "details" and "id" in n.attrs)}
    assert "open" in drawn["more-grad"].attrs and "open" in drawn["more-table"].attrs
    assert "open" not in drawn["more-decay"].attrs
    rows = root.one(by_testid("grad-check")).all(lambda n: n.tag == "tr" and "data-param" in n.attrs)
    analytic = {r.all(lambda n: n.tag == "td")[0].text(): r for r in rows if r.attrs["data-param"] == "W_h"}
    checks = root.one(by_testid("learn-check")).all(lambda n: n.tag == "tr" and bool(n.attrs.get("class")))
    assert [r.one(lambda n: n.tag == "th").text() for r in checks] == list(analytic)  # the same check
    for button in ("learn-fresh", "learn-close"):
        include = root.one(by_testid(button)).attrs["hx-include"] or ""
        assert "details[open] > input.open-state" in include
    closed = client.get("/fragments/learn/close", params={"name": NAME, "open": "decay"})
    assert closed.status_code == 200 and parse(closed.text).one(by_testid("decay-table"))


# ------------------------------------------------------- frozen weights
def test_the_walk_keeps_its_weights_until_fresh_ones_are_asked_for(client: TestClient, run: FakeRun) -> None:
    _, snap = opened(client)
    before = trace_gammas(run.model, VOCAB.encode(NAME))
    run.move()  # training goes on
    card = step(client, snap, 7, k=3, i=2)
    row = card.one(lambda n: n.tag == "tr" and n.attrs.get("data-k") == "3")
    assert one(row, "holds") == pytest.approx(before.accumulated[2, 1], rel=1e-12)
    weights = card.one(by_testid("learn-weights"))
    assert weights.attrs["data-weights-step"] == "100" and "gone on to step 200" in weights.text()
    hover = client.get("/fragments/inspect/gamma", params={"name": NAME, "key": snap, "t": 5, "k": 3})
    vec = parse(hover.text).one(by_testid("gamma-vector"))  # the panel's views read the same weights
    np.testing.assert_allclose(bars(vec.one(lambda n: n.tag == "svg")), before.gamma[4, 2], rtol=2e-6)
    fresh, new_snap = opened(client, step=7)
    assert new_snap != snap and fresh.one(by_testid("learn-step")).attrs["data-step"] == "7"
    after = trace_gammas(run.model, VOCAB.encode(NAME))
    row = step(client, new_snap, 7, k=3, i=2).one(lambda n: n.tag == "tr" and n.attrs.get("data-k") == "3")
    assert one(row, "holds") == pytest.approx(after.accumulated[2, 1], rel=1e-12)


def test_the_panel_does_not_answer_204_to_a_walk(client: TestClient) -> None:
    _root, snap = opened(client)
    again = client.get("/fragments/inspect", params={"name": "rex", "key": snap, "learn": "4", "fresh": "1"})
    assert again.status_code == 200  # a new name keeps the walk's step, on fresh weights
    card = parse(again.text).one(by_testid("learn-step"))
    assert card.attrs["data-step"] == "4" and card.attrs["data-snap"]
    assert "learn=4" in again.headers["hx-replace-url"] and "name=rex" in again.headers["hx-replace-url"]


# ------------------------------------------------------------ the address
def test_the_address_follows_the_walk(client: TestClient) -> None:
    page = {"hx-current-url": "http://x/?hidden_size=32&g_prefix=ste&learn_j=9"}
    response = client.get("/fragments/learn/open", params={"name": NAME, "step": 6}, headers=page)
    url = response.headers["hx-replace-url"]
    assert url.startswith("/?") and "hidden_size=32" in url and "g_prefix=ste" in url
    assert f"name={NAME}" in url and "learn=6" in url and "learn_j" not in url
    snap = parse(response.text).one(by_testid("learn-step")).attrs["data-snap"]
    moved = client.get(
        "/fragments/learn", params={"name": NAME, "snap": snap, "step": 5, "t": 8, "k": 6}, headers=page
    )
    assert "learn=5" in moved.headers["hx-replace-url"] and "learn_t=8" in moved.headers["hx-replace-url"]
    closed = client.get("/fragments/learn/close", params={"name": NAME}, headers=page)
    assert closed.status_code == 200 and 'data-testid="learn-step"' not in closed.text
    assert (
        "learn" not in closed.headers["hx-replace-url"]
        and "hidden_size=32" in closed.headers["hx-replace-url"]
    )


def test_a_link_opens_its_step_on_the_first_load(client: TestClient) -> None:
    start = client.get("/fragments/inspect/start", params={"name": NAME, "learn": "6", "t": "5"})
    card = parse(start.text).one(by_testid("learn-step"))
    assert start.status_code == 200 and card.attrs["data-step"] == "6"
    assert card.one(by_testid("learn-claim2")).attrs["data-k"] == "5"  # row t = 5 from its start


# ---------------------------------------------------------------- refusals
REFUSED = [
    ({"step": "0"}, "Learn has steps 1 to 9; there is no step 0"),
    ({"step": "12"}, "there is no step 12"),
    ({"step": "two"}, "is not a whole number"),
    ({"step": "5", "t": "30"}, f"t = 30 is outside '{NAME}': it has T = {T} steps"),
    ({"step": "5", "t": "3", "k": "5"}, "k = 5 does not fit t = 3"),
    ({"step": "7", "k": "11"}, f"the backward pass runs k = {T} … 1"),
    ({"step": "1", "i": "13"}, "unit i = 13 is outside h: D_h = 12 units"),
    ({"step": "5", "j": "-1"}, "unit j = -1 is outside h"),
]


@pytest.mark.parametrize(("params", "message"), REFUSED)
def test_what_cannot_be_shown_is_said_in_the_panel(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    _, snap = opened(client)
    response = client.get("/fragments/learn", params={"name": NAME, "snap": snap, **params})
    assert response.status_code == 422 and "application/json" not in response.headers["content-type"]
    assert message in parse(response.text).one(has_class("span", "error-text")).text()


def test_stale_weights_a_bad_name_and_a_bad_link_are_said_in_words(client: TestClient) -> None:
    stale = client.get("/fragments/learn", params={"name": NAME, "snap": "gone-7", "step": 3})
    assert stale.status_code == 422 and "Fresh weights" in stale.text
    bad = client.get("/fragments/learn/open", params={"name": "b0b"})
    assert bad.status_code == 422 and "'0' at position 2" in parse(bad.text).text()
    start = client.get("/fragments/inspect/start", params={"name": "b0b", "learn": "12"})
    root = parse(start.text)  # the panel shows a first name, and says what the link asked for
    assert (
        start.status_code == 200
        and root.one(by_testid("inspect-summary")).attrs["data-name"] == "tyrannosaurus"
    )
    note = root.all(lambda n: n.attrs.get("hx-swap-oob") == "true" and n.attrs.get("id") == "inspect-error")[
        -1
    ]
    assert "no step 12" in note.text() and "'b0b' cannot be inspected" in note.text()
    picked = client.get("/fragments/inspect/start", params={"name": NAME, "learn": "5", "t": "40"})
    card = parse(picked.text).one(by_testid("learn-step"))  # a pick out of range: the card says so
    assert card.attrs["data-step"] == "0" and "t = 40 is outside" in card.one(by_testid("learn-error")).text()


def test_the_pickers_move_k_to_a_new_t_instead_of_refusing(client: TestClient) -> None:
    _, snap = opened(client)
    card = step(client, snap, 5, t=4, k=9, fit=1)
    assert "learn-claim1" in {n.attrs.get("data-testid") for n in card.all(lambda n: True)}
    assert re.search(
        r"W<sub>h</sub></var><sup>\(4\)</sup>",
        client.get(
            "/fragments/learn", params={"name": NAME, "snap": snap, "step": 5, "t": 4, "k": 9, "fit": 1}
        ).text,
    )


# ------------------------------------------------------------- the numbers
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False), min_size=2, max_size=3))
def test_written_parts_add_up_to_the_written_sum(parts: list[float]) -> None:
    shown = adding(parts, sum(parts))
    assert sum(Decimal(n.text) for n in shown[:-1]) == Decimal(shown[-1].text)
    assert [float(n.value) for n in shown] == [*parts, sum(parts)]
