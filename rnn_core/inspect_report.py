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

A broken backward pass on purpose (``broken``: a student's bug, for the check to catch)
is rebuilt from the trace on request, and its gradient check with it (``broken_check``).

The last two cost more than all the rest (the check is 30 forward passes, the
decay a trace under each other activation), and the panel shows them only on
demand: they are computed the first time they are read, then kept with the
report (``InspectReport.decays``, ``InspectReport.grad_check``).

Pure NumPy, like the rest of rnn_core: the web app and the CLI both read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .accumulation import TableRow, accumulation_table
from .activations import activation_names
from .arrays import F64Array
from .broken import broken_trace
from .decay import Decay, decays_by_activation
from .gradcheck import GRAD_CHECK_ENTRIES, GradCheckEntry, gradient_check
from .model import RNN
from .trace import GammaTrace, trace_gammas
from .vocab import Vocab

__all__ = [
    "TOP_GUESSES",
    "Decay",
    "GradCheckEntry",
    "Guess",
    "InspectReport",
    "Step",
    "TableRow",
    "build_report",
    "unrolled_steps",
]

TOP_GUESSES = 3  # next-character guesses shown per step


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
class InspectReport:
    """Everything the Inspect panel shows for one name under one set of weights.

    ``decays`` and ``grad_check`` are computed when first read, from ``model`` (the float64
    weights ``trace`` was traced under), and kept.
    """

    name: str
    activation: str
    hidden_size: int
    vocab_size: int
    trace: GammaTrace
    steps: tuple[Step, ...]
    gamma_norms: F64Array  # (T, T): |gamma_t(k)| at [t-1, k-1]
    accumulated_norms: F64Array  # (T,): |gamma(k)| = |dJ/dh(k)|
    dW_h_norms: F64Array
    dW_h_norm: float
    table: tuple[TableRow, ...]  # k = T, T-1, ..., 1
    model: RNN = field(repr=False, compare=False)  # float64: what the decay and the check run on
    compare: tuple[str, ...] = ()  # the other activations whose decay is shown beside the model's
    grad_check_entries: int = GRAD_CHECK_ENTRIES  # checked per parameter
    _broken: dict[str, tuple[GammaTrace, tuple[GradCheckEntry, ...] | None]] = field(
        default_factory=dict, repr=False, compare=False
    )  # by bug: its trace, and its check once computed

    @cached_property
    def decays(self) -> tuple[Decay, ...]:
        """The decay under the model's activation, then under each of ``compare`` (on first read)."""
        return decays_by_activation(self.model, self.trace, self.compare)

    @cached_property
    def grad_check(self) -> tuple[GradCheckEntry, ...]:
        """The trace's gradients against centred differences (on first read: 30 forward passes)."""
        return gradient_check(self.model, self.trace, self.grad_check_entries)

    def broken(self, bug: str) -> GammaTrace:
        """The trace rebuilt with ``bug`` (rnn_core.broken; BugError if unknown), kept by bug.

        The model is never touched: the bug rewrites a copy of the gammas and gradients."""
        kept = self._broken.get(bug)
        if kept is None:
            kept = (broken_trace(self.trace, np.asarray(self.model.W_h, dtype=np.float64), bug), None)
            self._broken[bug] = kept
        return kept[0]

    def broken_check(self, bug: str) -> tuple[GradCheckEntry, ...]:
        """The gradient check of the broken trace: its gradients against differences of the real J."""
        tr = self.broken(bug)
        check = self._broken[bug][1]
        if check is None:
            check = gradient_check(self.model, tr, self.grad_check_entries)
            self._broken[bug] = (tr, check)
        return check

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


def _finite_list(values: F64Array) -> list[float | None]:
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
    naming a character the vocabulary lacks. The decay and the gradient check
    wait until they are first read.
    """
    if vocab.size != model.vocab_size:
        raise ValueError(f"vocabulary has {vocab.size} characters, the model {model.vocab_size}")
    ids = vocab.encode(name)
    m = model.in_float64()
    tr = trace_gammas(m, ids)
    others = [a for a in (compare or activation_names()) if a != m.activation]
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
        model=m,
        compare=tuple(others),
        grad_check_entries=grad_check_entries,
    )


def unrolled_steps(tr: GammaTrace, vocab: Vocab, top: int = TOP_GUESSES) -> tuple[Step, ...]:
    """x(t), y(t), J(t) (Eq. 3.2) and the ``top`` likeliest next characters (Eq. 3.1) per step."""
    best = np.argsort(-tr.y_hat, axis=1, kind="stable")[:, :top]  # (T, top)
    steps = []
    for t in range(tr.T):
        y = int(tr.targets[t])
        guesses = tuple(Guess(vocab.label(int(c)), float(tr.y_hat[t, c])) for c in best[t])
        steps.append(
            Step(
                t=t + 1,
                x=vocab.label(int(tr.inputs[t])),
                y=vocab.label(y),
                J=float(tr.step_loss[t]),
                p_target=float(tr.y_hat[t, y]),
                guesses=guesses,
            )
        )
    return tuple(steps)
