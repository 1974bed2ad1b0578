"""The live loss chart, drawn on the server: its geometry here, its SVG in templates/charts/loss.svg.

The chart plots J per character (Eq. 3.2 summed by Eq. 3.3, divided by the
steps) against the training step: each series raw and faint, with an
exponential moving average drawn over it; train and validation; a linear or
log y axis; the loss of guessing uniformly (ln V) as a dashed line; the lowest
validation loss so far ringed (the weights a keep_best run ends with). Hover bands
carry the exact values in `<title>`, so a person can read them and a test can
parse them. Colours come from CSS classes (static/app.css); the scales, ticks
and polylines from app/web/svg.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.web import templating
from app.web.svg import MAX_DRAWN_POINTS, Axis, Point, fmt_tick, nice_ticks, points_attr, thin

__all__ = ["HOVER_BANDS", "MAX_DRAWN_POINTS", "LossChart", "loss_chart", "loss_chart_svg"]

TEMPLATE = "charts/loss.svg"
WIDTH, HEIGHT = 760, 240  # viewBox units; the SVG scales to its box
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 50, 12, 10, 28
HOVER_BANDS = 80  # vertical strips carrying the exact values in their <title>
LEGEND = (("train-ema", "train"), ("val-ema", "validation"))
LEGEND_SPACING = 92  # pixels from one legend entry to the next


# --------------------------------------------------------------- the data
def ema(values: Sequence[float], beta: float) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled to 0)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out


def series(history: Sequence[dict[str, Any]], key: str) -> list[Point]:
    """(step, value) for every history entry holding a finite `key`."""
    out = []
    for entry in history:
        value = entry.get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            out.append((float(entry["step"]), float(value)))
    return out


def smoothed(points: Sequence[Point], beta: float) -> list[Point]:
    """The same steps with EMA-smoothed values."""
    values = ema([v for _, v in points], beta)
    return [(s, v) for (s, _), v in zip(points, values, strict=True)]


def nearest(points: Sequence[Point], step: float) -> Point | None:
    """The point whose step is closest to `step` (points sorted by step)."""
    if not points:
        return None
    lo, hi = 0, len(points) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if points[mid][0] < step:
            lo = mid + 1
        else:
            hi = mid
    if lo > 0 and abs(points[lo - 1][0] - step) <= abs(points[lo][0] - step):
        lo -= 1
    return points[lo]


# ------------------------------------------------------------ the geometry
@dataclass(frozen=True)
class Frame:
    """The plot area, in viewBox units."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class AxisTick:
    at: float  # pixel position along the axis
    text: str


@dataclass(frozen=True)
class Uniform:
    """The dashed line of guessing uniformly, at height y."""

    y: float
    value: str  # ln V, 4 decimals


@dataclass(frozen=True)
class Line:
    css: str
    points: str  # the `points` attribute
    last: Point | None  # the newest point, drawn as a dot (EMA lines only)


@dataclass(frozen=True)
class Band:
    """A hover strip and the values under it (numbers as the title prints them)."""

    x: float
    width: float
    step: str
    train: str
    smoothed: str
    val: str | None
    val_step: str | None


@dataclass(frozen=True)
class LegendItem:
    x: float
    css: str
    label: str


@dataclass(frozen=True)
class LossChart:
    width: int
    height: int
    scale: str  # "linear" or "log"
    points: int  # train points in the history
    val_points: int
    last_step: int
    frame: Frame
    y_ticks: tuple[AxisTick, ...] = ()
    x_ticks: tuple[AxisTick, ...] = ()
    uniform: Uniform | None = None
    lines: tuple[Line, ...] = ()
    bands: tuple[Band, ...] = ()
    legend: tuple[LegendItem, ...] = ()
    legend_y: float = 0.0
    best: Point | None = None  # where the lowest validation loss is drawn
    best_text: str = ""  # "J at step N"


