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


class _Count:
    """How many requests are in one kind of wait, counted safely from many threads."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Count one more for the duration of the block."""
        with self._lock:
            self.value += 1
        try:
            yield
        finally:
            with self._lock:
                self.value -= 1


class Gate:
    """A run's lock, and the signals that make its training thread step aside."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._waiting = _Count()  # requests waiting for the lock
        self._readers = _Count()  # requests computing on a snapshot

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock, asking the training thread to make way (every waiter counts)."""
        with self._waiting.held():
            self.lock.acquire()
        try:
            yield
        finally:
            self.lock.release()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Compute on a snapshot (no lock) while the trainer slows down for us."""
        with self._readers.held():
            yield

    @contextmanager
    def training_step(self) -> Iterator[None]:
        """Hold the lock for one training step, then step aside if someone waits or reads."""
        with self.lock:
            yield
        if self._waiting.value or self._readers.value:
            time.sleep(COURTESY_SECONDS)
