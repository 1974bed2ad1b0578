"""The training loop: batches, steps, evaluation, samples, and callbacks to report them.

The trainer knows nothing of the web. It reports through callbacks, in the
manner of minGPT's trainer: `add_callback("on_step_end", fn)` and friends; each
`fn(trainer, info)` gets the trainer and a typed dict describing what just
happened (`StepInfo`, `EvalInfo`, `SampleInfo`: see `events`).

Batches: each epoch draws a permutation of the training names from one seeded
`np.random.Generator` and walks it `batch_size` names at a time (the last batch
of an epoch may be smaller). Losses are reported in nats per character: J of
the batch divided by the number of characters predicted, end tokens included.
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

from .batching import Corpus, Picked
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import load_names, split_names
from .events import EVENTS, Callback, EvalInfo, Info, SampleInfo, StepInfo
from .model import RNN
from .optim import Optimizer, clip_by_global_norm, clip_by_value, global_norm, make_optimizer
from .sampling import sample
from .vocab import Vocab

__all__ = ["EVENTS", "Callback", "DivergedError", "EvalInfo", "SampleInfo", "StepInfo", "Trainer"]

EVAL_CHUNK = 512  # names per forward pass when computing the validation loss


class DivergedError(RuntimeError):
    """The loss or a gradient stopped being finite (or exploded); the weights were kept.

    `step` is the step that failed, `what` what went wrong there, `advice` what to change.
    """

    def __init__(self, step: int, what: str, advice: str) -> None:
        super().__init__(f"step {step}: {what}; {advice}")
        self.step, self.what, self.advice = step, what, advice


class Trainer:
    """Trains an RNN on a list of names; see docs/ARCHITECTURE.md "Seams" for the interface."""

    #: A batch loss above this many times ln V (uniform guessing) counts as diverged.
    divergence_ratio: float = 4.0

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
        )
        # The training names laid out once, so that each batch packs from arrays (batching.Corpus).
        self._corpus = Corpus.from_sequences(self._train_ids, self.model.start_id, self.model.end_id)
        self.optimizer = self._make_optimizer()
        self.step = 0  # updates applied so far
        self.epoch = 0  # full passes over the training names completed
        self.history: list[dict[str, Any]] = []
        self._history_stride = 1  # keep train-loss points whose step is a multiple of this
        self._callbacks: dict[str, list[Callback]] = defaultdict(list)
        # Batch order: one generator; each epoch's permutation is drawn from it, and the
        # state it was drawn from is kept so a checkpoint can redraw it on resume.
        self._rng = np.random.default_rng([config.seed, 1])
        self._order: np.ndarray | None = None
        self._order_rng_state: dict[str, Any] | None = None
        self._cursor = 0

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
        saved_position = self._position()
        seqs = self._next_batch()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # judged below instead
            loss, grads = self.model.loss_and_grads(seqs)
        chars = seqs.n_steps
        train_loss = loss / chars
        grad_norm = global_norm(grads)
        problem = self._divergence(train_loss, grad_norm)
        if problem is not None:
            self._restore_position(saved_position)
            raise DivergedError(self.step + 1, *problem)
        clipped = self.config.clip_value is not None or self.config.clip_norm is not None
        if self.config.clip_value is not None:
            clip_by_value(grads, self.config.clip_value)
        if self.config.clip_norm is not None:
            clip_by_global_norm(grads, self.config.clip_norm)
        # Clipped gradients bound every update; unclipped ones might overflow the weights,
        # so then keep a copy to fall back on.
        backup = None if clipped else (self.model.copy(), self.optimizer.state_dict())
        with np.errstate(over="ignore", invalid="ignore"):
            self.optimizer.step(grads)
        if backup is not None and not all(np.isfinite(p).all() for p in self.model.params.values()):
            self.model.set_params(backup[0].params)
            self.optimizer.load_state_dict(backup[1])
            self._restore_position(saved_position)
            raise DivergedError(
                self.step + 1,
                "the update made the weights overflow",
                "lower the learning rate or turn on clipping",
            )
        self.step += 1
        if self._order is None:  # the batch just taken finished an epoch
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
        self._record({"step": self.step, "train_loss": train_loss})
        self.trigger_callbacks("on_step_end", info)
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
        self._record({"step": self.step, "val_loss": val_loss})
        evaluation: EvalInfo = {"step": self.step, "epoch": self.epoch, "val_loss": val_loss}
        self.trigger_callbacks("on_evaluation", evaluation)
        return val_loss

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
            if self.step % self.config.eval_every == 0:
                self.evaluate()
            if self.step % self.config.sample_every == 0:
                self.sample_names()
        return info

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
            rng_state=dict(self._rng.bit_generator.state),
            history=self.history,
            extra={
                "trainer": {
                    "cursor": self._cursor,
                    "order_rng_state": self._order_rng_state if self._order is not None else None,
                    "history_stride": self._history_stride,
                    "names_digest": self.names_digest,
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
            trainer._rng.bit_generator.state = ckpt.rng_state
        state = ckpt.extra.get("trainer")
        trainer._restore_batch_state(state if isinstance(state, dict) else {})
        return trainer

    # ---------------------------------------------------------------- internals
    def _restore_batch_state(self, state: dict[str, Any]) -> None:
        """Put back the history stride and, for the same names, the epoch's permutation and cursor.

        Anything missing or odd (another names list, a hand-edited file) starts a fresh epoch.
        """
        stride = state.get("history_stride", 1)
        self._history_stride = stride if isinstance(stride, int) and stride >= 1 else 1
        order_state, cursor = state.get("order_rng_state"), state.get("cursor", 0)
        if order_state is None or state.get("names_digest") != self.names_digest:
            return
        current = self._rng.bit_generator.state
        try:
            # Redraw the current epoch's permutation from the state it was drawn from.
            self._rng.bit_generator.state = order_state
            self._draw_order()
        except (TypeError, ValueError, KeyError):
            self._order = None
        finally:
            self._rng.bit_generator.state = current
        if self._order is not None and isinstance(cursor, int) and 0 <= cursor < len(self._order):
            self._cursor = cursor
        else:
            self._order, self._cursor = None, 0

    def _make_optimizer(self) -> Optimizer:
        kw = {"momentum": self.config.momentum} if self.config.optimizer == "sgd" else {}
        return make_optimizer(self.config.optimizer, self.model.params, self.config.learning_rate, **kw)

    def _draw_order(self) -> None:
        self._order_rng_state = dict(self._rng.bit_generator.state)
        self._order = self._rng.permutation(len(self._train_ids))
        self._cursor = 0

    def _next_batch(self) -> Picked:
        """The next batch_size encoded names of this epoch's permutation."""
        if self._order is None:
            self._draw_order()
        assert self._order is not None
        idx = self._order[self._cursor : self._cursor + self.config.batch_size]
        self._cursor += len(idx)
        if self._cursor >= len(self._order):
            self._order = None  # the epoch is used up; the next batch draws a new one
        return self._corpus.pick(idx)

    def _position(self) -> tuple[Any, ...]:
        return (self._order, self._order_rng_state, self._cursor, self._rng.bit_generator.state)

    def _restore_position(self, position: tuple[Any, ...]) -> None:
        self._order, self._order_rng_state, self._cursor, rng_state = position
        self._rng.bit_generator.state = rng_state

    def _divergence(self, train_loss: float, grad_norm: float) -> tuple[str, str] | None:
        """Why this step counts as diverged and what to change, or None if it does not."""
        if not math.isfinite(train_loss):
            return f"the loss is {train_loss}", "lower the learning rate or turn on clipping"
        if not math.isfinite(grad_norm):
            return "a gradient is not finite", "lower the learning rate or turn on clipping"
        ceiling = self.divergence_ratio * math.log(self.vocab.size)
        if train_loss > ceiling:
            what = (
                f"the loss {train_loss:.3g} nats/char is far above uniform guessing "
                f"({math.log(self.vocab.size):.3g})"
            )
            return what, "lower the learning rate"
        return None

    def _record(self, point: dict[str, Any]) -> None:
        """Add a history point, merging an evaluation into the same step's point; downsample."""
        last = self.history[-1] if self.history else None
        if last is not None and last["step"] == point["step"]:
            last.update(point)
        elif "val_loss" in point or point["step"] % self._history_stride == 0:
            self.history.append(point)
        else:
            return
        while len(self.history) > self.config.history_limit:
            self._thin_history()

    def _thin_history(self) -> None:
        """Double the stride: keep train points on it and every other evaluation when too many."""
        self._history_stride *= 2
        stride = self._history_stride
        evals = [p for p in self.history if "val_loss" in p]
        thin_evals = len(evals) > self.config.history_limit // 2
        kept_evals = {id(p) for p in (evals[::2] if thin_evals else evals)}
        self.history = [p for p in self.history if id(p) in kept_evals or p["step"] % stride == 0]


def _digest(names: Sequence[str]) -> str:
    """A short fingerprint of a names list (to tell whether a resume uses the same data)."""
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]
