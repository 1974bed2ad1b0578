"""Drawing helpers for the server-side SVG charts: scales, ticks, polylines, colour maps and legends.

Nothing here writes markup. These functions turn numbers into pixel positions,
colours and tick labels; the chart view models (app/web/charts.py,
app/inspect/charts.py) are built from them, and the templates under
templates/charts/ draw those models. The one exception to "an element per
datum" is `png_data_uri`: a heatmap too dense for one SVG element per cell is
embedded as a PNG image.

    Axis, nice_ticks, fmt_tick, decades      scales and their tick values
    points_attr, thin                        polyline paths
    ColourMap, SEQUENTIAL, DIVERGING         colour maps (quantised to LEVELS colours)
    log_range, log_fractions, signed_fractions   values to [0, 1] for a colour map
    ColourLegend, log_legend, signed_legend  the colour bar drawn under a heatmap
    png_data_uri                             an RGB array as a data: URI
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]

MAX_DRAWN_POINTS = 500  # per polyline: more points than the chart has pixels are wasted bytes
LEVELS = 256  # colour maps are quantised to this many colours
LEGEND_SWATCHES = 40  # rectangles in a colour legend


# ------------------------------------------------------------------ scales
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


def decades(lo: int, hi: int, most: int) -> list[int]:
    """The exponents lo..hi of whole powers of ten, thinned to about `most` of them."""
    every = max(1, math.ceil((hi - lo) / max(most, 1)))
    return list(range(lo, hi + 1, every))


# ---------------------------------------------------------------- polylines
def points_attr(points: Iterable[Point]) -> str:
    """Pixel coordinates as the value of an SVG `points` attribute, to one decimal."""
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def thin(points: Sequence[Point], limit: int = MAX_DRAWN_POINTS) -> list[Point]:
    """Every k-th point so at most `limit` remain, always keeping the last one."""
    if len(points) <= limit:
        return list(points)
    stride = math.ceil(len(points) / limit)
    kept = list(points[::stride])
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


# -------------------------------------------------------------- colour maps
def color_scale(stops: Sequence[str]) -> Callable[[float], str]:
    """A colour map over [0, 1] interpolating the given '#rrggbb' stops."""
    rgb = [tuple(int(s[i : i + 2], 16) for i in (1, 3, 5)) for s in stops]

    def at(t: float) -> str:
        t = min(max(t, 0.0), 1.0) * (len(rgb) - 1)
        i = min(int(t), len(rgb) - 2)
        f = t - i
        r, g, b = (round(a + (c - a) * f) for a, c in zip(rgb[i], rgb[i + 1], strict=True))
        return f"#{r:02x}{g:02x}{b:02x}"

    return at


@dataclass(frozen=True, eq=False)
class ColourMap:
    """LEVELS colours from low to high, as '#rrggbb' text (for elements) and as RGB bytes (for PNGs)."""

    hex: np.ndarray  # (LEVELS,) of str
    rgb: np.ndarray  # (LEVELS, 3) uint8

    @classmethod
    def of(cls, stops: Sequence[str]) -> ColourMap:
        at = color_scale(stops)
        colours = [at(i / (LEVELS - 1)) for i in range(LEVELS)]
        rgb = [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours]
        return cls(np.array(colours), np.array(rgb, dtype=np.uint8))

    @staticmethod
    def levels(fractions: np.ndarray) -> np.ndarray:
        """Fractions in [0, 1] (clipped) as indices of the nearest of the LEVELS colours."""
        return np.clip(np.asarray(fractions) * (LEVELS - 1) + 0.5, 0, LEVELS - 1).astype(int)

    def colours(self, fractions: np.ndarray) -> np.ndarray:
        """'#rrggbb' for each fraction."""
        return np.asarray(self.hex[self.levels(fractions)])

    def pixels(self, fractions: np.ndarray) -> np.ndarray:
        """RGB bytes for each fraction: shape (..., 3)."""
        return np.asarray(self.rgb[self.levels(fractions)])


SEQUENTIAL = ColourMap.of(("#f4f8fb", "#c9dff0", "#7fb3d8", "#3b7fb8", "#17457e", "#0a1f44"))  # small->large
DIVERGING = ColourMap.of(("#2b5d9c", "#8fb4d9", "#f5f5f2", "#e0967a", "#a8322d"))  # -max -> 0 -> +max


def log_range(values: np.ndarray, max_decades: int) -> tuple[int, int]:
    """Whole decades (lo, hi) covering the positive values, at most `max_decades` apart."""
    positive = values[values > 0]
    if positive.size == 0:
        return -1, 0
    hi = math.ceil(math.log10(positive.max()))
    lo = math.floor(math.log10(positive.min()))
    return max(lo, hi - max_decades), max(hi, lo + 1)


def log_fractions(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Where each value sits on a log10 scale from 10^lo (0) to 10^hi (1); zero sits at 0."""
    with np.errstate(divide="ignore"):
        return np.asarray((np.log10(np.maximum(values, 10.0**lo)) - lo) / (hi - lo))


def signed_fractions(values: np.ndarray, limit: float) -> np.ndarray:
    """Where each value sits on a linear scale from -limit (0) through 0 (1/2) to +limit (1)."""
    return np.asarray((values / (limit or 1.0) + 1.0) / 2.0)


# ----------------------------------------------------------- colour legends
@dataclass(frozen=True)
class Swatch:
    x: float
    width: float
    colour: str


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class ColourLegend:
    """A horizontal colour bar at (x, y): swatches, tick labels under it, a label above."""

    x: float
    y: float
    width: float
    label: str
    swatches: tuple[Swatch, ...]
    ticks: tuple[Tick, ...]


def colour_legend(
    cmap: ColourMap, x: float, y: float, width: float, label: str, ticks: Sequence[tuple[float, str]]
) -> ColourLegend:
    """The colour bar of ``cmap`` with ``ticks`` given as (fraction of the width, text)."""
    step = width / LEGEND_SWATCHES
    swatches = tuple(
        Swatch(
            round(i * step, 2),
            round(step + 0.3, 2),
            str(cmap.hex[round(i / (LEGEND_SWATCHES - 1) * (LEVELS - 1))]),
        )
        for i in range(LEGEND_SWATCHES)
    )
    marks = tuple(Tick(round(frac * width, 1), text) for frac, text in ticks)
    return ColourLegend(x, y, width, label, swatches, marks)


def log_legend(lo: int, hi: int, x: float, y: float, width: float, label: str) -> ColourLegend:
    """SEQUENTIAL on a log scale from 10^lo to 10^hi, ticks at whole decades."""
    ticks = [((e - lo) / (hi - lo), f"1e{e}") for e in decades(lo, hi, 6)]
    return colour_legend(SEQUENTIAL, x, y, width, label, ticks)


def signed_legend(limit: float, x: float, y: float, width: float, label: str) -> ColourLegend:
    """DIVERGING from -limit through 0 to +limit."""
    ticks = [(0.0, f"-{limit:.2g}"), (0.5, "0"), (1.0, f"+{limit:.2g}")]
    return colour_legend(DIVERGING, x, y, width, label, ticks)


# ---------------------------------------------------------------- PNG image
def png_data_uri(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a data: URI holding a PNG (no row filter, deflate)."""
    height, width, _ = rgb.shape
    rows = np.ascontiguousarray(rgb, dtype=np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 before each row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
