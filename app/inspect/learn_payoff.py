"""Learn, steps 8 and 9: what the two tricks save, that they are right, and why plain RNNs forget.

payoff_step   step 8: one backward pass of T steps against one pass per loss, T(T + 1)/2 steps,
              for this name; dJ/dW_h summed term by term equals the one pass, and both equal
              the centred differences of the gradient check
forget_step   step 9: each step back through Eq. 6.2 multiplies gamma by at most
              max sigma' x |W_h|_2 (sigma' <= 1/4 for the sigmoid), and the decay plot shows it
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.inspect.decay import DecayPlot, decay_plot
from app.inspect.learn_base import Context
from app.inspect.numbers import Num, num
from app.inspect.parts import GradRow, grad_row
from rnn_core.gradcheck import GRAD_CHECK_TOLERANCE

DISTANCES = (1, 2, 5, 10, 20)  # the distances t - k the forgetting step writes out


# ------------------------------------------------------------------ step 8
@dataclass(frozen=True)
class PayoffView:
    T: int
    D_h: int
    one_pass: int  # backward steps with passing sums: T
    per_loss: int  # one pass per loss J(t): 1 + 2 + ... + T
    saving: str  # per_loss / one_pass, as "5.5"
    one_pass_macs: str  # about (2T - 1) D_h^2 multiply-adds (Eq. 5.2 and 6.2 at each step)
    per_loss_macs: str  # about T^2 D_h^2
    per_loss_gap: Num  # max |sum_t sum_k dJ(t)/dW_h(k) - dJ/dW_h of the one pass|
    scale: Num  # max |dJ/dW_h|, the size the gap is measured against
    total: Num  # |dJ/dW_h|
    checks: tuple[GradRow, ...]  # the W_h entries of the gradient check
    tolerance: str
    ok: bool


def payoff_step(c: Context) -> PayoffView:
    """The work of the two ways for this name, and the gradient they both give."""
    tr, T, D_h = c.tr, c.T, c.D_h
    per_loss_sum = np.zeros((D_h, D_h))
    for t in range(1, T + 1):  # one backward pass for each J(t), its terms summed over k (Eq. 4.1)
        delta = tr.gamma[t - 1, :t] * tr.sigma_prime[:t]
        per_loss_sum += delta.T @ tr.h[:t]
    one_pass = tr.grads["W_h"]  # RNN.backward: the second trick
    rows = tuple(grad_row(e) for e in c.report.grad_check if e.param == "W_h")
    per_loss = T * (T + 1) // 2
    return PayoffView(
        T=T,
        D_h=D_h,
        one_pass=T,
        per_loss=per_loss,
        saving=f"{per_loss / T:.3g}",
        one_pass_macs=f"{(2 * T - 1) * D_h * D_h:,}",
        per_loss_macs=f"{T * T * D_h * D_h:,}",
        per_loss_gap=num(float(np.abs(per_loss_sum - one_pass).max()), ".2g"),
        scale=num(float(np.abs(one_pass).max())),
        total=num(c.report.dW_h_norm),
        checks=rows,
        tolerance=f"{GRAD_CHECK_TOLERANCE:g}",
        ok=all(r.css == "ok" for r in rows),
    )


# ------------------------------------------------------------------ step 9
@dataclass(frozen=True)
class Distance:
    d: int
    median: Num  # the median over t of |gamma_t(t - d)| / |gamma_t(t)|
    bound: Num  # rate^d


@dataclass(frozen=True)
class ForgetView:
    activation: str
    slope: str  # max sigma', as the page writes it: ¼ or 1
    sigma_mean: Num
    W_h_norm: Num
    rate: Num  # max sigma' x |W_h|_2
    vanishes: bool  # rate < 1: the bound itself goes to 0
    distances: tuple[Distance, ...]
    plot: DecayPlot


def forget_step(c: Context) -> ForgetView:
    """The bound on one step back and the measured decay, for this name and these weights."""
    own = c.report.decays[0]
    rate = own.rate_bound
    distances = tuple(
        Distance(d, num(float(own.median[d]), ".3g"), num(math.pow(rate, d), ".3g"))
        for d in DISTANCES
        if d < c.T and math.isfinite(float(own.median[d]))
    )
    return ForgetView(
        activation=own.activation,
        slope="¼" if own.max_slope == 0.25 else f"{own.max_slope:g}",
        sigma_mean=num(own.sigma_prime_mean, ".3f"),
        W_h_norm=num(own.W_h_norm, ".4g"),
        rate=num(rate, ".4g"),
        vanishes=rate < 1,
        distances=distances,
        plot=decay_plot(c.report),
    )
