"""What the Inspect service reads weights from, and the snapshots a Learn walk keeps.

    Snapshot, SnapshotSource   the protocols (app.training.run.Snapshot and RunProxy have them)
    FrozenSnapshots            snapshots kept by key, so a walk's numbers stand still

A Learn walk (app/inspect/learn.py) reads one snapshot of the weights from its
first step to its last while training goes on: the service keeps that snapshot
here under its key (the same key the panel's reports are cached by) until the
student asks for fresh weights. The store is bounded; a key it no longer holds
(the server restarted, or many walks since) is refused in words by the service.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

from rnn_core import RNN, Vocab

FROZEN_SIZE = 32  # snapshots kept for walks (one D_h = 256 model is about 0.6 MB)


class Snapshot(Protocol):
    """What inspection needs from a snapshot of the run (app.training.run.Snapshot has it).

    Read-only, so a frozen dataclass fits."""

    @property
    def model(self) -> RNN: ...
    @property
    def vocab(self) -> Vocab: ...
    @property
    def step(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def run_id(self) -> str: ...


class SnapshotSource(Protocol):
    """Anything that hands out consistent copies of the weights (app.training.run.Run)."""

    def snapshot(self) -> Snapshot: ...


class FrozenSnapshots:
    """Snapshots by key, the least recently read dropped first once ``size`` are kept."""

    def __init__(self, size: int = FROZEN_SIZE) -> None:
        self._size = size
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, key: str, snap: Snapshot) -> None:
        """Keep ``snap`` under ``key`` (a snapshot never changes, so keeping it again is a no-op)."""
        with self._lock:
            self._kept[key] = snap
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def get(self, key: str) -> Snapshot | None:
        """The snapshot kept under ``key``, or None."""
        with self._lock:
            snap = self._kept.get(key)
            if snap is not None:
                self._kept.move_to_end(key)
            return snap

    def __len__(self) -> int:
        return len(self._kept)
