"""The recurrent network of the seed, forward and backward (BPTT), batched over names.

    z(t)     = W_h h(t-1) + W_x x(t) + b1     (1.1)
    h(t)     = sigma(z(t))                     (1.2)
    theta(t) = U h(t) + b2                     (2.1)
    y_hat(t) = softmax(theta(t))               (3.1)
    J(t)     = -log y_hat(t)[y(t)]             (3.2)
    J        = sum_t J(t)                      (3.3)

Rows hold one (name, step) each (see ``batching``), so a vector of the seed is
a row here and ``W_h h`` becomes ``h @ W_h.T``. The only Python loops are over
time steps: once forward through Eq. 1.1-1.2, once backward through Eq. 6.2
(truncated BPTT carries a band of gammas through that same loop: ``truncation``).
Each step of them is one product and two element-wise calls (``Cell``: the
sigmoid runs as a tanh); everything else is a handful of calls over all rows.
The output layer works on theta laid out (V, N), a column per row, so that the
softmax reduces along long rows. ``loss_and_grads`` keeps its big arrays from
one call to the next (``arrays.Scratch``).

``RNN.forward`` is the one implementation of Eq. 1.1-3.2: training, the gamma
trace, the gradient checks and the Inspect report all call it. Sampling, which
feeds its own draws back in, runs the same per-step pieces (``Cell``) itself.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .activations import Activation, get_activation
from .arrays import FRESH, FloatArray, Scratch, thread_scratch
from .batching import Batch
from .cell import Cell, softmax
from .truncation import backprop_band, check_truncation

__all__ = ["PARAM_NAMES", "RNN", "Cell", "Forward", "softmax"]

PARAM_NAMES = ("W_h", "W_x", "b1", "U", "b2")


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
        W_h_norm: float | None = None,
    ) -> None:
        """Random weights drawn from ``seed``; biases zero.

        ``W_h_norm``, if given, scales the random W_h so that its spectral norm
        ||W_h||_2 (its largest singular value) is exactly that: below 1 with a
        sigmoid or tanh, the gammas of Eq. 6.2 shrink step by step; well above, they may grow.
        """
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
        W_h = rng.standard_normal((D_h, D_h)) * scale
        if W_h_norm is not None:
            if not (math.isfinite(W_h_norm) and W_h_norm > 0):
                raise ValueError(f"W_h_norm must be a finite number greater than 0 (got {W_h_norm})")
            W_h *= W_h_norm / np.linalg.norm(W_h, 2)  # ||W_h||_2, the largest singular value
        self.W_h: FloatArray = W_h.astype(self.dtype)
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
        copied C-ordered and scaled by c b, which speeds up the GEMM more than the copy
        costs; for one (a single name) the product is a GEMV, as fast on the transposed
        view, and c b scales its D_h results instead (the gradient checks run one name
        forward dozens of times, and the copy was 40% of each pass).
        """
        V, D_h, act = self.vocab_size, self.hidden_size, self._act
        a, b, c = act.a, act.b, act.c
        bias = self.b1 + a * (self.W_h @ np.ones(D_h, dtype=self.dtype)) if a != 0.0 else self.b1
        input_table = np.empty((V + 1, D_h), dtype=self.dtype)
        np.add(self.W_x.T, bias, out=input_table[:V])  # W_x x(t) + b1 + a W_h 1 for x(t) = e_c
        input_table[V] = self.b1  # the start marker x(1) = 0, at t = 1: h(0) = 0
        if c != 1.0:
            input_table *= c
        if rows == 1:
            return Cell(input_table, self.W_h.T, self.U, self.b2, act.f, a, b, c, W_scale=c * b)
        if c * b != 1.0:
            W_T = self.W_h.T.copy()  # C-ordered
            W_T *= c * b
        else:
            W_T = np.ascontiguousarray(self.W_h.T)
        return Cell(input_table, W_T, self.U, self.b2, act.f, a, b, c)

    def _batch(self, seqs: Sequence[Sequence[int]]) -> Batch:
        batch = Batch.from_sequences(seqs, start_id=self.start_id, end_id=self.end_id)
        # The targets hold every character of every name once: one check covers them all
        # (read as unsigned, a negative index is huge).
        if batch.y_idx.view(np.uintp).max() >= self.vocab_size:
            bad = next(s for s in seqs if len(s) and (min(s) < 0 or max(s) >= self.vocab_size))
            raise ValueError(f"character index out of range 0..{self.vocab_size - 1}: {list(bad)}")
        return batch

    def forward(self, seqs: Sequence[Sequence[int]], keep_z: bool = False) -> Forward:
        """Eq. 1.1-3.3 for every name at once; returns the cache for ``backward``.

        With ``keep_z`` the cache also holds z(t) (Eq. 1.1) of every row.
        """
        return self._forward(seqs, keep_z, FRESH)

    def _forward(self, seqs: Sequence[Sequence[int]], keep_z: bool, scratch: Scratch) -> Forward:
        batch = self._batch(seqs)
        cell = self.cell(rows=int(batch.n_active[0]))
        h, z = self._recurrence(cell, batch, keep_z, scratch)  # Eq. 1.1-1.2
        y_hat, row_loss = self._output(batch, h, scratch)  # Eq. 2.1-3.2
        loss = float(row_loss.sum())  # Eq. 3.3, summed over the batch too
        return Forward(batch=batch, h=h, y_hat=y_hat, loss=loss, row_loss=row_loss, z=z)

    def _recurrence(
        self, cell: Cell, batch: Batch, keep_z: bool, scratch: Scratch = FRESH
    ) -> tuple[FloatArray, FloatArray | None]:
        """h(t) of every row (Eq. 1.1-1.2), one step at a time: the forward pass's only loop.

        The loop carries s(t), and h(t) = a + b s(t) is taken for all rows after it (``Cell``).
        """
        s = scratch.empty("h", (batch.n_rows, self.hidden_size), self.dtype)  # (N, D_h)
        cell.inputs(batch.x_idx, out=s)  # the input term of each row, turned into s(t) below
        z = np.empty_like(s) if keep_z else None
        n, off = batch.n_active.tolist(), batch.offsets.tolist()
        cell.step(s[: n[0]], None, None if z is None else z[: n[0]])  # t = 1: h(0) = 0
        for t in range(1, len(n)):
            rows = slice(off[t], off[t + 1])
            prev = s[off[t - 1] : off[t - 1] + n[t]]  # s(t-1) of the names still running
            cell.step(s[rows], prev, None if z is None else z[rows])
        return cell.h(s), z

    def _output(self, batch: Batch, h: FloatArray, scratch: Scratch = FRESH) -> tuple[FloatArray, FloatArray]:
        """y_hat(t) (Eq. 2.1-3.1) and J(t) (Eq. 3.2) of every row.

        Computed with a column per row, (V, N): the softmax then reduces over V long
        rows instead of N short ones. ``y_hat`` is returned as its (N, V) view.
        """
        V, N = self.vocab_size, batch.n_rows
        Uh = np.dot(h, self.U.T, out=scratch.empty("Uh", (N, V), self.dtype))  # (N, V)
        theta_T = scratch.empty("theta", (V, N), self.dtype)
        np.add(Uh.T, self.b2[:, None], out=theta_T)  # (V, N): Eq. 2.1, U h(t) + b2
        theta_y = theta_T[batch.y_idx, np.arange(batch.n_rows)]  # theta(t)[y(t)]
        y_hat_T, log_norm = softmax(theta_T, out=theta_T, axis=0)  # Eq. 3.1
        # Eq. 3.2 in log space, J(t) = log sum_i e^theta_i - theta_y: a confident wrong
        # guess gives a large J(t), never log(0).
        row_loss = log_norm - theta_y
        return y_hat_T.T, row_loss

    def loss(self, seqs: Sequence[Sequence[int]]) -> float:
        """J summed over every step of every name (Eq. 3.3 summed over the batch)."""
        return self.forward(seqs).loss

    # ----------------------------------------------------------------- backward
    def backward(self, fw: Forward, truncation: int | None = None) -> dict[str, FloatArray]:
        """The exact gradient of J for the cached batch, by one backward pass (the second trick).

        With ``truncation`` K, the truncated gradient instead: every J(t) keeps only its
        terms dJ(t)/dW_h(k) (and W_x, b1) of t - K < k <= t (``truncation``); K >= T is
        full BPTT. Reuses ``fw.y_hat`` as scratch: it holds y_hat(t) - y(t) afterwards.
        """
        check_truncation(truncation)
        return self._backward(fw, FRESH, truncation)

    def _backward(
        self, fw: Forward, scratch: Scratch, truncation: int | None = None
    ) -> dict[str, FloatArray]:
        grads, dz = self._output_grads(fw, scratch)  # U, b2, and gamma_t(t) of every row
        if truncation is None or truncation >= fw.batch.t_max:
            self._backprop_through_time(fw.batch, fw.h, dz, scratch)  # Eq. 6.2: dz = dJ/dz(t) of every row
        else:
            self._backprop_truncated(fw.batch, fw.h, dz, truncation, scratch)  # dz = dz^K(t)
        grads.update(self._input_grads(fw.batch, fw.h, dz, scratch))  # W_h, W_x, b1
        return {name: grads[name] for name in PARAM_NAMES}

    def _output_grads(
        self, fw: Forward, scratch: Scratch = FRESH
    ) -> tuple[dict[str, FloatArray], FloatArray]:
        """dJ/dU, dJ/db2 and, for every row, gamma_t(t) = U^T (y_hat(t) - y(t)) (N, D_h)."""
        batch, h = fw.batch, fw.h
        dtheta_T = fw.y_hat.T  # (V, N), reused in place
        dtheta_T[batch.y_idx, np.arange(batch.n_rows)] -= 1.0  # dJ(t)/dtheta(t) = y_hat(t) - y(t)
        grads: dict[str, FloatArray] = {
            "U": dtheta_T @ h,  # (V, D_h): sum_t (y_hat(t) - y(t)) h(t)^T
            "b2": dtheta_T.sum(axis=1),  # (V,)
        }
        gamma = scratch.empty("dz", h.shape, self.dtype)  # (N, D_h)
        np.dot(dtheta_T.T, self.U, out=gamma)  # gamma_t(t) = U^T (y_hat(t) - y(t))
        return grads, gamma

    def _backprop_through_time(
        self, batch: Batch, h: FloatArray, dz: FloatArray, scratch: Scratch = FRESH
    ) -> None:
        """Turn dz from gamma_t(t) of each row into dJ/dz(t) in place: Eq. 6.2, the backward loop."""
        n, off = batch.n_active.tolist(), batch.offsets.tolist()
        sigma_prime = scratch.empty("sigma_prime", h.shape, self.dtype)  # (N, D_h)
        self._act.sigma_prime(h, out=sigma_prime)  # sigma'(z(t)), Eq. 5.1.1
        passed = np.empty((n[0], self.hidden_size), dtype=self.dtype)
        for t in range(len(n) - 1, -1, -1):
            rows = dz[off[t] : off[t + 1]]  # gamma(t) = sum_{t' >= t} gamma_t'(t) once filled
            rows *= sigma_prime[off[t] : off[t + 1]]  # gamma(t) o sigma'(z(t))
            if t > 0:
                # Eq. 6.2 with the accumulated gamma: pass W_h^T (gamma(t) o sigma'(z(t)))
                # back to h(t-1) of the same names, added to their own gamma_{t-1}(t-1).
                np.dot(rows, self.W_h, out=passed[: n[t]])  # np.dot: see Cell.step
                dz[off[t - 1] : off[t - 1] + n[t]] += passed[: n[t]]

    def _backprop_truncated(
        self, batch: Batch, h: FloatArray, dz: FloatArray, K: int, scratch: Scratch = FRESH
    ) -> None:
        """Turn dz from gamma_t(t) of each row into gamma^K(t) o sigma'(z(t)): Eq. 6.2 over a band of K."""
        sigma_prime = scratch.empty("sigma_prime", h.shape, self.dtype)  # (N, D_h)
        self._act.sigma_prime(h, out=sigma_prime)  # sigma'(z(t)), Eq. 5.1.1
        backprop_band(batch, sigma_prime, dz, self.W_h, K, scratch)

    def _input_grads(
        self, batch: Batch, h: FloatArray, dz: FloatArray, scratch: Scratch = FRESH
    ) -> dict[str, FloatArray]:
        """dJ/dW_h, dJ/dW_x and dJ/db1 from dz = dJ/dz(t) of every row (Eq. 4.1, 5.2 summed over k)."""
        B, N, V, D_h = int(batch.n_active[0]), batch.n_rows, self.vocab_size, self.hidden_size
        # dJ/dW_h = sum_k dz(k) h(k-1)^T; h(0) = 0, so the rows of t = 1 add nothing.
        h_prev = scratch.empty("h_prev", (N - B, D_h), self.dtype)  # (N - B, D_h): h(k-1), k >= 2
        np.take(h, batch.prev_idx, axis=0, out=h_prev, mode="clip")  # "clip": unbuffered
        dW_h = dz[B:].T @ h_prev  # (D_h, D_h)
        # dJ/dW_x = sum_t dz(t) x(t)^T: one product with the one-hot inputs (a scatter-add
        # of dz's rows by character, which NumPy has no faster way to do). The start
        # marker x(1) = 0 picks no column of W_x, so the rows of t = 1 add nothing here either.
        x = scratch.empty("x", (V, N - B), self.dtype)  # (V, N - B): x(k) in column k - 2
        x.fill(0.0)
        x[batch.x_idx[B:], np.arange(N - B)] = 1.0
        dW_x = np.ascontiguousarray((x @ dz[B:]).T)  # (D_h, V)
        ones = np.ones(N, dtype=self.dtype)
        return {"W_h": dW_h, "W_x": dW_x, "b1": ones @ dz}  # dJ/db1 = sum_t dz(t)

    def loss_and_grads(
        self, seqs: Sequence[Sequence[int]], truncation: int | None = None
    ) -> tuple[float, dict[str, FloatArray]]:
        """J summed over the batch (Eq. 3.3) and its exact gradient for every parameter.

        ``truncation`` K gives the truncated-BPTT gradient instead (module ``truncation``:
        each J(t) reaches back to k = t-K+1 only; K = 1 keeps the local terms, K >= T is
        the full gradient); the loss is the full J either way. The forward pass's cache
        never leaves this call, so its arrays are the thread's scratch, kept from one call
        to the next (``arrays.Scratch``); the gradients are new.
        """
        check_truncation(truncation)
        scratch = thread_scratch().claim()
        try:
            fw = self._forward(seqs, False, scratch)
            return fw.loss, self._backward(fw, scratch, truncation)
        finally:
            scratch.release()
