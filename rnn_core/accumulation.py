"""The seed's accumulation table (the second trick), read off a gamma trace.

One row per step k, from T down to 1: what step k computes (gamma_k(k)), what
it receives from k+1 (sum_{t>k} gamma_t(k)), what it passes to k-1
(W_h^T (gamma(k) o sigma'(z(k))), Eq. 6.2) and what it adds to the gradient
(dJ/dW_h(k), Eq. 5.2), with the gradient accumulated so far (Eq. 4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import F64Array, FloatArray
from .trace import GammaTrace


@dataclass(frozen=True)
class TableRow:
    """The seed's accumulation table at step k: one backward step of the second trick."""

    k: int
    computes: float  # |gamma_k(k)| = |U^T (y_hat(k) - y(k))|
    receives: float  # |sum_{t>k} gamma_t(k)|: what step k+1 passed back
    accumulated: float  # |gamma(k)| = |dJ/dh(k)|: the two summed
    sigma_prime_mean: float  # the mean of sigma'(z(k)) over the units (Eq. 5.1.1)
    passes: float  # |W_h^T (gamma(k) o sigma'(z(k)))| = |sum_{t>=k} gamma_t(k-1)|, Eq. 6.2
    adds: float  # |dJ/dW_h(k)| = |(gamma(k) o sigma'(z(k))) h(k-1)^T|, Eq. 5.2
    running: float  # |sum_{j>=k} dJ/dW_h(j)|: the gradient accumulated so far


def accumulation_table(tr: GammaTrace, W_h: FloatArray) -> tuple[tuple[TableRow, ...], F64Array, float]:
    """The seed's table (rows k = T..1), |dJ/dW_h(k)| per k and |dJ/dW_h|.

    With delta(k) = gamma(k) o sigma'(z(k)), Eq. 5.2 is the outer product
    delta(k) h(k-1)^T, so its Frobenius norm is |delta(k)| |h(k-1)|, and the
    norm of a partial sum over j >= k is read off the Gram matrices
    (delta delta^T) o (h h^T) without forming any D_h x D_h matrix.
    """
    T = tr.T
    delta = tr.accumulated * tr.sigma_prime  # (T, D_h): dJ/dz(k)
    h_prev = tr.h[:-1]  # (T, D_h): h(k-1), with h(0) = 0
    dW_h_norms = np.linalg.norm(delta, axis=1) * np.linalg.norm(h_prev, axis=1)  # Eq. 5.2
    gram = (delta @ delta.T) * (h_prev @ h_prev.T)  # (T, T)
    # running[k-1] = |sum_{j>=k} dJ/dW_h(j)|^2 = the sum of gram over rows and columns >= k
    tail = np.cumsum(np.cumsum(gram[::-1, ::-1], axis=0), axis=1)[::-1, ::-1]
    running = np.sqrt(np.maximum(np.diagonal(tail), 0.0))
    passes = np.linalg.norm(delta @ W_h, axis=1)  # Eq. 6.2 with the accumulated gamma(k)
    own = tr.gamma[np.arange(T), np.arange(T)]  # gamma_k(k)
    received = tr.accumulated - own  # sum_{t>k} gamma_t(k)
    own_norms = np.linalg.norm(own, axis=1)
    rows = tuple(
        TableRow(
            k=k,
            computes=float(own_norms[k - 1]),
            receives=float(np.linalg.norm(received[k - 1])),
            accumulated=float(np.linalg.norm(tr.accumulated[k - 1])),
            sigma_prime_mean=float(tr.sigma_prime[k - 1].mean()),
            passes=float(passes[k - 1]),
            adds=float(dW_h_norms[k - 1]),
            running=float(running[k - 1]),
        )
        for k in range(T, 0, -1)
    )
    return rows, dW_h_norms, float(running[0])
