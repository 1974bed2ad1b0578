"""Truncated BPTT: each J(t) sends its gradient back through at most K steps.

The full gradient of W_h sums Eq. 5.2 over every pair k <= t:

    dJ/dW_h = sum_t sum_{k <= t} dJ(t)/dW_h(k),   dJ(t)/dW_h(k) = (gamma_t(k) o sigma'(z(k))) h(k-1)^T

Truncation to K keeps the terms of the band t - K < k <= t (K = 1: only the
local one, k = t) and drops the rest; W_x and b1 likewise, U and b2 have only
their local term anyway. Every kept term at step k shares the factor
sigma'(z(k)) and the same h(k-1) (or x(k)), so the band is summed first:

    gamma^K(k)      = sum_{t = k}^{k + K - 1} gamma_t(k)
    dJ^K/dW_h       = sum_k (gamma^K(k) o sigma'(z(k))) h(k-1)^T

and the weight gradients are the full pass's (``RNN._input_grads``) fed with
dz^K(k) = gamma^K(k) o sigma'(z(k)) instead of dJ/dz(k).

gamma^K is not a recurrence of its own (what leaves the band at k is
gamma_{k+K}(k), a product of K Jacobians), so the backward loop carries, for
every name, the contributions of the band apart: K - 1 slots per row, slot
s mod (K - 1) holding gamma_s(k) of a source step s = k+1 .. k+K-1. At step k

    gamma^K(k)   = gamma_k(k) + (the sum of the slots)
    slot k mod (K-1) := gamma_k(k)      (it held gamma_{k+K-1}(k), whose last step this was)
    gamma_s(k-1) = W_h^T (gamma_s(k) o sigma'(z(k)))    (6.2), all slots in one product

with gamma_k(k) = U^T (y_hat(k) - y(k)) as in full BPTT. So the loop over time
stays the only loop; each step multiplies (K - 1) n_t rows instead of n_t, the
Jacobian products the band needs (truncation saves no work here; it changes the
gradient), with three more element-wise calls. K = 1 needs no loop at all:
dz = gamma_k(k) o sigma'(z(k)).
"""

from __future__ import annotations

import numpy as np

from .arrays import FRESH, FloatArray, Scratch
from .batching import Batch


def backprop_band(
    batch: Batch,
    sigma_prime: FloatArray,
    dz: FloatArray,
    W_h: FloatArray,
    K: int,
    scratch: Scratch = FRESH,
) -> None:
    """Turn dz from gamma_t(t) of each row into dz^K(t) = gamma^K(t) o sigma'(z(t)) in place.

    ``sigma_prime`` holds sigma'(z(t)) of every row (Eq. 5.1.1); rows are laid out as
    in ``batching`` (step t's names are the first n_active[t] of step t-1's). K >= 1.
    """
    if K == 1:
        dz *= sigma_prime  # only the local term: gamma_k(k) o sigma'(z(k))
        return
    n, off = batch.n_active.tolist(), batch.offsets.tolist()
    B, D_h, C = n[0], dz.shape[1], K - 1
    # Two carries (this step's and the last one's), (B, C, D_h) each: a name's slots are
    # contiguous, so the first n_t names' slots are one (n_t C, D_h) block for the product.
    carries = [scratch.empty(f"band{i}", (B, C, D_h), dz.dtype) for i in (0, 1)]
    carries[0].fill(0.0)
    carries[1].fill(0.0)  # a name's rows stay zero until it is reached: none of its sources is past
    ones = np.ones(C, dtype=dz.dtype)
    received = scratch.empty("band_sum", (B, D_h), dz.dtype)
    for t in range(len(n) - 1, -1, -1):
        carry, rows = carries[t % 2][: n[t]], slice(off[t], off[t + 1])
        if t + 1 < len(n):
            # Eq. 6.2 on every slot of the names still running at t+1: gamma_s(t), t < s < t+K.
            m = n[t + 1] * C
            np.dot(carries[(t + 1) % 2].reshape(B * C, D_h)[:m], W_h, out=carry.reshape(-1, D_h)[:m])
        got = received[: n[t]]  # sum_{t < s < t+K} gamma_s(t)
        if C > 1:
            np.matmul(ones, carry, out=got)  # the sum over the slots (faster than .sum(axis=1))
        else:
            got[...] = carry[:, 0]
        local = dz[rows]  # gamma_t(t), which turns into dz^K(t) below
        carry[:, t % C] = local  # ... and takes the slot of gamma_{t+K-1}, counted, leaving the band
        local += got  # gamma^K(t), the band's sum
        local *= sigma_prime[rows]  # dz^K(t) = gamma^K(t) o sigma'(z(t))
        carry *= sigma_prime[rows, None, :]  # gamma_s(t) o sigma'(z(t)), for the step back


def check_truncation(truncation: int | None) -> None:
    """ValueError unless ``truncation`` is None (full BPTT) or an integer K >= 1."""
    if truncation is None:
        return
    if isinstance(truncation, bool) or not isinstance(truncation, int | np.integer) or truncation < 1:
        raise ValueError(f"truncation must be an integer of at least 1 or None, got {truncation!r}")
