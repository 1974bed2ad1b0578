"""SVG charts drawn on the server: the live loss chart, and helpers other charts share.

The loss chart plots J per character (Eq. 3.2 summed by Eq. 3.3, divided by the
steps) against the training step: each series raw and faint, with an
exponential moving average drawn over it; train and validation; a linear or
log y axis; the loss of guessing uniformly (ln V) as a dashed line. Hover bands
carry the exact values in `<title>`, so a person can read them and a test can
parse them. Colours come from CSS classes (static/app.css).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

Point = tuple[float, float]

WIDTH, HEIGHT = 760, 240  # viewBox units; the SVG scales to its box
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 50, 12, 10, 28
MAX_DRAWN_POINTS = 500  # per series: more than the chart has pixels is wasted bytes
HOVER_BANDS = 80  # vertical strips carrying the exact values in their <title>


def ema(values: Sequence[float], beta: float) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled to 0)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round numbers (1, 2 or 5 times a power of ten apart) inside [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    ticks, k = [], 0
    while (t := first + k * step) <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        k += 1
    return ticks


def fmt_tick(value: float) -> str:
    """A tick label: integers with thousands separators, otherwise at most 3 significant digits."""
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Axis:
    """Maps data values in [lo, hi] onto pixels [a, b], linearly or on log10."""

    lo: float
    hi: float
    a: float
    b: float
    log: bool = False

    def _t(self, v: float) -> float:
        return math.log10(max(v, 1e-12)) if self.log else v

    def __call__(self, v: float) -> float:
        """The pixel position of value v."""
        t0, t1 = self._t(self.lo), self._t(self.hi)
        span = (t1 - t0) or 1.0
        return self.a + (self._t(v) - t0) / span * (self.b - self.a)


def polyline(points: Iterable[Point], x: Axis, y: Axis, css: str) -> str:
    """An SVG polyline through the points, coordinates to one decimal."""
    coords = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py in points)
    return f'<polyline class="{css}" points="{coords}"/>' if coords else ""


def thin(points: Sequence[Point], limit: int = MAX_DRAWN_POINTS) -> list[Point]:
    """Every k-th point so at most `limit` remain, always keeping the last one."""
    if len(points) <= limit:
        return list(points)
    stride = math.ceil(len(points) / limit)
    kept = list(points[::stride])
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


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


def loss_chart_svg(
    history: Sequence[dict[str, Any]], scale: str = "linear", uniform: float | None = None
) -> str:
    """The loss chart as an SVG string (see the module docstring)."""
    train, val = series(history, "train_loss"), series(history, "val_loss")
    train_ema, val_ema = smoothed(train, 0.9), smoothed(val, 0.6)
    log = scale == "log"
    head = (
        f'<svg class="chart loss-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="training loss per character" data-scale="{"log" if log else "linear"}" '
        f'data-points="{len(train)}" data-val-points="{len(val)}" '
        f'data-last-step="{int(train[-1][0]) if train else 0}">'
    )
    if not train:
        return head + _empty_frame() + "</svg>"
    values = [v for _, v in train + val]
    lo = min(values)
    hi = max([v for _, v in train_ema + val] + ([uniform] if uniform else []))
    pad = (hi - lo) * 0.06 or 0.1
    lo, hi = (max(lo - pad, 1e-3), hi + pad) if not log else (lo * 0.94, hi * 1.06)
    last_step = max(train[-1][0], 1.0)
    x = Axis(0.0, last_step, MARGIN_LEFT, WIDTH - MARGIN_RIGHT)
    y = Axis(lo, hi, HEIGHT - MARGIN_BOTTOM, MARGIN_TOP, log=log)
    parts = [head, _frame(x, y)]
    if uniform and lo <= uniform <= hi:
        yy = y(uniform)
        parts.append(
            f'<line class="uniform" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{yy:.1f}" y2="{yy:.1f}"><title>guessing uniformly: ln V = {uniform:.4f} '
            "nats/char</title></line>"
            f'<text class="uniform-label" x="{WIDTH - MARGIN_RIGHT - 4}" y="{yy - 4:.1f}" '
            'text-anchor="end">ln V (uniform guess)</text>'
        )
    parts.append('<g clip-path="url(#plot-area)">')
    parts.append(polyline(thin(train), x, y, "train-raw"))
    parts.append(polyline(thin(val), x, y, "val-raw"))
    parts.append(polyline(thin(train_ema), x, y, "train-ema"))
    parts.append(polyline(thin(val_ema), x, y, "val-ema"))
    for css, points in (("train-ema", train_ema), ("val-ema", val_ema)):
        if points:  # the newest value, visible even when it is the only one
            px, py = points[-1]
            parts.append(f'<circle class="{css} last" cx="{x(px):.1f}" cy="{y(py):.1f}" r="3"/>')
    parts.append("</g>")
    parts.append(_hover_bands(train, train_ema, val, x))
    parts.append(_legend())
    parts.append("</svg>")
    return "".join(parts)


def _empty_frame() -> str:
    """The frame of a chart with no data yet."""
    return (
        f'<rect class="frame" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" '
        f'width="{WIDTH - MARGIN_LEFT - MARGIN_RIGHT}" '
        f'height="{HEIGHT - MARGIN_TOP - MARGIN_BOTTOM}"/>'
        f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
        "no steps yet: press Start, or Step to take one</text>"
    )


def _frame(x: Axis, y: Axis) -> str:
    """Clip path, grid lines, tick labels and axis titles."""
    left, right, top, bottom = MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    out = [
        f'<defs><clipPath id="plot-area"><rect x="{left}" y="{top}" width="{right - left}" '
        f'height="{bottom - top}"/></clipPath></defs>',
        f'<rect class="frame" x="{left}" y="{top}" width="{right - left}" height="{bottom - top}"/>',
    ]
    for t in nice_ticks(y.lo, y.hi, 5):
        yy = y(t)
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        out.append(
            f'<text class="tick" x="{left - 5}" y="{yy + 3.5:.1f}" text-anchor="end">{fmt_tick(t)}</text>'
        )
    for t in nice_ticks(0.0, x.hi, 6):
        xx = x(t)
        out.append(f'<line class="grid" x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{bottom}"/>')
        out.append(
            f'<text class="tick" x="{xx:.1f}" y="{bottom + 13}" text-anchor="middle">{fmt_tick(t)}</text>'
        )
    out.append(f'<text class="axis-title" x="{right}" y="{HEIGHT - 2}" text-anchor="end">step</text>')
    return "".join(out)


def _nearest(points: Sequence[Point], step: float) -> Point | None:
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


def _hover_bands(train: Sequence[Point], train_ema: Sequence[Point], val: Sequence[Point], x: Axis) -> str:
    """Transparent vertical strips whose <title> gives the values under the pointer."""
    bands = min(HOVER_BANDS, len(train))
    width = (x.b - x.a) / bands
    smooth = dict(train_ema)
    out = ['<g class="hover">']
    for i in range(bands):
        centre = x.lo + (i + 0.5) / bands * (x.hi - x.lo)
        step, loss = _nearest(train, centre) or (0.0, 0.0)
        text = f"step {step:,.0f}: train J {loss:.4f} (smoothed {smooth.get(step, loss):.4f})"
        near_val = _nearest(val, centre)
        if near_val:
            text += f", val J {near_val[1]:.4f} at step {near_val[0]:,.0f}"
        out.append(
            f'<rect x="{x.a + i * width:.1f}" y="{MARGIN_TOP}" width="{width:.1f}" '
            f'height="{HEIGHT - MARGIN_TOP - MARGIN_BOTTOM}"><title>{escape(text)} '
            "nats/char</title></rect>"
        )
    out.append("</g>")
    return "".join(out)


def _legend() -> str:
    """Which line is which."""
    x0, y0 = MARGIN_LEFT + 10, HEIGHT - MARGIN_BOTTOM - 8
    items: list[tuple[str, str]] = [("train-ema", "train"), ("val-ema", "validation")]
    out = []
    for i, (css, label) in enumerate(items):
        xx = x0 + i * 92
        out.append(
            f'<line class="{css}" x1="{xx}" x2="{xx + 18}" y1="{y0 - 4}" y2="{y0 - 4}"/>'
            f'<text class="legend" x="{xx + 23}" y="{y0}">{label}</text>'
        )
    return "".join(out)


def color_scale(stops: Sequence[str]) -> Callable[[float], str]:
    """A colour map over [0, 1] interpolating the given '#rrggbb' stops (for heatmaps)."""
    rgb = [tuple(int(s[i : i + 2], 16) for i in (1, 3, 5)) for s in stops]

    def at(t: float) -> str:
        t = min(max(t, 0.0), 1.0) * (len(rgb) - 1)
        i = min(int(t), len(rgb) - 2)
        f = t - i
        r, g, b = (round(a + (c - a) * f) for a, c in zip(rgb[i], rgb[i + 1], strict=True))
        return f"#{r:02x}{g:02x}{b:02x}"

    return at
