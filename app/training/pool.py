"""The local executor: a pool of worker processes, each hosting one `Worker` (app/training/worker.py).

    pool = LocalPool(workers=2)          # started by the app's lifespan (or shared by tests)
    status = pool.open(spec, listener)   # a run goes to the least loaded worker
    pool.call(key, "pause")              # a command, answered with the run's status
    pool.close(key)                      # the run leaves its worker (saved first)

Each worker process runs `serve`: it answers the commands that arrive on its
pipe, steps its runs between them (a slice of ~20 ms at a time) and ships what
they report back on the same pipe, events before the answer they led to. In
the web process one reader thread per worker hands answers to the waiting
callers and events and checkpoints to the run's listener (its `RunProxy`).

Processes are started by forkserver: clean interpreters, never a fork of the
web process and its threads. A worker ends when the web process closes its
pipe, however the web process ends.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from app.training.outbox import Outbox
from app.training.placement import Placement
from app.training.states import NoSuchRunError, NotNowError, RefusedError, RunError
from app.training.worker import Worker, lower_priority

log = logging.getLogger("bptt_lab.pool")

SLICE = 0.005  # seconds of stepping between two looks at the pipe (a command waits at most this)
CALL_TIMEOUT = 60.0  # seconds a command may take before the caller gives up
ERRORS: dict[str, type[RunError]] = {
    "NotNowError": NotNowError,
    "RefusedError": RefusedError,
    "NoSuchRunError": NoSuchRunError,
}


class WorkerLostError(NotNowError):
    """The worker holding the run went away before it answered."""


# ------------------------------------------------------------ in the worker
def serve(conn: Connection) -> None:
    """The worker process: answer commands, step runs in between, ship their reports."""
    lower_priority()
    worker = Worker(Outbox())
    wait = 0.0
    while True:
        try:
            ready = conn.poll(wait)
            while ready:
                message = conn.recv()
                if message is None:
                    return
                request, key, command, args = message
                answer = answer_command(worker, key, command, args)
                _ship(conn, worker.outbox)
                conn.send(("answer", request, *answer))
                ready = conn.poll(0)
            wait = worker.work(SLICE)
            _ship(conn, worker.outbox)
        except (EOFError, OSError, BrokenPipeError):
            return  # the web process is gone


def answer_command(worker: Worker, key: str, command: str, args: Sequence[Any]) -> tuple[bool, Any]:
    try:
        return True, worker.handle(key, command, args)
    except RunError as exc:
        return False, (type(exc).__name__, exc.message, exc.field)
    except Exception as exc:  # a bug must not end the worker and every run it holds
        log.exception("worker command %s failed", command)
        return False, ("NotNowError", f"the worker failed: {exc}", None)


def _ship(conn: Connection, outbox: Outbox) -> None:
    if outbox:
        events, checkpoints = outbox.take()
        conn.send(("out", events, checkpoints))


# ------------------------------------------------------- in the web process
@dataclass
class _Call:
    future: Future[tuple[bool, Any]]


class WorkerClient:
    """One worker process seen from the web process: its pipe, its reader thread, its calls."""

    def __init__(self, index: int, pool: LocalPool) -> None:
        context = multiprocessing.get_context("forkserver")
        self.index, self.pool = index, pool
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=serve, args=(child,), name=f"bptt-worker-{index}", daemon=True)
        self.process.start()
        child.close()
        self._send_lock = threading.Lock()
        self._calls: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, name=f"bptt-worker-{index}-reader", daemon=True)
        self._reader.start()

    def call(self, key: str, command: str, *args: Any, timeout: float = CALL_TIMEOUT) -> Any:
        """Send a command about run `key` and wait for its answer (a RunError is raised again here)."""
        future: Future[tuple[bool, Any]] = Future()
        with self._send_lock:
            request = next(self._ids)
            self._calls[request] = _Call(future)
            try:
                self.conn.send((request, key, command, args))
            except (OSError, ValueError) as exc:
                self._calls.pop(request, None)
                raise WorkerLostError(f"the worker of run {key!r} is gone ({exc})") from None
        ok, value = future.result(timeout)
        if ok:
            return value
        kind, message, field = value
        raise ERRORS.get(kind, NotNowError)(message, field)

    def pid(self) -> int:
        """The worker's process."""
        return self.process.pid or 0

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to end and wait for it."""
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "answer":
                _, request, ok, value = message
                call = self._calls.pop(request, None)
                if call is not None:
                    call.future.set_result((ok, value))
            else:
                _, events, checkpoints = message
                self.pool.deliver(events, checkpoints)
        lost = (False, ("WorkerLostError", "the worker holding this run went away", None))
        for call in list(self._calls.values()):
            call.future.set_result(lost)
        self._calls.clear()
        self.pool.lost(self)


class LocalPool(Placement[WorkerClient]):
    """`workers` worker processes and the runs placed on them (see the module docstring)."""

    def __init__(self, workers: int | None = None) -> None:
        self._closing = False
        super().__init__([WorkerClient(i, self) for i in range(workers or os.cpu_count() or 1)])

    def shutdown(self) -> None:
        """End every worker (their runs should have been closed, and so saved, first)."""
        self._closing = True
        super().shutdown()

    def lost(self, client: WorkerClient) -> None:
        """A worker went away (killed, crashed): start another and bring its runs back on it.

        Each run comes back from its last checkpoint, in the state it was in; the
        runs of the other workers never notice. Called on the lost worker's reader thread.
        """
        if self._closing:
            return
        log.warning("worker %d (pid %s) was lost; starting another", client.index, client.process.pid)
        self.replace(client, WorkerClient(client.index, self))
