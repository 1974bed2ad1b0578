"""The per-step pieces of the seed's RNN: the softmax (Eq. 3.1) and the unit (Eq. 1.1-1.2, 2.1).

`RNN.forward` steps through time with a `Cell`, and so does sampling, which
feeds its own draws back in; both read y_hat through the one `softmax`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import ArrayMap
from .arrays import FloatArray, IndexArray


def softmax(theta: FloatArray, out: FloatArray | None = None, axis: int = 1) -> tuple[FloatArray, FloatArray]:
    """Eq. 3.1 for every row: y_hat = e^theta / sum_i e^theta_i, and log sum_i e^theta_i.

    The rows are shifted by their maximum first (softmax is shift-invariant), so
    nothing overflows. ``out`` may be ``theta`` itself. The second result lets a
    caller take log y_hat[c] = theta[c] - log_norm without ever taking log(0).
    ``axis=0`` takes a softmax of every column instead (theta laid out (V, N)).
    """
    top = theta.max(axis=axis, keepdims=True)
    y_hat = np.subtract(theta, top, out=out)
    np.exp(y_hat, out=y_hat)
    total = y_hat.sum(axis=axis, keepdims=True)
    y_hat /= total
    log_norm: FloatArray = np.log(total)
    log_norm += top
    return y_hat, log_norm.reshape(-1)


@dataclass(frozen=True)
class Cell:
    """One unit step of the seed (Eq. 1.1-2.1) with the weights laid out for row products.

    sigma is run in its activation's form sigma(z) = a + b f(c z) (``activations``),
    and what is carried from step to step is s(t) = f(c z(t)), so h(t) = a + b s(t).
    Put h(t-1) = a + b s(t-1) into Eq. 1.1:

        c z(t) = (c b W_h) s(t-1) + c (W_x x(t) + b1 + a W_h 1),    c z(1) = c b1 (h(0) = 0)

    so a step is one product, one add and one call of f: for the sigmoid one tanh,
    no exp and no division. For tanh and relu, s(t) = h(t) and the weights are the model's.
    """

    input_table: FloatArray  # (V + 1, D_h): row c is c (W_x[:, c] + b1 + a W_h 1); row V, x(1) = 0, is c b1
    W_T: FloatArray  # (D_h, D_h): (c b W_h)^T / W_scale (C-ordered for a GEMM over many rows)
    U: FloatArray  # (V, D_h)
    b2: FloatArray  # (V,)
    f: ArrayMap  # the core of sigma: tanh for sigmoid and tanh, max(., 0) for relu
    a: float
    b: float
    c: float
    W_scale: float = 1.0  # what the product with W_T is scaled by: c b when W_T is W_h^T itself

    def inputs(self, x_idx: IndexArray, out: FloatArray | None = None) -> FloatArray:
        """c (W_x x(t) + b1 + a W_h 1) per row (Eq. 1.1's input term): a one-hot x(t) picks a column of W_x.

        The index V is the start marker x(1) = 0, which picks nothing, at t = 1, where
        h(0) = 0: the row is c b1. Returns a new array (or ``out``), turned into s(t)
        in place by ``step``.
        """
        if out is None:
            return self.input_table[x_idx]
        return np.take(self.input_table, x_idx, axis=0, out=out, mode="clip")  # "clip": unbuffered

    def step(
        self, u: FloatArray, s_prev: FloatArray | None = None, keep_z: FloatArray | None = None
    ) -> FloatArray:
        """Turn ``u`` (from ``inputs``) into s(t) in place; returns it.

        ``s_prev`` is s(t-1) of the same rows, None for h(0) = 0; ``keep_z``, if
        given, receives z(t) before sigma is applied.
        """
        if s_prev is not None:
            # Eq. 1.1, times c: c z(t) = (c b W_h) s(t-1) + (the input term). np.dot is the
            # same GEMM as @ with half its cost per call, which counts once per time step.
            product = np.dot(s_prev, self.W_T)
            if self.W_scale != 1.0:
                product *= self.W_scale
            u += product
        if keep_z is not None:
            np.divide(u, self.c, out=keep_z)  # z(t); c is 1 or 1/2, so this is exact
        return self.f(u, out=u)  # Eq. 1.2: s(t) = f(c z(t)), h(t) = sigma(z(t)) = a + b s(t)

    def h(self, s: FloatArray) -> FloatArray:
        """h(t) = a + b s(t) (Eq. 1.2), in place."""
        if self.b != 1.0:
            s *= self.b
        if self.a != 0.0:
            s += self.a
        return s

    def theta(self, s: FloatArray) -> FloatArray:
        """Eq. 2.1 for every row of s(t): theta(t) = U h(t) + b2 (``s`` is left as it was)."""
        h = self.h(s.copy()) if (self.a, self.b) != (0.0, 1.0) else s
        theta: FloatArray = h @ self.U.T
        theta += self.b2
        return theta
