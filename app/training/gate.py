"""The lock of a run, with manners: the training thread makes way for people.

The training thread holds the lock for one step at a time, and would take it
again at once: Python gives a thread the interpreter for up to 5 ms before it
must let another run, so a request could wait many steps. Requests therefore
say that they wait (`exclusive`) or that they compute on a snapshot
(`reading`), and the trainer sleeps a moment after its step while they do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

COURTESY_SECONDS = 0.001  # the trainer's pause after a step while a request waits or reads


class Gate:
    """A run's lock, and the signals that make its training thread step aside."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._waiting = 0  # requests waiting for the lock
        self._readers = 0  # requests computing on a snapshot
        self._count_lock = threading.Lock()

    @contextmanager
    def _counted(self, which: str) -> Iterator[None]:
        with self._count_lock:
            setattr(self, which, getattr(self, which) + 1)
        try:
            yield
        finally:
            with self._count_lock:
                setattr(self, which, getattr(self, which) - 1)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock, asking the training thread to make way (every waiter counts)."""
        with self._counted("_waiting"):
            self.lock.acquire()
        try:
            yield
        finally:
            self.lock.release()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Compute on a snapshot (no lock) while the trainer slows down for us."""
        with self._counted("_readers"):
            yield

    @contextmanager
    def training_step(self) -> Iterator[None]:
        """Hold the lock for one training step, then step aside if someone waits or reads."""
        with self.lock:
            yield
        if self._waiting or self._readers:
            time.sleep(COURTESY_SECONDS)
