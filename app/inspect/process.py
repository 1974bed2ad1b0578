"""The Inspect service's worker process: started on first use, ended with the server.

A trace and its rendering are pure Python and NumPy work of a few to tens of
milliseconds; done in the web process they would hold its GIL while it serves
requests and event streams. The process comes from a forkserver (a clean
interpreter, never a fork of the server and its threads) and ends with the
server however the server ends (`watch_server`). If it cannot start, the
service answers in its own threads (`get` returns None from then on).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection

log = logging.getLogger("bptt_lab.inspect")


def warm_up() -> None:
    """Nothing: a first job that makes the worker process start and import the service."""


def watch_server(alive: Connection) -> None:
    """In the worker: end this process once the server that started it is gone.

    A pool's worker outlives a server that was killed, or one that exits while
    the pool's own shutdown is still pending, and it would keep the forkserver
    behind it alive too. ``alive`` is the reading end of a pipe whose only
    writer is the server: a daemon thread waits on it, and end of file means
    the server has closed it or died."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv()
        os._exit(0)

    threading.Thread(target=watch, name="inspect-watch-server", daemon=True).start()


class WorkerProcess:
    """A pool of one worker process, started when first asked for, replaced when it breaks."""

    def __init__(self, enabled: bool = True) -> None:
        self._enabled = enabled
        self._pool: ProcessPoolExecutor | None = None
        self._alive: dict[ProcessPoolExecutor, Connection] = {}  # closing one ends its worker
        self._lock = threading.Lock()

    def get(self) -> ProcessPoolExecutor | None:
        """The pool, started if it is not (None when processes are off or cannot start)."""
        if not self._enabled:
            return None
        with self._lock:
            if self._pool is None:
                try:
                    context = multiprocessing.get_context("forkserver")
                    alive, writer = context.Pipe(duplex=False)  # we hold the only writer
                    self._pool = ProcessPoolExecutor(
                        max_workers=1, mp_context=context, initializer=watch_server, initargs=(alive,)
                    )
                    self._alive[self._pool] = writer
                    self._pool.submit(warm_up)  # start it (and its imports) before the first job
                except (OSError, ValueError) as exc:
                    log.warning("no inspect worker process (%s): inspecting in-process", exc)
                    self._enabled = False
            return self._pool

    def drop(self, pool: ProcessPoolExecutor) -> None:
        """Let a broken pool go (the next `get` starts another)."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
            alive = self._alive.pop(pool, None)  # this pool's pipe, never a newer pool's
        pool.shutdown(wait=False, cancel_futures=True)
        if alive is not None:
            alive.close()  # the worker ends even if it is busy or stuck

    def close(self) -> None:
        """Stop the worker once its job is done (it starts again on the next `get`)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            self.drop(pool)
