"""Learn, steps 4 to 7: the seed's two tricks and its two claims, one name's numbers plugged in.

    terms_step      step 4, the first trick (Eq. 4.1): a dummy copy W_h(k) per step, and the
                    triangle of terms dJ(t)/dW_h(k), k <= t, whose sum is dJ/dW_h
    claim_one_step  step 5, Claim 1 (Eq. 5.2): dJ(t)/dW_h(k)[i, j] = gamma_t(k)[i] sigma'(z(k))[i] h(k-1)[j]
    claim_two_step  step 6, Claim 2 (Eq. 6.2): gamma_t(k-1) = W_h^T (gamma_t(k) o sigma'(z(k))), the
                    row t of the triangle filled one step back at a time
    sums_step       step 7, the second trick: step k receives one sum, adds its own gamma_k(k), holds
                    sum_t gamma_t(k) and passes one sum on; the accumulation table grows row by row

Vectors are read off the trace (rnn_core.trace.GammaTrace) as they are; sums that the page
says add up are written by app.inspect.numbers.adding, so they add up digit for digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.inspect.charts import GammaMap, triangle_map
from app.inspect.learn_base import Context
from app.inspect.numbers import Num, adding, num
from app.inspect.strip import Strip, strip
from rnn_core.arrays import F64Array

MINI_MAP = 200.0  # pixels the grid of a Learn step's own triangle may take
TERMS_SHOWN = 3  # the largest terms of a sum written out


def term_norms(c: Context) -> F64Array:
    """(T, T): |dJ(t)/dW_h(k)| = |gamma_t(k) o sigma'(z(k))| |h(k-1)| (the norm of an outer product)."""
    tr = c.tr
    delta = np.linalg.norm(tr.gamma * tr.sigma_prime[None, :, :], axis=2)  # (T, T)
    out: F64Array = delta * np.linalg.norm(tr.h[:-1], axis=1)[None, :]
    return out


# ------------------------------------------------------------------ step 4
@dataclass(frozen=True)
class Term:
    k: int
    norm: Num


@dataclass(frozen=True)
class TermsView:
    t: int
    count: int  # T(T + 1) / 2 terms
    map: GammaMap
    row: tuple[Term, ...]  # |dJ(t)/dW_h(k)|, k = 1 ... t
    row_sum: Num  # |dJ(t)/dW_h| = |sum_k dJ(t)/dW_h(k)|
    row_norm_sum: Num  # sum_k |dJ(t)/dW_h(k)|, at least row_sum
    largest: tuple[int, int]
    largest_norm: Num
    total: Num  # |dJ/dW_h|, all the terms summed


def terms_step(c: Context) -> TermsView:
    """The triangle of the terms dJ(t)/dW_h(k) that the dummy copies split dJ/dW_h into."""
    tr, t = c.tr, c.t
    norms = term_norms(c)
    delta = tr.gamma[t - 1, :t] * tr.sigma_prime[:t]  # (t, D_h): dJ(t)/dz(k)
    h_prev = tr.h[:t]
    row_sum = math.sqrt(max(float(((delta @ delta.T) * (h_prev @ h_prev.T)).sum()), 0.0))
    lower = np.tril(norms)
    big = np.unravel_index(int(np.argmax(lower)), lower.shape)
    return TermsView(
        t=t,
        count=c.T * (c.T + 1) // 2,
        map=triangle_map(norms, "", "|∂J⁽ᵗ⁾/∂W_h⁽ᵏ⁾|, log scale", fit=MINI_MAP, selected=(t, t)),
        row=tuple(Term(k, num(float(norms[t - 1, k - 1]))) for k in range(1, t + 1)),
        row_sum=num(row_sum),
        row_norm_sum=num(float(norms[t - 1, :t].sum())),
        largest=(int(big[0]) + 1, int(big[1]) + 1),
        largest_norm=num(float(lower[big])),
        total=num(c.report.dW_h_norm),
    )


