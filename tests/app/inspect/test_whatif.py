"""The Inspect panel's what-if: a truncation K, a clip norm, a deliberate bug (app/inspect/whatif.py).

Against the inspect router on a bare app with a fake run (as test_views.py): the greyed cells,
the truncated gradient's cosine and norm ratio, the accumulation table's dropped column, the
three gradient estimates, the decay plot's spectral view, the broken backward pass, and the
refusals of bad values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.deps import get_run
from app.inspect import views
from app.inspect.estimates import truncation_view
from app.inspect.service import InspectionService, get_inspection
from app.inspect.whatif import WhatIf, parse_whatif
from app.routes.inspect import router
from rnn_core import RNN, TrainConfig, trace_gammas
from rnn_core.broken import BUGS, broken_trace
from rnn_core.decay import fit_decay, spectral_norm
from rnn_core.estimates import cosine_and_ratio, dropped_count, truncated_grads
from rnn_core.inspect_report import build_report
from rnn_core.optim import global_norm

from .test_views import NAME, NUMBER, VOCAB, FakeRun, Node, by_testid, has_class, key_of, parse

T = len(NAME) + 1


@dataclass
class ConfiguredSnap:
    model: RNN
    vocab: object
    step: int
    version: int
    config: TrainConfig = field(default_factory=TrainConfig)
    names: frozenset[str] = frozenset({"rex"})
    run_id: str = "default"


class ConfiguredRun(FakeRun):
    """A fake run whose snapshots carry a training configuration (its truncation and clip norm)."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config

    def snapshot(self) -> ConfiguredSnap:  # type: ignore[override]
        return ConfiguredSnap(self.model.copy(), VOCAB, 100 * self.version, self.version, self.config)


def make_client(run: FakeRun) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    service = InspectionService(processes=False)
    app.dependency_overrides[get_run] = lambda: run
    app.dependency_overrides[get_inspection] = lambda: service
    return TestClient(app)


@pytest.fixture
def run() -> FakeRun:
    return FakeRun()


@pytest.fixture
def client(run: FakeRun) -> Iterator[TestClient]:
    with make_client(run) as c:
        yield c


def get(client: TestClient, path: str = "/fragments/inspect", **params: object) -> Node:
    response = client.get(path, params={"name": NAME, **params})
    assert response.status_code == 200, response.text
    return parse(response.text)


def cells(root: Node) -> list[Node]:
    return root.one(by_testid("gamma-heatmap")).all(has_class("rect", "g-cell"))


def shown(node: Node) -> float:
    return float(node.attrs["title"] or "nan")


def full_trace(run: FakeRun):
    return trace_gammas(run.model, VOCAB.encode(NAME))


# ------------------------------------------------------------- the view models
@pytest.mark.parametrize("K", [1, 3, T - 1, T, T + 5])
def test_the_truncation_view_drops_the_triangle_minus_the_band(run: FakeRun, K: int) -> None:
    report = build_report(run.model, VOCAB, NAME)
    view = truncation_view(report, WhatIf(asked_K=K))
    assert view is not None and view.K == K and view.source == "what-if"
    band = sum(min(t, K) for t in range(1, T + 1))
    assert view.dropped == T * (T + 1) // 2 - band == view.cells - band
    m = views.inspect_view(report, "key", 1, w=WhatIf(asked_K=K))
    assert sum("dropped" in c.css for c in m.gamma_map.cells) == view.dropped
    assert all(c.k <= c.t - K for c in m.gamma_map.cells if "dropped" in c.css)


def test_at_K_of_T_or_more_cosine_and_ratio_are_1(run: FakeRun) -> None:
    report = build_report(run.model, VOCAB, NAME)
    for K in (T, T + 1, 10_000):
        view = truncation_view(report, WhatIf(asked_K=K))
        assert view is not None and view.dropped == 0
        assert float(view.cosine.title) == pytest.approx(1.0, abs=1e-12)
        assert float(view.ratio.title) == pytest.approx(1.0, abs=1e-12)
    assert truncation_view(report, WhatIf()) is None  # full BPTT: nothing to say


