"""What the trainer reports to its callbacks: one typed payload per event.

    on_step_end     StepInfo    after every training step
    on_evaluation   EvalInfo    after every validation loss
    on_sample       SampleInfo  after every batch of sampled names

Each callback is called as ``fn(trainer, info)``. Losses are in nats per
character (end tokens included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from .trainer import Trainer

EVENTS = ("on_step_end", "on_evaluation", "on_sample")


class StepInfo(TypedDict):
    """One training step (``on_step_end``, and what ``Trainer.train_step`` returns)."""

    step: int  # updates applied so far, this one included
    epoch: int  # full passes over the training names completed
    train_loss: float  # J of the batch per character predicted
    chars: int  # characters predicted in the batch
    seconds: float  # wall time of the step
    chars_per_sec: float
    grad_norm: float  # the global gradient norm before clipping


class EvalInfo(TypedDict):
    """One validation loss (``on_evaluation``)."""

    step: int
    epoch: int
    val_loss: float  # nats per character over the validation names


class SampleInfo(TypedDict):
    """Names sampled from the model (``on_sample``)."""

    step: int
    epoch: int
    names: list[str]


Info = StepInfo | EvalInfo | SampleInfo
# The info argument is the event's TypedDict above; typed Any here so that a
# callback may take it as any of them or as a plain dict[str, Any].
Callback = Callable[["Trainer", Any], None]
