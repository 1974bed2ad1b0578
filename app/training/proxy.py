"""A run as the web process sees it: a mirror of its worker's reports, and its commands.

The run itself lives in a worker (app/training/worker.py). Its `RunProxy`
keeps what the routes read without asking the worker: the newest status
(every answer and every event carries the run's version, and an older one
never overwrites a newer one), the names it sampled lately, its data set. It
publishes what the worker reports on the event hub, and writes the worker's
checkpoints to the run's folder (storage that outlives any worker), warning
per run when that fails. Actions go to the worker and come back with the
run's status. The weights are read as a snapshot of a known version, fetched
from the worker and kept until the version moves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, cast

from app.training.datasets import UPLOADED, Dataset
from app.training.executor import Executor
from app.training.opening import Meta
from app.training.outbox import Checkpoint
from app.training.payloads import Progress, Sample, Snapshot, Status
from app.training.states import RunState
from app.training.storage import RunFolder, storage_problem
from app.training.worker import RunSpec
from rnn_core import RNN, Vocab
from rnn_core.checkpoint import load_checkpoint
from rnn_core.config import TrainConfig

log = logging.getLogger("bptt_lab.proxy")

HISTORY_MAX_AGE = 0.5  # seconds a training run's history is reused before it is fetched again


class Publisher(Protocol):
    """Where a run's events go (app/training/events.py EventHub)."""

    def publish(self, kind: str, data: Any) -> None: ...


