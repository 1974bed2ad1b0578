"""Every gamma_t(k) = dJ(t)/dh(k) of one name: the seed's two tricks made visible.

The training backward pass (``model.RNN.backward``) only ever holds the sum
over t of gamma_t(k) (the second trick). For teaching we also keep each
gamma_t(k) apart: starting from gamma_t(t) = U^T (y_hat(t) - y(t)) and applying
Eq. 6.2 step by step back to k = 1, for every t. That costs T times the work,
which is nothing for one name. The forward pass is the model's own
(``RNN.forward``), run in float64 whatever the model's dtype, so the numbers
shown are exact to the last digit printed.

Traced with a truncation K (module ``truncation``), each J(t) keeps only its
gammas of the band t - K < k <= t: ``gamma`` is zero outside it, and
``accumulated``, ``dW_h`` and ``grads`` hold the kept terms only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import F64Array, FloatArray, IndexArray
from .model import RNN
from .truncation import check_truncation


@dataclass(frozen=True)
class GammaTrace:
    """The gradient flow of one name under fixed weights. Steps are 1-based in the seed, 0-based here."""

    ids: tuple[int, ...]  # the name's characters (no end token)
    inputs: IndexArray  # (T,): x(t) as an index; the start marker x(1) is model.start_id
    targets: IndexArray  # (T,): y(t); the last is the end token
    z: F64Array  # (T, D_h): z(t), Eq. 1.1
    h: F64Array  # (T + 1, D_h): h(t), Eq. 1.2, with h[0] = h(0) = 0
    y_hat: F64Array  # (T, V): Eq. 3.1
    step_loss: F64Array  # (T,): J(t), Eq. 3.2
    sigma_prime: F64Array  # (T, D_h): sigma'(z(k)), Eq. 5.1.1
    gamma: F64Array  # (T, T, D_h): gamma[t-1, k-1] = gamma_t(k); zero where k > t or k <= t - K
    accumulated: F64Array  # (T, D_h): accumulated[k-1] = sum_t gamma_t(k) (kept ones) = dJ/dh(k)
    grads: dict[str, F64Array]  # dJ/d(each parameter) for this name, by RNN.backward (truncated too)
    truncation: int | None = None  # K of truncated BPTT; None: full BPTT

    @property
    def T(self) -> int:
        """The number of steps: the name's length plus one."""
        return len(self.targets)

    @property
    def loss(self) -> float:
        """J = sum_t J(t), Eq. 3.3."""
        return float(self.step_loss.sum())

    @property
    def dW_h(self) -> F64Array:
        """(T, D_h, D_h): dW_h[k-1] = dJ/dW_h(k) = (gamma(k) o sigma'(z(k))) h(k-1)^T, Eq. 5.2.

        Built on demand: it is T times the size of W_h, and most views need only its norms.
        """
        delta = self.accumulated * self.sigma_prime  # gamma(k) o sigma'(z(k))
        return delta[:, :, None] * self.h[:-1, None, :]

    @property
    def gamma_norms(self) -> F64Array:
        """(T, T): |gamma_t(k)|, row t - 1, column k - 1."""
        norms: F64Array = np.linalg.norm(self.gamma, axis=2)
        return norms

    @property
    def dW_h_norms(self) -> F64Array:
        """(T,): the Frobenius norm of dJ/dW_h(k) for each step k."""
        norms: F64Array = np.linalg.norm(self.dW_h, axis=(1, 2))
        return norms

    def decay(self) -> F64Array:
        """(T, T): |gamma_t(k)| / |gamma_t(t)| indexed [t - 1, t - k]; NaN where k < 1."""
        return decay_ratios(self.gamma_norms)


def decay_ratios(gamma_norms: F64Array) -> F64Array:
    """(T, T) |gamma_t(k)| / |gamma_t(t)| at [t-1, d] with d = t - k; NaN where k < 1 or gamma_t(t) = 0."""
    T = gamma_norms.shape[0]
    t = np.arange(T)[:, None]
    d = np.arange(T)[None, :]
    own = np.diagonal(gamma_norms)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = gamma_norms[t, np.maximum(t - d, 0)] / np.where(own > 0, own, np.nan)
    return np.where(d <= t, ratios, np.nan)


def trace_gammas(model: RNN, ids: Sequence[int], truncation: int | None = None) -> GammaTrace:
    """Forward one name (``RNN.forward``, float64), then every gamma_t(k) by Eq. 6.2.

    With ``truncation`` K, the gammas outside the band t - K < k <= t are dropped
    (set to zero), and so are their terms of ``accumulated`` and the gradients.
    """
    check_truncation(truncation)
    m = model.in_float64()
    ids = tuple(int(i) for i in ids)
    fw = m.forward([ids], keep_z=True)  # one name: row t - 1 is step t
    assert fw.z is not None
    T, D_h = fw.batch.n_rows, m.hidden_size
    h = np.zeros((T + 1, D_h))
    h[1:] = fw.h  # h(0) = 0 ahead of h(1..T)
    y_hat = _f64(fw.y_hat).copy()  # backward below reuses fw.y_hat as scratch
    sigma_prime = _f64(m.act.sigma_prime(fw.h, out=np.empty((T, D_h))))  # Eq. 5.1.1
    targets = fw.batch.y_idx

    gamma = np.zeros((T, T, D_h))
    dtheta = y_hat.copy()
    dtheta[np.arange(T), targets] -= 1.0  # dJ(t)/dtheta(t) = y_hat(t) - y(t)
    gamma[np.arange(T), np.arange(T)] = dtheta @ m.U  # gamma_t(t) = U^T (y_hat(t) - y(t))
    for k in range(T, 1, -1):
        # Eq. 6.2 for every t >= k at once: gamma_t(k-1) = W_h^T (gamma_t(k) o sigma'(z(k)))
        gamma[k - 1 :, k - 2] = (gamma[k - 1 :, k - 1] * sigma_prime[k - 1]) @ m.W_h
    if truncation is not None:
        lag = np.subtract.outer(np.arange(T), np.arange(T))  # t - k at [t-1, k-1]
        gamma[lag >= truncation] = 0.0  # J(t) keeps k = t-K+1 .. t only
    accumulated = gamma.sum(axis=0)  # the second trick: dJ/dh(k) = sum_t gamma_t(k)
    grads = {name: _f64(g) for name, g in m.backward(fw, truncation).items()}
    return GammaTrace(
        ids=ids,
        inputs=fw.batch.x_idx,
        targets=targets,
        z=_f64(fw.z),
        h=h,
        y_hat=y_hat,
        step_loss=_f64(fw.row_loss),
        sigma_prime=sigma_prime,
        gamma=gamma,
        accumulated=accumulated,
        grads=grads,
        truncation=truncation,
    )


def _f64(a: FloatArray) -> F64Array:
    """``a`` typed as the float64 array it is (no copy): the trace's model is float64."""
    return np.asarray(a, dtype=np.float64)
