"""The step-backwards walk: the accumulation table with step k lit, and what k lights on the charts.

    walk_view(report, walk, K)    the table, step k's row spelled out (templates/partials/inspect/walk.html);
                                  with a truncation K, what step k no longer receives
    walk_layers(g, acc, bars, k)  the marks step k puts on the gamma map, the gamma(k) map and the
                                  dJ/dW_h(k) bars, drawn over them (templates/charts/walk_layer.svg)

A layer is an SVG of its chart's size stacked on the chart, in the chart's own
coordinates (the marks are taken from the chart's model, so they sit exactly on
its cells and bars). Each step of the walk replaces the three layers out of band,
never the charts under them: a few marks, however long the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.inspect.bars import BarChart
from app.inspect.charts import AccumulatedMap, GammaMap
from app.inspect.numbers import Cell, cell
from rnn_core.estimates import dropped_received
from rnn_core.inspect_report import InspectReport

CURRENT, PASSED = "walk-current", "walk-passed"  # what step k uses; what it hands on to k - 1


# ------------------------------------------------------------------ the table
@dataclass(frozen=True)
class RowView:
    """One row of the accumulation table (cells lit with "moves", "moves-to", "moves-from")."""

    k: int
    chars: str  # x(k) -> y(k)
    computes: Cell
    receives: Cell
    accumulated: Cell
    sigma_prime: Cell
    adds: Cell
    passes: Cell
    running: Cell
    css: str  # walk-current / walk-from / walk-to / ""
    dropped: Cell | None = None  # |sum_{t >= k+K} gamma_t(k)|: what truncation at K withholds


@dataclass(frozen=True)
class WalkView:
    k: int  # 0 before the walk starts
    T: int
    next_k: int  # what the step-back button asks for
    rows: tuple[RowView, ...]
    current: RowView | None  # the row of step k, spelled out above the table
    K: int | None = None  # the truncation in force: each row says what step k no longer receives


def _row_class(row_k: int, walk: int) -> str:
    if walk == 0:
        return ""
    return {walk: CURRENT, walk + 1: "walk-from", walk - 1: "walk-to"}.get(row_k, "")


def walk_view(r: InspectReport, walk: int, K: int | None = None) -> WalkView:
    """The accumulation table with step k = ``walk`` lit (0, or out of range: none yet).

    With a truncation K, each row also says what step k no longer receives: the gammas
    gamma_t(k) of the losses t >= k + K, which the band t - K < k <= t leaves out."""
    T = r.T
    walk = walk if 1 <= walk <= T else 0
    chars = {s.t: f"{s.x} → {s.y}" for s in r.steps}
    withheld = None if K is None else np.linalg.norm(dropped_received(r.trace, K), axis=1)
    rows = []
    for row in r.table:
        css = _row_class(row.k, walk)
        moving = "moves" if css == CURRENT else ""
        rows.append(
            RowView(
                k=row.k,
                chars=chars[row.k],
                computes=cell(row.computes, moving),
                receives=cell(row.receives, moving or ("moves-to" if css == "walk-to" else "")),
                accumulated=cell(row.accumulated, moving),
                sigma_prime=cell(row.sigma_prime_mean),
                adds=cell(row.adds, moving),
                passes=cell(row.passes, moving or ("moves-from" if css == "walk-from" else "")),
                running=cell(row.running, moving),
                css=css,
                dropped=None if withheld is None else cell(float(withheld[row.k - 1]), "dropped"),
            )
        )
    return WalkView(
        k=walk,
        T=T,
        next_k=walk - 1 if walk > 1 else T,
        rows=tuple(rows),
        current=next((row for row in rows if row.k == walk), None),
        K=K,
    )


# ----------------------------------------------------------------- the layers


@dataclass(frozen=True)
class Mark:
    """One lit shape: a rectangle (a cell, a row, a bar) or a row's label, in chart coordinates."""

    kind: Literal["cell", "row", "bar", "label"]
    css: str  # CURRENT or PASSED
    x: float
    y: float
    width: float = 0.0
    height: float = 0.0
    text: str = ""
    t: int = 0  # the gamma_t(k) a cell is (0 elsewhere)
    k: int = 0


@dataclass(frozen=True)
class WalkLayer:
    """What step k of the walk lights on one chart, drawn over it at the chart's size."""

    id: str
    k: int  # 0: nothing lit
    width: float
    height: float
    marks: tuple[Mark, ...]


def gamma_walk(m: GammaMap, walk: int) -> WalkLayer:
    """Column k of the gamma map (step k holds gamma_t(k) for each t >= k), and in column k - 1
    the gamma_t(k - 1) for t >= k it hands on (Eq. 6.2)."""
    marks = []
    for c in m.cells:
        css = CURRENT if c.k == walk else PASSED if c.k == walk - 1 and c.t >= walk else ""
        if walk and css:
            marks.append(Mark("cell", css, c.x, c.y, m.size, m.size, t=c.t, k=c.k))
    return WalkLayer("inspect-gamma-walk", walk, m.width, m.height, tuple(marks))


def accumulated_walk(m: AccumulatedMap, walk: int) -> WalkLayer:
    """Row k of gamma(k) (and its label, when the row has one)."""
    marks = []
    for r in m.rows:
        if walk and r.k == walk:
            marks.append(Mark("row", CURRENT, m.left, r.y, m.plot_width, m.row_height, k=r.k))
            if r.label:
                marks.append(Mark("label", CURRENT, m.left - 4, r.label_y, text=r.label, k=r.k))
    return WalkLayer("inspect-accumulated-walk", walk, m.width, m.height, tuple(marks))


def bars_walk(m: BarChart, walk: int) -> WalkLayer:
    """Bar k: what step k adds to dJ/dW_h."""
    marks = tuple(
        Mark("bar", CURRENT, b.x, b.y, b.width, b.height, k=b.k) for b in m.bars if walk and b.k == walk
    )
    return WalkLayer("inspect-dwh-walk", walk, m.width, m.height, marks)


@dataclass(frozen=True)
class WalkLayers:
    gamma: WalkLayer
    accumulated: WalkLayer | None  # None while the accumulation table (and its map) is not drawn
    bars: WalkLayer


def walk_layers(gamma: GammaMap, accumulated: AccumulatedMap | None, bars: BarChart, walk: int) -> WalkLayers:
    """The layers of step k = ``walk`` (0: empty layers, nothing lit) on the charts drawn."""
    acc = accumulated_walk(accumulated, walk) if accumulated is not None else None
    return WalkLayers(gamma_walk(gamma, walk), acc, bars_walk(bars, walk))
