"""One training run: a `Trainer`, its state machine, and what it reports.

A run lives in a worker (app/training/worker.py), which steps it and hands it
commands one at a time. The states and what each allows are in
app/training/states.py. A new trainer (reset, an uploaded checkpoint) is built
from what the run holds then, so an action never pairs one run's weights with
another's data set. A divergence rolls the run back to its last good state
(app/training/rollback.py). The run reports through its channel: events
(`publish`) and checkpoints (`write`), which its worker ships to the web
process (app/training/outbox.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from app.training.datasets import UPLOADED, Dataset
from app.training.gate import Gate
from app.training.payloads import Progress, Sample, Status
from app.training.progress import RateMeter, finished_message, finite_or_none, last_value, raised_message
from app.training.rollback import GOOD_PERIOD, LastGood, diverged_message, trainer_bytes
from app.training.states import Action, NotNowError, RunState, check_allowed
from rnn_core.config import TrainConfig
from rnn_core.events import EvalInfo, SampleInfo, StepInfo
from rnn_core.trainer import DivergedError, Trainer

log = logging.getLogger("bptt_lab.run")

SAMPLE_PERIOD = 0.5  # seconds between sampled names, at least
TrainerFactory = Callable[[TrainConfig, Dataset], Trainer]


class Channel(Protocol):
    """Where a run reports: its events, and its checkpoints (app/training/outbox.py RunChannel)."""

    def publish(self, kind: str, data: Mapping[str, Any]) -> None: ...

    def write(self, checkpoint: bytes, run_info: dict[str, Any], version: int) -> bool: ...


class Run:
    """A trainer with a state; see the module docstring."""

    def __init__(
        self,
        run_id: str,
        channel: Channel,
        dataset: Dataset,
        trainer: Trainer,
        state: RunState = RunState.IDLE,
        progress_hz: float = 10.0,
        good_period: float = GOOD_PERIOD,
        version: int = 0,
    ) -> None:
        self.run_id, self.hub, self.store, self.dataset = run_id, channel, channel, dataset
        self.gate = Gate()
        self.state = state
        self.message: str | None = None  # what happened and what to change (diverged, errors)
        self.storage_warning: str | None = None  # set while checkpoints cannot be written
        self.samples: deque[Sample] = deque(maxlen=6)
        self.version = version  # bumped whenever the weights, the history or the state change
        self.last_saved = time.monotonic()
        self._saved_version = -1
        self._period = 1.0 / progress_hz
        self._meter = RateMeter()
        self._last_progress = 0.0
        self._last_sample = 0.0
        self.last_good = LastGood(good_period)
        self._attach(trainer)

    # ------------------------------------------------------------------ reading
    @property
    def uniform_loss(self) -> float:
        """ln V of the model's vocabulary: the loss of guessing uniformly."""
        return math.log(self.trainer.vocab.size)

    def progress(self) -> Progress:
        """Where the run is: what a `progress` event says (losses in nats per character)."""
        tr = self.trainer
        return {
            "run_id": self.run_id,
            "state": self.state,
            "step": tr.step,
            "epoch": tr.epoch,
            "version": self.version,
            "train_loss": finite_or_none(self.train_loss),
            "val_loss": finite_or_none(self.val_loss),
            "chars_per_sec": round(self._meter.rate, 1) if self.state is RunState.RUNNING else 0.0,
        }

    def status(self) -> Status:
        """The run as GET /api/status reports it: its progress, configuration and data."""
        tr = self.trainer
        return {
            **self.progress(),
            "uniform_loss": self.uniform_loss,
            "message": self.message,
            "storage_warning": self.storage_warning,
            "config": tr.config.to_dict(),
            "dataset": self.dataset.summary(),
            "best_val_loss": finite_or_none(tr.best_val_loss),
            "best_step": tr.best_step,
            "holds_best": tr.holds_best and tr.finished,
            "val_rising": tr.val_rising,
        }

    def history(self) -> list[dict[str, Any]]:
        """A copy of the loss history (read without the lock: list() is atomic)."""
        return list(self.trainer.history)

    def locked(self) -> AbstractContextManager[None]:
        """Hold the run's lock (the training thread makes way)."""
        return self.gate.exclusive()

    # ----------------------------------------------------------------- training
    def train_once(self) -> None:
        """One step by the training thread (a no-op unless running)."""
        with self.gate.training_step():
            if self.state is RunState.RUNNING:
                self._step()

    def _step(self) -> bool:
        """One step, then evaluate or sample when due; the lock is held. False if it failed."""
        tr = self.trainer
        try:
            tr.train_step()
            if tr.step % tr.config.eval_every == 0 and tr.val_loss is None:  # else the finish did
                tr.evaluate()
            if tr.step % tr.config.sample_every == 0 and self._sample_due():
                tr.sample_names()
        except DivergedError as exc:
            config, back = tr.config, self.last_good.state
            restored = self.last_good.restore(self.dataset.names, config)
            if restored is not None:
                self._attach(restored, keep_good=True)
            self._set_state(
                RunState.DIVERGED, diverged_message(exc, config, back if restored is not None else None)
            )
            return False
        except Exception as exc:  # a bug must not kill the training thread
            log.exception("training step failed")
            self._set_state(RunState.PAUSED, f"training stopped on an internal error: {exc}")
            return False
        if tr.finished:
            self._set_state(RunState.FINISHED, finished_message(tr))
        return True

    def _sample_due(self) -> bool:
        """Sampling is for people to read: at most twice a second, however fast the steps."""
        now = time.perf_counter()
        if now - self._last_sample < SAMPLE_PERIOD:
            return False
        self._last_sample = now
        return True

    # ------------------------------------------------------------------ actions
    def start(self, trainer: Trainer, dataset: Dataset) -> None:
        """Replace the run by a new one and train it."""
        with self.locked():
            self.dataset = dataset
            self._attach(trainer)
            trainer.evaluate()
            self._set_state(RunState.RUNNING)

    def pause(self) -> None:
        """Stop stepping; keep everything; save."""
        with self.locked():
            check_allowed(self.state, Action.PAUSE)
            self._set_state(RunState.PAUSED)
        self.save()

    def resume(self) -> None:
        """Train again from where the run stopped."""
        with self.locked():
            check_allowed(self.state, Action.RESUME)
            self._set_state(RunState.RUNNING)

    def step(self) -> None:
        """Take exactly one step while not running."""
        with self.locked():
            check_allowed(self.state, Action.STEP)
            ok = self._step()
            if ok and self.state is not RunState.FINISHED:
                self._set_state(RunState.PAUSED)
            self._publish_progress()
            if not ok:
                raise NotNowError(self.message or "the step failed")

    def reset(self, make: TrainerFactory) -> None:
        """Fresh weights, same configuration and data, step 0, not training.

        `make(config, dataset)` builds the trainer under the lock, from the run as it is then.
        """
        with self.locked():
            trainer = make(self.trainer.config, self.dataset)
            self._attach(trainer)
            trainer.evaluate()
            self._set_state(RunState.IDLE)
        self.save()

    def load(self, make: Callable[[Dataset], Trainer]) -> None:
        """Continue a run from a checkpoint, paused; `make(dataset)` builds it under the lock.

        If `make` raises, the run is left exactly as it was.
        """
        with self.locked():
            trainer = make(self.dataset)
            self._attach(trainer)
            self.last_good.remember(trainer, self.val_loss, self.uniform_loss)
            state = RunState.FINISHED if trainer.finished else RunState.PAUSED
            self._set_state(state, f"loaded a checkpoint at step {trainer.step:,}")
        self.save()

    def configure(self, **changes: Any) -> None:
        """Change what may change while running (the fields TrainConfig marks live)."""
        with self.locked():
            tr = self.trainer
            if changes.get("learning_rate") is not None:
                tr.set_learning_rate(changes["learning_rate"])
            rest = {k: v for k, v in changes.items() if k != "learning_rate"}
            if rest:
                tr.config = tr.config.replace(**rest)
            if self.state is RunState.FINISHED and not tr.finished:
                self._set_state(RunState.PAUSED, raised_message(tr))
            elif self.state in (RunState.RUNNING, RunState.PAUSED, RunState.IDLE) and tr.finished:
                tr.finish()  # max_steps lowered to where it is: a keep_best run takes its best weights
                self._set_state(RunState.FINISHED, finished_message(tr))
            else:
                self._publish_state()

    # -------------------------------------------------------------- persistence
    def checkpoint_file(self) -> tuple[bytes, int]:
        """The checkpoint's bytes and the step they hold, taken together under the lock."""
        with self.locked():
            return trainer_bytes(self.trainer), self.trainer.step

    def save_if_due(self, seconds: float) -> None:
        """Save when the weights moved and `seconds` passed since the last save."""
        if self.version != self._saved_version and time.monotonic() - self.last_saved >= seconds:
            self.save()

    def save(self) -> bool:
        """Hand the checkpoint to the channel; on a storage error warn and keep training in memory.

        The file already on disk is never touched by a failed save.
        """
        try:
            with self.locked():  # the weights, their version and their data set, together
                version, data, info = self.version, trainer_bytes(self.trainer), self._run_info()
            self.store.write(data, info, version)  # an older snapshot never overwrites a newer one
        except ValueError as exc:  # weights that are not finite cannot be saved
            self._warn_storage(f"The checkpoint cannot be taken: {exc}. Training goes on in memory.")
            return False
        finally:
            self.last_saved = time.monotonic()
        self._saved_version = version
        self._warn_storage(None)
        return True

    def _warn_storage(self, warning: str | None) -> None:
        """Set (or clear) the storage warning, telling the page when it changes."""
        if warning == self.storage_warning:
            return
        if warning:
            log.warning(warning)
        self.storage_warning = warning
        self._publish_state()

    def _run_info(self) -> dict[str, Any]:
        """What run.json keeps: the data set, and an uploaded one's names (the upload may change)."""
        info: dict[str, Any] = {"dataset": self.dataset.source, "filename": self.dataset.filename}
        if self.dataset.source == UPLOADED:
            info["names"] = list(self.dataset.names)
        return info

    # ---------------------------------------------------------------- internals
    def _attach(self, trainer: Trainer, keep_good: bool = False) -> None:
        """Make `trainer` this run's, listening to its callbacks (a new run forgets its good state)."""
        self.trainer = trainer
        if not keep_good:
            self.last_good.forget()
        self.train_loss: float | None = last_value(trainer.history, "train_loss")
        self.val_loss: float | None = last_value(trainer.history, "val_loss")
        self.message = None
        self.samples.clear()
        self.version += 1
        self._meter = RateMeter()
        trainer.add_callback("on_step_end", self._on_step_end)
        trainer.add_callback("on_evaluation", self._on_evaluation)
        trainer.add_callback("on_sample", self._on_sample)

    def _set_state(self, state: RunState, message: str | None = None) -> None:
        self.state, self.message = state, message
        self.version += 1  # every change of state is a new version: older answers never win
        self._meter.restart()
        self._publish_state()

    def _on_step_end(self, trainer: Trainer, info: StepInfo) -> None:
        self.train_loss = info["train_loss"]
        self.version += 1
        self._meter.add(info["chars"])
        self._maybe_publish_progress()

    def _on_evaluation(self, trainer: Trainer, info: EvalInfo) -> None:
        self.val_loss = info["val_loss"]
        self.version += 1  # the history changed (the chart is cached by version)
        self.last_good.remember(trainer, self.val_loss, self.uniform_loss)
        self._maybe_publish_progress()

    def _maybe_publish_progress(self) -> None:
        """Publish progress unless one went out less than a period ago (at most ~10 a second)."""
        if time.perf_counter() - self._last_progress >= self._period:
            self._publish_progress()

    def _on_sample(self, trainer: Trainer, info: SampleInfo) -> None:
        entry: Sample = {"step": info["step"], "names": list(info["names"])}
        self.samples.appendleft(entry)
        self.hub.publish("sample", {"run_id": self.run_id, **entry})

    def _publish_progress(self) -> None:
        self._last_progress = time.perf_counter()
        self.hub.publish("progress", self.progress())

    def _publish_state(self) -> None:
        self.hub.publish("state", self.status())
