"""Why gamma fades with distance: the decay plot's geometry and the notes under it, as plain data.

The plot (templates/charts/decay.svg) draws the median over t of
|gamma_t(k)| / |gamma_t(t)| against the distance t - k on a log axis, one line
per activation: the model's own solid with each t faint behind it, the same
weights under the other activations dashed and dotted (not models trained with
them). Predicted and measured decay sit on it together: the bound
(max sigma' sigma_max)^(t - k), sigma_max = |W_h|_2 the largest singular value of
W_h now, and the least-squares line of log |gamma_t(k)| / |gamma_t(t)| against
t - k over the name's cells (rnn_core.decay.fit_decay), whose slope is the decay
per step actually observed. The y axis follows the model's own curve; the others
are clipped at the frame. The notes (templates/partials/inspect/decay.html) give
the bound's numbers for each activation and say what it implies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.inspect.charts import Label
from app.inspect.numbers import exact
from app.web.svg import decades, points_attr
from rnn_core.inspect_report import Decay, InspectReport

DECAY_FLOOR = 1e-16  # ratios below this are drawn on the floor of the plot
WIDTH, HEIGHT = 460.0, 272.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 10.0, 52.0, 30.0
BEYOND = 30  # decades past the frame a clipped line may run before it is cut short
CHAR_WIDTH = 6.0  # about this many pixels a character at the legend's size


@dataclass(frozen=True)
class GridLine:
    y: float
    text: str  # the power of ten, as 1e-4


@dataclass(frozen=True)
class Dot:
    d: int  # the distance t - k
    x: float
    y: float
    median: str  # exact
    mean: str


@dataclass(frozen=True)
class DecayLine:
    activation: str
    css: str  # act-n: its colour and dash
    points: str
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class LegendEntry:
    x: float
    css: str
    text: str  # its width decides where the next entry starts


@dataclass(frozen=True)
class DecayPlot:
    width: float
    height: float
    left: float
    top: float
    right: float  # the x of the plot's right edge
    bottom: float  # the y of its bottom edge
    y_grid: tuple[GridLine, ...]
    x_ticks: tuple[Label, ...]
    faint: tuple[str, ...]  # the model's ratios for each t, as polyline points
    bound: str  # (max sigma' |W_h|_2)^(t - k), as polyline points
    activation: str  # the model's own
    max_slope: str
    rate: str  # max sigma' |W_h|_2, 4 significant digits
    rate_short: str  # the same, 3 digits (the legend)
    lines: tuple[DecayLine, ...]
    legend: tuple[LegendEntry, ...]
    others: str  # the other activations, "tanh, relu": the same weights under another sigma
    sigma_max: str  # |W_h|_2, the largest singular value of W_h, 4 significant digits
    measured: str  # the least-squares line of log ratio on t - k, as polyline points ("" if none)
    measured_rate: str  # exp(slope): the observed factor per step back, 3 significant digits
    measured_cells: int  # the cells the fit used


def decay_axis(medians: Sequence[np.ndarray]) -> tuple[int, int]:
    """Decades of a decay chart's y axis over these curves: their smallest finite median (or the
    floor) up to >= 1. The decay plot passes the model's own curve only (the other activations'
    may leave it: they are clipped at the frame); Compare passes every run's."""
    joined = np.concatenate(medians) if medians else np.array([])
    values = joined[np.isfinite(joined) & (joined > 0)]
    lo = math.floor(math.log10(max(values.min(), DECAY_FLOOR))) if values.size else -4
    hi = max(0, math.ceil(math.log10(values.max()))) if values.size else 0
    return min(lo, hi - 1), hi


def distance_ticks(T: int, px: Callable[[float], float], y: float) -> tuple[Label, ...]:
    """About ten labels of the distance t - k = 0 .. T - 1 along a decay chart's x axis, at height y."""
    every = max(1, math.ceil(max(T - 1, 1) / 10))
    return tuple(Label(round(px(d), 1), y, str(d)) for d in range(0, T, every))


