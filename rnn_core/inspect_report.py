"""The Inspect view of one name: every number part 3 of the page shows, computed once.

Built on ``trace_gammas`` (every gamma_t(k) = dJ(t)/dh(k) by Eq. 6.2), this adds
what the page and the CLI read off it:

- per step t: the input x(t), the target y(t), J(t) (Eq. 3.2) and the model's
  top guesses y_hat(t) (Eq. 3.1);
- |gamma_t(k)| (row t, column k), |gamma(k)| = |dJ/dh(k)| and |dJ/dW_h(k)|
  (Eq. 5.2), whose sum over k is dJ/dW_h (Eq. 4.1);
- the seed's accumulation table, one row per k from T down to 1: what step k
  computes (gamma_k(k)), what it receives from k+1 (sum_{t>k} gamma_t(k)),
  what it passes to k-1 (W_h^T (gamma(k) o sigma'(z(k))), Eq. 6.2) and what it
  adds to the gradient (dJ/dW_h(k), Eq. 5.2);
- the decay |gamma_t(k)| / |gamma_t(t)| by distance t - k, for the model's
  activation and for the same weights under the others;
- a gradient check: analytic against centred finite differences, float64.

Pure NumPy, like the rest of rnn_core: the web app and the CLI both read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .activations import activation_names, get_activation
from .gradcheck import GRAD_CHECK_ENTRIES, GradCheckEntry, gradient_check
from .inspect_text import char_label
from .model import RNN
from .trace import GammaTrace, decay_ratios, trace_gammas
from .vocab import Vocab

TOP_GUESSES = 3  # next-character guesses shown per step
POWER_ITERATIONS = 40  # for the spectral norm of W_h in the decay bound


@dataclass(frozen=True)
class Guess:
    """One candidate for the next character and its probability y_hat(t)[c] (Eq. 3.1)."""

    char: str
    prob: float


@dataclass(frozen=True)
class Step:
    """One unrolled step t (1-based, as in the seed)."""

    t: int
    x: str  # the input x(t): "<start>" at t = 1, else the previous character
    y: str  # the target y(t): the next character, "<end>" at t = T
    J: float  # J(t), Eq. 3.2
    p_target: float  # y_hat(t)[y(t)], Eq. 3.1
    guesses: tuple[Guess, ...]  # the most likely next characters, best first


@dataclass(frozen=True)
class Decay:
    """|gamma_t(k)| / |gamma_t(t)| against the distance d = t - k for one activation."""

    activation: str
    max_slope: float  # the largest sigma' can be: 1/4 for sigmoid, 1 for tanh and relu
    ratios: np.ndarray  # (T, T): ratios[t-1, d]; NaN where d > t - 1 (k would be < 1)
    median: np.ndarray  # (T,): the median over t of ratios[:, d]
    mean: np.ndarray  # (T,): the mean over t of ratios[:, d]
    sigma_prime_mean: float  # the mean of sigma'(z(k)) over steps and units
    W_h_norm: float  # the spectral norm of W_h (power iteration)

    @property
    def rate_bound(self) -> float:
        """Eq. 6.2 shrinks |gamma| by at most max sigma' * |W_h|_2 per step back."""
        return self.max_slope * self.W_h_norm


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


