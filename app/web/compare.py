"""Runs compared: their loss curves on one chart with shared axes, and what sets them apart.

The chart (templates/charts/compare.svg) draws, for each run, its validation loss
(J per character on the held-out names, Eq. 3.3 divided by the characters) as a
line and its train loss smoothed as a faint one of the same colour and dash, on
one step axis and one loss axis, with each run's best validation point ringed.
Runs are told apart by colour (the Okabe-Ito palette, safe for colour-blind
eyes) and by dash and marker shape, never by colour alone. The legend names
each run by what differs between the configurations compared, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.web.charts import AxisTick, Frame, series, smoothed
from app.web.svg import Axis, Point, fmt_tick, nice_ticks, points_attr, thin

MAX_COMPARED = 4
WIDTH, HEIGHT = 760, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 50, 12, 10, 28
#: One look per run: colour (Okabe-Ito), dash and best-point marker, so no run is told by colour alone.
LOOKS = (
    ("#0072B2", "", "circle"),
    ("#D55E00", "7 4", "square"),
    ("#009E73", "2 3", "diamond"),
    ("#CC79A7", "10 3 2 3", "triangle"),
)


@dataclass(frozen=True)
class Compared:
    """One run as the comparison shows it."""

    id: str
    label: str  # what the legend calls it: the fields in which it differs from the others
    name: str  # its own label (or id)
    colour: str
    dash: str
    marker: str
    state: str
    step: int
    train_loss: float | None
    val_loss: float | None
    best_val_loss: float | None
    best_step: int | None


@dataclass(frozen=True)
class RunLine:
    """A run's lines and best point, in viewBox units."""

    run: Compared
    val: str  # the `points` attribute of its validation line
    train: str  # of its smoothed train line
    best: Point | None


@dataclass(frozen=True)
class CompareChart:
    width: int
    height: int
    frame: Frame
    lines: tuple[RunLine, ...]
    y_ticks: tuple[AxisTick, ...] = ()
    x_ticks: tuple[AxisTick, ...] = ()
    last_step: int = 0


def differences(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """For each configuration, the fields whose values are not the same in all of them."""
    keys = sorted({k for c in configs for k in c})
    differ = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    return [", ".join(f"{k.replace('_', ' ')} {_shown(c.get(k))}" for k in differ) for c in configs]


def _shown(value: Any) -> str:
    """A configuration value as the legend writes it: an unset one (None) as "none"."""
    return "none" if value is None else str(value)


def best_point(history: Sequence[dict[str, Any]]) -> Point | None:
    """(step, value) of the lowest finite validation loss (the earliest of equals)."""
    points = series(history, "val_loss")
    return min(points, key=lambda p: (p[1], p[0])) if points else None


def compared_runs(runs: Sequence[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]) -> list[Compared]:
    """(id, label, status, history) of each run, as the comparison names and draws them."""
    legends = differences([status["config"] for _, _, status, _ in runs])
    out = []
    for (run_id, label, status, history), legend, look in zip(runs, legends, LOOKS, strict=False):
        best = best_point(history)
        out.append(
            Compared(
                id=run_id,
                label=legend or "the same configuration",
                name=label or run_id,
                colour=look[0],
                dash=look[1],
                marker=look[2],
                state=str(status["state"]),
                step=int(status["step"]),
                train_loss=status["train_loss"],
                val_loss=status["val_loss"],
                best_val_loss=best[1] if best else None,
                best_step=int(best[0]) if best else None,
            )
        )
    return out


def compare_chart(
    compared: Sequence[Compared], histories: Sequence[Sequence[dict[str, Any]]]
) -> CompareChart:
    """The shared axes and every run's lines (see the module docstring)."""
    frame = Frame(MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)
    vals = [series(h, "val_loss") for h in histories]
    trains = [smoothed(series(h, "train_loss"), 0.9) for h in histories]
    values = [v for points in vals + trains for _, v in points]
    steps = [s for points in vals + trains for s, _ in points]
    if not values:
        return CompareChart(WIDTH, HEIGHT, frame, ())
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.06 or 0.1
    x = Axis(0.0, max(max(steps), 1.0), frame.left, frame.right)
    y = Axis(max(lo - pad, 0.0), hi + pad, frame.bottom, frame.top)

    def drawn(points: Sequence[Point]) -> str:
        return points_attr((x(s), y(v)) for s, v in thin(points))

    lines = []
    for run, val, train in zip(compared, vals, trains, strict=True):
        best = (run.best_step, run.best_val_loss)
        at = None
        if best[0] is not None and best[1] is not None and math.isfinite(best[1]):
            at = (round(x(best[0]), 1), round(y(best[1]), 1))
        lines.append(RunLine(run, drawn(val), drawn(train), at))
    return CompareChart(
        WIDTH,
        HEIGHT,
        frame,
        tuple(lines),
        y_ticks=tuple(AxisTick(round(y(t), 1), fmt_tick(t)) for t in nice_ticks(y.lo, y.hi, 5)),
        x_ticks=tuple(AxisTick(round(x(t), 1), fmt_tick(t)) for t in nice_ticks(0.0, x.hi, 6)),
        last_step=int(max(steps)),
    )
