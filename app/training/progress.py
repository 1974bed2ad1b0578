"""How a run measures and words its progress: characters per second, the newest losses.

The figures a run reports (app/training/run.py) come from here: a rate over
windows of wall-clock time, the newest value of a loss in the history, and
the sentences said when a run has taken its steps and when it is given more.
"""

from __future__ import annotations

import math
import time
from typing import Any

from rnn_core.trainer import Trainer


class RateMeter:
    """Characters per second of wall-clock time, over windows of about half a second."""

    def __init__(self, window: float = 0.5) -> None:
        self.window, self.rate = window, 0.0
        self.restart()

    def restart(self) -> None:
        """Start a new window (after a pause the old one means nothing)."""
        self._start, self._chars = time.perf_counter(), 0

    def add(self, chars: int) -> None:
        """Count the characters of one step."""
        self._chars += chars
        elapsed = time.perf_counter() - self._start
        if elapsed >= self.window:
            self.rate = self._chars / elapsed
            self.restart()


def last_value(history: list[dict[str, Any]], key: str) -> float | None:
    """The newest value of `key` in a loss history."""
    return next((p[key] for p in reversed(history) if key in p), None)


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN: a missing or non-finite loss is null."""
    return value if value is not None and math.isfinite(value) else None


def finished_message(tr: Trainer) -> str:
    """Why the run stopped by itself, which weights it holds, and how to go on."""
    said = f"Finished: the run took its {tr.config.max_steps:,} steps."
    if tr.config.keep_best and tr.holds_best and tr.best_step is not None and tr.best_val_loss is not None:
        said += (
            f" It holds its best weights (keep best): those of step {tr.best_step:,}, "
            f"validation J {tr.best_val_loss:.4f} per character."
        )
    return said + " Raise max steps to train on."


def raised_message(tr: Trainer) -> str:
    """What raising max steps on a finished run does, and a warning when it has begun to overfit."""
    said = f"max_steps raised to {tr.config.max_steps:,}: press Resume to train on"
    if tr.holds_best:
        said += " from the best weights it holds"
    if tr.val_rising and tr.best_step is not None and tr.best_val_loss is not None:
        said += (
            f". Careful: the validation loss has been rising since step {tr.best_step:,} "
            f"(best {tr.best_val_loss:.4f}): more steps may only fit the training names closer"
        )
    return said
