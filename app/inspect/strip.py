"""A vector across the hidden units as a compact strip, for the Learn steps (templates/charts/strip.svg).

A step of Learn shows up to three vectors of D_h entries (D_h may be in the hundreds) and is
swapped in at every click: each strip is two SVG paths (the entries above zero, those below)
and the one unit the student picked, not one element per entry as the panel's vector chart
(app/inspect/charts.py vector_chart) draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.inspect.bars import VectorBar
from app.inspect.charts import PLOT_WIDTH
from app.inspect.numbers import exact


@dataclass(frozen=True)
class Strip:
    """A vector across the hidden units drawn compactly (Learn's strips, D_h up to hundreds): the
    bars above the zero line as one path, those below as another, the marked unit outlined."""

    width: float
    height: float
    zero_y: float
    up: str  # the path of the positive entries
    down: str  # of the negative ones
    units: int
    top: int  # the entry largest in size, 1-based
    top_value: str
    mark: VectorBar | None  # the unit picked, outlined and named


def strip(values: np.ndarray, mark: int = 0, limit: float | None = None, mid: float = 24.0) -> Strip:
    """``values`` as a strip of bars up and down from a zero line; ``limit``: the size drawn full
    height (to share a scale with other strips); ``mark``: the unit outlined (1-based, 0: none)."""
    D_h = values.size
    bw = (PLOT_WIDTH + 26.0) / D_h
    half, left = mid - 6.0, 4.0
    limit = limit or float(np.abs(values).max()) or 1.0
    sizes = np.minimum(np.abs(values) / limit, 1.0) * half
    up: list[str] = []
    down: list[str] = []
    for i, (v, size) in enumerate(zip(values.tolist(), sizes.tolist(), strict=True)):
        x, h = left + i * bw, max(size, 0.3)
        bar = f"M{x:.1f} {mid - h if v > 0 else mid:.1f}h{bw * 0.9:.2f}v{h:.1f}h{-bw * 0.9:.2f}z"
        (up if v > 0 else down).append(bar)
    top = int(np.argmax(np.abs(values)))
    marked = None
    if 1 <= mark <= D_h:
        v, size = float(values[mark - 1]), max(float(sizes[mark - 1]), 0.3)
        x = left + (mark - 1) * bw
        marked = VectorBar(
            mark,
            round(x, 2),
            round(mid - size if v > 0 else mid, 2),
            round(bw * 0.9, 2),
            round(size, 2),
            "",
            exact(v),
        )
    return Strip(
        round(left + bw * D_h + 4, 2),
        2 * mid,
        mid,
        "".join(up),
        "".join(down),
        D_h,
        top + 1,
        exact(float(values[top])),
        marked,
    )
