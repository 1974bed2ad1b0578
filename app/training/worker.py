"""The worker: where runs train, off the web process. One class, hosted by a process or a Ray actor.

A `Worker` holds the runs assigned to it (each an `app/training/run.py` `Run`:
a trainer and its state machine) and answers commands about them, one at a
time, on its host's one thread, so a run needs no lock here. Between commands
the host calls `work(budget)`, which steps the running runs:

- fairly by worker time: the run that has used the least time steps next, so a
  run with D_h = 512 gets fewer steps, not more of the worker; a run that joins
  starts level with the others. The time is the worker thread's CPU time
  (`time.thread_time`), not the wall clock: on a busy machine a step the
  operating system interrupts would otherwise be charged the time it waited;
- at its pace: a run with `steps_per_second` set steps no sooner than its pace
  allows (and may change it while it runs).

Its host runs it at a lower priority than the web process (`lower_priority`):
on shared cores a request is answered first and training takes what is left.

Everything a run reports goes into the worker's `Outbox`: events (state,
progress, sample) and checkpoints (bytes the web process writes to storage
that outlives any worker). The host ships the outbox after each command and
each slice of work; the web process never shares memory with a worker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.training.datasets import Dataset
from app.training.outbox import Checkpoint, Outbox
from app.training.payloads import Status
from app.training.rollback import GOOD_PERIOD
from app.training.run import Run
from app.training.states import NoSuchRunError, RefusedError, RunState
from rnn_core.checkpoint import load_checkpoint
from rnn_core.config import TrainConfig
from rnn_core.trainer import Trainer

log = logging.getLogger("bptt_lab.worker")

IDLE_WAIT = 0.5  # seconds a host may sleep when no run is due (a command wakes it at once)
#: How much lower than the web process a worker runs: a student's click (generate, inspect, a
#: page) is served at once however many runs train, and training takes the CPU that is left.
WORKER_NICENESS = 10


def lower_priority() -> None:
    """Run this (worker) process at WORKER_NICENESS, so the web process on the same cores is served first."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError as exc:  # not allowed here: train at the same priority, as before
        log.warning("could not lower the worker's priority (%s)", exc)


@dataclass(frozen=True)
class RunSpec:
    """What a worker needs to take a run: a checkpoint to resume (or a config to start) and its data."""

    key: str  # the run's key in the executor: unique across every app that shares it
    run_id: str
    datasets: tuple[Dataset, ...]  # the data set to train on; for a resume, the candidates in order
    config: TrainConfig  # used when there is no checkpoint
    checkpoint: bytes | None = None
    state: RunState | None = None  # for a resume: the state it was saved in (None: paused/finished)
    progress_hz: float = 10.0
    checkpoint_seconds: float = 30.0
    good_period: float = GOOD_PERIOD  # seconds between two captures of its last good state
    version: int = 0  # where its count of versions starts (past every version seen before)
    message: str | None = None


@dataclass
class _Slot:
    """A run and what the scheduler keeps about it."""

    run: Run
    used: float = 0.0  # worker CPU seconds this run has stepped for
    due: float = 0.0  # perf_counter time of its next paced step
    checkpoint_seconds: float = 30.0


