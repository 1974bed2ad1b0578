"""The parts of the Inspect panel drawn on demand, as view models: the table, the check, the decay,
the gradient estimates.

Each sits under a closed <details> of the panel body (templates/partials/inspect/more.html),
which holds only its place until the page opens it or names it as open:

    table_view(report, walk, K)  the accumulation table with step k = walk lit, and Σ_t γ_t(k) beside
                               it; with a truncation K, what each step no longer receives
                               (templates/partials/inspect/table.html)
    grad_check_view(report, bug)  the gradient check: BPTT (or a broken copy of it, rnn_core.broken)
                               against centred differences (templates/partials/inspect/grad_check.html)
    decay_view(report)         |γ_t(k)| / |γ_t(t)| by distance under every activation, its bounds
                               (templates/partials/inspect/decay.html)
    estimates_view(report, w)  full, truncated and clipped dJ/dW_h as masks on the map
                               (app/inspect/estimates.py, templates/partials/inspect/estimates.html)
    part_view(report, part, walk, whatif)  one of them by name (PARTS)

The report computes the check and the decay only when they are first read
(rnn_core.inspect_report), so a panel that never opens them never pays for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.inspect.charts import AccumulatedMap, accumulated_map
from app.inspect.decay import DecayNote, DecayPlot, decay_notes, decay_plot
from app.inspect.estimates import EstimatesView, estimates_view
from app.inspect.numbers import Cell, cell, exact, sci
from app.inspect.walk import WalkLayer, WalkView, accumulated_walk, walk_view
from app.inspect.whatif import NO_WHATIF, WhatIf
from rnn_core.gradcheck import GRAD_CHECK_EPS, GRAD_CHECK_TOLERANCE, GradCheckEntry
from rnn_core.inspect_report import InspectReport

#: The parts of the panel body drawn only when they are open (their <details> ids are more-<part>).
Part = Literal["table", "grad", "decay", "estimates"]
PARTS: tuple[Part, ...] = ("table", "grad", "decay", "estimates")
VECTOR_URL = "/fragments/inspect/gamma"  # where a click on a chart asks for one gamma vector


@dataclass(frozen=True)
class GradRow:
    param: str
    equation: str  # the seed's equation the parameter appears in
    index: str  # 1-based
    analytic: Cell
    numeric: Cell
    rel_error: Cell
    css: str  # "ok" below the tolerance, else "bad"


@dataclass(frozen=True)
class GradCheckView:
    rows: tuple[GradRow, ...]
    largest: Cell  # the largest relative error, css "ok" or "bad"
    ok: bool
    tolerance: str  # GRAD_CHECK_TOLERANCE, as the verdict writes it
    eps: str  # the difference step of rnn_core.gradcheck
    bug: str = ""  # the deliberate bug the checked gradients were computed with ("" for none)


@dataclass(frozen=True)
class TableView:
    """The accumulation table with its walk, and Σ_t γ_t(k) with step k of the walk lit on it."""

    walk: WalkView
    accumulated_map: AccumulatedMap
    layer: WalkLayer


@dataclass(frozen=True)
class DecayRow:
    """One row of the decay plot's numbers: the distance and each line's median there."""

    d: int
    medians: tuple[str, ...]  # in the plot's order; "–" where a line has no finite value


@dataclass(frozen=True)
class DecayView:
    """The decay plot, the note on each activation's bound, and the plot's numbers."""

    plot: DecayPlot
    notes: tuple[DecayNote, ...]
    rows: tuple[DecayRow, ...]


_PARAM_EQUATION = {"W_h": "5.2", "W_x": "1.1", "b1": "1.1", "U": "2.1", "b2": "2.1"}


def grad_row(e: GradCheckEntry) -> GradRow:
    """One checked entry: analytic (the trace's BPTT) against the centred difference."""
    return GradRow(
        param=e.param,
        equation=_PARAM_EQUATION[e.param],
        index="[" + ", ".join(str(i + 1) for i in e.index) + "]",
        analytic=Cell(f"{e.analytic:.6g}", exact(e.analytic)),
        numeric=Cell(f"{e.numeric:.6g}", exact(e.numeric)),
        rel_error=Cell(f"{e.rel_error:.1e}", exact(e.rel_error)),
        css="ok" if e.rel_error < GRAD_CHECK_TOLERANCE else "bad",
    )


def grad_check_view(r: InspectReport, bug: str = "") -> GradCheckView:
    """The checked entries and the verdict on the largest relative error.

    With ``bug`` (rnn_core.broken.BUGS) the analytic side is the broken backward pass's, checked
    against differences of the real J: the check is meant to fail."""
    entries = r.broken_check(bug) if bug else r.grad_check
    largest = max((e.rel_error for e in entries), default=0.0)
    ok = largest < GRAD_CHECK_TOLERANCE
    return GradCheckView(
        rows=tuple(grad_row(e) for e in entries),
        largest=cell(largest, "ok" if ok else "bad"),
        ok=ok,
        tolerance=sci(GRAD_CHECK_TOLERANCE),
        eps=sci(GRAD_CHECK_EPS),
        bug=bug,
    )


def decay_view(r: InspectReport) -> DecayView:
    """The decay plot with its notes and its numbers (median by distance, one column a line)."""
    plot = decay_plot(r)
    medians = [{dot.d: dot.median for dot in line.dots} for line in plot.lines]
    rows = tuple(DecayRow(dot.d, tuple(m.get(dot.d, "–") for m in medians)) for dot in plot.lines[0].dots)
    return DecayView(plot, decay_notes(r), rows)


def table_view(r: InspectReport, walk: int = 0, K: int | None = None) -> TableView:
    """The accumulation table with step k = ``walk`` lit, and the Σ_t γ_t(k) map it is read with;
    with a truncation K, each row says what step k no longer receives."""
    walk_model = walk_view(r, walk, K)
    acc = accumulated_map(r, VECTOR_URL)
    return TableView(walk_model, acc, accumulated_walk(acc, walk_model.k))


def part_view(
    r: InspectReport, part: Part, walk: int = 0, w: WhatIf = NO_WHATIF
) -> TableView | GradCheckView | DecayView | EstimatesView:
    """One of the parts the panel draws on demand (PARTS), computed if it is not yet, under the
    what-if ``w`` (its K for the table, its bug for the check, its K and clip for the estimates)."""
    if part == "table":
        return table_view(r, walk, w.K)
    if part == "grad":
        return grad_check_view(r, w.bug)
    if part == "estimates":
        return estimates_view(r, w)
    return decay_view(r)
