"""How fast |gamma_t(k)| shrinks with the distance t - k, under each activation.

Eq. 6.2 multiplies gamma by W_h^T and sigma'(z) once per step back, so
|gamma_t(k)| / |gamma_t(t)| falls (or grows) roughly geometrically with
d = t - k, by at most max sigma' * |W_h|_2 per step (the bound, "predicted": sigma_max of
W_h is its largest singular value |W_h|_2). What the name actually shows ("measured") is the
least-squares slope of log |gamma_t(k)| / |gamma_t(t)| against d over its cells
(``fit_decay``): exp(slope) is the observed factor per step back. The same weights are
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
class DecayFit:
    """log |gamma_t(k)| / |gamma_t(t)| ~ intercept + slope (t - k), least squares over the cells."""

    slope: float  # natural log per step back
    intercept: float
    cells: int  # how many cells (t, k) the fit used (finite, positive ratios)

    @property
    def rate(self) -> float:
        """exp(slope): the factor |gamma| is observed to change by per step back."""
        return float(np.exp(self.slope))

    def at(self, d: float) -> float:
        """The fitted ratio at distance d."""
        return float(np.exp(self.intercept + self.slope * d))


def fit_decay(ratios: F64Array) -> DecayFit | None:
    """The least-squares line through (d, log ratios[t-1, d]) of every cell with a positive ratio.

    ``ratios`` as ``decay_ratios`` gives them, (T, T) indexed [t-1, d]. None when fewer than two
    distances have a usable cell (a one-step name, or gammas that are all zero)."""
    d = np.broadcast_to(np.arange(ratios.shape[1], dtype=np.float64), ratios.shape)
    with np.errstate(invalid="ignore"):
        use = np.isfinite(ratios) & (ratios > 0)
    x, y = d[use], np.log(ratios[use])
    if np.unique(x).size < 2:
        return None
    x_mean, y_mean = float(x.mean()), float(y.mean())
    slope = float(((x - x_mean) * (y - y_mean)).sum() / ((x - x_mean) ** 2).sum())
    return DecayFit(slope, y_mean - slope * x_mean, int(x.size))


@dataclass(frozen=True)
class Decay:
    """|gamma_t(k)| / |gamma_t(t)| against the distance d = t - k for one activation."""

    activation: str
    max_slope: float  # the largest sigma' can be: 1/4 for sigmoid, 1 for tanh and relu
    ratios: F64Array  # (T, T): ratios[t-1, d]; NaN where d > t - 1 (k would be < 1)
    median: F64Array  # (T,): the median over t of ratios[:, d]
    mean: F64Array  # (T,): the mean over t of ratios[:, d]
    sigma_prime_mean: float  # the mean of sigma'(z(k)) over steps and units
    W_h_norm: float  # the spectral norm of W_h (power iteration): sigma_max
    fit: DecayFit | None = None  # the measured slope (``fit_decay``); None where there is none

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
        fit=fit_decay(ratios),
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