class RunProxy:
    """One run in the web process (see the module docstring)."""

    def __init__(
        self,
        spec: RunSpec,
        executor: Executor,
        hub: Publisher,
        folder: Path,
        meta: Meta | None = None,
        status: Status | None = None,
    ) -> None:
        self.run_id, self.key, self.executor, self.hub = spec.run_id, spec.key, executor, hub
        self.spec = spec  # how the run was opened: the recipe for bringing it back
        self.folder, self.store, self.dataset = folder, RunFolder(folder), spec.datasets[0]
        self.meta = meta or Meta()
        self.uploaded: Dataset | None = None  # the run's own names file, if one was uploaded
        self.last_active = time.monotonic()  # the last request about it (idle runs are paused)
        self.evicted = False  # paused and out of its worker's memory; back on the next request
        self._revive_lock = threading.Lock()
        self.samples: deque[Sample] = deque(maxlen=6)
        self.storage_warning: str | None = None
        self._status: Status | None = status
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._history: tuple[int, float, list[dict[str, Any]]] | None = None

    # ------------------------------------------------------------------ reading
    def status(self) -> Status:
        """The run as GET /api/status reports it."""
        status = self._current()
        return {**status, "storage_warning": self.storage_warning or status["storage_warning"]}

    def progress(self) -> Progress:
        """Where the run is (what a `progress` event says)."""
        s = self._current()
        return {
            "run_id": s["run_id"],
            "state": s["state"],
            "step": s["step"],
            "epoch": s["epoch"],
            "version": s["version"],
            "train_loss": s["train_loss"],
            "val_loss": s["val_loss"],
            "chars_per_sec": s["chars_per_sec"],
        }

    @property
    def state(self) -> RunState:
        """The run's state now."""
        return RunState(self._current()["state"])

    @property
    def version(self) -> int:
        """Grows with every change of the run (steps included)."""
        return self._current()["version"]

    @property
    def at_step(self) -> int:
        """Updates applied so far."""
        return self._current()["step"]

    @property
    def config(self) -> TrainConfig:
        """The run's training configuration."""
        return TrainConfig.from_dict(self._current()["config"])

    @property
    def message(self) -> str | None:
        """What happened and what to change, if anything."""
        return self._current()["message"]

    @property
    def uniform_loss(self) -> float:
        """ln V: the loss of guessing uniformly."""
        return self._current()["uniform_loss"]

    def history(self) -> list[dict[str, Any]]:
        """The loss history, from the worker (reused for a moment while the run trains)."""
        cached, version, now = self._history, self.version, time.monotonic()
        fresh_enough = (
            self.state is RunState.RUNNING and now - cached[1] < HISTORY_MAX_AGE if cached else False
        )
        if cached is not None and (cached[0] == version or fresh_enough):
            return cached[2]
        history: list[dict[str, Any]] = self._call("history")
        self._history = (version, now, history)
        return history

    def snapshot(self) -> Snapshot:
        """The weights in float64 at a known version, fetched from the worker when they moved."""
        snap = self._snapshot
        if snap is not None and snap.version == self.version:
            return snap
        weights = self._call("weights")
        vocab = Vocab(weights["chars"])
        model = RNN(len(vocab), weights["params"]["W_h"].shape[0], weights["activation"], None, "float64")
        model.set_params(weights["params"])
        snap = Snapshot(
            model,
            vocab,
            weights["config"],
            self.dataset.name_set,
            weights["step"],
            weights["version"],
            self.run_id,
        )
        self._snapshot = snap
        return snap

    def checkpoint_file(self) -> tuple[bytes, int]:
        """The run as checkpoint bytes and the step they hold, taken together by the worker."""
        data, step = self._call("checkpoint")
        return data, step

    # ------------------------------------------------------------------ actions
    def pause(self) -> None:
        """Stop stepping; keep everything; save."""
        self._command("pause")

    def resume(self) -> None:
        """Train again from where the run stopped."""
        self._command("resume")

    def step(self) -> None:
        """Take exactly one step while not running."""
        self._command("step")

    def reset(self) -> None:
        """Fresh weights, same configuration and data, step 0, not training."""
        self.samples.clear()
        self._command("reset")

    def start(self, config: TrainConfig, dataset: Dataset) -> None:
        """Replace the run by a new one on `dataset` and train it."""
        self._command("start", config, dataset)
        self.dataset = dataset
        self.samples.clear()

    def configure(self, **changes: Any) -> None:
        """Change what may change while the run trains (the fields TrainConfig marks live)."""
        self._command("configure", changes)

    def load(self, data: bytes) -> None:
        """Continue from checkpoint bytes (checked whole before), paused."""
        self.samples.clear()
        self._command("load", data)

    def save(self) -> None:
        """Have the worker take a checkpoint now, and write it before returning."""
        checkpoint: Checkpoint | None = self._call("save")
        if checkpoint is not None:
            self.on_checkpoint(checkpoint)

    # -------------------------------------------------------- the worker's reports
    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """An event of this run from its worker: mirror it, then publish it."""
        if kind == "state":
            self._apply(data)  # type: ignore[arg-type]
            self.hub.publish("state", self.status())
        elif kind == "progress":
            with self._lock:
                current = self._status
                if current is not None and data["version"] >= current["version"]:
                    self._status = cast(Status, {**current, **data})
            self.hub.publish("progress", data)
        elif kind == "sample":
            self.samples.appendleft({"step": data["step"], "names": list(data["names"])})
            self.hub.publish("sample", data)

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Write the worker's checkpoint; a storage error becomes the run's warning."""
        info = self._run_info()
        try:
            self.store.write(checkpoint.data, info, checkpoint.version)
        except OSError as exc:
            self._warn(storage_problem(self.folder, exc))
            return
        self._warn(None)

    def recovery(self) -> RunSpec:
        """The run as its last checkpoint holds it, in the state it was in, for a new worker."""
        try:
            data: bytes | None = self.store.checkpoint.read_bytes()
        except OSError:
            data = None  # never saved: it starts again as it was opened
        state = self.state if self._status is not None else None
        step = load_checkpoint(data).step if data is not None else 0
        message = f"Recovered from step {step:,}: the worker that trained this run was lost."
        return replace(
            self.spec,
            datasets=(self.dataset, *(d for d in self.spec.datasets if d is not self.dataset)),
            checkpoint=data if data is not None else self.spec.checkpoint,
            state=state if data is not None else None,
            message=message,
            version=self.version + 1 if self._status is not None else 0,
        )

    def recovered(self, status: Status) -> None:
        """Back on a new worker: mirror its status and tell the page."""
        self._apply(status)
        self._snapshot, self._history = None, None
        self.hub.publish("state", self.status())

    def evict(self, reason: str) -> None:
        """Pause the run, save it and let its trainer leave the worker's memory (it comes back
        from its checkpoint on the next request that needs it)."""
        with self._revive_lock:
            if self.evicted:
                return
            if self.state is RunState.RUNNING:
                self._command("pause")
            self.save()
            self.executor.close(self.key, save=False)
            self.evicted = True
            with self._lock:
                current = self._current()
                self._status = cast(Status, {**current, "message": reason, "chars_per_sec": 0.0})
        self.hub.publish("state", self.status())

    def _revive(self) -> None:
        """An evicted run back on a worker, paused, from its checkpoint."""
        with self._revive_lock:
            if not self.evicted:
                return
            spec = replace(self.recovery(), state=RunState.PAUSED, message=None)
            self._apply(self.executor.open(spec, self))
            self._snapshot, self._history = None, None
            self.evicted = False

    # ---------------------------------------------------------------- internals
    def _call(self, command: str, *args: Any) -> Any:
        """A command for the run's worker (bringing an evicted run back first)."""
        if self.evicted:
            self._revive()
        return self.executor.call(self.key, command, *args)

    def _command(self, command: str, *args: Any) -> None:
        status: Status = self._call(command, *args)
        self._apply(status)

    def _apply(self, status: Status) -> None:
        with self._lock:
            if self._status is None or status["version"] >= self._status["version"]:
                self._status = status

    def _current(self) -> Status:
        status = self._status
        if status is None:
            raise RuntimeError(f"run {self.run_id!r} has not reported yet")
        return status

    def _warn(self, warning: str | None) -> None:
        if warning == self.storage_warning:
            return
        if warning:
            log.warning(warning)
        self.storage_warning = warning
        self.hub.publish("state", self.status())

    def _run_info(self) -> dict[str, Any]:
        """What run.json keeps: the data set, and an uploaded one's names (the upload may change)."""
        info: dict[str, Any] = {
            **self.meta.to_dict(),
            "state": self.state.value,
            "dataset": self.dataset.source,
            "filename": self.dataset.filename,
        }
        if self.dataset.source == UPLOADED:
            info["names"] = list(self.dataset.names)
        return info
