"""The Inspect routes: the JSON and every number drawn in the panel equal trace_gammas.

Most tests mount only the inspect router on a bare FastAPI app, with a fake run
whose weights the test controls; the rendered fragments are parsed into a small
DOM and each hover title (the exact value) is compared with the trace. The last
tests use the whole app: refused names answer 4xx while training goes on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.deps import get_run
from app.inspect import parts, views
from app.inspect import service as service_module
from app.inspect.numbers import sci
from app.inspect.service import MAX_INSPECT_CHARS, InspectionService, answer, get_inspection
from app.routes.inspect import InspectOut, router
from app.web import templating
from rnn_core import PARAM_NAMES, RNN, Vocab, trace_gammas
from rnn_core.gradcheck import GRAD_CHECK_EPS

from ..conftest import make_settings

ROOT = Path(__file__).resolve().parents[3]
VOCAB = Vocab.from_names(["abcdefghijklmnopqrstuvwxyz"])
NAME = "boosaurus"
VOID = {"br", "input", "img", "meta", "link", "hr", "col", "wbr", "source", "area", "base"}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")


# ------------------------------------------------------------- a tiny DOM
class Node:
    """An element: tag, attributes, children, and its own text."""

    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs, self.children, self.own_text = tag, attrs, [], ""

    def all(self, pred: Callable[[Node], bool]) -> list[Node]:
        found = []
        for child in self.children:
            if pred(child):
                found.append(child)
            found.extend(child.all(pred))
        return found

    def one(self, pred: Callable[[Node], bool]) -> Node:
        found = self.all(pred)
        assert len(found) == 1, f"{len(found)} matches"
        return found[0]

    def text(self) -> str:
        return self.own_text + "".join(c.text() for c in self.children)

    def title(self) -> str:
        """The text of this element's <title> child (or its title attribute)."""
        for child in self.children:
            if child.tag == "title":
                return child.text()
        return self.attrs.get("title") or ""

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].own_text += data


def parse(html: str) -> Node:
    tree = Tree()
    tree.feed(html)
    return tree.root


def by_testid(name: str) -> Callable[[Node], bool]:
    return lambda n: n.attrs.get("data-testid") == name


def has_class(tag: str, cls: str) -> Callable[[Node], bool]:
    return lambda n: n.tag == tag and cls in n.classes()


def value(title: str) -> float:
    """The exact value a hover title ends with (after its last '=')."""
    return float(NUMBER.findall(title.rsplit("=", 1)[1])[0])


# ------------------------------------------------------------ a fake run
@dataclass
class Snap:
    model: RNN
    vocab: Vocab
    step: int
    version: int
    names: frozenset[str] = frozenset({"rex"})
    run_id: str = "default"


class FakeRun:
    """Hands out snapshots of weights the test can move (bumping the version)."""

    def __init__(self, activation: str = "sigmoid", D_h: int = 12, seed: int = 0) -> None:
        self.model = RNN(VOCAB.size, D_h, activation, seed=seed, dtype="float64")
        rng = np.random.default_rng(seed + 1)
        for p in self.model.params.values():
            p += rng.standard_normal(p.shape) * 0.4
        self.version = 1

    def snapshot(self) -> Snap:
        return Snap(self.model.copy(), VOCAB, 100 * self.version, self.version)

    def move(self) -> None:
        self.model.W_h += 0.05
        self.version += 1


@pytest.fixture
def run() -> FakeRun:
    return FakeRun()


@pytest.fixture
def client(run: FakeRun) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(router)
    service = InspectionService(processes=False)
    app.dependency_overrides[get_run] = lambda: run
    app.dependency_overrides[get_inspection] = lambda: service
    with TestClient(app) as test_client:
        yield test_client


def trace_of(run: FakeRun, name: str = NAME):
    return trace_gammas(run.model, VOCAB.encode(name))


