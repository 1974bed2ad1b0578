"""How fast |gamma_t(k)| shrinks with the distance t - k, under each activation.

Eq. 6.2 multiplies gamma by W_h^T and sigma'(z) once per step back, so
|gamma_t(k)| / |gamma_t(t)| falls (or grows) roughly geometrically with
d = t - k, by at most max sigma' * |W_h|_2 per step. The same weights are
traced under every activation (``RNN.with_activation``) to compare them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .activations import get_activation
from .arrays import F64Array, FloatArray
from .model import RNN
from .trace import GammaTrace, decay_ratios

POWER_ITERATIONS = 40  # for the spectral norm of W_h in the decay bound


@dataclass(frozen=True)
class Decay:
    """|gamma_t(k)| / |gamma_t(t)| against the distance d = t - k for one activation."""

    activation: str
    max_slope: float  # the largest sigma' can be: 1/4 for sigmoid, 1 for tanh and relu
    ratios: F64Array  # (T, T): ratios[t-1, d]; NaN where d > t - 1 (k would be < 1)
    median: F64Array  # (T,): the median over t of ratios[:, d]
    mean: F64Array  # (T,): the mean over t of ratios[:, d]
    sigma_prime_mean: float  # the mean of sigma'(z(k)) over steps and units
    W_h_norm: float  # the spectral norm of W_h (power iteration)

    @property
    def rate_bound(self) -> float:
        """Eq. 6.2 shrinks |gamma| by at most max sigma' * |W_h|_2 per step back."""
        return self.max_slope * self.W_h_norm


def decay_of(
    gamma_norms: F64Array,
    sigma_prime: F64Array,
    activation: str,
    max_slope: float,
    W_h_norm: float,
) -> Decay:
    """|gamma_t(k)| / |gamma_t(t)| by distance t - k, and its median and mean over t."""
    ratios = decay_ratios(gamma_norms)
    T = ratios.shape[0]
    finite = np.isfinite(ratios)
    n = finite.sum(axis=0)  # how many t reach each distance d
    ordered = np.sort(ratios, axis=0)  # NaN sorts last, so each column's n values lead
    cols = np.arange(T)
    middle = (ordered[np.maximum(n - 1, 0) // 2, cols] + ordered[n // 2 - (n == 0), cols]) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        median = np.where(n > 0, middle, np.nan)
        mean = np.where(n > 0, np.where(finite, ratios, 0.0).sum(axis=0) / n, np.nan)
    return Decay(
        activation=activation,
        max_slope=float(max_slope),
        ratios=ratios,
        median=median,
        mean=mean,
        sigma_prime_mean=float(sigma_prime.mean()),
        W_h_norm=W_h_norm,
    )


def gamma_norms_under(model: RNN, ids: Sequence[int], activation: str) -> tuple[F64Array, F64Array]:
    """|gamma_t(k)| (T, T) and sigma'(z(k)) (T, D_h) for ``model``'s weights under another sigma.

    What ``trace_gammas`` of the twin with the same weights (``RNN.with_activation``) gives,
    by a lighter path: its forward pass (``RNN.forward``, Eq. 1.1-3.2), then Eq. 6.2 for
    every t at once, keeping one gamma_t(k) per t and only its norm; no gradients, and
    never the T x T x D_h gammas.
    """
    m = model.in_float64().with_activation(activation)
    fw = m.forward([tuple(int(i) for i in ids)])  # one name: row t - 1 is step t
    T = fw.batch.n_rows
    steps = np.arange(T)
    sigma_prime = np.asarray(m.act.sigma_prime(fw.h, out=np.empty_like(fw.h)), dtype=np.float64)
    dtheta = np.array(fw.y_hat, dtype=np.float64)
    dtheta[steps, fw.batch.y_idx] -= 1.0  # dJ(t)/dtheta(t) = y_hat(t) - y(t)
    gamma = dtheta @ m.U  # row t - 1: gamma_t(t) = U^T (y_hat(t) - y(t)), then gamma_t(k)
    norms = np.zeros((T, T))
    norms[steps, steps] = np.linalg.norm(gamma, axis=1)
    for k in range(T, 1, -1):
        # Eq. 6.2 for every t >= k at once: gamma_t(k-1) = W_h^T (gamma_t(k) o sigma'(z(k)))
        gamma[k - 1 :] = (gamma[k - 1 :] * sigma_prime[k - 1]) @ m.W_h
        norms[k - 1 :, k - 2] = np.linalg.norm(gamma[k - 1 :], axis=1)
    return norms, sigma_prime


def decays_by_activation(model: RNN, tr: GammaTrace, others: Sequence[str]) -> tuple[Decay, ...]:
    """The decay of ``tr`` (traced under ``model``'s own activation), then under each of ``others``."""
    W_h_norm = spectral_norm(model.W_h)
    found = [decay_of(tr.gamma_norms, tr.sigma_prime, model.activation, model.act.max_slope, W_h_norm)]
    for other in others:
        norms, sigma_prime = gamma_norms_under(model, tr.ids, other)
        found.append(decay_of(norms, sigma_prime, other, get_activation(other).max_slope, W_h_norm))
    return tuple(found)


def spectral_norm(W: FloatArray, iterations: int = POWER_ITERATIONS) -> float:
    """The largest singular value of W by power iteration on W^T W (from below, to ~1e-3)."""
    v = np.ones(W.shape[1]) / np.sqrt(W.shape[1])
    for _ in range(iterations):
        u = W @ v
        v = W.T @ u
        size = np.linalg.norm(v)
        if size == 0.0:
            return 0.0
        v /= size
    return float(np.linalg.norm(W @ v))
