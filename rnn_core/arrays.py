"""The array types rnn_core's modules pass to each other.

A model computes in its own dtype (float32 for speed, float64 for checks), so
most arrays are ``FloatArray``; the teaching views (trace, report, gradient
checks) are float64 throughout and say so with ``F64Array``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.floating[Any]]  # float32 or float64
F64Array: TypeAlias = npt.NDArray[np.float64]
IndexArray: TypeAlias = npt.NDArray[np.intp]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