def loss_chart(
    history: Sequence[dict[str, Any]], scale: str = "linear", uniform: float | None = None
) -> LossChart:
    """Everything the loss chart draws, in viewBox units (see the module docstring)."""
    train, val = series(history, "train_loss"), series(history, "val_loss")
    log = scale == "log"
    frame = Frame(MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)
    empty = LossChart(
        WIDTH,
        HEIGHT,
        "log" if log else "linear",
        len(train),
        len(val),
        int(train[-1][0]) if train else 0,
        frame,
    )
    if not train:
        return empty
    train_ema, val_ema = smoothed(train, 0.9), smoothed(val, 0.6)
    best = min(val, key=lambda p: (p[1], p[0])) if val else None  # the lowest validation loss
    values = [v for _, v in train + val]
    lo = min(values)
    hi = max([v for _, v in train_ema + val] + ([uniform] if uniform else []))
    pad = (hi - lo) * 0.06 or 0.1
    lo, hi = (max(lo - pad, 1e-3), hi + pad) if not log else (lo * 0.94, hi * 1.06)
    x = Axis(0.0, max(train[-1][0], 1.0), frame.left, frame.right)
    y = Axis(lo, hi, frame.bottom, frame.top, log=log)

    def line(css: str, points: Sequence[Point], dot: bool = False) -> Line:
        last = (round(x(points[-1][0]), 1), round(y(points[-1][1]), 1)) if dot and points else None
        return Line(css, points_attr((x(s), y(v)) for s, v in thin(points)), last)

    return LossChart(
        width=empty.width,
        height=empty.height,
        scale=empty.scale,
        points=empty.points,
        val_points=empty.val_points,
        last_step=empty.last_step,
        frame=frame,
        y_ticks=tuple(AxisTick(round(y(t), 1), fmt_tick(t)) for t in nice_ticks(y.lo, y.hi, 5)),
        x_ticks=tuple(AxisTick(round(x(t), 1), fmt_tick(t)) for t in nice_ticks(0.0, x.hi, 6)),
        uniform=Uniform(round(y(uniform), 1), f"{uniform:.4f}") if uniform and lo <= uniform <= hi else None,
        lines=(
            line("train-raw", train),
            line("val-raw", val),
            line("train-ema", train_ema, dot=True),
            line("val-ema", val_ema, dot=True),
        ),
        bands=hover_bands(train, train_ema, val, x),
        legend=tuple(
            LegendItem(frame.left + 10 + i * LEGEND_SPACING, css, label)
            for i, (css, label) in enumerate(LEGEND)
        ),
        legend_y=frame.bottom - 8,
        best=(round(x(best[0]), 1), round(y(best[1]), 1)) if best else None,
        best_text=f"{best[1]:.4f} at step {best[0]:,.0f}" if best else "",
    )


def hover_bands(
    train: Sequence[Point], train_ema: Sequence[Point], val: Sequence[Point], x: Axis
) -> tuple[Band, ...]:
    """Vertical strips across the plot, each with the values nearest its centre."""
    count = min(HOVER_BANDS, len(train))
    width = (x.b - x.a) / count
    smooth = dict(train_ema)
    bands = []
    for i in range(count):
        centre = x.lo + (i + 0.5) / count * (x.hi - x.lo)
        step, loss = nearest(train, centre) or (0.0, 0.0)
        near_val = nearest(val, centre)
        bands.append(
            Band(
                x=round(x.a + i * width, 1),
                width=round(width, 1),
                step=f"{step:,.0f}",
                train=f"{loss:.4f}",
                smoothed=f"{smooth.get(step, loss):.4f}",
                val=f"{near_val[1]:.4f}" if near_val else None,
                val_step=f"{near_val[0]:,.0f}" if near_val else None,
            )
        )
    return tuple(bands)


def loss_chart_svg(
    history: Sequence[dict[str, Any]], scale: str = "linear", uniform: float | None = None
) -> str:
    """The loss chart as SVG text (app/web/views.py puts it in the page's chart block)."""
    return templating.render(TEMPLATE, "chart", {"chart": loss_chart(history, scale, uniform)})
