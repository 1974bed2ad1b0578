"""The recurrent network of the seed, forward and backward (BPTT), batched over names.

    z(t)     = W_h h(t-1) + W_x x(t) + b1     (1.1)
    h(t)     = sigma(z(t))                     (1.2)
    theta(t) = U h(t) + b2                     (2.1)
    y_hat(t) = softmax(theta(t))               (3.1)
    J(t)     = -log y_hat(t)[y(t)]             (3.2)
    J        = sum_t J(t)                      (3.3)

Rows hold one (name, step) each (see ``batching``), so a vector of the seed is
a row here and ``W_h h`` becomes ``h @ W_h.T``. The only Python loops are over
time steps: once forward through Eq. 1.1-1.2, once backward through Eq. 6.2.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .activations import Activation, get_activation
from .batching import Batch

PARAM_NAMES = ("W_h", "W_x", "b1", "U", "b2")


@dataclass
class Forward:
    """What the backward pass needs from the forward pass of one batch."""

    batch: Batch
    h: np.ndarray  # (N, D_h): h(t) of every row
    y_hat: np.ndarray  # (N, V): softmax output of every row
    loss: float  # J summed over all rows


class RNN:
    """The seed's RNN: parameters W_h, W_x, b1, U, b2, and exact gradients by BPTT."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        activation: str = "sigmoid",
        seed: int | None = 0,
        dtype: str | np.dtype = "float64",
    ) -> None:
        if int(vocab_size) < 2:
            raise ValueError(f"vocab_size must be at least 2 (got {vocab_size})")
        if int(hidden_size) < 1:
            raise ValueError(f"hidden_size must be at least 1 (got {hidden_size})")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating type such as float32 (got {self.dtype})")
        self.vocab_size = V = int(vocab_size)
        self.hidden_size = D_h = int(hidden_size)
        self._act: Activation = get_activation(activation)
        rng = np.random.default_rng(seed)
        # Scaled so that W_h h and U h start with unit-order variance whatever D_h is.
        scale = 1.0 / np.sqrt(D_h)
        self.W_h = (rng.standard_normal((D_h, D_h)) * scale).astype(self.dtype)
        self.W_x = (rng.standard_normal((D_h, V)) * 0.1).astype(self.dtype)
        self.b1 = np.zeros(D_h, dtype=self.dtype)
        self.U = (rng.standard_normal((V, D_h)) * scale).astype(self.dtype)
        self.b2 = np.zeros(V, dtype=self.dtype)

    # ----------------------------------------------------------------- parameters
    @property
    def activation(self) -> str:
        """The name of sigma: "sigmoid", "tanh" or "relu"."""
        return self._act.name

    @property
    def act(self) -> Activation:
        """sigma and sigma' (Eq. 1.2, 5.1.1)."""
        return self._act

    @property
    def end_id(self) -> int:
        """The index of the end-of-name token (DESIGN: always 0)."""
        return 0

    @property
    def start_id(self) -> int:
        """The input index of the start marker x(1) = 0: one past the vocabulary."""
        return self.vocab_size

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The live parameter arrays, keyed like the gradients."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy ``params`` into the model's arrays, checking every shape first."""
        for name in PARAM_NAMES:
            if name not in params:
                raise ValueError(f"missing parameter {name!r}")
            want = getattr(self, name).shape
            if np.shape(params[name]) != want:
                raise ValueError(f"{name} has shape {np.shape(params[name])}, expected {want}")
        for name in PARAM_NAMES:
            getattr(self, name)[...] = params[name]

    def copy(self) -> RNN:
        """A deep copy: a snapshot that later training does not touch."""
        return copy.deepcopy(self)

    def astype(self, dtype: str | np.dtype) -> RNN:
        """A copy whose parameters are of ``dtype`` (float64 for checks)."""
        other = self.copy()
        other.dtype = np.dtype(dtype)
        for name in PARAM_NAMES:
            setattr(other, name, getattr(self, name).astype(other.dtype))
        return other

    @staticmethod
    def count_steps(seqs: Sequence[Sequence[int]]) -> int:
        """sum of T = len + 1 over the names: the characters predicted, end tokens included."""
        return sum(len(s) + 1 for s in seqs)

    # ------------------------------------------------------------------ forward
    def _batch(self, seqs: Sequence[Sequence[int]]) -> Batch:
        batch = Batch.from_sequences(seqs, start_id=self.start_id, end_id=self.end_id)
        # The targets hold every character of every name once: one check covers them all.
        if batch.y_idx.min() < 0 or batch.y_idx.max() >= self.vocab_size:
            bad = next(s for s in seqs if len(s) and (min(s) < 0 or max(s) >= self.vocab_size))
            raise ValueError(f"character index out of range 0..{self.vocab_size - 1}: {list(bad)}")
        return batch

    def forward(self, seqs: Sequence[Sequence[int]]) -> Forward:
        """Eq. 1.1-3.3 for every name at once; returns the cache for ``backward``."""
        batch = self._batch(seqs)
        D_h, V = self.hidden_size, self.vocab_size
        # W_x x(t) + b1 for a one-hot x(t) is a column of W_x plus b1: gather it as a
        # row of this table; the extra last row is the start marker x(1) = 0.
        input_table = np.empty((V + 1, D_h), dtype=self.dtype)
        np.add(self.W_x.T, self.b1, out=input_table[:V])
        input_table[V] = self.b1
        h = input_table[batch.x_idx]  # (N, D_h): holds z(t) until sigma turns it into h(t)
        W_h_T = np.ascontiguousarray(self.W_h.T)  # (D_h, D_h), truly C-ordered for the GEMM
        sigma = self._act.sigma
        n, off = batch.n_active, batch.offsets
        # e^-z may overflow to inf for a very negative z; 1 / (1 + inf) = 0 is then exact.
        with np.errstate(over="ignore"):
            rows = h[: n[0]]
            sigma(rows, out=rows)  # Eq. 1.2 at t = 1, where h(0) = 0 leaves z(1) = W_x x(1) + b1
            for t in range(1, batch.t_max):
                prev = h[off[t - 1] : off[t - 1] + n[t]]  # h(t-1) of the names still running
                rows = h[off[t] : off[t + 1]]
                rows += prev @ W_h_T  # Eq. 1.1: z(t) = W_h h(t-1) + (W_x x(t) + b1)
                sigma(rows, out=rows)  # Eq. 1.2: h(t) = sigma(z(t))
        y_hat, loss = self._output(h, batch.y_idx)
        return Forward(batch=batch, h=h, y_hat=y_hat, loss=loss)

    def _output(self, h: np.ndarray, y_idx: np.ndarray) -> tuple[np.ndarray, float]:
        """Eq. 2.1-3.2 over all rows at once: y_hat (N, V) and J summed over rows."""
        theta = h @ self.U.T  # (N, V) Eq. 2.1: theta(t) = U h(t) + b2
        theta += self.b2
        theta -= theta.max(axis=1, keepdims=True)  # softmax is shift-invariant; avoids overflow
        picked = theta[np.arange(len(y_idx)), y_idx]  # theta(t)[y(t)], shifted
        np.exp(theta, out=theta)
        total = theta.sum(axis=1)
        # Eq. 3.2-3.3: J = sum_t -log y_hat(t)[y(t)] = sum_t (log sum_i e^theta_i - theta_y),
        # taken in log space so a confident wrong guess gives a large J, never log(0).
        loss = float(np.log(total).sum() - picked.sum())
        theta /= total[:, None]  # Eq. 3.1: y_hat(t) = softmax(theta(t))
        return theta, loss

    def loss(self, seqs: Sequence[Sequence[int]]) -> float:
        """J summed over every step of every name (Eq. 3.3 summed over the batch)."""
        return self.forward(seqs).loss

    def forward_steps(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """One name: h of shape (T + 1, D_h) with h[0] = h(0) = 0, and y_hat of shape (T, V)."""
        fw = self.forward([ids])
        h = np.zeros((fw.batch.n_rows + 1, self.hidden_size), dtype=self.dtype)
        h[1:] = fw.h
        return h, fw.y_hat

    # ----------------------------------------------------------------- backward
    def backward(self, fw: Forward) -> dict[str, np.ndarray]:
        """The exact gradient of J for the cached batch, by one backward pass (the second trick)."""
        batch, h, V = fw.batch, fw.h, self.vocab_size
        n, off = batch.n_active, batch.offsets
        dtheta = fw.y_hat  # reused in place: (N, V)
        dtheta[np.arange(batch.n_rows), batch.y_idx] -= 1.0  # dJ(t)/dtheta(t) = y_hat(t) - y(t)
        ones = np.ones(batch.n_rows, dtype=self.dtype)
        grads = {
            "U": dtheta.T @ h,  # (V, D_h): sum_t (y_hat(t) - y(t)) h(t)^T
            "b2": ones @ dtheta,  # (V,)
        }
        # gamma_t(t) = U^T (y_hat(t) - y(t)) for every row at once; becomes dz below.
        dz = dtheta @ self.U  # (N, D_h)
        sigma_prime = self._act.sigma_prime(h, out=np.empty_like(h))  # sigma'(z(t)), (N, D_h)
        for t in range(batch.t_max - 1, -1, -1):
            rows = dz[off[t] : off[t + 1]]  # gamma(t) = sum_{t' >= t} gamma_t'(t) once filled
            rows *= sigma_prime[off[t] : off[t + 1]]  # gamma(t) o sigma'(z(t))
            if t > 0:
                # Eq. 6.2 with the accumulated gamma: pass W_h^T (gamma(t) o sigma'(z(t)))
                # back to h(t-1) of the same names, added to their own gamma_{t-1}(t-1).
                dz[off[t - 1] : off[t - 1] + n[t]] += rows @ self.W_h
        # Eq. 5.2 summed over k: dJ/dW_h = sum_k (gamma(k) o sigma'(z(k))) h(k-1)^T, h(0) = 0.
        later = dz[n[0] :]
        grads["W_h"] = later.T @ h[batch.prev_idx]
        # dz/dW_x x(t): the columns picked by the one-hot inputs; the start marker picks none.
        onehot = np.zeros((batch.n_rows, V + 1), dtype=self.dtype)
        onehot[np.arange(batch.n_rows), batch.x_idx] = 1.0
        grads["W_x"] = (dz.T @ onehot)[:, :V]
        grads["b1"] = ones @ dz
        return {name: grads[name] for name in PARAM_NAMES}

    def loss_and_grads(self, seqs: Sequence[Sequence[int]]) -> tuple[float, dict[str, np.ndarray]]:
        """J summed over the batch (Eq. 3.3) and its exact gradient for every parameter."""
        fw = self.forward(seqs)
        return fw.loss, self.backward(fw)
