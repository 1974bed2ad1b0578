"""Every gamma_t(k) = dJ(t)/dh(k) of one name: the seed's two tricks made visible.

The training backward pass (``model.RNN.backward``) only ever holds the sum
over t of gamma_t(k) (the second trick). For teaching we also keep each
gamma_t(k) apart: starting from gamma_t(t) = U^T (y_hat(t) - y(t)) and applying
Eq. 6.2 step by step back to k = 1, for every t. That costs T times the work,
which is nothing for one name, and it is computed in float64 whatever the
model's dtype, so the numbers shown are exact to the last digit printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import RNN


@dataclass(frozen=True)
class GammaTrace:
    """The gradient flow of one name under fixed weights. Steps are 1-based in the seed, 0-based here."""

    ids: tuple[int, ...]  # the name's characters (no end token)
    inputs: np.ndarray  # (T,): x(t) as an index; the start marker x(1) is model.start_id
    targets: np.ndarray  # (T,): y(t); the last is the end token
    z: np.ndarray  # (T, D_h): z(t), Eq. 1.1
    h: np.ndarray  # (T + 1, D_h): h(t), Eq. 1.2, with h[0] = h(0) = 0
    y_hat: np.ndarray  # (T, V): Eq. 3.1
    step_loss: np.ndarray  # (T,): J(t), Eq. 3.2
    sigma_prime: np.ndarray  # (T, D_h): sigma'(z(k)), Eq. 5.1.1
    gamma: np.ndarray  # (T, T, D_h): gamma[t-1, k-1] = gamma_t(k); zero where k > t
    accumulated: np.ndarray  # (T, D_h): accumulated[k-1] = sum_t gamma_t(k) = dJ/dh(k)
    grads: dict[str, np.ndarray]  # dJ/d(each parameter) for this name, from the same pass

    @property
    def T(self) -> int:
        """The number of steps: the name's length plus one."""
        return len(self.targets)

    @property
    def loss(self) -> float:
        """J = sum_t J(t), Eq. 3.3."""
        return float(self.step_loss.sum())

    @property
    def dW_h(self) -> np.ndarray:
        """(T, D_h, D_h): dW_h[k-1] = dJ/dW_h(k) = (gamma(k) o sigma'(z(k))) h(k-1)^T, Eq. 5.2.

        Built on demand: it is T times the size of W_h, and most views need only its norms.
        """
        delta = self.accumulated * self.sigma_prime  # gamma(k) o sigma'(z(k))
        return delta[:, :, None] * self.h[:-1, None, :]

    @property
    def gamma_norms(self) -> np.ndarray:
        """(T, T): |gamma_t(k)|, row t - 1, column k - 1."""
        return np.linalg.norm(self.gamma, axis=2)

    @property
    def dW_h_norms(self) -> np.ndarray:
        """(T,): the Frobenius norm of dJ/dW_h(k) for each step k."""
        return np.linalg.norm(self.dW_h, axis=(1, 2))

    def decay(self) -> np.ndarray:
        """(T, T): |gamma_t(k)| / |gamma_t(t)| indexed [t - 1, t - k]; NaN where k < 1."""
        return decay_ratios(self.gamma_norms)


def decay_ratios(gamma_norms: np.ndarray) -> np.ndarray:
    """(T, T) |gamma_t(k)| / |gamma_t(t)| at [t-1, d] with d = t - k; NaN where k < 1 or gamma_t(t) = 0."""
    T = gamma_norms.shape[0]
    t = np.arange(T)[:, None]
    d = np.arange(T)[None, :]
    own = np.diagonal(gamma_norms)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = gamma_norms[t, np.maximum(t - d, 0)] / np.where(own > 0, own, np.nan)
    return np.where(d <= t, ratios, np.nan)


def trace_gammas(model: RNN, ids: Sequence[int]) -> GammaTrace:
    """Forward one name, then every gamma_t(k) by Eq. 6.2, in float64."""
    m = model if model.dtype == np.float64 else model.astype(np.float64)
    W_h, W_x, b1, U, b2 = m.W_h, m.W_x, m.b1, m.U, m.b2
    ids = tuple(int(i) for i in ids)
    if any(i < 0 or i >= m.vocab_size for i in ids):
        raise ValueError(f"character index out of range 0..{m.vocab_size - 1}: {ids}")
    T, D_h = len(ids) + 1, m.hidden_size
    inputs = np.array((m.start_id, *ids), dtype=np.intp)
    targets = np.array((*ids, m.end_id), dtype=np.intp)

    z = np.zeros((T, D_h))
    h = np.zeros((T + 1, D_h))
    for t in range(1, T + 1):
        x_term = b1 if t == 1 else W_x[:, inputs[t - 1]] + b1  # x(1) = 0 is the start
        z[t - 1] = W_h @ h[t - 1] + x_term  # Eq. 1.1
        m.act.sigma(z[t - 1], out=h[t])  # Eq. 1.2
    theta = h[1:] @ U.T + b2  # Eq. 2.1, (T, V)
    theta -= theta.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(theta).sum(axis=1))
    y_hat = np.exp(theta - log_total[:, None])  # Eq. 3.1
    # Eq. 3.2 in log space: J(t) = log sum_i e^theta_i - theta_y stays exact (as in
    # RNN.forward) even where y_hat(t)[y(t)] underflows to 0 and -log would say inf.
    step_loss = log_total - theta[np.arange(T), targets]
    sigma_prime = m.act.sigma_prime(h[1:], out=np.empty((T, D_h)))

    gamma = np.zeros((T, T, D_h))
    dtheta = y_hat.copy()
    dtheta[np.arange(T), targets] -= 1.0
    gamma[np.arange(T), np.arange(T)] = dtheta @ U  # gamma_t(t) = U^T (y_hat(t) - y(t))
    for k in range(T, 1, -1):
        # Eq. 6.2 for every t >= k at once: gamma_t(k-1) = W_h^T (gamma_t(k) o sigma'(z(k)))
        gamma[k - 1 :, k - 2] = (gamma[k - 1 :, k - 1] * sigma_prime[k - 1]) @ W_h
    accumulated = gamma.sum(axis=0)  # the second trick: dJ/dh(k) = sum_t gamma_t(k)
    delta = accumulated * sigma_prime  # gamma(k) o sigma'(z(k)) = dJ/dz(k)
    dW_x = np.zeros_like(W_x)
    np.add.at(dW_x.T, inputs[1:], delta[1:])  # x(1) = 0 contributes nothing
    grads = {
        "W_h": delta.T @ h[:-1],  # Eq. 5.2 summed over k: sum_k (gamma(k) o sigma'(z(k))) h(k-1)^T
        "W_x": dW_x,
        "b1": delta.sum(axis=0),
        "U": dtheta.T @ h[1:],
        "b2": dtheta.sum(axis=0),
    }
    return GammaTrace(
        ids=ids,
        inputs=inputs,
        targets=targets,
        z=z,
        h=h,
        y_hat=y_hat,
        step_loss=step_loss,
        sigma_prime=sigma_prime,
        gamma=gamma,
        accumulated=accumulated,
        grads=grads,
    )
