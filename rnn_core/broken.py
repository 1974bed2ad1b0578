"""A broken backward pass, on purpose: three classic BPTT bugs, for a student to see caught.

Each bug rebuilds the gammas of one traced name the wrong way, from the trace's own
forward pass (z, h, y_hat, sigma'), and derives the weight gradients from them as the
real pass does (Eq. 5.2 summed over k). The model is never touched. The gradient
check (``gradcheck.gradient_check``) then compares these wrong gradients with finite
differences of the real J, and fails:

    no-sigma-prime   Eq. 6.2 without sigma'(z(k)): gamma_t(k-1) = W_h^T gamma_t(k)
    no-step-back     Eq. 6.2's result passed to step k instead of k-1: what W_h^T (.)
                     sends back never leaves the step that computed it
    overwrite        the second trick with = for +=: each step keeps only the term it
                     computes, gamma_k(k), dropping what it receives from later losses

The loss J and the gradients of U and b2 (which only have their local term) stay right.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .arrays import F64Array
from .trace import GammaTrace

BUGS: dict[str, str] = {
    "no-sigma-prime": "Eq. 6.2 without σ′(z(k)): γ_t(k−1) = W_hᵀ γ_t(k)",
    "no-step-back": "Eq. 6.2's result added to step k instead of k−1",
    "overwrite": "the passing sum with = instead of +=: step k keeps only γ_k(k)",
}


class BugError(ValueError):
    """An unknown bug's name."""


def broken_trace(tr: GammaTrace, W_h: F64Array, bug: str) -> GammaTrace:
    """``tr`` with its gammas, their sums and the W_h, W_x, b1 gradients computed with ``bug``.

    ``tr`` must be a full (untruncated) trace of ``W_h``'s model.
    """
    if bug not in BUGS:
        raise BugError(f"no such bug {bug!r}: pick one of {', '.join(BUGS)}")
    T = tr.T
    own = tr.gamma[np.arange(T), np.arange(T)].copy()  # gamma_t(t) = U^T (y_hat(t) - y(t)), right
    gamma = np.zeros_like(tr.gamma)
    gamma[np.arange(T), np.arange(T)] = own
    if bug == "no-sigma-prime":
        for k in range(T, 1, -1):
            gamma[k - 1 :, k - 2] = gamma[k - 1 :, k - 1] @ W_h  # sigma'(z(k)) left out
    elif bug == "no-step-back":
        for t in range(T):  # what step t passes back lands on step t again
            gamma[t, t] += (gamma[t, t] * tr.sigma_prime[t]) @ W_h
    # "overwrite": nothing is passed back at all; each step holds only its own term
    accumulated = gamma.sum(axis=0)
    return replace(tr, gamma=gamma, accumulated=accumulated, grads=weight_grads(tr, accumulated))


def weight_grads(tr: GammaTrace, accumulated: F64Array) -> dict[str, F64Array]:
    """dJ/dW_h, dJ/dW_x, dJ/db1 from dJ/dh(k) = ``accumulated`` (Eq. 5.2 summed over k); U, b2 as traced."""
    dz = accumulated * tr.sigma_prime  # dJ/dz(k) = dJ/dh(k) o sigma'(z(k))
    V = tr.grads["W_x"].shape[1]
    x = np.zeros((tr.T, V))
    real = tr.inputs < V  # x(1) is the start marker (index V): the zero vector
    x[np.arange(tr.T)[real], tr.inputs[real]] = 1.0
    return {
        "W_h": dz.T @ tr.h[:-1],  # sum_k dz(k) h(k-1)^T
        "W_x": dz.T @ x,  # sum_k dz(k) x(k)^T
        "b1": dz.sum(axis=0),
        "U": tr.grads["U"],
        "b2": tr.grads["b2"],
    }
