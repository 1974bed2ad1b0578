"""Runs placed on workers: what the local pool and the Ray pool share.

A `Placement` keeps which worker holds each run and who listens to it,
places a new run on the least loaded worker, routes commands to the worker
that holds the run, hands the workers' reports to the runs' listeners, and
brings back the runs of a worker that was replaced or restarted, each from
its last checkpoint. Its subclasses say what a worker is (a process with a
pipe, or a Ray actor) and notice when one is lost.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Generic, Protocol, TypeVar

from app.training.outbox import Checkpoint, Event
from app.training.payloads import Status
from app.training.states import NoSuchRunError, RunError
from app.training.worker import RunSpec

log = logging.getLogger("bptt_lab.placement")


class Listener(Protocol):
    """What hears a run's reports in the web process (app/training/proxy.py RunProxy)."""

    def on_event(self, kind: str, data: dict[str, Any]) -> None: ...

    def on_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def recovery(self) -> RunSpec:
        """How to open the run again after its worker was lost (from its last checkpoint)."""
        ...

    def recovered(self, status: Status) -> None:
        """The run is back, on a new worker."""
        ...


class Client(Protocol):
    """A worker seen from the web process."""

    index: int

    def call(self, key: str, command: str, *args: Any) -> Any: ...

    def pid(self) -> int: ...

    def stop(self) -> None: ...


C = TypeVar("C", bound=Client)


class Placement(Generic[C]):
    """Which worker holds each run, and who listens to it (see the module docstring)."""

    def __init__(self, clients: list[C]) -> None:
        self.clients = clients
        self._placed: dict[str, C] = {}
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """How many workers there are."""
        return len(self.clients)

    def open(self, spec: RunSpec, listener: Listener) -> Status:
        """Place a run on the least loaded worker and have it take the run; its first status."""
        with self._lock:
            load = {id(c): 0 for c in self.clients}
            for held in self._placed.values():
                load[id(held)] += 1
            client = min(self.clients, key=lambda c: (load[id(c)], c.index))
            self._placed[spec.key] = client
            self._listeners[spec.key] = listener
        try:
            status: Status = client.call(spec.key, "open", spec)
        except BaseException:
            self._forget(spec.key)
            raise
        return status

    def holder(self, key: str) -> C:
        """The worker that holds run `key`."""
        return self._placed[key]

    def call(self, key: str, command: str, *args: Any) -> Any:
        """A command about run `key`, answered by the worker that holds it."""
        client = self._placed.get(key)
        if client is None:
            raise NoSuchRunError(f"no worker holds run {key!r}")
        return client.call(key, command, *args)

    def close(self, key: str, save: bool = True) -> None:
        """The run leaves its worker (saved first unless `save` is False)."""
        try:
            self.call(key, "close", save)
        finally:
            self._forget(key)

    def deliver(self, events: list[Event], checkpoints: list[Checkpoint]) -> None:
        """Hand a worker's reports to the listeners of their runs."""
        for key, kind, data in events:
            listener = self._listeners.get(key)
            if listener is not None:
                listener.on_event(kind, data)
        for checkpoint in checkpoints:
            listener = self._listeners.get(checkpoint.key)
            if listener is not None:
                listener.on_checkpoint(checkpoint)

    def shutdown(self) -> None:
        """End every worker (their runs should have been closed, and so saved, first)."""
        for client in self.clients:
            client.stop()

    def replace(self, old: C, new: C) -> None:
        """`new` takes the place of the lost worker `old`, and the runs it held come back on it."""
        with self._lock:
            self.clients[self.clients.index(old)] = new
            for key, held in list(self._placed.items()):
                if held is old:
                    self._placed[key] = new
        self.bring_back(new)

    def bring_back(self, client: C) -> None:
        """Reopen on `client` every run placed on it, each from its last checkpoint, as it was."""
        with self._lock:
            keys = [key for key, held in self._placed.items() if held is client]
        if keys:
            log.warning("worker %d: bringing back %d run(s)", client.index, len(keys))
        for key in keys:
            listener = self._listeners.get(key)
            if listener is None:
                continue
            try:
                listener.recovered(client.call(key, "open", listener.recovery()))
            except RunError as exc:
                log.error("run %s could not be brought back: %s", key, exc)
            except Exception:  # on a reader thread: say it, and bring back the others
                log.exception("run %s could not be brought back", key)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._placed.pop(key, None)
            self._listeners.pop(key, None)
