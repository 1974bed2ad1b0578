"""The loss history of a run: one point per step, downsampled to a limit.

A point is ``{"step", "train_loss", "grad_norm", "clipped"}`` for a training step,
with ``"val_loss"`` (and, where a finished run put its best weights back,
``"best_step"`` and ``"final_val_loss"``) merged in by the evaluations of that
step. Training points are kept on a stride that doubles whenever the history
outgrows its limit; evaluations are kept apart, every other one dropped only
when they alone fill half the limit.
"""

from __future__ import annotations

from typing import Any

Point = dict[str, Any]


def record_point(history: list[Point], point: Point, stride: int, limit: int) -> tuple[list[Point], int]:
    """Add ``point`` (merged into the last point of the same step), downsample; the history and stride."""
    last = history[-1] if history else None
    if last is not None and last["step"] == point["step"]:
        last.update(point)
    elif "val_loss" in point or point["step"] % stride == 0:
        history.append(point)
    else:
        return history, stride
    while len(history) > limit:
        history, stride = _thin(history, stride * 2, limit)
    return history, stride


def _thin(history: list[Point], stride: int, limit: int) -> tuple[list[Point], int]:
    """Keep train points on the (doubled) stride, and every other evaluation when too many."""
    evals = [p for p in history if "val_loss" in p]
    thin_evals = len(evals) > limit // 2
    kept_evals = {id(p) for p in (evals[::2] if thin_evals else evals)}
    return [p for p in history if id(p) in kept_evals or p["step"] % stride == 0], stride
