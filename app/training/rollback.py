"""What a diverged run goes back to: its last good state, and the words that say so.

"Last good" is the run as it was at its last evaluation whose validation loss
was finite and sane (at most GOOD_LOSS_RATIO times ln V, the loss of guessing
uniformly). Not the weights of the step before the blow-up: a batch's loss is
measured before its update, so after one SGD step at lr 10 the weights may be
saturated already (every sampled character the same, J in the thousands) while that step
looked fine; the trainer only notices a step later.

The state is kept whole, as checkpoint bytes (weights, optimizer, step, loss
history, batch order), at most once a GOOD_PERIOD so that it costs training
nothing to speak of.
"""

from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass

from rnn_core.config import TrainConfig
from rnn_core.trainer import DivergedError, Trainer

log = logging.getLogger("bptt_lab.rollback")

GOOD_LOSS_RATIO = 1.5  # a validation loss above this many times ln V is not "good"
GOOD_PERIOD = 1.0  # seconds between two captures of the last good state, at least


def trainer_bytes(trainer: Trainer) -> bytes:
    """The trainer's whole run as checkpoint bytes."""
    buffer = io.BytesIO()
    trainer.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class GoodState:
    """The run at a sane evaluation, as checkpoint bytes."""

    data: bytes
    step: int
    val_loss: float


class LastGood:
    """The last good state of one run (forgotten when the run is replaced)."""

    def __init__(self, period: float = GOOD_PERIOD) -> None:
        self.period = period  # seconds between two captures, at least
        self.state: GoodState | None = None
        self._at = -math.inf

    def forget(self) -> None:
        """A new run: nothing of the old one is good for it."""
        self.state, self._at = None, -math.inf

    def remember(self, trainer: Trainer, val_loss: float | None, uniform_loss: float) -> None:
        """Keep the run as it is now when `val_loss` is sane (at most once a GOOD_PERIOD)."""
        now = time.monotonic()
        if val_loss is None or not math.isfinite(val_loss) or val_loss > GOOD_LOSS_RATIO * uniform_loss:
            return
        if now - self._at < self.period:
            return
        try:
            self.state = GoodState(trainer_bytes(trainer), trainer.step, val_loss)
        except ValueError:  # weights that cannot be saved are no good state
            return
        self._at = now

    def restore(self, names: tuple[str, ...], config: TrainConfig) -> Trainer | None:
        """A trainer back at the good state, keeping `config` (the learning rate the user must change)."""
        if self.state is None:
            return None
        try:
            trainer = Trainer.resume(self.state.data, names)
        except ValueError:
            log.exception("cannot roll back to step %d", self.state.step)
            return None
        trainer.config = config
        trainer.optimizer.set_learning_rate(config.learning_rate)
        return trainer


def diverged_message(exc: DivergedError, config: TrainConfig, back: GoodState | None) -> str:
    """What happened and what to change, for the page and /api/status."""
    if back is not None:
        where = (
            f"The run is rolled back to step {back.step:,}, its last evaluation with a sane "
            f"validation loss ({back.val_loss:.3f} nats/char)."
        )
    else:
        where = "There is no sane evaluation to roll back to; press Reset to start afresh."
    return (
        f"Training diverged at step {exc.step}: {exc.what}. {where} "
        f"Lower the learning rate (now {config.learning_rate:g}; Adam likes about 0.01, "
        "SGD about 0.1) or turn on clipping, then press Resume."
    )
