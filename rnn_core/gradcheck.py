"""Gradient check: the analytic BPTT gradient against centred finite differences.

For a few entries of each parameter, dJ/dp is estimated on a float64 copy of
the model by the centred five-point stencil

    (8 (J(p + eps) - J(p - eps)) - (J(p + 2 eps) - J(p - 2 eps))) / (12 eps)

(error O(eps^4), so eps can be large enough for rounding to stay small) and
compared with `loss_and_grads`. The relative error |a - n| / max(|a| + |n|, floor) should
be far below 1e-6 when the backward pass is right; the floor keeps entries whose
gradient is (nearly) zero from dividing rounding noise by nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import PARAM_NAMES, RNN

DEFAULT_EPS = 1e-4
DEFAULT_FLOOR = 1e-4


@dataclass(frozen=True)
class GradCheckEntry:
    """One checked parameter entry."""

    param: str  # W_h, W_x, b1, U or b2
    index: tuple[int, ...]
    analytic: float  # from BPTT
    numeric: float  # centred finite difference
    rel_error: float


def check_gradients(
    model: RNN,
    seqs: Sequence[Sequence[int]],
    entries_per_param: int = 5,
    eps: float = DEFAULT_EPS,
    seed: int = 0,
    floor: float = DEFAULT_FLOOR,
) -> list[GradCheckEntry]:
    """Compare analytic and numeric dJ/dp for `entries_per_param` random entries of each parameter.

    Works on a float64 copy; `model` is not changed. J is summed over `seqs`. For
    relu, entries whose stencil moves a unit across z = 0 are skipped (J is not
    smooth there) and others drawn instead.
    """
    m = model.astype(np.float64)
    _, grads = m.loss_and_grads(seqs)
    pattern = _relu_pattern(m, seqs)
    rng = np.random.default_rng(seed)
    results = []
    for name in PARAM_NAMES:
        p = m.params[name]
        taken = 0
        for flat in rng.permutation(p.size):
            if taken == entries_per_param:
                break
            index = tuple(int(i) for i in np.unravel_index(flat, p.shape))
            numeric = _centred_difference(m, seqs, p, index, eps, pattern)
            if numeric is None:
                continue  # a relu unit crossed z = 0 inside the stencil: J has a kink there
            analytic = float(grads[name][index])
            rel = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), floor)
            results.append(GradCheckEntry(name, index, analytic, numeric, rel))
            taken += 1
    return results


def _relu_pattern(model: RNN, seqs: Sequence[Sequence[int]]) -> np.ndarray | None:
    """For relu, which units are on (h > 0) at every step; None for smooth activations."""
    return model.forward(seqs).h > 0 if model.activation == "relu" else None


def _centred_difference(
    model: RNN,
    seqs: Sequence[Sequence[int]],
    p: np.ndarray,
    index: tuple[int, ...],
    eps: float,
    pattern: np.ndarray | None,
) -> float | None:
    """The five-point centred estimate of dJ/dp[index], or None if it crosses a relu kink.

    p is restored afterwards.
    """
    old = p[index]
    J = {}
    try:
        for k in (-2, -1, 1, 2):
            p[index] = old + k * eps
            fw = model.forward(seqs)
            if pattern is not None and not np.array_equal(fw.h > 0, pattern):
                return None
            J[k] = fw.loss
    finally:
        p[index] = old
    return (8 * (J[1] - J[-1]) - (J[2] - J[-2])) / (12 * eps)
