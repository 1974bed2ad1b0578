"""Signed vectors and per-step bars of the Inspect panel, as view models (no markup).

    vector_chart     one vector across the hidden units (gamma_t(k) on a click); Learn draws its
                     vectors as strips (app/inspect/strip.py)
    dW_h_bars        |dJ/dW_h(k)| per step (Eq. 5.2)

The templates under templates/charts/ draw them; the maps are in app/inspect/charts.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.inspect.charts import PLOT_WIDTH, Label
from app.inspect.numbers import exact, fmt
from app.web.svg import DIVERGING, fmt_tick, signed_fractions
from rnn_core.inspect_report import InspectReport


# ------------------------------------------------------ one vector, signed
@dataclass(frozen=True)
class VectorBar:
    i: int  # the hidden unit, 1-based
    x: float
    y: float
    width: float
    height: float
    fill: str
    value: str  # exact


@dataclass(frozen=True)
class VectorChart:
    width: float
    height: float
    zero_y: float
    zero_from: float
    zero_to: float
    bars: tuple[VectorBar, ...]
    top: VectorBar  # the entry largest in size (the chart's text alternative names it)
    units: int


def vector_chart(values: np.ndarray, limit: float | None = None, mid: float = 40.0) -> VectorChart:
    """One vector across the hidden units as bars up (positive) or down from a zero line.

    ``limit``: the size drawn full height (default: this vector's largest), so several vectors
    can share one scale; ``mid``: half the chart's height."""
    D_h = values.size
    bw = (PLOT_WIDTH + 26.0) / D_h
    half, left = mid - 6.0, 4.0
    width = left + bw * D_h + 4
    limit = limit or float(np.abs(values).max()) or 1.0
    fills = DIVERGING.colours(signed_fractions(values, limit)).tolist()
    bar_width = round(bw * 0.9, 2)
    bars = []
    for i, v in enumerate(values.tolist()):  # plain floats: a NumPy scalar's arithmetic is slow
        size = min(abs(v) / limit, 1.0) * half
        bars.append(
            VectorBar(
                i=i + 1,
                x=round(left + i * bw, 2),
                y=round(mid - size if v > 0 else mid, 2),
                width=bar_width,
                height=round(max(size, 0.3), 2),
                fill=fills[i],
                value=exact(v),
            )
        )
    top = bars[int(np.argmax(np.abs(values)))]
    return VectorChart(round(width, 2), 2 * mid, mid, left, round(width - 4, 2), tuple(bars), top, D_h)


# ------------------------------------------------------------ dJ/dW_h(k)
@dataclass(frozen=True)
class Bar:
    k: int
    x: float
    y: float
    width: float
    height: float
    value: str  # |dJ/dW_h(k)|, exact
    text: str  # the same, rounded (the bar's accessible name)
    label: str  # the step number under the bar, or ""
    label_x: float


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    axis_x: float  # where the value labels end
    top: Label  # the largest value, at the top of the axis
    zero: Label
    bars: tuple[Bar, ...]


def dW_h_bars(report: InspectReport) -> BarChart:
    """|dJ/dW_h(k)| for k = 1..T (Eq. 5.2): what each step adds to dJ/dW_h."""
    values = report.dW_h_norms
    T = values.size
    bw = PLOT_WIDTH / T
    every = math.ceil(16.0 / bw)  # a step number under each bar while they fit
    left, top, plot = 30.0, 8.0, 70.0
    height = top + plot + 18
    limit = float(values.max()) or 1.0
    bars = []
    for k in range(1, T + 1):
        size = float(values[k - 1]) / limit * plot
        x = left + (k - 1) * bw
        bars.append(
            Bar(
                k=k,
                x=round(x + 1, 2),
                y=round(top + plot - size, 2),
                width=round(bw - 2, 2),
                height=round(max(size, 0.5), 2),
                value=exact(float(values[k - 1])),
                text=fmt(float(values[k - 1])),
                label=str(k) if (k - 1) % every == 0 or k == T else "",
                label_x=round(x + bw / 2, 2),
            )
        )
    return BarChart(
        width=left + PLOT_WIDTH + 6,
        height=height,
        axis_x=left - 4,
        top=Label(left - 4, top + 4, fmt_tick(float(f"{limit:.2g}"))),
        zero=Label(left - 4, top + plot, "0"),
        bars=tuple(bars),
    )
