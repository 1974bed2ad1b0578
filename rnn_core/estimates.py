"""Gradient estimates of one traced name: full BPTT, truncated at K, clipped at a norm.

Every estimate is read off the full trace (``trace_gammas`` without truncation), with no
forward or backward pass of its own:

- truncated at K keeps the cells of the band t - K < k <= t of the T x T triangle of
  gamma_t(k) (module ``truncation``) and drops the cells k <= t - K. Step k then holds
  gamma^K(k) = sum_{t = k}^{k+K-1} gamma_t(k) instead of dJ/dh(k) = sum_{t >= k} gamma_t(k)
  (Eq. 4.1): it no longer receives sum_{t >= k+K} gamma_t(k). The weight gradients follow
  from gamma^K as the full ones from gamma (Eq. 5.2 summed over k, ``broken.weight_grads``).
- clipped at a norm c scales the whole gradient by min(1, c / |g|), |g| the global norm of
  all its parameters (``optim.clip_by_global_norm``): the direction stays (cosine 1), only the
  length changes (ratio min(1, c / |g|)).

Each is compared with the full dJ/dW_h by the cosine of the angle between them and the
ratio of their Frobenius norms. For the truncated one (``truncation_cosine_and_ratio``) these
are read off T x T Gram matrices, never forming a D_h x D_h matrix: with
delta(k) = gamma(k) o sigma'(z(k)), dJ/dW_h = sum_k delta(k) h(k-1)^T (Eq. 5.2), so

    <dJ^a/dW_h, dJ^b/dW_h> = sum_{j,k} (delta^a(j) . delta^b(k)) (h(j-1) . h(k-1)).
"""

from __future__ import annotations

import math

import numpy as np

from .arrays import BoolArray, F64Array
from .broken import weight_grads
from .optim import global_norm
from .trace import GammaTrace


def dropped_mask(T: int, K: int | None) -> BoolArray:
    """(T, T), [t-1, k-1]: True where truncation at K drops gamma_t(k), k <= t - K (none if K is None)."""
    lag = np.subtract.outer(np.arange(T), np.arange(T))  # t - k
    if K is None:
        return np.zeros((T, T), dtype=bool)
    mask: BoolArray = lag >= K
    return mask


def kept_mask(T: int, K: int | None) -> BoolArray:
    """(T, T): True on the cells truncation at K keeps, t - K < k <= t (the whole triangle if None)."""
    triangle: BoolArray = np.tril(np.ones((T, T), dtype=bool))
    return triangle & ~dropped_mask(T, K)


def dropped_count(T: int, K: int | None) -> int:
    """How many cells of the triangle truncation at K drops: (T - K)(T - K + 1) / 2 for K < T."""
    n = max(T - K, 0) if K is not None else 0
    return n * (n + 1) // 2


def band_accumulated(tr: GammaTrace, K: int | None) -> F64Array:
    """(T, D_h): gamma^K(k) = the kept gamma_t(k) summed over t (Eq. 4.1 over the band only)."""
    if K is None or K >= tr.T:
        return tr.accumulated
    kept = kept_mask(tr.T, K).astype(np.float64)
    summed: F64Array = np.einsum("tk,tkd->kd", kept, tr.gamma)
    return summed


def dropped_received(tr: GammaTrace, K: int | None) -> F64Array:
    """(T, D_h): what step k no longer receives under truncation at K, sum_{t >= k+K} gamma_t(k)."""
    return tr.accumulated - band_accumulated(tr, K)


def truncated_grads(tr: GammaTrace, K: int | None) -> dict[str, F64Array]:
    """This name's gradients truncated at K (what ``trace_gammas(..., truncation=K)`` gives)."""
    if K is None or K >= tr.T:
        return tr.grads
    return weight_grads(tr, band_accumulated(tr, K))


def clip_scale(grads: dict[str, F64Array], clip_norm: float | None) -> float:
    """min(1, c / |g|) for the global norm |g| of ``grads``: what clipping at c multiplies them by."""
    if clip_norm is None:
        return 1.0
    norm = global_norm(grads)
    if not math.isfinite(norm) or norm <= clip_norm:
        return 1.0
    return clip_norm / norm


def cosine_and_ratio(g: F64Array, full: F64Array) -> tuple[float, float]:
    """cos(g, full) = <g, full> / (|g| |full|) and |g| / |full| (Frobenius); NaN where |full| = 0."""
    n_full = float(np.linalg.norm(full))
    n_g = float(np.linalg.norm(g))
    if n_full == 0.0 or not math.isfinite(n_full):
        return math.nan, math.nan
    ratio = n_g / n_full
    if n_g == 0.0:
        return math.nan, ratio
    cosine = float(np.vdot(g, full)) / (n_g * n_full)
    return max(-1.0, min(1.0, cosine)), ratio


def truncation_cosine_and_ratio(tr: GammaTrace, K: int | None) -> tuple[float, float]:
    """cos(dJ^K/dW_h, dJ/dW_h) and |dJ^K/dW_h| / |dJ/dW_h|, from Gram matrices (T x T)."""
    full = tr.accumulated * tr.sigma_prime  # delta(k) = dJ/dz(k)
    cut = band_accumulated(tr, K) * tr.sigma_prime
    h_gram = tr.h[:-1] @ tr.h[:-1].T  # (h(j-1) . h(k-1)), h(0) = 0

    def inner(a: F64Array, b: F64Array) -> float:
        return float(((a @ b.T) * h_gram).sum())

    n_full = math.sqrt(max(inner(full, full), 0.0))
    n_cut = math.sqrt(max(inner(cut, cut), 0.0))
    if n_full == 0.0 or not math.isfinite(n_full):
        return math.nan, math.nan
    ratio = n_cut / n_full
    if n_cut == 0.0:
        return math.nan, ratio
    return max(-1.0, min(1.0, inner(cut, full) / (n_cut * n_full))), ratio
