"""Gradient check: the analytic BPTT gradient against centred finite differences.

For a few entries of each parameter, dJ/dp is estimated on a float64 copy of
the model by the centred five-point stencil

    (8 (J(p + eps) - J(p - eps)) - (J(p + 2 eps) - J(p - 2 eps))) / (12 eps)

(error O(eps^4), so eps can be large enough for rounding to stay small) and
compared with `loss_and_grads`. The relative error |a - n| / max(|a| + |n|, floor) should
be far below 1e-6 when the backward pass is right; the floor keeps entries whose
gradient is (nearly) zero from dividing rounding noise by nothing.

Two checks live here: `check_gradients` over a batch of names (the CLI's
`gradcheck`), and `gradient_check` of one traced name (the Inspect panel), which
runs every perturbed copy of the weights through one batched forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import PARAM_NAMES, RNN
from .trace import GammaTrace

DEFAULT_EPS = 1e-4
DEFAULT_FLOOR = 1e-4

# The Inspect panel's check of one traced name: the largest entries, all perturbed
# copies run through one batched forward pass (fast enough to redo as weights move).
GRAD_CHECK_ENTRIES = 3  # entries checked per parameter (the largest |analytic| ones)
GRAD_CHECK_EPS = 1e-5  # centred difference step; error O(eps^2) ~ 1e-10 relative
GRAD_CHECK_FLOOR = 1e-8  # relative error denominator floor (gradients that are ~0)


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


def gradient_check(
    model: RNN, tr: GammaTrace, entries: int = GRAD_CHECK_ENTRIES, eps: float = GRAD_CHECK_EPS
) -> tuple[GradCheckEntry, ...]:
    """The trace's gradients (Eq. 5.2 summed over k for W_h) against centred differences.

    For each parameter the ``entries`` entries with the largest |analytic| value
    are perturbed by +-eps, and (J(p + eps) - J(p - eps)) / (2 eps) is computed
    by an independent forward pass over all perturbed copies at once (float64).
    """
    if entries < 1:
        return ()
    picked: list[tuple[str, tuple[int, ...]]] = []
    for name in PARAM_NAMES:
        g = np.abs(tr.grads[name]).ravel()
        n = min(entries, g.size)
        top = np.argpartition(-g, n - 1)[:n]  # the n largest, then in order (ties by index)
        order = top[np.lexsort((top, -g[top]))]
        shape = tr.grads[name].shape
        picked += [(name, tuple(int(i) for i in np.unravel_index(f, shape))) for f in order]
    perturbations = [(n, i, s * eps) for n, i in picked for s in (1.0, -1.0)]
    J = perturbed_losses(model, tr, perturbations)
    out = []
    for j, (name, index) in enumerate(picked):
        analytic = float(tr.grads[name][index])
        numeric = float((J[2 * j] - J[2 * j + 1]) / (2 * eps))
        rel = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), GRAD_CHECK_FLOOR)
        out.append(GradCheckEntry(name, index, analytic, numeric, rel))
    return tuple(out)


def perturbed_losses(
    model: RNN, tr: GammaTrace, perturbations: Sequence[tuple[str, tuple[int, ...], float]]
) -> np.ndarray:
    """J (Eq. 3.3) of the traced name for each copy of the weights with one entry moved.

    Row p runs Eq. 1.1-3.2 with parameter ``name[index] += delta``; all rows
    share one matrix product per step, and each row's single changed entry is
    added to z(t) (W_h, W_x, b1) or theta(t) (U, b2) by hand.
    """
    W_h, W_x, b1, U, b2 = (np.asarray(model.params[n], dtype=np.float64) for n in PARAM_NAMES)
    P, D_h, T = len(perturbations), W_h.shape[0], tr.T
    kinds: dict[str, list[tuple[float, ...]]] = {n: [] for n in PARAM_NAMES}
    for p, (name, index, delta) in enumerate(perturbations):
        kinds[name].append((p, *index, delta))
    # per parameter, its columns: the row p, the entry's indices, the delta
    wr, wi, wj, wd = _split(kinds["W_h"], 4)
    xr, xi, xc, xd = _split(kinds["W_x"], 4)
    br, bi, bd = _split(kinds["b1"], 3)
    ur, uv, ui, ud = _split(kinds["U"], 4)
    qr, qv, qd = _split(kinds["b2"], 3)
    W_h_T = np.ascontiguousarray(W_h.T)
    hs = np.empty((T, P, D_h))  # h(t) of every copy
    h = np.zeros((P, D_h))  # h(0) = 0
    for t in range(T):
        x = int(tr.inputs[t])
        z = h @ W_h_T  # Eq. 1.1 with every copy's own h(t-1) ...
        z += b1 if t == 0 else W_x[:, x] + b1  # ... and x(1) = 0 at the start
        z[wr, wi] += wd * h[wr, wj]  # W_h[i, j] + d adds d h(t-1)[j] to z(t)[i]
        if t > 0:
            hit = xc == x  # W_x[i, c] + d matters only when x(t) = c
            z[xr[hit], xi[hit]] += xd[hit]
        z[br, bi] += bd
        h = model.act.sigma(z, out=hs[t])  # Eq. 1.2
    theta = hs @ U.T + b2  # Eq. 2.1, (T, P, V)
    theta[:, ur, uv] += ud * hs[:, ur, ui]
    theta[:, qr, qv] += qd
    top = theta.max(axis=2, keepdims=True)
    log_sum = (top + np.log(np.exp(theta - top).sum(axis=2, keepdims=True)))[:, :, 0]
    picked = theta[np.arange(T), :, tr.targets]  # (T, P): theta(t)[y(t)]
    return (log_sum - picked).sum(axis=0)  # Eq. 3.2-3.3: J = sum_t -log softmax(theta(t))[y(t)]


def _split(rows: list[tuple[float, ...]], width: int) -> tuple[np.ndarray, ...]:
    """The columns of a perturbation table: indices as intp, the last (delta) as float."""
    table = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    return (*(table[:, c].astype(np.intp) for c in range(width - 1)), table[:, -1])
