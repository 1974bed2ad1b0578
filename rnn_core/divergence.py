"""When a training step counts as diverged, and the error that says so.

A step diverges when its loss or its gradient stops being finite, or when its
loss climbs far above ln V, the loss of guessing every character uniformly
(a model that has learnt nothing): the trainer then keeps its weights and
raises `DivergedError` with what went wrong and what to change.
"""

from __future__ import annotations

import math

DIVERGENCE_RATIO = 4.0  # a batch loss above this many times ln V counts as diverged


class DivergedError(RuntimeError):
    """The loss or a gradient stopped being finite (or exploded); the weights were kept.

    `step` is the step that failed, `what` what went wrong there, `advice` what to change.
    """

    def __init__(self, step: int, what: str, advice: str) -> None:
        super().__init__(f"step {step}: {what}; {advice}")
        self.step, self.what, self.advice = step, what, advice


def divergence(
    train_loss: float, grad_norm: float, vocab_size: int, ratio: float = DIVERGENCE_RATIO
) -> tuple[str, str] | None:
    """Why a step with this loss (nats/char) and gradient norm diverged, and what to change; or None."""
    if not math.isfinite(train_loss):
        return f"the loss is {train_loss}", "lower the learning rate or turn on clipping"
    if not math.isfinite(grad_norm):
        return "a gradient is not finite", "lower the learning rate or turn on clipping"
    uniform = math.log(vocab_size)
    if train_loss > ratio * uniform:
        what = f"the loss {train_loss:.3g} nats/char is far above uniform guessing ({uniform:.3g})"
        return what, "lower the learning rate"
    return None
