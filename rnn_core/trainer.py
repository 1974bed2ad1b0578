"""The training loop: batches, steps, evaluation, samples, and callbacks to report them.

The trainer knows nothing of the web. It reports through callbacks, in the
manner of minGPT's trainer: `add_callback("on_step_end", fn)` and friends; each
`fn(trainer, info)` gets the trainer and a typed dict describing what just
happened (`StepInfo`, `EvalInfo`, `SampleInfo`: see `events`).

Batches come in a seeded order, one permutation per epoch (``batch_order``).
Losses are reported in nats per character: J of the batch divided by the number
of characters predicted, end tokens included.

Each step uses config.truncation (truncated BPTT, module ``truncation``) and
records in the history its train loss, its gradient's global norm before
clipping and whether clipping changed it. Every evaluation is offered to
``best`` (``best.BestWeights``); with config.keep_best, the step that finishes
the run evaluates it and puts back the weights of the best validation loss
(``finish``).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import IO, Any

import numpy as np

from .batch_order import BatchOrder
from .batching import Corpus
from .best import BestWeights
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import load_names, split_names
from .divergence import DIVERGENCE_RATIO, DivergedError, divergence
from .events import EVENTS, Callback, EvalInfo, Info, SampleInfo, StepInfo
from .history import record_point
from .model import RNN
from .optim import Optimizer, clip_gradients, global_norm, make_optimizer
from .sampling import sample
from .vocab import Vocab

__all__ = ["EVENTS", "Callback", "DivergedError", "EvalInfo", "SampleInfo", "StepInfo", "Trainer"]

EVAL_CHUNK = 512  # names per forward pass when computing the validation loss


class Trainer:
    """Trains an RNN on a list of names; see docs/ARCHITECTURE.md "Seams" for the interface."""

    #: A batch loss above this many times ln V (uniform guessing) counts as diverged.
    divergence_ratio: float = DIVERGENCE_RATIO

    def __init__(self, config: TrainConfig, names: Sequence[str], vocab: Vocab | None = None) -> None:
        self.config = config.validate()
        cleaned = load_names(names)
        self.vocab = vocab if vocab is not None else Vocab.from_names(cleaned)
        self.train_names, self.val_names = split_names(cleaned, config.val_fraction, config.seed)
        self._train_ids = [self.vocab.encode(name) for name in self.train_names]
        self._val_ids = [self.vocab.encode(name) for name in self.val_names]
        self.names_digest = _digest(cleaned)
        self.model = RNN(
            vocab_size=self.vocab.size,
            hidden_size=config.hidden_size,
            activation=config.activation,
            seed=config.seed,
            dtype=config.dtype,
            W_h_norm=config.w_h_init_norm,
        )
        # The training names laid out once, so that each batch packs from arrays (batching.Corpus).
        self._corpus = Corpus.from_sequences(self._train_ids, self.model.start_id, self.model.end_id)
        self.optimizer = self._make_optimizer()
        self.step = 0  # updates applied so far
        self.epoch = 0  # full passes over the training names completed
        self.history: list[dict[str, Any]] = []
        self._history_stride = 1  # keep train-loss points whose step is a multiple of this
        self.best = BestWeights(keep=config.keep_best)
        self._held_val: float | None = None  # the validation loss of the weights held, if evaluated
        self._holds_best = False
        self._callbacks: dict[str, list[Callback]] = defaultdict(list)
        self._batches = BatchOrder(len(self._train_ids), config.seed)

    # ------------------------------------------------------------------ callbacks
    def add_callback(self, event: str, fn: Callback) -> None:
        """Call `fn(trainer, info)` on `event`: on_step_end, on_evaluation or on_sample."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; choose one of {', '.join(EVENTS)}")
        self._callbacks[event].append(fn)

    def trigger_callbacks(self, event: str, info: Info) -> None:
        """Call every callback registered for `event` with `info`."""
        for fn in self._callbacks.get(event, []):
            fn(self, info)

    # ------------------------------------------------------------------- training
    def train_step(self) -> StepInfo:
        """One batch: forward, backward, clip, update; returns what happened.

        Raises DivergedError, leaving the weights, optimizer and batch order as
        they were, if the loss or a gradient is not finite or the loss explodes.
        """
        start = time.perf_counter()
        saved_position = self._batches.position()
        seqs = self._corpus.pick(self._batches.next(self.config.batch_size))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # judged below instead
            loss, grads = self.model.loss_and_grads(seqs, truncation=self.config.truncation)
        chars = seqs.n_steps
        train_loss = loss / chars
        grad_norm = global_norm(grads)
        problem = divergence(train_loss, grad_norm, self.vocab.size, self.divergence_ratio)
        if problem is not None:
            self._batches.restore_position(saved_position)
            raise DivergedError(self.step + 1, *problem)
        clipped = clip_gradients(grads, self.config.clip_value, self.config.clip_norm)
        # With clipping on, every update is bounded; without, it might overflow the weights,
        # so then keep a copy to fall back on.
        bounded = self.config.clip_value is not None or self.config.clip_norm is not None
        backup = None if bounded else (self.model.copy(), self.optimizer.state_dict())
        with np.errstate(over="ignore", invalid="ignore"):
            self.optimizer.step(grads)
        if backup is not None and not all(np.isfinite(p).all() for p in self.model.params.values()):
            self.model.set_params(backup[0].params)
            self.optimizer.load_state_dict(backup[1])
            self._batches.restore_position(saved_position)
            raise DivergedError(
                self.step + 1,
                "the update made the weights overflow",
                "lower the learning rate or turn on clipping",
            )
        self.step += 1
        self._held_val, self._holds_best = None, False
        if self._batches.epoch_done:
            self.epoch += 1
        seconds = time.perf_counter() - start
        info: StepInfo = {
            "step": self.step,
            "epoch": self.epoch,
            "train_loss": train_loss,
            "chars": chars,
            "seconds": seconds,
            "chars_per_sec": chars / seconds if seconds > 0 else float("inf"),
            "grad_norm": grad_norm,
        }
        point = {"step": self.step, "train_loss": train_loss, "grad_norm": grad_norm, "clipped": clipped}
        self._record(point)
        self.trigger_callbacks("on_step_end", info)
        if self.finished:
            self.finish()
        return info

    def evaluate(self) -> float:
        """The validation loss in nats per character (the training names if there is no split).

        Records it in the history and fires on_evaluation.
        """
        ids = self._val_ids or self._train_ids
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for i in range(0, len(ids), EVAL_CHUNK):
                total += self.model.loss(ids[i : i + EVAL_CHUNK])
        val_loss = total / self.model.count_steps(ids)
        if self.best.offer(self.step, val_loss, self.model.params):
            self._holds_best = True
        self._report_val(val_loss)
        return val_loss

    def finish(self) -> None:
        """Make a finished keep_best run hold the weights of its best validation loss.

        Evaluates the weights held if they are not yet, then, if an earlier evaluation
        was better, puts its weights back and reports their validation loss (the best)
        at the current step: the history point of that step then holds it as val_loss,
        with best_step and final_val_loss (that of the weights replaced). The step
        counter stays. Does nothing for a run that is not finished, does not keep its
        best, or holds its best already. ``train_step`` calls it on a finishing step.
        """
        if not (self.finished and self.config.keep_best) or self._holds_best:
            return
        if self._held_val is None:
            self.evaluate()  # the last weights compete too
        best = self.best
        if self._holds_best or best.params is None or best.val_loss is None:
            return
        final = self._held_val if self._held_val is not None and math.isfinite(self._held_val) else None
        self.model.set_params(best.params)
        self._holds_best = True
        self._report_val(best.val_loss, {"best_step": best.step, "final_val_loss": final})

    @property
    def holds_best(self) -> bool:
        """The weights held are those of the best validation loss so far."""
        return self._holds_best

    @property
    def best_val_loss(self) -> float | None:
        """The lowest validation loss so far (nats per character), None before any evaluation."""
        return self.best.val_loss

    @property
    def best_step(self) -> int | None:
        """The step of the lowest validation loss so far."""
        return self.best.step

    @property
    def val_rising(self) -> bool:
        """The validation loss has not come back down to its best for two evaluations running."""
        return self.best.rising

    @property
    def val_loss(self) -> float | None:
        """The validation loss of the weights held; None if they changed since their last evaluation."""
        return self._held_val

    def sample_names(self, n: int = 5) -> list[str]:
        """`n` names sampled from the model (seeded by the step, so repeatable); fires on_sample."""
        names = sample(self.model, self.vocab, n=n, seed=self.config.seed + self.step)
        drawn: SampleInfo = {"step": self.step, "epoch": self.epoch, "names": names}
        self.trigger_callbacks("on_sample", drawn)
        return names

    def run(
        self, max_steps: int | None = None, should_stop: Callable[[], bool] | None = None
    ) -> StepInfo | None:
        """Train until step `max_steps` (default config.max_steps) or until `should_stop()`.

        Evaluates every config.eval_every steps and samples every config.sample_every
        steps. Returns the last step's info (None if no step ran).
        """
        limit = self.config.max_steps if max_steps is None else max_steps
        info = None
        while self.step < limit and not (should_stop is not None and should_stop()):
            info = self.train_step()
            if self.step % self.config.eval_every == 0 and self.val_loss is None:  # else finish() did
                self.evaluate()
            if self.step % self.config.sample_every == 0:
                self.sample_names()
        return info

    def _report_val(self, val_loss: float, note: dict[str, Any] | None = None) -> None:
        """Record the validation loss of the weights held and fire on_evaluation."""
        self._held_val = val_loss
        self._record({"step": self.step, "val_loss": val_loss, **(note or {})})
        evaluation: EvalInfo = {"step": self.step, "epoch": self.epoch, "val_loss": val_loss}
        self.trigger_callbacks("on_evaluation", evaluation)

    @property
    def finished(self) -> bool:
        """True once config.max_steps steps have been taken."""
        return self.step >= self.config.max_steps

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate from the next step on (kept in config and checkpoints)."""
        self.config = self.config.replace(learning_rate=lr)
        self.optimizer.set_learning_rate(lr)

    # ----------------------------------------------------------------- checkpoints
    def save(self, path: str | os.PathLike[str] | IO[bytes]) -> None:
        """Checkpoint the whole run (model, optimizer, step, epoch, RNG, history) atomically."""
        save_checkpoint(
            path,
            self.model,
            self.vocab,
            config=self.config,
            step=self.step,
            epoch=self.epoch,
            optimizer_state=self.optimizer.state_dict(),
            rng_state=dict(self._batches.rng.bit_generator.state),
            history=self.history,
            best_params=self.best.params if not self._holds_best else None,  # else the weights are it
            extra={
                "trainer": {
                    **self._batches.state_dict(),
                    "history_stride": self._history_stride,
                    "names_digest": self.names_digest,
                    "best": {**self.best.state_dict(), "holds_best": self._holds_best},
                    "held_val_loss": self._held_val,
                }
            },
        )

    @classmethod
    def resume(cls, path: str | os.PathLike[str] | bytes | IO[bytes], names: Sequence[str]) -> Trainer:
        """Load a checkpoint (path, bytes or file) and continue its run on `names`."""
        return cls.from_checkpoint(load_checkpoint(path), names)

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, names: Sequence[str]) -> Trainer:
        """A trainer continuing the run stored in `ckpt`.

        With the same names the run continues exactly as if never interrupted; with
        other names (they must fit the checkpoint's vocabulary) a new epoch starts.
        """
        model = ckpt.model
        config = ckpt.config or TrainConfig(
            hidden_size=model.hidden_size, activation=model.activation, dtype=str(model.dtype)
        )
        trainer = cls(config, names, vocab=ckpt.vocab)
        trainer.model = model
        trainer.optimizer = trainer._make_optimizer()
        if ckpt.optimizer_state is not None:
            if ckpt.optimizer_state["name"] != config.optimizer:
                raise ValueError(
                    f"checkpoint optimizer {ckpt.optimizer_state['name']!r} does not match "
                    f"config optimizer {config.optimizer!r}"
                )
            trainer.optimizer.load_state_dict(ckpt.optimizer_state)
        trainer.step, trainer.epoch = ckpt.step, ckpt.epoch
        trainer.history = [dict(point) for point in ckpt.history]
        if ckpt.rng_state is not None:
            trainer._batches.rng.bit_generator.state = ckpt.rng_state
        state = ckpt.extra.get("trainer")
        state = state if isinstance(state, dict) else {}
        stride = state.get("history_stride", 1)
        trainer._history_stride = stride if isinstance(stride, int) and stride >= 1 else 1
        if state.get("names_digest") == trainer.names_digest:  # the same names: the same epoch
            trainer._batches.resume_epoch(state)
        trainer._restore_best(state, ckpt.best_params)
        return trainer

    # ---------------------------------------------------------------- internals
    def _restore_best(self, state: dict[str, Any], best_params: dict[str, Any] | None) -> None:
        """Put back the best so far (its weights: stored apart, or the weights held themselves)."""
        best = state.get("best")
        if not isinstance(best, dict):
            return  # a checkpoint from before best tracking: the next evaluation starts it
        holds = best.get("holds_best") is True
        if best_params is None and holds:
            best_params = dict(self.model.params)  # the weights held are the best ones
        self.best.load_state_dict(best, best_params)
        self._holds_best = holds and self.best.val_loss is not None
        held = state.get("held_val_loss")
        self._held_val = float(held) if isinstance(held, int | float) and not isinstance(held, bool) else None

    def _make_optimizer(self) -> Optimizer:
        kw = {"momentum": self.config.momentum} if self.config.optimizer == "sgd" else {}
        return make_optimizer(self.config.optimizer, self.model.params, self.config.learning_rate, **kw)

    def _record(self, point: dict[str, Any]) -> None:
        """Add a history point (``history``: merged into the same step's, downsampled)."""
        limit = self.config.history_limit
        self.history, self._history_stride = record_point(self.history, point, self._history_stride, limit)


def _digest(names: Sequence[str]) -> str:
    """A short fingerprint of a names list (to tell whether a resume uses the same data)."""
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]