@dataclass(frozen=True)
class InspectReport:
    """Everything the Inspect panel shows for one name under one set of weights."""

    name: str
    activation: str
    hidden_size: int
    vocab_size: int
    trace: GammaTrace
    steps: tuple[Step, ...]
    gamma_norms: np.ndarray  # (T, T): |gamma_t(k)| at [t-1, k-1]
    accumulated_norms: np.ndarray  # (T,): |gamma(k)| = |dJ/dh(k)|
    dW_h_norms: np.ndarray
    dW_h_norm: float
    table: tuple[TableRow, ...]  # k = T, T-1, ..., 1
    decays: tuple[Decay, ...]  # the model's activation first
    grad_check: tuple[GradCheckEntry, ...]

    @property
    def T(self) -> int:
        """The number of steps: the name's length plus one."""
        return self.trace.T

    @property
    def loss(self) -> float:
        """J = sum_t J(t), Eq. 3.3."""
        return self.trace.loss

    @property
    def dW_h_norm_sum(self) -> float:
        """sum_k |dJ/dW_h(k)|: at least |dJ/dW_h|, equal only if all terms point one way."""
        return float(self.dW_h_norms.sum())

    @property
    def grad_check_max_error(self) -> float:
        """The worst relative error of the gradient check."""
        return max((e.rel_error for e in self.grad_check), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers for JSON (what GET /api/inspect returns)."""
        tr = self.trace
        return {
            "name": self.name,
            "activation": self.activation,
            "hidden_size": self.hidden_size,
            "vocab_size": self.vocab_size,
            "T": self.T,
            "loss": _finite_list(np.array([self.loss]))[0],
            "steps": [
                {
                    "t": s.t,
                    "x": s.x,
                    "y": s.y,
                    "J": s.J if np.isfinite(s.J) else None,
                    "p_target": s.p_target,
                    "guesses": [{"char": g.char, "prob": g.prob} for g in s.guesses],
                }
                for s in self.steps
            ],
            "step_loss": _finite_list(tr.step_loss),
            "gamma": tr.gamma.tolist(),
            "gamma_norms": self.gamma_norms.tolist(),
            "accumulated": tr.accumulated.tolist(),
            "accumulated_norms": self.accumulated_norms.tolist(),
            "sigma_prime": tr.sigma_prime.tolist(),
            "dW_h_norms": self.dW_h_norms.tolist(),
            "dW_h_norm_sum": self.dW_h_norm_sum,
            "dW_h_norm": self.dW_h_norm,
            "decay": [
                {
                    "activation": d.activation,
                    "max_slope": d.max_slope,
                    "W_h_norm": d.W_h_norm,
                    "rate_bound": d.rate_bound,
                    "sigma_prime_mean": d.sigma_prime_mean,
                    # ratios[t-1] has t entries: distances d = 0 .. t-1
                    "ratios": [_finite_list(d.ratios[t, : t + 1]) for t in range(self.T)],
                    "median": _finite_list(d.median),
                    "mean": _finite_list(d.mean),
                }
                for d in self.decays
            ],
            "table": [vars(row) for row in self.table],
            "grad_check": [
                {
                    "param": e.param,
                    "index": list(e.index),
                    "analytic": e.analytic,
                    "numeric": e.numeric,
                    "rel_error": e.rel_error,
                }
                for e in self.grad_check
            ],
        }


def _finite_list(values: np.ndarray) -> list[float | None]:
    """NaN and infinities become None (JSON has no NaN)."""
    return [float(v) if np.isfinite(v) else None for v in values]


# --------------------------------------------------------------------- building
def build_report(
    model: RNN,
    vocab: Vocab,
    name: str,
    *,
    compare: Sequence[str] | None = None,
    grad_check_entries: int = GRAD_CHECK_ENTRIES,
) -> InspectReport:
    """The whole Inspect view of ``name`` under ``model``'s current weights.

    ``compare`` lists the other activations whose decay is shown beside the
    model's own (default: all the others). ``vocab.encode`` raises VocabError
    naming a character the vocabulary lacks.
    """
    if vocab.size != model.vocab_size:
        raise ValueError(f"vocabulary has {vocab.size} characters, the model {model.vocab_size}")
    ids = vocab.encode(name)
    m = model if model.dtype == np.float64 else model.astype(np.float64)
    tr = trace_gammas(m, ids)
    others = [a for a in (compare or activation_names()) if a != m.activation]
    W_h_norm = spectral_norm(m.W_h)
    decays = [decay_of(tr.gamma_norms, tr.sigma_prime, m.activation, m.act.max_slope, W_h_norm)]
    for other in others:
        norms, sigma_prime = gamma_norms_under(m, ids, other)
        slope = get_activation(other).max_slope
        decays.append(decay_of(norms, sigma_prime, other, slope, W_h_norm))
    table, dW_h_norms, dW_h_norm = accumulation_table(tr, m.W_h)
    return InspectReport(
        name=name,
        activation=m.activation,
        hidden_size=m.hidden_size,
        vocab_size=m.vocab_size,
        trace=tr,
        steps=unrolled_steps(tr, vocab),
        gamma_norms=tr.gamma_norms,
        accumulated_norms=np.linalg.norm(tr.accumulated, axis=1),
        dW_h_norms=dW_h_norms,
        dW_h_norm=dW_h_norm,
        table=table,
        decays=tuple(decays),
        grad_check=gradient_check(m, tr, grad_check_entries),
    )


def with_activation(model: RNN, activation: str) -> RNN:
    """A float64 twin of ``model``: the same weights under another sigma (Eq. 1.2)."""
    twin = RNN(model.vocab_size, model.hidden_size, activation, seed=None, dtype="float64")
    twin.set_params(model.params)
    return twin


def unrolled_steps(tr: GammaTrace, vocab: Vocab, top: int = TOP_GUESSES) -> tuple[Step, ...]:
    """x(t), y(t), J(t) (Eq. 3.2) and the ``top`` likeliest next characters (Eq. 3.1) per step."""
    best = np.argsort(-tr.y_hat, axis=1, kind="stable")[:, :top]  # (T, top)
    steps = []
    for t in range(tr.T):
        y = int(tr.targets[t])
        guesses = tuple(Guess(char_label(vocab, int(c)), float(tr.y_hat[t, c])) for c in best[t])
        steps.append(
            Step(
                t=t + 1,
                x=char_label(vocab, int(tr.inputs[t])),
                y=char_label(vocab, y),
                J=float(tr.step_loss[t]),
                p_target=float(tr.y_hat[t, y]),
                guesses=guesses,
            )
        )
    return tuple(steps)


def accumulation_table(tr: GammaTrace, W_h: np.ndarray) -> tuple[tuple[TableRow, ...], np.ndarray, float]:
    """The seed's table (rows k = T..1), |dJ/dW_h(k)| per k and |dJ/dW_h|.

    With delta(k) = gamma(k) o sigma'(z(k)), Eq. 5.2 is the outer product
    delta(k) h(k-1)^T, so its Frobenius norm is |delta(k)| |h(k-1)|, and the
    norm of a partial sum over j >= k is read off the Gram matrices
    (delta delta^T) o (h h^T) without forming any D_h x D_h matrix.
    """
    T = tr.T
    delta = tr.accumulated * tr.sigma_prime  # (T, D_h): dJ/dz(k)
    h_prev = tr.h[:-1]  # (T, D_h): h(k-1), with h(0) = 0
    dW_h_norms = np.linalg.norm(delta, axis=1) * np.linalg.norm(h_prev, axis=1)
    gram = (delta @ delta.T) * (h_prev @ h_prev.T)  # (T, T)
    # running[k-1] = |sum_{j>=k} dJ/dW_h(j)|^2 = the sum of gram over rows and columns >= k
    tail = np.cumsum(np.cumsum(gram[::-1, ::-1], axis=0), axis=1)[::-1, ::-1]
    running = np.sqrt(np.maximum(np.diagonal(tail), 0.0))
    passes = np.linalg.norm(delta @ W_h, axis=1)  # Eq. 6.2 with the accumulated gamma(k)
    own = np.linalg.norm(tr.gamma[np.arange(T), np.arange(T)], axis=1)
    received = tr.accumulated - tr.gamma[np.arange(T), np.arange(T)]  # sum_{t>k} gamma_t(k)
    rows = tuple(
        TableRow(
            k=k,
            computes=float(own[k - 1]),
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


def decay_of(
    gamma_norms: np.ndarray,
    sigma_prime: np.ndarray,
    activation: str,
    max_slope: float,
    W_h_norm: float,
) -> Decay:
    """|gamma_t(k)| / |gamma_t(t)| by distance t - k, and its median and mean over t."""
    ratios = decay_ratios(gamma_norms)
    T = ratios.shape[0]
    finite = np.isfinite(ratios)
    n = finite.sum(axis=0)  # how many t reach each distance d
    ordered = np.sort(ratios, axis=0)  # NaN sorts last, so each column's n values lead
    cols = np.arange(T)
    middle = (ordered[np.maximum(n - 1, 0) // 2, cols] + ordered[n // 2 - (n == 0), cols]) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        median = np.where(n > 0, middle, np.nan)
        mean = np.where(n > 0, np.where(finite, ratios, 0.0).sum(axis=0) / n, np.nan)
    return Decay(
        activation=activation,
        max_slope=float(max_slope),
        ratios=ratios,
        median=median,
        mean=mean,
        sigma_prime_mean=float(sigma_prime.mean()),
        W_h_norm=W_h_norm,
    )


def gamma_norms_under(model: RNN, ids: Sequence[int], activation: str) -> tuple[np.ndarray, np.ndarray]:
    """|gamma_t(k)| (T, T) and sigma'(z(k)) (T, D_h) for ``model``'s weights under another sigma.

    The recursion of trace_gammas, keeping norms only: the column k of the map,
    gamma_t(k) for every t >= k, goes back to column k - 1 by one product
    (Eq. 6.2), and gains gamma_{k-1}(k-1) = U^T (y_hat(k-1) - y(k-1)) as its new row.
    """
    act = get_activation(activation)
    W_h, W_x, b1, U, b2 = (np.asarray(p, dtype=np.float64) for p in model.params.values())
    T, D_h = len(ids) + 1, W_h.shape[0]
    inputs = [model.start_id, *ids]
    targets = np.array([*ids, model.end_id], dtype=np.intp)
    h = np.zeros((T + 1, D_h))  # h[0] = h(0) = 0
    for t in range(1, T + 1):
        z = W_h @ h[t - 1] + b1  # Eq. 1.1; x(1) = 0 is the start
        if t > 1:
            z += W_x[:, inputs[t - 1]]
        act.sigma(z, out=h[t])  # Eq. 1.2
    sigma_prime = act.sigma_prime(h[1:], out=np.empty((T, D_h)))
    theta = h[1:] @ U.T + b2  # Eq. 2.1
    theta -= theta.max(axis=1, keepdims=True)
    dtheta = np.exp(theta)
    dtheta /= dtheta.sum(axis=1, keepdims=True)  # y_hat(t), Eq. 3.1
    dtheta[np.arange(T), targets] -= 1.0
    own = dtheta @ U  # (T, D_h): gamma_t(t)
    norms = np.zeros((T, T))
    column = own[T - 1 :]  # gamma_t(T) for t = T
    norms[T - 1, T - 1] = np.linalg.norm(column)
    for k in range(T, 1, -1):
        back = (column * sigma_prime[k - 1]) @ W_h  # Eq. 6.2: gamma_t(k-1), t = k..T
        column = np.concatenate([own[k - 2 : k - 1], back])
        norms[k - 2 :, k - 2] = np.linalg.norm(column, axis=1)
    return norms, sigma_prime


def spectral_norm(W: np.ndarray, iterations: int = POWER_ITERATIONS) -> float:
    """The largest singular value of W by power iteration on W^T W (from below, to ~1e-3)."""
    v = np.ones(W.shape[1]) / np.sqrt(W.shape[1])
    for _ in range(iterations):
        u = W @ v
        v = W.T @ u
        size = np.linalg.norm(v)
        if size == 0.0:
            return 0.0
        v /= size
    return float(np.linalg.norm(W @ v))


# --------------------------------------------------------------- gradient check