def panel(client: TestClient, name: str = NAME, **params: object) -> Node:
    response = client.get("/fragments/inspect", params={"name": name, **params})
    assert response.status_code == 200, response.text
    return parse(response.text)


def key_of(root: Node) -> str:
    return root.one(lambda n: n.tag == "input" and n.attrs.get("name") == "key").attrs["value"]


def part(client: TestClient, name: str, key: str, which: str) -> Node:
    """A part the panel draws when it is opened (the gradient check, the decay plot)."""
    response = client.get("/fragments/inspect/more", params={"name": name, "key": key, "part": which})
    assert response.status_code == 200, response.text
    return parse(response.text)


# ------------------------------------------------------------------ JSON
def test_api_json_equals_trace_gammas(client: TestClient, run: FakeRun) -> None:
    response = client.get("/api/inspect", params={"name": NAME})
    assert response.status_code == 200
    data = InspectOut.model_validate_json(response.content)
    tr = trace_of(run)
    T = len(NAME) + 1
    assert (data.name, data.T, data.hidden_size, data.step) == (NAME, T, 12, 100)
    np.testing.assert_allclose(data.gamma, tr.gamma, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(data.gamma_norms, tr.gamma_norms, rtol=1e-12)
    np.testing.assert_allclose(data.accumulated, tr.accumulated, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(data.sigma_prime, tr.sigma_prime, rtol=1e-12)
    np.testing.assert_allclose(data.step_loss, tr.step_loss, rtol=1e-12)
    np.testing.assert_allclose(data.dW_h_norms, tr.dW_h_norms, rtol=1e-10, atol=1e-14)
    assert data.dW_h_norm == pytest.approx(np.linalg.norm(tr.grads["W_h"]), rel=1e-10)
    assert [s.x for s in data.steps][:2] == ["<start>", "b"]
    assert [len(s.guesses) for s in data.steps] == [3] * T
    ratios = tr.decay()
    own = data.decay[0]
    assert own.activation == "sigmoid" and own.max_slope == 0.25
    for t in range(T):
        np.testing.assert_allclose(own.ratios[t], ratios[t, : t + 1], rtol=1e-12)
    assert {d.activation for d in data.decay} == {"sigmoid", "tanh", "relu"}
    assert [row.k for row in data.table] == list(range(T, 0, -1))
    assert all(g.rel_error < parts.GRAD_CHECK_TOLERANCE for g in data.grad_check)


# ------------------------------------------------------- the drawn numbers
def test_gamma_heatmap_cells_are_the_gamma_norms(client: TestClient, run: FakeRun) -> None:
    root = panel(client)
    tr = trace_of(run)
    svg = root.one(by_testid("gamma-heatmap"))
    cells = svg.all(has_class("rect", "g-cell"))
    assert len(cells) == tr.T * (tr.T + 1) // 2  # the lower triangle: k <= t
    for c in cells:
        t, k = int(c.attrs["data-t"]), int(c.attrs["data-k"])
        assert 1 <= k <= t <= tr.T
        assert float(c.attrs["data-value"] or "nan") == pytest.approx(tr.gamma_norms[t - 1, k - 1], rel=2e-6)
        assert c.attrs["role"] == "gridcell" and f"t = {t}, k = {k}" in (c.attrs["aria-label"] or "")
        assert c.attrs["tabindex"] == ("0" if (t, k) == (tr.T, tr.T) else "-1")  # one tab stop
    # one request on the grid for every cell: t and k are read from the cell the event came from
    grid = svg.one(lambda n: n.attrs.get("role") == "grid")
    assert grid.attrs["hx-get"] == "/fragments/inspect/gamma" and grid.attrs["hx-include"] == "#inspect-state"
    assert "dataset.t" in (grid.attrs["hx-vals"] or "") and "dataset.k" in (grid.attrs["hx-vals"] or "")
    triggers = [part.split()[0] for part in (grid.attrs["hx-trigger"] or "").split(",")]
    assert triggers == ["click", "focusin", "mouseover"]
    assert "target:.g-cell" in (grid.attrs["hx-trigger"] or "")
    rows = grid.all(lambda n: n.attrs.get("role") == "row")
    assert [len(row.children) for row in rows] == list(range(1, tr.T + 1))
    legend = svg.one(has_class("g", "legend"))
    decades = [int(tick.text().removeprefix("1e")) for tick in legend.all(has_class("text", "tick"))]
    shown = [float(c.attrs["data-value"] or "nan") for c in cells]
    assert 10.0 ** decades[0] <= min(shown)  # the colour scale covers every drawn value
    assert max(shown) <= 10.0 ** (decades[-1] + (decades[1] - decades[0] if len(decades) > 1 else 1))


def test_accumulation_table_cells_are_the_report(client: TestClient, run: FakeRun) -> None:
    root = panel(client, open="table")
    tr = trace_of(run)
    table = root.one(by_testid("bptt-table"))
    rows = table.all(lambda n: n.tag == "tr" and "data-k" in n.attrs)
    assert [int(r.attrs["data-k"]) for r in rows] == list(range(tr.T, 0, -1))
    for row in rows:
        k = int(row.attrs["data-k"])
        cells = {
            c.attrs["data-col"]: value("=" + c.title()) for c in row.all(lambda n: "data-col" in n.attrs)
        }
        expect = {
            "computes": np.linalg.norm(tr.gamma[k - 1, k - 1]),
            "receives": np.linalg.norm(tr.gamma[k:, k - 1].sum(axis=0)),
            "accumulated": np.linalg.norm(tr.accumulated[k - 1]),
            "sigma_prime": tr.sigma_prime[k - 1].mean(),
            "adds": np.linalg.norm(tr.dW_h[k - 1]),
            "running": np.linalg.norm(tr.dW_h[k - 1 :].sum(axis=0)),
            "passes": np.linalg.norm(run.model.W_h.T @ (tr.accumulated[k - 1] * tr.sigma_prime[k - 1])),
        }
        for col, want in expect.items():
            assert cells[col] == pytest.approx(want, rel=2e-6, abs=1e-12), (k, col)


def test_strip_bars_sums_and_decay_are_the_trace(client: TestClient, run: FakeRun) -> None:
    root = panel(client, open="table")
    tr = trace_of(run)
    J = [value(c.title()) for c in root.all(lambda n: n.tag == "td" and "J" in n.classes())]
    np.testing.assert_allclose(J, tr.step_loss, rtol=2e-6)
    bars = root.all(has_class("g", "dwh-bar"))
    np.testing.assert_allclose(
        [value(b.all(lambda n: n.tag == "rect")[0].title().split("(Eq.")[0]) for b in bars],
        tr.dW_h_norms,
        rtol=2e-6,
        atol=1e-12,
    )
    acc = root.all(has_class("rect", "acc-hit"))
    norms = [float(NUMBER.findall(a.title().split("|γ(", 1)[1].split("=", 1)[1])[0]) for a in acc]
    np.testing.assert_allclose(norms, np.linalg.norm(tr.accumulated, axis=1), rtol=2e-6)
    total = value("=" + root.one(by_testid("dwh-norm")).title())
    assert total == pytest.approx(np.linalg.norm(tr.grads["W_h"]), rel=2e-6)
    summed = value("=" + root.one(by_testid("dwh-sum")).title())
    assert summed == pytest.approx(tr.dW_h_norms.sum(), rel=2e-6)
    assert root.all(by_testid("gamma-decay")) == []  # drawn when its <details> is opened
    decay_part = part(client, NAME, key_of(root), "decay")
    decay = decay_part.one(by_testid("gamma-decay"))
    own = decay.one(lambda n: n.tag == "g" and n.attrs.get("data-activation") == "sigmoid")
    with np.errstate(all="ignore"):
        median = np.nanmedian(tr.decay(), axis=0)
    for dot in own.all(lambda n: n.tag == "circle"):
        d = int(dot.attrs["data-d"])
        shown = float(NUMBER.findall(dot.title().split("median", 1)[1].split("=", 1)[1])[0])
        assert shown == pytest.approx(median[d], rel=2e-6)
    notes = {
        n.attrs["data-activation"]: n
        for n in decay_part.one(by_testid("decay-notes")).all(lambda n: n.tag == "li")
    }
    assert set(notes) == {"sigmoid", "tanh", "relu"}
    sigmoid = notes["sigmoid"].attrs  # sigma' <= 1/4, times the spectral norm of W_h: the bound per step
    assert float(sigmoid["data-max-slope"]) == 0.25
    bound = float(sigmoid["data-rate-bound"])
    assert bound == pytest.approx(0.25 * np.linalg.norm(run.model.W_h, 2), rel=1e-3)
    assert (sigmoid["data-outlook"] == "vanishes") == (bound < 1)
    table = decay_part.one(by_testid("decay-table"))
    first = [r.all(lambda n: n.tag == "td")[0].text() for r in table.all(lambda n: n.tag == "tr")[1:]]
    assert [float(x) for x in first] == pytest.approx(median[: len(first)], rel=2e-6)


def test_grad_check_panel_is_below_the_tolerance_for_every_parameter(
    client: TestClient, run: FakeRun
) -> None:
    root = part(client, NAME, key_of(panel(client)), "grad")
    _, grads = run.model.loss_and_grads([VOCAB.encode(NAME)])
    rows = root.one(by_testid("grad-check")).all(lambda n: n.tag == "tr" and "data-param" in n.attrs)
    assert {r.attrs["data-param"] for r in rows} == set(PARAM_NAMES)
    for r in rows:
        cols = {c.attrs["data-col"]: c for c in r.all(lambda n: "data-col" in n.attrs)}
        assert float(cols["rel_error"].title()) < parts.GRAD_CHECK_TOLERANCE
        index = tuple(int(i) - 1 for i in NUMBER.findall(r.all(lambda n: n.tag == "td")[0].text()))
        analytic = float(cols["analytic"].title())
        assert analytic == pytest.approx(grads[r.attrs["data-param"]][index], rel=2e-6)
        assert float(cols["numeric"].title()) == pytest.approx(analytic, rel=1e-6)
    verdict = root.one(by_testid("grad-verdict"))
    assert verdict.attrs["data-ok"] == "true" and "ok" in verdict.classes()


def test_the_check_shows_the_codes_tolerance_and_step(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts, "GRAD_CHECK_TOLERANCE", 1e-30)  # no float64 check gets this close
    verdict = panel(client, open="grad").one(by_testid("grad-verdict"))
    assert verdict.attrs["data-ok"] == "false" and "bad" in verdict.classes()
    assert verdict.attrs["data-tolerance"] == "1e-30" and "1e-30" in verdict.text()
    assert verdict.attrs["data-eps"] == sci(GRAD_CHECK_EPS) and f"ε = {sci(GRAD_CHECK_EPS)}" in verdict.text()


def test_the_check_and_the_decay_wait_until_they_are_opened(client: TestClient, run: FakeRun) -> None:
    root = panel(client)
    key = key_of(root)
    for which in ("table", "grad", "decay"):
        details = root.one(lambda n, w=which: n.tag == "details" and n.attrs.get("id") == f"more-{w}")
        assert "open" not in details.attrs  # closed: a placeholder, asked for when opened
        assert details.attrs["hx-get"] == f"/fragments/inspect/more?part={which}"
        walk = ", #inspect-walk-state" if which == "table" else ""  # the table lights the walk's step
        assert details.attrs["hx-include"] == "#inspect-state" + walk
        assert (details.attrs["hx-trigger"] or "").startswith("toggle[this.open")
        assert details.one(has_class("p", "lazy-pending")).text()
        state = details.one(lambda n: n.tag == "input" and "open-state" in n.classes())
        assert (state.attrs["name"], state.attrs["value"]) == ("open", which)
    kept = service_module._reports.get((NAME, key))
    assert kept is not None
    report = kept.report
    assert "grad_check" not in vars(report) and "decays" not in vars(report)  # not computed
    # Named as open by the page, they are drawn in place, the same as when asked for alone.
    every = panel(client, open=["table", "grad", "decay"], key="elsewhere")
    for which, testid in (("table", "bptt-table"), ("grad", "grad-check"), ("decay", "decay-table")):
        details = every.one(lambda n, w=which: n.tag == "details" and n.attrs.get("id") == f"more-{w}")
        assert "open" in details.attrs and details.all(has_class("p", "lazy-pending")) == []
        drawn = details.one(has_class("div", "lazy-slot")).one(by_testid(testid)).text()
        assert drawn == part(client, NAME, key, which).one(by_testid(testid)).text()
    assert panel(client, open="nothing").all(has_class("p", "lazy-pending")) != []  # unknown: ignored
    bad = client.get("/fragments/inspect/more", params={"name": NAME, "key": key, "part": "sums"})
    assert bad.status_code == 422 and "no part 'sums'" in parse(bad.text).text()


def test_a_walk_goes_on_while_its_table_is_closed(client: TestClient) -> None:
    """Closed, the table keeps the walk's step (the refresh sends it back), and lights it when opened."""
    root = panel(client, walk=4)
    state = root.one(lambda n: n.attrs.get("id") == "inspect-walk-state")
    assert state.one(lambda n: n.tag == "input").attrs == {"type": "hidden", "name": "walk", "value": "4"}
    assert root.one(lambda n: n.attrs.get("id") == "inspect-gamma-walk").attrs["data-walk-k"] == "4"
    assert root.all(lambda n: n.attrs.get("id") == "inspect-accumulated-walk") == []  # not drawn yet
    response = client.get(
        "/fragments/inspect/more", params={"name": NAME, "key": key_of(root), "part": "table", "walk": 4}
    )
    opened = parse(response.text)
    assert opened.one(by_testid("bptt-table")).attrs["data-walk-k"] == "4"
    layer = opened.one(lambda n: n.attrs.get("id") == "inspect-accumulated-walk")
    assert layer.attrs["data-walk-k"] == "4" and "hx-swap-oob" not in layer.attrs  # in place, not oob


def test_a_part_reads_the_weights_the_page_shows(client: TestClient, run: FakeRun) -> None:
    key = key_of(panel(client))
    _, before = run.model.loss_and_grads([VOCAB.encode(NAME)])
    run.move()
    rows = part(client, NAME, key, "grad").all(lambda n: n.tag == "tr" and n.attrs.get("data-param") == "W_h")
    index = tuple(int(i) - 1 for i in NUMBER.findall(rows[0].all(lambda n: n.tag == "td")[0].text()))
    analytic = float(rows[0].one(lambda n: n.attrs.get("data-col") == "analytic").title())
    assert analytic == pytest.approx(before["W_h"][index], rel=2e-6)


def test_a_repeated_request_is_answered_from_the_fragment_cache(
    client: TestClient, run: FakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.get("/fragments/inspect", params={"name": NAME, "walk": 2}).text
    drawn: list[str] = []
    real = service_module.render
    monkeypatch.setattr(
        service_module, "render", lambda block, **ctx: drawn.append(block) or real(block, **ctx)
    )
    assert client.get("/fragments/inspect", params={"name": NAME, "walk": 2}).text == first
    assert drawn == []  # the same weights, name and options: nothing computed or rendered again
    client.get("/fragments/inspect", params={"name": NAME, "walk": 3})
    run.move()
    moved = client.get("/fragments/inspect", params={"name": NAME, "walk": 2}).text
    assert drawn == ["result", "result"] and moved != first


def test_every_quantity_names_its_equation(client: TestClient) -> None:
    html = client.get("/fragments/inspect", params={"name": NAME}).text
    for eq in ["3.1", "3.2", "3.3", "4.1", "5.2", "6.2", "1.1", "2.1"]:
        assert f'href="#eq-{eq.replace(".", "-")}"' in html, eq


# -------------------------------------------------- clicks, walk, refresh
def test_clicking_a_cell_shows_that_gamma_vector(client: TestClient, run: FakeRun) -> None:
    key = key_of(panel(client))
    tr = trace_of(run)
    for t, k, want in [(6, 2, tr.gamma[5, 1]), (4, 4, tr.gamma[3, 3]), (0, 3, tr.accumulated[2])]:
        response = client.get("/fragments/inspect/gamma", params={"name": NAME, "key": key, "t": t, "k": k})
        box = parse(response.text).one(by_testid("gamma-vector"))
        assert (box.attrs["data-t"], box.attrs["data-k"]) == (str(t), str(k))
        shown = [value(b.title()) for b in box.all(lambda n: n.tag == "rect")]
        np.testing.assert_allclose(shown, want, rtol=2e-6, atol=1e-15)
    bad = client.get("/fragments/inspect/gamma", params={"name": NAME, "key": key, "t": 2, "k": 5})
    assert bad.status_code == 422 and parse(bad.text).one(has_class("span", "error-text")).text()


def test_step_back_walks_k_from_T_to_1(client: TestClient) -> None:
    root = panel(client, open="table")
    key, T = key_of(root), len(NAME) + 1
    button = root.one(by_testid("step-back-button"))
    assert all(layer.children == [] for layer in root.all(has_class("svg", "walk-layer")))  # nothing lit yet
    seen = []
    for _ in range(T):
        url = button.attrs["hx-get"]
        k = int(url.rsplit("=", 1)[1])
        path = url.split("?", 1)[0]  # htmx adds #inspect-state's name and key to the query
        walk = parse(client.get(path, params={"walk": k, "name": NAME, "key": key}).text)
        table = walk.one(by_testid("bptt-table"))
        assert table.attrs["data-walk-k"] == str(k)
        lit = table.one(lambda n: n.tag == "tr" and "walk-current" in n.classes())
        assert lit.attrs["data-k"] == str(k)
        assert_lit(walk, root, k, T)  # the maps and bars light up with the table...
        assert {n.attrs.get("hx-swap-oob") for n in walk.all(has_class("svg", "walk-layer"))} == {"true"}
        assert walk.all(by_testid("gamma-heatmap")) == []  # ...and only their layers are sent again
        seen.append(k)
        button = walk.one(by_testid("step-back-button"))
    assert seen == list(range(T, 0, -1))
    assert button.attrs["data-next-k"] == str(T)  # after k = 1 it starts again
    assert walk.one(lambda n: n.attrs.get("data-line") == "passes").attrs["data-to"] == "0"  # to h(0)


def assert_lit(layers: Node, charts: Node, k: int, T: int) -> None:
    """Step k of the walk is lit over the charts: column k of the gamma map (and, in column k - 1,
    what step k passes on), row k of gamma(k) and bar k of dJ/dW_h(k), each mark on its shape."""
    layer = {n.attrs["id"]: n for n in layers.all(lambda n: n.tag == "svg" and "walk-layer" in n.classes())}
    assert set(layer) == {"inspect-gamma-walk", "inspect-accumulated-walk", "inspect-dwh-walk"}
    assert all(n.attrs["data-walk-k"] == str(k) for n in layer.values())

    def box(n: Node) -> tuple[float, ...]:
        return tuple(float(n.attrs[a] or "nan") for a in ("x", "y", "width", "height"))

    def tk(n: Node) -> tuple[int, int]:
        return int(n.attrs["data-t"] or 0), int(n.attrs["data-k"] or 0)

    cells = {tk(c): c for c in charts.one(by_testid("gamma-heatmap")).all(has_class("rect", "g-cell"))}
    marks = layer["inspect-gamma-walk"].all(lambda n: n.tag == "rect")
    assert {tk(m) for m in marks if "walk-current" in m.classes()} == {(t, k) for t in range(k, T + 1)}
    passed = {(t, k - 1) for t in range(k, T + 1) if k > 1}
    assert {tk(m) for m in marks if "walk-passed" in m.classes()} == passed
    assert all(box(m) == box(cells[tk(m)]) for m in marks)
    row = layer["inspect-accumulated-walk"].one(lambda n: n.tag == "rect")
    hit = charts.one(lambda n: "acc-hit" in n.classes() and n.attrs.get("data-k") == str(k))
    assert row.attrs["data-k"] == str(k) and box(row) == box(hit)
    bar = layer["inspect-dwh-walk"].one(lambda n: n.tag == "rect")
    drawn = charts.one(lambda n: "dwh-bar" in n.classes() and n.attrs.get("data-k") == str(k))
    assert bar.attrs["data-k"] == str(k) and box(bar) == box(drawn.all(lambda n: n.tag == "rect")[0])


def test_refreshes_answer_204_until_the_weights_move(client: TestClient, run: FakeRun) -> None:
    key = key_of(panel(client))
    again = client.get("/fragments/inspect", params={"name": NAME, "key": key, "walk": 3})
    assert again.status_code == 204
    run.move()
    moved = panel(client, key=key, walk=3, t=5, k=2, open="table")
    assert key_of(moved) != key
    assert moved.one(by_testid("bptt-table")).attrs["data-walk-k"] == "3"  # the walk is kept
    assert_lit(moved, moved, 3, len(NAME) + 1)
    assert moved.one(by_testid("gamma-vector")).attrs["data-k"] == "2"


def test_only_a_requested_name_clears_the_message(client: TestClient, run: FakeRun) -> None:
    asked = client.get("/fragments/inspect", params={"name": NAME, "fresh": "true"}).text
    assert 'id="inspect-error"' in asked and 'hx-swap-oob="true"' in asked
    run.move()
    polled = client.get("/fragments/inspect", params={"name": NAME, "key": "old"}).text
    assert 'id="inspect-error"' not in polled


def test_walk_reads_the_weights_the_page_shows(client: TestClient, run: FakeRun) -> None:
    key = key_of(panel(client))
    before = trace_of(run)
    run.move()
    walk = parse(client.get("/fragments/inspect/walk", params={"name": NAME, "key": key, "walk": 2}).text)
    row = walk.one(lambda n: n.tag == "tr" and n.attrs.get("data-k") == "2")
    computes = row.one(lambda n: n.attrs.get("data-col") == "computes")
    assert float(computes.title()) == pytest.approx(np.linalg.norm(before.gamma[1, 1]), rel=2e-6)


def test_first_name_and_case(client: TestClient) -> None:
    start = parse(client.get("/fragments/inspect/start").text)
    assert start.one(by_testid("inspect-summary")).attrs["data-name"] == "tyrannosaurus"
    assert panel(client, "  Rex ").one(by_testid("inspect-summary")).attrs["data-name"] == "rex"


# ---------------------------------------------------------------- refusals
BAD_NAMES = [
    ("", "empty"),
    ("x" * 41, "at most 40 characters"),
    ("b0b", "'0' at position 2"),
    ("tyranno saurus", "U+0020 at position 8"),
    ("a\tb", "control character"),
    ("a\x00b", "control character"),
    ("ré", "'é' at position 2"),
]


@pytest.mark.parametrize(("name", "message"), BAD_NAMES)
def test_bad_names_are_refused_in_words(client: TestClient, name: str, message: str) -> None:
    api = client.get("/api/inspect", params={"name": name})
    assert api.status_code == 422
    body = api.json()
    assert message in body["detail"] and body["errors"][0]["field"] == "name"
    html = client.get("/fragments/inspect", params={"name": name})
    assert html.status_code == 422
    assert message in parse(html.text).text()


def test_the_worker_process_answers_the_same(run: FakeRun) -> None:
    service = InspectionService(processes=True)
    try:
        job = service.job(run, NAME)
        there, here = service.run(job), answer(job)
        assert there.pid != os.getpid() and here.pid == os.getpid()  # it ran in the worker, not here
        assert (there.status, there.body) == (here.status, here.body)
        again = service.run(service.job(run, NAME, "walk", walk=2))
        assert again.pid == there.pid  # one worker, kept for the next job
    finally:
        service.close()


WORKER_PID = """
import os, sys
from app.inspect.service import InspectionService
service = InspectionService()  # kept: its end of the pipe keeps the worker alive
pool = service.process.get()
print(pool.submit(os.getpid).result(timeout=60), flush=True)
os._exit(0)  # the server dies without a word: no shutdown of the pool
"""


def test_the_worker_ends_with_the_server() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WORKER_PID], capture_output=True, text=True, timeout=90, cwd=ROOT
    )
    worker = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the inspect worker {worker} outlived its server")


# ------------------------------------------------------- the panel's shell
def shell() -> Node:
    """The panel as page.html includes it: no name traced yet."""
    return parse(templating.env.get_template(views.PANEL).render(inspect_shell=views.shell_view()))


def test_the_name_field_takes_its_limit_from_the_code() -> None:
    root = shell()
    field = root.one(by_testid("inspect-input"))
    assert int(field.attrs["maxlength"] or 0) > MAX_INSPECT_CHARS  # a longer name is refused in words
    limit = root.one(lambda n: n.attrs.get("id") == "inspect-limit")  # said where touch users see it
    assert str(MAX_INSPECT_CHARS) in limit.text() and "inspect-limit" in (
        field.attrs["aria-describedby"] or ""
    )


def test_following_training_listens_to_the_event_stream() -> None:
    result = shell().one(lambda n: n.attrs.get("id") == "inspect-result")
    trigger = result.attrs["hx-trigger"]
    assert trigger.startswith("weights-changed[") and trigger.endswith(" from:body")  # bubbles up from #live
    assert "every" not in trigger and "inspect-follow" in trigger  # no timer; the checkbox gates it
    assert "getElementById('learn')" in trigger  # a Learn walk holds its weights still
    assert {"#inspect-state", "#inspect-walk-state", "#gamma-vector-state"} <= {
        part.strip() for part in result.attrs["hx-include"].split(",")
    }  # the key (204 while it is current), the walk and the vector shown go along


# ---------------------------------------------------------- the whole app
def test_refused_names_leave_training_running(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    app = create_app(make_settings(tmp_path / "runs", autostart=True))
    with TestClient(app) as c:
        deadline = time.monotonic() + 20
        while c.get("/api/status").json()["step"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = c.get("/api/status").json()
        assert before["state"] == "running"
        for name, message in BAD_NAMES:
            response = c.get("/api/inspect", params={"name": name})
            assert response.status_code == 422 and message in response.json()["detail"]
            fragment = c.get("/fragments/inspect", params={"name": name})
            assert fragment.status_code == 422 and message in parse(fragment.text).text()
        good = c.get("/fragments/inspect", params={"name": "stegosaurus"})
        assert good.status_code == 200 and 'data-testid="gamma-heatmap"' in good.text
        time.sleep(0.3)
        after = c.get("/api/status").json()
        assert after["state"] == "running" and after["step"] > before["step"]
        page = c.get("/").text
        assert 'data-testid="inspect-input"' in page and "/static/inspect.css" in page
        assert c.get("/static/inspect.css").status_code == 200