@dataclass
class Worker:
    """The runs of one worker, their commands and their fair, paced stepping."""

    outbox: Outbox = field(default_factory=Outbox)
    slots: dict[str, _Slot] = field(default_factory=dict)

    # ---------------------------------------------------------------- commands
    def handle(self, key: str, command: str, args: Sequence[Any] = ()) -> Any:
        """Carry out `command` on the run `key` (or `open` a new one) and return its answer."""
        if command == "open":
            return self.open(*args)
        slot = self._slot(key)
        method: Callable[..., Any] = getattr(self, f"_{command}")
        return method(slot, *args)

    def open(self, spec: RunSpec) -> Status:
        """Take a run: resume its checkpoint on the first data set that fits, or start it fresh."""
        trainer, dataset, state = self._trainer_for(spec)
        run = Run(
            spec.run_id,
            self.outbox.for_run(spec.key),
            dataset,
            trainer,
            state=state,
            progress_hz=spec.progress_hz,
            good_period=spec.good_period,
            version=spec.version,
        )
        run.message = spec.message
        if spec.checkpoint is None:
            trainer.evaluate()
        self.slots[spec.key] = _Slot(run, used=self._level(), checkpoint_seconds=spec.checkpoint_seconds)
        return run.status()

    def _level(self) -> float:
        """The worker time of the running run that has had least: where a run joining them starts.

        A run that starts or comes back to training would otherwise be owed all the time it
        spent paused, and take the worker from the others until it had it back.
        """
        running = [s.used for s in self.slots.values() if s.run.state is RunState.RUNNING]
        return min(running, default=0.0)

    def _trainer_for(self, spec: RunSpec) -> tuple[Trainer, Dataset, RunState]:
        if spec.checkpoint is None:
            dataset = spec.datasets[0]
            return new_trainer(spec.config, dataset), dataset, RunState.IDLE
        trainer, dataset = resume_on(spec.checkpoint, spec.datasets)
        state = spec.state or (RunState.FINISHED if trainer.finished else RunState.PAUSED)
        if state is RunState.RUNNING and trainer.finished:
            state = RunState.FINISHED
        return trainer, dataset, state

    def _close(self, slot: _Slot, save: bool = True) -> None:
        """Let go of a run (saving it first, unless it is being deleted)."""
        if save:
            slot.run.save()
        key = next(k for k, s in self.slots.items() if s is slot)
        del self.slots[key]

    def _status(self, slot: _Slot) -> Status:
        return slot.run.status()

    def _start(self, slot: _Slot, config: TrainConfig, dataset: Dataset) -> Status:
        slot.used = max(slot.used, self._level())
        slot.run.start(new_trainer(config, dataset), dataset)
        return slot.run.status()

    def _pause(self, slot: _Slot) -> Status:
        slot.run.pause()
        return slot.run.status()

    def _resume(self, slot: _Slot) -> Status:
        slot.used = max(slot.used, self._level())
        slot.run.resume()
        slot.due = 0.0
        return slot.run.status()

    def _step(self, slot: _Slot) -> Status:
        slot.run.step()
        return slot.run.status()

    def _reset(self, slot: _Slot) -> Status:
        slot.run.reset(new_trainer)
        return slot.run.status()

    def _configure(self, slot: _Slot, changes: dict[str, Any]) -> Status:
        slot.run.configure(**changes)
        return slot.run.status()

    def _load(self, slot: _Slot, data: bytes) -> Status:
        ckpt = load_checkpoint(data)  # checked whole by the web process before it was sent
        slot.run.load(lambda dataset: Trainer.from_checkpoint(ckpt, dataset.names))
        return slot.run.status()

    def _history(self, slot: _Slot) -> list[dict[str, Any]]:
        return slot.run.history()

    def _weights(self, slot: _Slot) -> dict[str, Any]:
        """The weights and what goes with them, for a snapshot in the web process."""
        tr = slot.run.trainer
        return {
            "params": {name: p.copy() for name, p in tr.model.params.items()},
            "activation": tr.model.activation,
            "chars": tr.vocab.chars,
            "config": tr.config,
            "step": tr.step,
            "version": slot.run.version,
        }

    def _checkpoint(self, slot: _Slot) -> tuple[bytes, int]:
        return slot.run.checkpoint_file()

    def _save(self, slot: _Slot) -> Checkpoint | None:
        """Take the run's checkpoint now and hand it back with the answer (not through the outbox)."""
        slot.run.save()
        key = next(k for k, s in self.slots.items() if s is slot)
        return self.outbox.checkpoints.pop(key, None)

    def _samples(self, slot: _Slot) -> list[Any]:
        return list(slot.run.samples)

    def _slot(self, key: str) -> _Slot:
        try:
            return self.slots[key]
        except KeyError:
            raise NoSuchRunError(f"this worker holds no run {key!r}") from None

    # -------------------------------------------------------------------- work
    def work(self, budget: float) -> float:
        """Step the running runs for about `budget` seconds; the seconds until one is due next."""
        deadline = time.perf_counter() + budget
        for slot in self.slots.values():
            slot.run.save_if_due(slot.checkpoint_seconds)
        running = [s for s in self.slots.values() if s.run.state is RunState.RUNNING]
        while running:
            now = time.perf_counter()
            due = [s for s in running if s.due <= now]
            if not due:
                return min(IDLE_WAIT, max(0.0, min(s.due for s in running) - now))
            if now >= deadline:
                return 0.0
            slot = min(due, key=lambda s: s.used)
            cpu = time.thread_time()
            slot.run.train_once()
            slot.used += time.thread_time() - cpu
            pace = slot.run.trainer.config.steps_per_second
            slot.due = max(slot.due + 1.0 / pace, now) if pace else 0.0
            if slot.run.state is not RunState.RUNNING:  # finished or diverged on this step
                running.remove(slot)
        return IDLE_WAIT


def new_trainer(config: TrainConfig, dataset: Dataset) -> Trainer:
    """A trainer for `config` on `dataset` (RefusedError naming the problem if it is unusable)."""
    try:
        return Trainer(config, dataset.names)
    except ValueError as exc:  # NamesError and VocabError are ValueErrors too
        raise RefusedError(str(exc)) from None


def resume_on(data: bytes, candidates: Sequence[Dataset]) -> tuple[Trainer, Dataset]:
    """The checkpoint resumed on the data set it was trained on, else the first that fits.

    The checkpoint's fingerprint of its names says which data set it was trained
    on (a kill between writing it and run.json may leave run.json behind).
    ValueError when no candidate fits its vocabulary.
    """
    extra = load_checkpoint(data).extra.get("trainer")
    digest = extra.get("names_digest") if isinstance(extra, dict) else None
    fitting: list[tuple[Trainer, Dataset]] = []
    problem: ValueError | None = None
    for dataset in candidates:
        try:
            trainer = Trainer.resume(data, dataset.names)
        except ValueError as exc:  # CheckpointError, VocabError: not this data set
            problem = problem or exc
            continue
        if trainer.names_digest == digest:
            return trainer, dataset
        fitting.append((trainer, dataset))
    if fitting:
        return fitting[0]
    raise problem or ValueError("no data set fits the checkpoint")
