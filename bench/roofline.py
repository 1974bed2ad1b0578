"""The matmul roofline: only the model's matrix products, at their true shapes.

The FLOPs of one forward + backward pass (`model_flops`), a contender that runs
just those products for a batch (`gemm_only_contender`, timed interleaved with
the others so the same noise hits it), and the best rate of each hot GEMM shape
alone (`gemm_shape_rates`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
from common import Contender, Seqs

from rnn_core import RNN


def model_flops(seqs: Seqs, V: int, D_h: int) -> int:
    """Matrix-product FLOPs of one forward + backward pass over a batch (2 per multiply-add).

    Per character (row): forward U h (2 V D_h); backward dJ/dU (2 V D_h) and
    U^T dtheta (2 V D_h). Per row with a previous step (t >= 2; h(0) = 0 needs
    none): forward W_h h(t-1), backward W_h^T dz and dJ/dW_h, 2 D_h^2 each.
    So 6 V D_h N + 6 D_h^2 (N - B). The input term is a gather (no FLOPs);
    element-wise work, softmax and the optimizer are not counted.
    """
    N = sum(len(s) + 1 for s in seqs)
    return 6 * V * D_h * N + 6 * D_h * D_h * (N - len(seqs))


def time_call(fn: Callable[[], object], min_seconds: float = 0.05) -> float:
    """Best seconds per call over a few timed blocks."""
    fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds / 5:
            break
        reps *= 2
    best = dt / reps
    for _ in range(4):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def gemm_only_contender(batches: list[Seqs], V: int, D_h: int) -> Contender:
    """The roofline as a contender: for batch i, only the matrix products the model needs.

    Exactly the products counted by `model_flops`, at their true shapes (the
    recurrence at each step's number of live names, forward and backward), into
    preallocated outputs, and nothing else. Its FLOP/s is the measured GEMM rate
    on the hot shapes; it runs interleaved with the contenders so the same noise hits it.
    """
    rng = np.random.default_rng(0)
    f32 = np.float32
    n_max = max(RNN.count_steps(b) for b in batches)
    W = rng.standard_normal((D_h, D_h)).astype(f32)
    U = rng.standard_normal((V, D_h)).astype(f32)
    H = rng.standard_normal((n_max, D_h)).astype(f32)
    G = rng.standard_normal((n_max, V)).astype(f32)
    # A second operand for dJ/dW_h: NumPy computes `X.T @ X` with SYRK (half the work).
    H2 = rng.standard_normal((n_max, D_h)).astype(f32)
    out_h = np.empty((n_max, D_h), dtype=f32)
    out_theta = np.empty((n_max, V), dtype=f32)
    out_sq = np.empty((D_h, D_h), dtype=f32)
    out_u = np.empty((V, D_h), dtype=f32)
    plans = []
    for seqs in batches:
        lengths = [len(s) + 1 for s in seqs]
        n_active = [sum(1 for length in lengths if length > t) for t in range(max(lengths))]
        plans.append((len(seqs), sum(lengths), [0, *itertools.accumulate(n_active)]))

    def step(i: int) -> None:
        B, N, offs = plans[i]
        for t in range(1, len(offs) - 1):  # forward: W_h h(t-1) for the names still running
            n_t = offs[t + 1] - offs[t]
            np.dot(H[offs[t - 1] : offs[t - 1] + n_t], W, out=out_h[:n_t])
        for t in range(len(offs) - 2, 0, -1):  # backward: W_h^T (gamma o sigma') to step t-1
            np.dot(H[offs[t] : offs[t + 1]], W, out=out_h[: offs[t + 1] - offs[t]])
        np.dot(H[B:N].T, H2[: N - B], out=out_sq)  # dJ/dW_h
        np.dot(H[:N], U.T, out=out_theta[:N])  # theta = U h
        np.dot(G[:N].T, H[:N], out=out_u)  # dJ/dU
        np.dot(G[:N], U, out=out_h[:N])  # U^T dtheta

    return Contender("gemm", "matmuls only (roofline)", "-", step)


def gemm_shape_rates(batches: list[Seqs], V: int, D_h: int) -> list[tuple[str, float]]:
    """Best measured float32 rate (FLOP/s) of each hot GEMM shape alone, for a median-size batch."""
    rng = np.random.default_rng(1)
    f32 = np.float32
    by_size = sorted(batches, key=RNN.count_steps)
    seqs = by_size[len(by_size) // 2]
    B, N = len(seqs), RNN.count_steps(seqs)
    W = rng.standard_normal((D_h, D_h)).astype(f32)
    U = rng.standard_normal((V, D_h)).astype(f32)
    H = rng.standard_normal((N, D_h)).astype(f32)
    G = rng.standard_normal((N, V)).astype(f32)
    H2 = rng.standard_normal((N, D_h)).astype(f32)  # not H: `H.T @ H` would run as SYRK
    o_rec, o_sq = np.empty((B, D_h), dtype=f32), np.empty((D_h, D_h), dtype=f32)
    o_th, o_u, o_dz = np.empty((N, V), f32), np.empty((V, D_h), f32), np.empty((N, D_h), f32)
    shapes = [
        (f"({B}x{D_h}) @ ({D_h}x{D_h})", "recurrence step", 2 * B * D_h * D_h,
         lambda: np.dot(H[:B], W, out=o_rec)),
        (f"({D_h}x{N - B}) @ ({N - B}x{D_h})", "dJ/dW_h", 2 * D_h * D_h * (N - B),
         lambda: np.dot(H[B:].T, H2[B:], out=o_sq)),
        (f"({N}x{D_h}) @ ({D_h}x{V})", "theta = U h", 2 * N * D_h * V,
         lambda: np.dot(H, U.T, out=o_th)),
        (f"({V}x{N}) @ ({N}x{D_h})", "dJ/dU", 2 * N * D_h * V,
         lambda: np.dot(G.T, H, out=o_u)),
        (f"({N}x{V}) @ ({V}x{D_h})", "U^T dtheta", 2 * N * D_h * V,
         lambda: np.dot(G, U, out=o_dz)),
    ]  # fmt: skip
    return [(f"{shape:<22}{what:<16}", flops / time_call(fn)) for shape, what, flops, fn in shapes]
