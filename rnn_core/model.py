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

``RNN.forward`` is the one implementation of Eq. 1.1-3.2: training, the gamma
trace, the gradient checks and the Inspect report all call it. Sampling, which
feeds its own draws back in, runs the same per-step pieces (``Cell``) itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .activations import Activation, ArrayMap, get_activation
from .arrays import FloatArray, IndexArray
from .batching import Batch

PARAM_NAMES = ("W_h", "W_x", "b1", "U", "b2")


def softmax(theta: FloatArray, out: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
    """Eq. 3.1 for every row: y_hat = e^theta / sum_i e^theta_i, and log sum_i e^theta_i.

    The rows are shifted by their maximum first (softmax is shift-invariant), so
    nothing overflows. ``out`` may be ``theta`` itself. The second result lets a
    caller take log y_hat[c] = theta[c] - log_norm without ever taking log(0).
    """
    top = theta.max(axis=1, keepdims=True)
    y_hat = np.subtract(theta, top, out=out)
    np.exp(y_hat, out=y_hat)
    total = y_hat.sum(axis=1)
    y_hat /= total[:, None]
    log_norm: FloatArray = np.log(total)
    log_norm += top[:, 0]
    return y_hat, log_norm


@dataclass(frozen=True)
class Cell:
    """One unit step of the seed (Eq. 1.1-2.1) with the weights laid out for row products."""

    input_table: FloatArray  # (V + 1, D_h): row c is W_x[:, c] + b1; row V, the start marker, is b1
    W_h_T: FloatArray  # (D_h, D_h): W_h transposed (C-ordered for a GEMM over many rows)
    U: FloatArray  # (V, D_h)
    b2: FloatArray  # (V,)
    sigma: ArrayMap

    def inputs(self, x_idx: IndexArray) -> FloatArray:
        """W_x x(t) + b1 per row (Eq. 1.1's input term): a one-hot x(t) picks a column of W_x.

        The index V is the start marker x(1) = 0, which picks nothing: the row is b1.
        Returns a new array, ready to be turned into h(t) in place by ``step``.
        """
        return self.input_table[x_idx]

    def step(
        self, z: FloatArray, h_prev: FloatArray | None = None, keep_z: FloatArray | None = None
    ) -> FloatArray:
        """Turn ``z`` (holding W_x x(t) + b1) into h(t) in place; returns it.

        ``h_prev`` is h(t-1) of the same rows, None for h(0) = 0; ``keep_z``, if
        given, receives z(t) before sigma is applied.
        """
        if h_prev is not None:
            z += h_prev @ self.W_h_T  # Eq. 1.1: z(t) = W_h h(t-1) + (W_x x(t) + b1)
        if keep_z is not None:
            keep_z[...] = z
        return self.sigma(z, out=z)  # Eq. 1.2: h(t) = sigma(z(t))

    def theta(self, h: FloatArray) -> FloatArray:
        """Eq. 2.1 for every row: theta(t) = U h(t) + b2."""
        theta: FloatArray = h @ self.U.T
        theta += self.b2
        return theta


@dataclass
class Forward:
    """What one forward pass computed for a batch (and what ``backward`` needs)."""

    batch: Batch
    h: FloatArray  # (N, D_h): h(t) of every row
    y_hat: FloatArray  # (N, V): Eq. 3.1 of every row
    loss: float  # J summed over all rows, Eq. 3.3
    row_loss: FloatArray  # (N,): J(t) of every row, Eq. 3.2
    z: FloatArray | None = None  # (N, D_h): z(t) of every row, kept only if asked for


class RNN:
    """The seed's RNN: parameters W_h, W_x, b1, U, b2, and exact gradients by BPTT."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        activation: str = "sigmoid",
        seed: int | None = 0,
        dtype: npt.DTypeLike = "float64",
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
        self.W_h: FloatArray = (rng.standard_normal((D_h, D_h)) * scale).astype(self.dtype)
        self.W_x: FloatArray = (rng.standard_normal((D_h, V)) * 0.1).astype(self.dtype)
        self.b1: FloatArray = np.zeros(D_h, dtype=self.dtype)
        self.U: FloatArray = (rng.standard_normal((V, D_h)) * scale).astype(self.dtype)
        self.b2: FloatArray = np.zeros(V, dtype=self.dtype)

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
        """The index of the end-of-name token (always 0: it sorts first in every Vocab)."""
        return 0

    @property
    def start_id(self) -> int:
        """The input index of the start marker x(1) = 0: one past the vocabulary."""
        return self.vocab_size

    @property
    def params(self) -> dict[str, FloatArray]:
        """The live parameter arrays, keyed like the gradients."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def set_params(self, params: Mapping[str, npt.ArrayLike]) -> None:
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

    def astype(self, dtype: npt.DTypeLike) -> RNN:
        """A copy whose parameters are of ``dtype`` (always a copy, even for the same dtype)."""
        other = self.copy()
        other.dtype = np.dtype(dtype)
        for name in PARAM_NAMES:
            setattr(other, name, getattr(self, name).astype(other.dtype))
        return other

    def in_float64(self) -> RNN:
        """This model if it is float64 already, else a float64 copy: for exact, read-only views."""
        return self if self.dtype == np.float64 else self.astype(np.float64)

    def with_activation(self, activation: str) -> RNN:
        """A twin with the same weights (and dtype) under another sigma (Eq. 1.2)."""
        twin = self.copy()
        twin._act = get_activation(activation)
        return twin

    @staticmethod
    def count_steps(seqs: Sequence[Sequence[int]]) -> int:
        """sum of T = len + 1 over the names: the characters predicted, end tokens included."""
        return sum(len(s) + 1 for s in seqs)

    # ------------------------------------------------------------------ forward
    def cell(self, rows: int = 2) -> Cell:
        """The per-step pieces of the forward pass under the current weights (see ``Cell``).

        ``rows`` is how many rows a step will multiply at most: for several, W_h^T is
        copied C-ordered, which speeds up the GEMM more than the copy costs; for one
        (a single name) the product is a GEMV, as fast on the transposed view.
        """
        V, D_h = self.vocab_size, self.hidden_size
        input_table = np.empty((V + 1, D_h), dtype=self.dtype)
        np.add(self.W_x.T, self.b1, out=input_table[:V])  # W_x x(t) + b1 for x(t) = e_c
        input_table[V] = self.b1  # the start marker x(1) = 0
        W_h_T = np.ascontiguousarray(self.W_h.T) if rows > 1 else self.W_h.T
        return Cell(input_table, W_h_T, self.U, self.b2, self._act.sigma)

    def _batch(self, seqs: Sequence[Sequence[int]]) -> Batch:
        batch = Batch.from_sequences(seqs, start_id=self.start_id, end_id=self.end_id)
        # The targets hold every character of every name once: one check covers them all.
        if batch.y_idx.min() < 0 or batch.y_idx.max() >= self.vocab_size:
            bad = next(s for s in seqs if len(s) and (min(s) < 0 or max(s) >= self.vocab_size))
            raise ValueError(f"character index out of range 0..{self.vocab_size - 1}: {list(bad)}")
        return batch

    def forward(self, seqs: Sequence[Sequence[int]], keep_z: bool = False) -> Forward:
        """Eq. 1.1-3.3 for every name at once; returns the cache for ``backward``.

        With ``keep_z`` the cache also holds z(t) (Eq. 1.1) of every row.
        """
        batch = self._batch(seqs)
        cell = self.cell(rows=int(batch.n_active[0]))
        h = cell.inputs(batch.x_idx)  # (N, D_h): W_x x(t) + b1, turned into h(t) step by step
        z = np.empty_like(h) if keep_z else None
        n, off = batch.n_active, batch.offsets
        # e^-z may overflow to inf for a very negative z; 1 / (1 + inf) = 0 is then exact.
        with np.errstate(over="ignore"):
            # t = 1: h(0) = 0 leaves z(1) = W_x x(1) + b1
            cell.step(h[: n[0]], None, None if z is None else z[: n[0]])
            for t in range(1, batch.t_max):
                rows = slice(off[t], off[t + 1])
                prev = h[off[t - 1] : off[t - 1] + n[t]]  # h(t-1) of the names still running
                cell.step(h[rows], prev, None if z is None else z[rows])
        theta = cell.theta(h)  # (N, V), Eq. 2.1
        theta_y = theta[np.arange(batch.n_rows), batch.y_idx]  # theta(t)[y(t)]
        y_hat, log_norm = softmax(theta, out=theta)  # Eq. 3.1
        # Eq. 3.2 in log space, J(t) = log sum_i e^theta_i - theta_y: a confident wrong
        # guess gives a large J(t), never log(0).
        row_loss = log_norm - theta_y
        loss = float(row_loss.sum())  # Eq. 3.3, summed over the batch too
        return Forward(batch=batch, h=h, y_hat=y_hat, loss=loss, row_loss=row_loss, z=z)

    def loss(self, seqs: Sequence[Sequence[int]]) -> float:
        """J summed over every step of every name (Eq. 3.3 summed over the batch)."""
        return self.forward(seqs).loss

    # ----------------------------------------------------------------- backward
    def backward(self, fw: Forward) -> dict[str, FloatArray]:
        """The exact gradient of J for the cached batch, by one backward pass (the second trick).

        Reuses ``fw.y_hat`` as scratch: it holds y_hat(t) - y(t) afterwards.
        """
        batch, h, V = fw.batch, fw.h, self.vocab_size
        n, off = batch.n_active, batch.offsets
        dtheta = fw.y_hat  # reused in place: (N, V)
        dtheta[np.arange(batch.n_rows), batch.y_idx] -= 1.0  # dJ(t)/dtheta(t) = y_hat(t) - y(t)
        ones = np.ones(batch.n_rows, dtype=self.dtype)
        grads: dict[str, FloatArray] = {
            "U": dtheta.T @ h,  # (V, D_h): sum_t (y_hat(t) - y(t)) h(t)^T
            "b2": ones @ dtheta,  # (V,)
        }
        # gamma_t(t) = U^T (y_hat(t) - y(t)) for every row at once; becomes dz below.
        dz: FloatArray = dtheta @ self.U  # (N, D_h)
        sigma_prime = self._act.sigma_prime(h, out=np.empty_like(h))  # sigma'(z(t)), Eq. 5.1.1
        for t in range(batch.t_max - 1, -1, -1):
            rows = dz[off[t] : off[t + 1]]  # gamma(t) = sum_{t' >= t} gamma_t'(t) once filled
            rows *= sigma_prime[off[t] : off[t + 1]]  # gamma(t) o sigma'(z(t))
            if t > 0:
                # Eq. 6.2 with the accumulated gamma: pass W_h^T (gamma(t) o sigma'(z(t)))
                # back to h(t-1) of the same names, added to their own gamma_{t-1}(t-1).
                dz[off[t - 1] : off[t - 1] + n[t]] += rows @ self.W_h
        # Eq. 4.1 with Eq. 5.2 summed over k: dJ/dW_h = sum_k (gamma(k) o sigma'(z(k))) h(k-1)^T, h(0) = 0.
        later = dz[n[0] :]
        grads["W_h"] = later.T @ h[batch.prev_idx]
        # dz/dW_x x(t): the columns picked by the one-hot inputs; the start marker picks none.
        onehot = np.zeros((batch.n_rows, V + 1), dtype=self.dtype)
        onehot[np.arange(batch.n_rows), batch.x_idx] = 1.0
        grads["W_x"] = (dz.T @ onehot)[:, :V]
        grads["b1"] = ones @ dz
        return {name: grads[name] for name in PARAM_NAMES}

    def loss_and_grads(self, seqs: Sequence[Sequence[int]]) -> tuple[float, dict[str, FloatArray]]:
        """J summed over the batch (Eq. 3.3) and its exact gradient for every parameter."""
        fw = self.forward(seqs)
        return fw.loss, self.backward(fw)