def test_the_runs_K_is_in_force_unless_a_what_if_is_asked() -> None:
    config = TrainConfig(truncation=4, clip_norm=0.5)
    w = parse_whatif(config=config)
    assert (w.K, w.clip, w.bug) == (4, 0.5, "")
    w = parse_whatif("2", "", "overwrite", config)
    assert (w.run_K, w.K, w.clip, w.bug) == (4, 2, 0.5, "overwrite")
    assert parse_whatif(config=None).K is None


# ------------------------------------------------------------------ the panel
def test_the_default_panel_greys_nothing(client: TestClient) -> None:
    root = get(client)
    assert not any("dropped" in c.classes() for c in cells(root))
    assert "Full BPTT" in root.one(by_testid("trunc-summary")).text()
    assert root.all(by_testid("trunc-cosine")) == []
    form = root.one(by_testid("whatif"))
    assert form.one(by_testid("whatif-k")).attrs["value"] == ""
    options = form.one(by_testid("bug-select")).all(lambda n: n.tag == "option")
    assert [o.attrs["value"] for o in options] == ["", *BUGS]
    assert all(o.text().strip() and o.text().strip() != o.attrs["value"] for o in options)  # plain words


def test_a_what_if_K_greys_the_dropped_cells_and_says_what_they_cost(
    client: TestClient, run: FakeRun
) -> None:
    K = 3
    root = get(client, k_trunc=K)
    grey = [c for c in cells(root) if "dropped" in c.classes()]
    assert len(grey) == dropped_count(T, K) == (T - K) * (T - K + 1) // 2
    for c in grey:
        t, k = int(c.attrs["data-t"]), int(c.attrs["data-k"])
        assert k <= t - K and "dropped by truncation" in (c.attrs["aria-label"] or "")
        assert c.attrs["fill"] != "#ffffff"
    kept = [c for c in cells(root) if "dropped" not in c.classes()]
    assert len(kept) == T * (T + 1) // 2 - len(grey)
    tr = full_trace(run)
    want = trace_gammas(run.model, VOCAB.encode(NAME), truncation=K).grads["W_h"]
    cosine, ratio = cosine_and_ratio(want, tr.grads["W_h"])
    assert shown(root.one(by_testid("trunc-cosine"))) == pytest.approx(cosine, rel=2e-6)
    assert shown(root.one(by_testid("trunc-ratio"))) == pytest.approx(ratio, rel=2e-6)
    summary = root.one(by_testid("trunc-summary"))
    assert summary.attrs["data-k"] == str(K) and summary.attrs["data-dropped"] == str(len(grey))
    state = root.one(lambda n: n.attrs.get("id") == "whatif-state")  # carried by every later request
    assert state.one(lambda n: n.attrs.get("name") == "k_trunc").attrs["value"] == str(K)


def test_the_runs_own_K_greys_its_cells() -> None:
    run = ConfiguredRun(TrainConfig(truncation=4))
    with make_client(run) as client:
        root = get(client)
        assert root.one(by_testid("run-truncation")).attrs["data-k"] == "4"
        assert sum("dropped" in c.classes() for c in cells(root)) == dropped_count(T, 4)
        assert "the run's own" in root.one(by_testid("trunc-summary")).text()
        root = get(client, k_trunc=T)  # a what-if K >= T: full BPTT for this name
        assert sum("dropped" in c.classes() for c in cells(root)) == 0
        assert shown(root.one(by_testid("trunc-cosine"))) == pytest.approx(1.0)


def test_the_table_and_the_walk_say_what_step_k_no_longer_receives(client: TestClient, run: FakeRun) -> None:
    K = 3
    tr = full_trace(run)
    root = get(client, k_trunc=K, open="table")
    rows = root.one(by_testid("bptt-table")).all(lambda n: n.tag == "tr" and "data-k" in n.attrs)
    assert len(rows) == T
    for row in rows:
        k = int(row.attrs["data-k"])
        cell = row.one(lambda n: n.attrs.get("data-col") == "dropped")
        want = np.linalg.norm(tr.gamma[k + K - 1 :, k - 1].sum(axis=0))
        assert float(cell.attrs["title"] or "nan") == pytest.approx(want, rel=2e-6, abs=1e-12)
    walk = get(client, "/fragments/inspect/walk", key=key_of(get(client)), walk=2, k_trunc=K)
    line = walk.one(by_testid("walk-lines")).one(lambda n: n.attrs.get("data-line") == "dropped")
    assert f"t={2 + K}…{T}" in line.text().replace(" ", "") and "cut off by truncation" in line.text()
    plain = get(client, open="table")  # without a K: no such column
    assert plain.all(lambda n: n.attrs.get("data-col") == "dropped") == []