def decay_plot(report: InspectReport) -> DecayPlot:
    """The decay plot of ``report``: its model's activation first, then the others."""
    decays, T = report.decays, report.T
    own = decays[0]
    lo, hi = decay_axis([own.median])
    x_span = max(T - 1, 1)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def px(d: float) -> float:
        return LEFT + d / x_span * (right - LEFT)

    def py_log(e: float) -> float:  # a power of ten, past the frame too (the chart clips it)
        e = min(max(e, lo - BEYOND), hi + BEYOND)
        return TOP + (hi - e) / (hi - lo) * (bottom - TOP)

    def py(v: float) -> float:
        return py_log(math.log10(max(v, DECAY_FLOOR * 10.0 ** (lo - BEYOND))))

    rate = own.rate_bound

    def bound(d: int) -> float:  # log10 of rate^d (in log space: no overflow)
        if rate <= 0:
            return 0.0 if d == 0 else lo - BEYOND
        return d * math.log10(rate)

    fit = own.fit
    measured = (
        points_attr((px(d), py_log((fit.intercept + fit.slope * d) / math.log(10.0))) for d in (0, T - 1))
        if fit is not None and T > 1
        else ""
    )

    lines = []
    for n, dec in enumerate(decays):
        finite = [(d, float(dec.median[d])) for d in range(T) if np.isfinite(dec.median[d])]
        dots = tuple(
            Dot(d, round(px(d), 1), round(py(v), 1), exact(v), exact(float(dec.mean[d]))) for d, v in finite
        )
        lines.append(
            DecayLine(dec.activation, f"act-{n}", points_attr((px(d), py(v)) for d, v in finite), dots)
        )
    return DecayPlot(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        right=right,
        bottom=bottom,
        y_grid=tuple(GridLine(round(py(10.0**e), 1), f"1e{e}") for e in decades(lo, hi, 7)),
        x_ticks=distance_ticks(T, px, bottom + 13),
        faint=tuple(
            points_attr((px(d), py(float(own.ratios[t - 1, d]))) for d in range(t)) for t in range(2, T + 1)
        ),
        bound=points_attr((px(d), py_log(bound(d))) for d in range(T)),
        activation=own.activation,
        max_slope=f"{own.max_slope:g}",
        rate=f"{rate:.4g}",
        rate_short=f"{rate:.3g}",
        lines=tuple(lines),
        legend=_legend(decays),
        others=", ".join(d.activation for d in decays[1:]),
        sigma_max=f"{own.W_h_norm:.4g}",
        measured=measured,
        measured_rate=f"{fit.rate:.3g}" if fit is not None else "",
        measured_cells=fit.cells if fit is not None else 0,
    )


def _legend(decays: Sequence[Decay]) -> tuple[LegendEntry, ...]:
    """One entry per activation in a row, each as wide as its text; the others starred (the
    legend's second row says what the star means: the same weights under another sigma)."""
    entries, x = [], 0.0
    for n, dec in enumerate(decays):
        text = dec.activation + (" (this model)" if n == 0 else "*")
        entries.append(LegendEntry(x, f"act-{n}", text))
        x += 36 + CHAR_WIDTH * len(text)
    return tuple(entries)


# ------------------------------------------------------------------ notes
#: What the bound says of |gamma| far back: it must vanish (bound < 1); it may grow only for
#: weights with a large |W_h|_2 (sigma' < 1); or it may grow.
Outlook = Literal["vanishes", "grows-if-large", "may-grow"]


@dataclass(frozen=True)
class DecayNote:
    """The bound on one step back through Eq. 6.2, max sigma' x |W_h|_2, for one activation."""

    activation: str
    css: str  # act-n, the colour of its line
    max_slope: float
    slope: str  # max sigma' as the note writes it: ¼ or 1
    sigma_prime_mean: str  # the typical sigma' of this name, 3 decimals
    W_h_norm: str
    rate_bound: str  # 3 decimals
    rate_bound_exact: str
    grows_above: str  # the |W_h|_2 above which the bound exceeds 1: 1 / max sigma'
    outlook: Outlook


def decay_notes(r: InspectReport) -> tuple[DecayNote, ...]:
    """Why the lines fall, one note per activation, in the plot's order."""
    notes = []
    for n, d in enumerate(r.decays):
        outlook: Outlook
        if d.rate_bound < 1:
            outlook = "vanishes"
        elif d.max_slope < 1:
            outlook = "grows-if-large"
        else:
            outlook = "may-grow"
        notes.append(
            DecayNote(
                activation=d.activation,
                css=f"act-{n}",
                max_slope=d.max_slope,
                slope="¼" if d.max_slope == 0.25 else f"{d.max_slope:g}",
                sigma_prime_mean=f"{d.sigma_prime_mean:.3f}",
                W_h_norm=f"{d.W_h_norm:.3f}",
                rate_bound=f"{d.rate_bound:.3f}",
                rate_bound_exact=exact(d.rate_bound),
                grows_above=f"{1 / d.max_slope:g}",
                outlook=outlook,
            )
        )
    return tuple(notes)
