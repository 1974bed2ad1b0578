"""Gradient check: the analytic BPTT gradient against centred finite differences.

dJ/dp of single parameter entries is estimated by running ``RNN.forward`` on
a private float64 copy of the model with the entry moved by multiples of eps,

    five-point:  (8 (J(p + eps) - J(p - eps)) - (J(p + 2 eps) - J(p - 2 eps))) / (12 eps)
    two-point:   (J(p + eps) - J(p - eps)) / (2 eps)

(errors O(eps^4) and O(eps^2)), and compared with the analytic value. The
relative error |a - n| / max(|a| + |n|, floor) should be far below 1e-6 when
the backward pass is right; the floor keeps entries whose gradient is (nearly)
zero from dividing rounding noise by nothing.

Two checks share ``centred_differences``: ``check_gradients`` (random entries
over a batch of names, five-point; the CLI's ``gradcheck``) and
``gradient_check`` (the largest entries of one traced name, two-point; the
Inspect panel).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np

from .arrays import BoolArray, FloatArray
from .model import PARAM_NAMES, RNN
from .trace import GammaTrace

#: The bar every checked entry's relative error must stay under (the CLI's and the panel's).
GRAD_CHECK_TOLERANCE = 1e-6
DEFAULT_EPS = 1e-4
DEFAULT_FLOOR = 1e-4

# The Inspect panel's check of one traced name: the largest entries of each parameter.
GRAD_CHECK_ENTRIES = 3  # entries checked per parameter (the largest |analytic| ones)
GRAD_CHECK_EPS = 1e-5  # centred difference step; error O(eps^2) ~ 1e-10 relative
GRAD_CHECK_FLOOR = 1e-8  # relative error denominator floor (gradients that are ~0)

Entry = tuple[str, tuple[int, ...]]  # a parameter's name and the index of one of its entries


@dataclass(frozen=True)
class Stencil:
    """A centred difference: dJ/dp ~ sum_k c_k (J(p + k eps) - J(p - k eps)) / (divisor eps)."""

    terms: tuple[tuple[int, int], ...]  # (k, c_k)
    divisor: int

    def estimate(self, J: dict[int, float], eps: float) -> float:
        """The derivative from the losses J[+-k] at p +- k eps."""
        return sum(c * (J[k] - J[-k]) for k, c in self.terms) / (self.divisor * eps)


TWO_POINT = Stencil(terms=((1, 1),), divisor=2)
FIVE_POINT = Stencil(terms=((1, 8), (2, -1)), divisor=12)


@dataclass(frozen=True)
class GradCheckEntry:
    """One checked parameter entry."""

    param: str  # W_h, W_x, b1, U or b2
    index: tuple[int, ...]
    analytic: float  # from BPTT
    numeric: float  # centred finite difference
    rel_error: float


def centred_differences(
    model: RNN,
    seqs: Sequence[Sequence[int]],
    entries: Iterable[Entry],
    eps: float,
    stencil: Stencil = FIVE_POINT,
    skip_kinks: bool = False,
) -> Iterator[tuple[Entry, float | None]]:
    """Each entry with dJ/dp[index] (J of Eq. 3.3 over ``seqs``) by ``stencil``; lazily, in order.

    Every J is one ``RNN.forward`` of a private float64 copy of ``model`` with
    the entry moved (and put back afterwards); ``model`` itself is never
    written. With ``skip_kinks`` and relu, an entry whose stencil moves a unit
    across z = 0 (where J is not smooth) yields None.
    """
    m = model.astype(np.float64)  # private: its entries are moved in place below
    pattern = m.forward(seqs).h > 0 if skip_kinks and m.activation == "relu" else None
    offsets = [offset for k, _ in stencil.terms for offset in (-k, k)]
    for name, index in entries:
        J = _moved_losses(m, seqs, m.params[name], index, [o * eps for o in offsets], pattern)
        numeric = None if J is None else stencil.estimate(dict(zip(offsets, J, strict=True)), eps)
        yield (name, index), numeric


def _moved_losses(
    model: RNN,
    seqs: Sequence[Sequence[int]],
    p: FloatArray,
    index: tuple[int, ...],
    moves: Sequence[float],
    pattern: BoolArray | None,
) -> list[float] | None:
    """J with p[index] moved by each of ``moves`` in turn (then put back).

    None if a move changes which relu units are on (``pattern``: h > 0 unmoved).
    """
    old = p[index]
    losses = []
    try:
        for move in moves:
            p[index] = old + move
            fw = model.forward(seqs)
            if pattern is not None and not np.array_equal(fw.h > 0, pattern):
                return None  # a relu unit crossed z = 0 inside the stencil: J has a kink there
            losses.append(fw.loss)
    finally:
        p[index] = old
    return losses


def _entry(
    name: str, index: tuple[int, ...], analytic: float, numeric: float, floor: float
) -> GradCheckEntry:
    """The checked entry, with |a - n| / max(|a| + |n|, floor)."""
    rel = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), floor)
    return GradCheckEntry(name, index, analytic, numeric, rel)


def check_gradients(
    model: RNN,
    seqs: Sequence[Sequence[int]],
    entries_per_param: int = 5,
    eps: float = DEFAULT_EPS,
    seed: int = 0,
    floor: float = DEFAULT_FLOOR,
) -> list[GradCheckEntry]:
    """Compare analytic and numeric dJ/dp for `entries_per_param` random entries of each parameter.

    Works on a float64 copy (five-point stencil); `model` is not changed. J is
    summed over `seqs`. For relu, entries whose stencil moves a unit across
    z = 0 are skipped (J is not smooth there) and others drawn instead.
    """
    m = model.in_float64()
    _, grads = m.loss_and_grads(seqs)
    rng = np.random.default_rng(seed)
    results: list[GradCheckEntry] = []
    for name in PARAM_NAMES:
        shape = grads[name].shape
        drawn = ((name, _unravel(flat, shape)) for flat in rng.permutation(grads[name].size))
        numerics = centred_differences(m, seqs, drawn, eps, FIVE_POINT, skip_kinks=True)
        smooth = ((index, x) for (_, index), x in numerics if x is not None)
        for index, numeric in islice(smooth, entries_per_param):
            results.append(_entry(name, index, float(grads[name][index]), numeric, floor))
    return results


def largest_entries(tr: GammaTrace, entries: int) -> list[Entry]:
    """For each parameter, the ``entries`` entries of the trace's gradient largest in size (ties by index)."""
    picked: list[Entry] = []
    for name in PARAM_NAMES:
        g = np.abs(tr.grads[name]).ravel()
        n = min(entries, g.size)
        top = np.argpartition(-g, n - 1)[:n]  # the n largest, then in order (ties by index)
        order = top[np.lexsort((top, -g[top]))]
        picked += [(name, _unravel(flat, tr.grads[name].shape)) for flat in order]
    return picked


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of entry ``flat`` of a C-ordered array of ``shape``, as plain ints."""
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def gradient_check(
    model: RNN, tr: GammaTrace, entries: int = GRAD_CHECK_ENTRIES, eps: float = GRAD_CHECK_EPS
) -> tuple[GradCheckEntry, ...]:
    """The trace's gradients (Eq. 5.2 summed over k for W_h) against centred differences.

    For each parameter the ``entries`` entries with the largest |analytic| value
    are moved by +-eps, and (J(p + eps) - J(p - eps)) / (2 eps) of the traced
    name is computed by forward passes of ``model`` (float64).
    """
    if entries < 1:
        return ()
    numerics = centred_differences(model, [tr.ids], largest_entries(tr, entries), eps, TWO_POINT)
    return tuple(
        _entry(name, index, float(tr.grads[name][index]), numeric, GRAD_CHECK_FLOOR)
        for (name, index), numeric in numerics
        if numeric is not None  # never None: kinks are not skipped here
    )