# ------------------------------------------------------------------ step 5
@dataclass(frozen=True)
class ClaimOneView:
    t: int
    k: int
    i: int
    j: int
    x: str  # x(k)
    own: bool  # t = k: gamma_t(t) = U^T (y_hat(t) - y(t)) comes from the output layer itself
    gamma_i: Num  # gamma_t(k)[i]
    sigma_i: Num  # sigma'(z(k))[i]
    h_j: Num  # h(k-1)[j]
    product: Num  # dJ(t)/dW_h(k)[i, j]
    gamma_norm: Num
    delta_norm: Num  # |gamma_t(k) o sigma'(z(k))|
    h_norm: Num
    term_norm: Num  # |dJ(t)/dW_h(k)| = delta_norm x h_norm
    gamma: Strip
    sigma: Strip
    h: Strip


def claim_one_step(c: Context) -> ClaimOneView:
    """Eq. 5.2 at (t, k): two of its three factors were cached by step k's forward pass."""
    tr, t, k, i, j = c.tr, c.t, c.k, c.i, c.j
    gamma, sigma, h_prev = tr.gamma[t - 1, k - 1], tr.sigma_prime[k - 1], tr.h[k - 1]
    delta_norm = float(np.linalg.norm(gamma * sigma))
    h_norm = float(np.linalg.norm(h_prev))
    return ClaimOneView(
        t=t,
        k=k,
        i=i,
        j=j,
        x=c.label(k)[0],
        own=t == k,
        gamma_i=num(float(gamma[i - 1])),
        sigma_i=num(float(sigma[i - 1])),
        h_j=num(float(h_prev[j - 1])),
        product=num(float(gamma[i - 1] * sigma[i - 1] * h_prev[j - 1])),
        gamma_norm=num(float(np.linalg.norm(gamma))),
        delta_norm=num(delta_norm),
        h_norm=num(h_norm),
        term_norm=num(delta_norm * h_norm),
        gamma=strip(gamma, i, mid=24.0),
        sigma=strip(sigma, i, mid=24.0),
        h=strip(h_prev, j, mid=24.0),
    )


# ------------------------------------------------------------------ step 6
@dataclass(frozen=True)
class SumTerm:
    p: str  # the unit p (or the character c at k = t) the term comes from
    factors: tuple[Num, ...]
    product: Num


@dataclass(frozen=True)
class ClaimTwoView:
    t: int
    k: int  # the gamma_t(k) this step has just made
    i: int  # the entry of it written out
    start: bool  # k = t: gamma_t(t) = U^T (y_hat(t) - y(t)), where the pass for J(t) starts
    result_i: Num  # gamma_t(k)[i]
    terms: tuple[SumTerm, ...]  # the largest terms of the sum that makes it
    others: int  # how many terms are not written out
    rest: Num  # their sum
    result: Strip
    before: Strip | None  # gamma_t(k + 1)
    sigma: Strip | None  # sigma'(z(k + 1))
    ratio: Num  # |gamma_t(k)| / |gamma_t(k + 1)|
    result_norm: Num
    applied: int  # Eq. 6.2 applied this often since gamma_t(t)
    map: GammaMap  # row t filled from k = t back to this k


def _largest_terms(products: F64Array, labels: list[str], factors: list[F64Array]) -> list[SumTerm]:
    order = np.argsort(-np.abs(products), kind="stable")[:TERMS_SHOWN]
    return [
        SumTerm(labels[p], tuple(num(float(f[p])) for f in factors), num(float(products[p]))) for p in order
    ]