def test_the_three_estimates_side_by_side(client: TestClient, run: FakeRun) -> None:
    tr = full_trace(run)
    g = global_norm(tr.grads)
    clip = g / 4
    root = get(
        client, "/fragments/inspect/more", key=key_of(get(client)), part="estimates", k_trunc=2, clip=clip
    )
    box = root.one(by_testid("grad-estimates"))
    full, trunc, clipped = (
        box.one(by_testid(f"estimate-{kind}")) for kind in ("full", "truncated", "clipped")
    )
    total = T * (T + 1) // 2
    assert full.attrs["data-kept"] == clipped.attrs["data-kept"] == str(total)
    assert trunc.attrs["data-kept"] == str(total - dropped_count(T, 2))
    assert len(
        [c for c in trunc.all(has_class("rect", "m-cell")) if "dropped" in c.classes()]
    ) == dropped_count(T, 2)
    assert not [c for c in full.all(has_class("rect", "m-cell")) if "dropped" in c.classes()]

    def number(kind: str, what: str) -> float:
        return shown(box.one(by_testid(f"estimate-{kind}-{what}")))

    assert (number("full", "cosine"), number("full", "ratio")) == (1.0, 1.0)
    cosine, ratio = cosine_and_ratio(truncated_grads(tr, 2)["W_h"], tr.grads["W_h"])
    assert number("truncated", "cosine") == pytest.approx(cosine, rel=2e-6)
    assert number("truncated", "ratio") == pytest.approx(ratio, rel=2e-6)
    assert number("clipped", "cosine") == pytest.approx(1.0, abs=1e-9)  # clipping keeps the direction
    assert number("clipped", "ratio") == pytest.approx(min(1.0, clip / g), rel=2e-6)
    plainly = box.one(by_testid("clip-plainly")).text()
    assert "cosine is 1" in plainly and "ratio = min(1," in plainly


def test_the_runs_clip_norm_is_the_clipped_estimates_default() -> None:
    run = ConfiguredRun(TrainConfig(clip_norm=1e-3))
    with make_client(run) as client:
        root = get(client, "/fragments/inspect/more", key=key_of(get(client)), part="estimates")
        box = root.one(by_testid("grad-estimates"))
        g = global_norm(full_trace(run).grads)
        assert box.attrs["data-clip"] == "0.001"
        assert shown(box.one(by_testid("estimate-clipped-ratio"))) == pytest.approx(
            min(1, 1e-3 / g), rel=2e-6
        )


def test_the_decay_plot_puts_predicted_and_measured_decay_together(client: TestClient, run: FakeRun) -> None:
    tr = full_trace(run)
    root = get(client, "/fragments/inspect/more", key=key_of(get(client)), part="decay")
    spectral = root.one(by_testid("decay-spectral"))
    sigma_max = float(root.one(by_testid("sigma-max")).text())
    assert sigma_max == pytest.approx(spectral_norm(run.model.W_h), rel=1e-3)
    assert sigma_max == pytest.approx(np.linalg.norm(run.model.W_h, 2), rel=2e-3)
    assert float(spectral.attrs["data-bound"]) == pytest.approx(0.25 * sigma_max, rel=1e-3)  # sigmoid
    fit = fit_decay(tr.decay())
    assert fit is not None
    assert float(root.one(by_testid("decay-measured-rate")).text()) == pytest.approx(fit.rate, rel=5e-3)
    chart = root.one(by_testid("gamma-decay"))
    assert chart.one(by_testid("gamma-decay-measured")) and chart.one(by_testid("gamma-decay-bound"))
    assert "the same weights under another σ" in chart.text()
    # the y range follows the model's own curve: its lowest decade is the floor of the smallest median
    with np.errstate(all="ignore"):
        median = np.nanmedian(tr.decay(), axis=0)
    ticks = [
        int(t.text().removeprefix("1e"))
        for t in chart.all(has_class("text", "tick"))
        if t.text().startswith("1e")
    ]
    assert min(ticks) >= int(np.floor(np.log10(median[median > 0].min()))) - 1
    lines = chart.one(lambda n: n.attrs.get("clip-path", "").startswith("url(#gamma-decay"))
    assert lines.all(
        lambda n: n.tag == "g" and n.attrs.get("data-activation") == "tanh"
    )  # clipped, not dropped


