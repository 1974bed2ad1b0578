"""The gradient norm under the loss chart: its geometry here, its SVG in templates/charts/grad_norm.svg.

Each history point of a run records `grad_norm`, the global L2 norm of the whole
gradient (every dJ/dp of Eq. 4.1-5.2, summed over the batch) before clipping, and
`clipped`, whether clipping changed it. The chart draws the norm on a log axis
(it spans decades when gradients explode), on the loss chart's step axis, and
marks with a tick at the bottom each step where clipping acted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.web import templating
from app.web.charts import MARGIN_LEFT, MARGIN_RIGHT, WIDTH, AxisTick, Frame
from app.web.svg import Axis, decades, points_attr, thin

TEMPLATE = "charts/grad_norm.svg"
HEIGHT = 110
MARGIN_TOP, MARGIN_BOTTOM = 8, 22
MAX_MARKS = 200  # clipping marks drawn at most (thinned beyond)


@dataclass(frozen=True)
class GradChart:
    width: int
    height: int
    frame: Frame
    line: str = ""  # the `points` of the norm's polyline
    clip_marks: tuple[float, ...] = ()  # x of the steps where clipping acted
    y_ticks: tuple[AxisTick, ...] = ()
    points: int = 0  # points with a finite norm
    clipped: int = 0  # of them, where clipping acted
    last: str = ""  # the newest norm, formatted
    top: str = ""  # the largest norm, formatted


def norm_points(history: Sequence[dict[str, Any]]) -> tuple[list[tuple[float, float]], list[float]]:
    """(step, grad_norm) of every point with a finite positive norm, and the steps where it was clipped."""
    points, clipped = [], []
    for entry in history:
        value = entry.get("grad_norm")
        if isinstance(value, int | float) and math.isfinite(value) and value > 0:
            points.append((float(entry["step"]), float(value)))
            if entry.get("clipped"):
                clipped.append(float(entry["step"]))
    return points, clipped


def grad_chart(history: Sequence[dict[str, Any]]) -> GradChart:
    """Everything the gradient-norm chart draws (see the module docstring)."""
    frame = Frame(MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)
    points, clipped = norm_points(history)
    if not points:
        return GradChart(WIDTH, HEIGHT, frame)
    values = [v for _, v in points]
    lo_exp, hi_exp = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    hi_exp = max(hi_exp, lo_exp + 1)
    steps = [s for s, _ in points]
    x = Axis(0.0, max(max(steps), 1.0), frame.left, frame.right)
    y = Axis(10.0**lo_exp, 10.0**hi_exp, frame.bottom, frame.top, log=True)
    marks = thin([(s, 0.0) for s in clipped], MAX_MARKS)
    return GradChart(
        WIDTH,
        HEIGHT,
        frame,
        line=points_attr((x(s), y(v)) for s, v in thin(points)),
        clip_marks=tuple(round(x(s), 1) for s, _ in marks),
        y_ticks=tuple(AxisTick(round(y(10.0**e), 1), f"1e{e}") for e in decades(lo_exp, hi_exp, 4)),
        points=len(points),
        clipped=len(clipped),
        last=f"{values[-1]:.3g}",
        top=f"{max(values):.3g}",
    )


def grad_chart_svg(history: Sequence[dict[str, Any]]) -> str:
    """The chart as SVG text (app/web/views.py puts it under the loss chart)."""
    return templating.render(TEMPLATE, "chart", {"chart": grad_chart(history)})
