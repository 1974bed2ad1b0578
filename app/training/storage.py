"""A run's folder on disk: its checkpoint, which names it trains on, and what goes wrong there.

    runs/default/checkpoint.npz   the run: weights, optimizer state, step, loss history
    runs/default/run.json         its data set: {"dataset": "bundled"} or the uploaded names
    runs/default/names.txt        the last names file uploaded (app/training/datasets.py)

Every file is written atomically (rnn_core's `atomic_write_bytes`: a temporary
file in the same folder, fsync, rename), so a kill leaves the old file or the
new one. What a kill can leave besides is a temporary file (`.checkpoint.npz.*.tmp`),
whole or torn: it is never read, and `remove_leftovers` deletes it at start.
A checkpoint that cannot be read is set aside under another name, never
overwritten. When the folder cannot be written (read-only, full) the run keeps
training in memory, and `storage_problem` says so in words.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from rnn_core.fileio import atomic_write_bytes

log = logging.getLogger("bptt_lab.storage")

CHECKPOINT_FILE = "checkpoint.npz"
RUN_FILE = "run.json"
LEFTOVERS = ".*.tmp"  # what an interrupted atomic write leaves behind

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "the folder is read-only (permission denied)",
    errno.EPERM: "the folder is read-only (operation not permitted)",
}


def storage_problem(folder: Path, exc: BaseException) -> str:
    """What the page and /api/status say when a checkpoint cannot be written."""
    code = getattr(exc, "errno", None)
    reason = _REASONS.get(code) if code is not None else None
    reason = reason or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return (
        f"Checkpoints cannot be saved to {folder}: {reason}. Training goes on in memory and "
        "the checkpoint saved before is kept as it was; free some space or make the folder "
        "writable (saving is retried), or download the checkpoint to keep this run."
    )


class RunFolder:
    """The files of one run; writes are serialized and ordered by run version (newest wins)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._run_info: bytes | None = None  # run.json as last written
        self._written_version = -1  # the run version of the checkpoint on disk

    @property
    def checkpoint(self) -> Path:
        """Where the run's checkpoint lives."""
        return self.path / CHECKPOINT_FILE

    def write(self, checkpoint: bytes, run_info: dict[str, Any], version: int) -> bool:
        """Write the checkpoint, then run.json (when it changed), each atomically; OSError on failure.

        `version` is the run's version the bytes were taken at: a snapshot older than
        the one on disk (taken before a reset, written after it) is dropped, and False
        returned. A failed checkpoint leaves run.json as it was; a kill between the two
        leaves run.json behind, which resuming sees through (app/training/service.py).
        """
        info = json.dumps(run_info, separators=(",", ":")).encode()
        with self._lock:
            if version < self._written_version:
                return False
            atomic_write_bytes(self.checkpoint, checkpoint)
            self._written_version = version
            if info != self._run_info:
                atomic_write_bytes(self.path / RUN_FILE, info)
                self._run_info = info
        return True

    def read_run_info(self) -> dict[str, Any]:
        """run.json as a dict ({} when missing or unreadable)."""
        try:
            info = json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def remove_leftovers(self) -> list[Path]:
        """Delete the temporary files of writes a crash interrupted; return what was deleted."""
        removed = []
        for leftover in sorted(self.path.glob(LEFTOVERS)):
            try:
                leftover.unlink()
            except OSError as exc:
                log.warning("cannot remove %s: %s", leftover, exc)
                continue
            removed.append(leftover)
            log.info("removed %s, left by an interrupted save; it was never loaded", leftover.name)
        return removed

    def set_aside(self) -> Path | None:
        """Rename an unreadable checkpoint so that no later save overwrites it."""
        target = self.path / f"checkpoint-unreadable-{time.strftime('%Y%m%d-%H%M%S')}.npz"
        try:
            self.checkpoint.rename(target)
        except OSError as exc:
            log.warning("cannot set %s aside: %s", self.checkpoint, exc)
            return None
        return target
