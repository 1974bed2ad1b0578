"""The parts of the Inspect panel drawn on demand, as view models: the table, the check, the decay.

Each sits under a closed <details> of the panel body (templates/partials/inspect/more.html),
which holds only its place until the page opens it or names it as open:

    table_view(report, walk)   the accumulation table with step k = walk lit, and Σ_t γ_t(k) beside it
                               (templates/partials/inspect/table.html)
    grad_check_view(report)    the gradient check: BPTT against centred differences
                               (templates/partials/inspect/grad_check.html)
    decay_view(report)         |γ_t(k)| / |γ_t(t)| by distance under every activation, its bounds
                               (templates/partials/inspect/decay.html)
    part_view(report, part)    one of them by name (PARTS)

The report computes the check and the decay only when they are first read
(rnn_core.inspect_report), so a panel that never opens them never pays for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.inspect.charts import AccumulatedMap, accumulated_map
from app.inspect.decay import DecayNote, DecayPlot, decay_notes, decay_plot
from app.inspect.numbers import Cell, cell, exact, sci
from app.inspect.walk import WalkLayer, WalkView, accumulated_walk, walk_view
from rnn_core.gradcheck import GRAD_CHECK_EPS, GRAD_CHECK_TOLERANCE, GradCheckEntry
from rnn_core.inspect_report import InspectReport

#: The parts of the panel body drawn only when they are open (their <details> ids are more-<part>).
Part = Literal["table", "grad", "decay"]
PARTS: tuple[Part, ...] = ("table", "grad", "decay")
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


def grad_check_view(r: InspectReport) -> GradCheckView:
    """The checked entries and the verdict on the largest relative error."""
    ok = r.grad_check_max_error < GRAD_CHECK_TOLERANCE
    return GradCheckView(
        rows=tuple(grad_row(e) for e in r.grad_check),
        largest=cell(r.grad_check_max_error, "ok" if ok else "bad"),
        ok=ok,
        tolerance=sci(GRAD_CHECK_TOLERANCE),
        eps=sci(GRAD_CHECK_EPS),
    )


def decay_view(r: InspectReport) -> DecayView:
    """The decay plot with its notes and its numbers (median by distance, one column a line)."""
    plot = decay_plot(r)
    medians = [{dot.d: dot.median for dot in line.dots} for line in plot.lines]
    rows = tuple(DecayRow(dot.d, tuple(m.get(dot.d, "–") for m in medians)) for dot in plot.lines[0].dots)
    return DecayView(plot, decay_notes(r), rows)


def table_view(r: InspectReport, walk: int = 0) -> TableView:
    """The accumulation table with step k = ``walk`` lit, and the Σ_t γ_t(k) map it is read with."""
    walk_model = walk_view(r, walk)
    acc = accumulated_map(r, VECTOR_URL)
    return TableView(walk_model, acc, accumulated_walk(acc, walk_model.k))


def part_view(r: InspectReport, part: Part, walk: int = 0) -> TableView | GradCheckView | DecayView:
    """One of the parts the panel draws on demand (PARTS), computed if it is not yet."""
    if part == "table":
        return table_view(r, walk)
    return grad_check_view(r) if part == "grad" else decay_view(r)
