"""How a run measures and words its progress: characters per second, the newest losses.

The figures a run reports (app/training/run.py) come from here: a rate over
windows of wall-clock time, the newest value of a loss in the history, and
the sentence said when a run has taken its steps.
"""

from __future__ import annotations

import math
import time
from typing import Any


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


def finished_message(max_steps: int) -> str:
    """Why the run stopped by itself, and how to go on."""
    return f"Finished: the run took its {max_steps:,} steps. Raise max steps to train on."
