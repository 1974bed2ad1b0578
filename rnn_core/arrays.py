"""The array types rnn_core's modules pass to each other, and the scratch arrays of a step.

A model computes in its own dtype (float32 for speed, float64 for checks), so
most arrays are ``FloatArray``; the teaching views (trace, report, gradient
checks) are float64 throughout and say so with ``F64Array``.
"""

from __future__ import annotations

import math
import threading
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.floating[Any]]  # float32 or float64
F64Array: TypeAlias = npt.NDArray[np.float64]
IndexArray: TypeAlias = npt.NDArray[np.intp]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


class Scratch:
    """Where a pass takes its big arrays from: new ones, or ones kept from the last step.

    A batch's arrays (N rows of D_h or V numbers) are a few hundred KB each. Made
    anew every training step, the allocator gives their pages back to the system
    and the next step pays a page fault for each page again (about a hundred a
    step at D_h = 100). A keeping ``Scratch`` holds one buffer per name and dtype
    instead, grown to the largest batch seen and never shrunk. There is one per
    thread (``thread_scratch``), shared by every model trained on that thread: a
    worker stepping many runs in turn keeps the largest batch's arrays, not every
    run's. ``claim()`` lends it to one caller at a time (a nested caller gets a
    non-keeping one).
    """

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self._buffers: dict[tuple[str, np.dtype[Any]], np.ndarray] = {}
        self._busy = False

    def empty(self, name: str, shape: tuple[int, ...], dtype: npt.DTypeLike) -> FloatArray:
        """An uninitialised array of ``shape``; while kept, the same memory every call for ``name``."""
        if not self.keep:
            return np.empty(shape, dtype=dtype)
        size, key = math.prod(shape), (name, np.dtype(dtype))
        buf = self._buffers.get(key)
        if buf is None or buf.size < size:
            # A quarter to spare, so that batches a little longer than the last do not regrow it.
            buf = self._buffers[key] = np.empty(size + size // 4, dtype=dtype)
        view: FloatArray = buf[:size].reshape(shape)
        return view

    def claim(self) -> Scratch:
        """This scratch if no caller holds it (``release`` it after), else a non-keeping one."""
        if self.keep and not self._busy:
            self._busy = True
            return self
        return FRESH

    def release(self) -> None:
        """Hand back a scratch from ``claim()``."""
        self._busy = False


FRESH = Scratch(keep=False)  # new arrays every time: what escapes a call (RNN.forward's cache)
_local = threading.local()


def thread_scratch() -> Scratch:
    """The calling thread's keeping scratch (made on first use, freed with the thread)."""
    scratch: Scratch | None = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = Scratch(keep=True)
    return scratch