def claim_two_step(c: Context) -> ClaimTwoView:
    """One application of Eq. 6.2 on the way back from J(t), at the step k reached."""
    m, tr, t, k, i = c.model, c.tr, c.t, c.k, c.i
    result = tr.gamma[t - 1, k - 1]
    if k == t:  # gamma_t(t) = U^T (y_hat(t) - y(t)): sum over the characters c
        d_theta = tr.y_hat[t - 1].copy()
        d_theta[int(tr.targets[t - 1])] -= 1.0
        factors = [m.U[:, i - 1], d_theta]
        labels = list(c.labels)
        before = sigma = None
        ratio = math.nan
    else:  # gamma_t(k)[i] = sum_p gamma_t(k + 1)[p] sigma'(z(k + 1))[p] W_h[p, i]
        g_next, s_next = tr.gamma[t - 1, k], tr.sigma_prime[k]
        factors = [g_next, s_next, m.W_h[:, i - 1]]
        labels = [str(p) for p in range(1, c.D_h + 1)]
        limit = float(max(np.abs(g_next).max(), np.abs(result).max())) or 1.0
        before, sigma = strip(g_next, 0, limit, mid=22.0), strip(s_next, 0, mid=22.0)
        below = float(np.linalg.norm(g_next))
        ratio = float(np.linalg.norm(result)) / below if below else math.nan
    products = np.prod(np.stack(factors), axis=0)
    terms = _largest_terms(products, labels, factors)
    shown = sum(float(s.product.value) for s in terms)
    filled = np.zeros((c.T, c.T), dtype=bool)
    filled[t - 1, k - 1 : t] = True
    limit = float(np.abs(result).max()) or 1.0
    if before is not None:
        limit = max(limit, float(np.abs(tr.gamma[t - 1, k]).max()))
    return ClaimTwoView(
        t=t,
        k=k,
        i=i,
        start=k == t,
        result_i=num(float(result[i - 1])),
        terms=tuple(terms),
        others=products.size - len(terms),
        rest=num(float(products.sum()) - shown),
        result=strip(result, i, limit, mid=22.0),
        before=before,
        sigma=sigma,
        ratio=num(ratio),
        result_norm=num(float(np.linalg.norm(result))),
        applied=t - k,
        map=triangle_map(
            c.report.gamma_norms, "", "|γₜ⁽ᵏ⁾|, log scale", fit=MINI_MAP, filled=filled, selected=(t, k)
        ),
    )


# ------------------------------------------------------------------ step 7
@dataclass(frozen=True)
class PassRow:
    k: int
    chars: str  # x(k) -> y(k)
    receives: Num  # (sum_{t>k} gamma_t(k))[i]: what step k + 1 passed back
    computes: Num  # gamma_k(k)[i]
    holds: Num  # (sum_t gamma_t(k))[i] = dJ/dh(k)[i]
    adds: Num  # |dJ/dW_h(k)|, Eq. 5.2 with what step k holds
    new: bool  # the row step k has just written


@dataclass(frozen=True)
class SumsView:
    k: int
    i: int
    rows: tuple[PassRow, ...]  # k' = T ... k
    receives: Strip  # the three vectors of step k, on one scale
    computes: Strip
    holds: Strip
    passes: Num | None  # (W_h^T (sum_t gamma_t(k) o sigma'(z(k))))[i], sent to step k - 1
    running: Num  # |sum_{j>=k} dJ/dW_h(j)|
    total: Num  # |dJ/dW_h| once k = 1


def sums_step(c: Context) -> SumsView:
    """The backward pass with passing sums at the step k it has reached, from k = T."""
    tr, k, i, T = c.tr, c.k, c.i, c.T
    rows = []
    for kk in range(T, k - 1, -1):
        received = tr.gamma[kk:, kk - 1].sum(axis=0)  # sum over t > kk
        own = tr.gamma[kk - 1, kk - 1]
        receives, computes, holds = adding(
            [float(received[i - 1]), float(own[i - 1])], float(tr.accumulated[kk - 1, i - 1])
        )
        x, y = c.label(kk)
        rows.append(
            PassRow(
                kk, f"{x} → {y}", receives, computes, holds, num(float(c.report.dW_h_norms[kk - 1])), kk == k
            )
        )
    received = tr.gamma[k:, k - 1].sum(axis=0)
    own, held = tr.gamma[k - 1, k - 1], tr.accumulated[k - 1]
    limit = float(max(np.abs(received).max(), np.abs(own).max(), np.abs(held).max())) or 1.0
    passes = (c.delta(0, k) @ c.model.W_h)[i - 1] if k > 1 else None
    running = next(r.running for r in c.report.table if r.k == k)
    return SumsView(
        k=k,
        i=i,
        rows=tuple(rows),
        receives=strip(received, i, limit, mid=20.0),
        computes=strip(own, i, limit, mid=20.0),
        holds=strip(held, i, limit, mid=20.0),
        passes=None if passes is None else num(float(passes)),
        running=num(running),
        total=num(c.report.dW_h_norm),
    )
