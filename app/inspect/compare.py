"""One name inspected under each compared run: T x T maps on one colour scale, decays overlaid.

Compare (/compare, app/routes/compare.py) shows, under its loss chart, the same
name traced under each run's weights of now (docs/ARCHITECTURE.md, "Experiments"):

    - each run's map of |gamma_t(k)| = |dJ(t)/dh(k)| (Eq. 6.2), row t, column k, all
      drawn on one shared log colour scale, so a darker cell is a smaller gamma
      whichever run it belongs to;
    - one decay chart: the median over t of |gamma_t(k)| / |gamma_t(t)| against the
      distance t - k, one line per run in the run's own look (colour, dash, marker),
      on one log axis, with each run's bound (max sigma' ||W_h||_2)^(t - k) as a
      thin line of the same colour.

The runs must share a vocabulary for the name to be spelt in each; a run that
cannot spell it says so in its place rather than refusing the whole comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.inspect.charts import GammaMap, Label, gamma_map, shared_span
from app.inspect.decay import decay_axis, distance_ticks
from app.inspect.numbers import exact, fmt
from app.web.svg import decades, points_attr
from rnn_core.inspect_report import InspectReport

WIDTH, HEIGHT = 520.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 12.0, 30.0


@dataclass(frozen=True)
class Look:
    """How a run is drawn on the compare page (app/web/compare.py LOOKS)."""

    run_id: str
    name: str  # what the page calls the run (its label, or what differs)
    colour: str
    dash: str
    marker: str


@dataclass(frozen=True)
class RunTrace:
    """One run's trace of the name: its map and the numbers printed under it."""

    look: Look
    step: int  # the training step of the weights traced
    activation: str
    map: GammaMap | None  # None when the run's vocabulary cannot spell the name
    problem: str  # why there is no map, else ""
    loss: str  # J of the name, Eq. 3.3
    dW_h_norm: str  # ||dJ/dW_h||, Eq. 4.1
    rate_bound: str  # max sigma' * ||W_h||_2: the largest factor of one step back (Eq. 6.2)
    far: str  # the median ratio at the largest distance, t - k = T - 1
    far_value: str  # exact


@dataclass(frozen=True)
class OverlayLine:
    look: Look
    points: str  # the median's polyline
    bound: str  # (max sigma' ||W_h||_2)^d, capped at the top of the axis
    dots: tuple[tuple[float, float, int, str], ...]  # x, y, d, the exact median


@dataclass(frozen=True)
class DecayOverlay:
    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    y_grid: tuple[tuple[float, str], ...]  # y, the power of ten
    x_ticks: tuple[Label, ...]
    lines: tuple[OverlayLine, ...]


@dataclass(frozen=True)
class CompareInspect:
    name: str
    runs: tuple[RunTrace, ...]
    decay: DecayOverlay | None  # None when no run could trace the name
    span: tuple[int, int]  # the shared colour scale, in powers of ten


def compare_inspect(
    name: str, traced: Sequence[tuple[Look, int, InspectReport | None, str]]
) -> CompareInspect:
    """(look, step, report or None, problem) for each run, as the page draws them side by side."""
    reports = [r for _, _, r, _ in traced if r is not None]
    span = shared_span(reports) if reports else (-1, 0)
    runs = tuple(_run_trace(look, step, r, problem, span) for look, step, r, problem in traced)
    drawn = [(look, r) for look, _, r, _ in traced if r is not None]
    return CompareInspect(name, runs, decay_overlay(drawn) if drawn else None, span)


def _run_trace(
    look: Look, step: int, r: InspectReport | None, problem: str, span: tuple[int, int]
) -> RunTrace:
    if r is None:
        return RunTrace(look, step, "", None, problem, "–", "–", "–", "–", "")
    own = r.decays[0]
    far = float(own.median[r.T - 1]) if r.T > 1 else math.nan
    return RunTrace(
        look=look,
        step=step,
        activation=r.activation,
        map=gamma_map(r, "", span=span),
        problem="",
        loss=fmt(r.loss),
        dW_h_norm=fmt(r.dW_h_norm),
        rate_bound=f"{own.rate_bound:.3f}",
        far=fmt(far) if math.isfinite(far) else "–",
        far_value=exact(far) if math.isfinite(far) else "",
    )


def decay_overlay(drawn: Sequence[tuple[Look, InspectReport]]) -> DecayOverlay:
    """The median decay of every run on one log axis, its bound beside it (module docstring)."""
    lo, hi = decay_axis([r.decays[0].median for _, r in drawn])
    T = max(r.T for _, r in drawn)
    x_span = max(T - 1, 1)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def px(d: float) -> float:
        return LEFT + d / x_span * (right - LEFT)

    def py(log_v: float) -> float:
        return TOP + (hi - min(max(log_v, lo), hi)) / (hi - lo) * (bottom - TOP)

    lines = []
    for look, r in drawn:
        median = r.decays[0].median
        finite = [(d, float(median[d])) for d in range(r.T) if np.isfinite(median[d]) and median[d] > 0]
        rate = r.decays[0].rate_bound
        log_rate = math.log10(rate) if rate > 0 else -math.inf
        bound = points_attr((px(d), py(d * log_rate if d else 0.0)) for d in range(r.T))
        dots = tuple((round(px(d), 1), round(py(math.log10(v)), 1), d, exact(v)) for d, v in finite)
        lines.append(OverlayLine(look, points_attr((x, y) for x, y, _, _ in dots), bound, dots))
    return DecayOverlay(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        right=right,
        bottom=bottom,
        y_grid=tuple((round(py(e), 1), f"1e{e}") for e in decades(lo, hi, 7)),
        x_ticks=distance_ticks(T, px, bottom + 13),
        lines=tuple(lines),
    )