# --------------------------------------------------------- the broken pass
@pytest.mark.parametrize("bug", list(BUGS))
def test_a_bug_turns_the_check_red_and_redraws_the_map(client: TestClient, run: FakeRun, bug: str) -> None:
    before = {name: p.tobytes() for name, p in run.model.params.items()}
    root = get(client, bug=bug)  # a bug opens the gradient check
    verdict = root.one(by_testid("grad-verdict"))
    assert verdict.attrs["data-ok"] == "false" and "bad" in verdict.classes() and "fails" in verdict.text()
    card = root.one(by_testid("grad-card"))
    assert "broken" in card.classes() and card.attrs["data-bug"] == bug
    errors = [
        float(c.attrs["title"] or "nan") for c in card.all(lambda n: n.attrs.get("data-col") == "rel_error")
    ]
    assert max(errors) > 1e-3  # huge against the tolerance of 1e-6
    assert "Eq." in root.one(by_testid("broken-note")).text()
    tr = full_trace(run)
    broken = broken_trace(tr, run.model.W_h, bug).gamma_norms
    for c in cells(root):
        t, k = int(c.attrs["data-t"]), int(c.attrs["data-k"])
        assert float(c.attrs["data-value"] or "nan") == pytest.approx(
            broken[t - 1, k - 1], rel=2e-6, abs=1e-300
        )
    assert {name: p.tobytes() for name, p in run.model.params.items()} == before  # never touched
    plain = get(client, open="grad")  # the real pass again
    assert plain.one(by_testid("grad-verdict")).attrs["data-ok"] == "true"
    assert {name: p.tobytes() for name, p in run.model.params.items()} == before


def test_the_broken_check_part_reads_the_bug_in_force(client: TestClient) -> None:
    root = get(client, "/fragments/inspect/more", key=key_of(get(client)), part="grad", bug="no-step-back")
    assert root.one(by_testid("grad-verdict")).attrs["data-ok"] == "false"


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"k_trunc": "0"}, "whole number"),
        ({"k_trunc": "-2"}, "whole number"),
        ({"k_trunc": "2.5"}, "whole number"),
        ({"k_trunc": "three"}, "whole number"),
        ({"k_trunc": "99999999"}, "whole number"),
        ({"clip": "0"}, "above 0"),
        ({"clip": "-1"}, "above 0"),
        ({"clip": "nan"}, "above 0"),
        ({"clip": "inf"}, "above 0"),
        ({"clip": "lots"}, "above 0"),
        ({"bug": "off-by-one"}, "no such bug"),
    ],
)
@pytest.mark.parametrize("path", ["/fragments/inspect", "/fragments/inspect/walk", "/fragments/inspect/more"])
def test_bad_what_ifs_are_refused_in_words(client: TestClient, params: dict, words: str, path: str) -> None:
    extra = {"part": "estimates"} if path.endswith("more") else {}
    response = client.get(path, params={"name": NAME, **extra, **params})
    assert response.status_code == 422
    error = parse(response.text).one(has_class("span", "error-text"))
    assert words in error.text() and error.attrs["data-field"] == next(iter(params))
    assert get(client).one(by_testid("gamma-heatmap"))  # the panel still answers


def test_a_bad_name_is_refused_before_the_what_if(client: TestClient) -> None:
    response = client.get("/fragments/inspect", params={"name": "b0b", "k_trunc": "0"})
    assert (
        response.status_code == 422 and "position 2" in response.text and "whole number" not in response.text
    )


def test_every_number_is_in_the_html_cache_key(client: TestClient) -> None:
    a = get(client, k_trunc=2).one(by_testid("trunc-summary")).attrs["data-k"]
    b = get(client, k_trunc=5).one(by_testid("trunc-summary")).attrs["data-k"]
    assert (a, b) == ("2", "5")
    assert NUMBER.findall(get(client).one(by_testid("trunc-summary")).text()) == []
