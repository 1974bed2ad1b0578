"""The best validation loss of a run, its step, and a copy of the weights that had it.

The trainer offers every evaluation (``offer``); a new best, strictly lower than
all before it, is copied (when the run keeps its best weights, ``keep``): one
copy of the parameters into arrays kept from the last best, nothing else. A
run with ``keep_best`` that finishes puts these weights back (``Trainer.finish``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

import numpy as np

from .arrays import FloatArray

#: Evaluations in a row that did not beat the best, from which on the validation loss counts as rising.
RISING_AFTER = 2


class BestWeights:
    """The lowest validation loss so far (``val_loss``), its ``step`` and, if ``keep``, its weights."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.val_loss: float | None = None
        self.step: int | None = None
        self.evals_since = 0  # evaluations after the best one, none of which beat it
        self.params: dict[str, FloatArray] | None = None  # the weights of the best, when kept
        self._last_step: int | None = None  # the step of the last evaluation counted

    @property
    def rising(self) -> bool:
        """The validation loss has stayed above its best for RISING_AFTER evaluations running."""
        return self.evals_since >= RISING_AFTER

    def offer(self, step: int, val_loss: float, params: Mapping[str, FloatArray]) -> bool:
        """Count one evaluation at ``step``; True (and its weights copied) if it is a new best.

        A second evaluation at the same step (the same weights evaluated again) counts once.
        """
        if step == self._last_step:
            return False
        self._last_step = step
        if not math.isfinite(val_loss) or (self.val_loss is not None and val_loss >= self.val_loss):
            self.evals_since += 1
            return False
        self.val_loss, self.step, self.evals_since = float(val_loss), step, 0
        if self.keep:
            self._copy(params)
        return True

    def _copy(self, params: Mapping[str, FloatArray]) -> None:
        if self.params is None or any(self.params[k].shape != p.shape for k, p in params.items()):
            self.params = {k: p.copy() for k, p in params.items()}
        else:
            for k, p in params.items():
                np.copyto(self.params[k], p)

    def state_dict(self) -> dict[str, Any]:
        """The JSON part (the weights travel as arrays, see ``checkpoint``)."""
        return {
            "best_val_loss": self.val_loss,
            "best_step": self.step,
            "evals_since_best": self.evals_since,
            "last_eval_step": self._last_step,
        }

    def load_state_dict(self, state: Mapping[str, Any], params: Mapping[str, FloatArray] | None) -> None:
        """Restore from ``state_dict()`` and the best's weights (None: not kept or not stored).

        Anything missing or odd (an old checkpoint, a hand-edited file) leaves no best;
        a kept best whose weights are missing is dropped too, since it could not be put back.
        """
        val, step = state.get("best_val_loss"), state.get("best_step")
        since, last = state.get("evals_since_best", 0), state.get("last_eval_step")
        if not (_is_real(val) and _is_count(step) and _is_count(since)) or (self.keep and params is None):
            return
        self.val_loss, self.step, self.evals_since = float(val), step, since
        self._last_step = last if _is_count(last) else None
        self.params = {k: np.array(p) for k, p in params.items()} if self.keep and params else None


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_real(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
