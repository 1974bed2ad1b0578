"""What every step of the Learn walk shares: the question asked, its checking, the numbers read.

    LearnQuery      the step and the picks a request names (0: the step's default)
    LearnError      a step, unit or (t, k) outside the name, in words for the panel
    query_of(...)   a LearnQuery from the request's text, refused in words when it is not numbers
    Context         one name's trace and the float64 weights it was traced under, with the picks
                    checked against them (T steps, D_h units)

The nine steps (app/inspect/learn_forward.py, learn_backward.py, learn_payoff.py)
are built from a Context; app/inspect/learn.py puts them in their frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_core import RNN
from rnn_core.arrays import F64Array
from rnn_core.inspect_report import InspectReport
from rnn_core.trace import GammaTrace

STEPS = 9
PICKS = ("t", "k", "i", "j")


class LearnError(ValueError):
    """A Learn request that cannot be answered, with the reason in words a student understands."""


@dataclass(frozen=True)
class LearnQuery:
    """The step of the walk (1 ... 9) and the student's picks; 0 asks for the step's default."""

    step: int = 1
    t: int = 0  # the loss J(t), or the step t of the unit (steps 1-6)
    k: int = 0  # the state h(k): the term (t, k) of step 5, the step reached at steps 6 and 7
    i: int = 0  # a hidden unit (1-based)
    j: int = 0  # a second hidden unit: the column j of dJ(t)/dW_h(k)[i, j] (step 5)
    play: bool = False  # step 7: go on to k - 1 by itself
    fit: bool = False  # from the step's own pickers: a k past a new t is moved to t, not refused


def _whole(label: str, text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise LearnError(f"{label} = {text!r} is not a whole number") from None


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def query_of(
    step: str = "", t: str = "", k: str = "", i: str = "", j: str = "", play: str = "", fit: str = ""
) -> LearnQuery:
    """The query named by the request's text; LearnError when a field is not a whole number."""
    n = _whole("the Learn step", step) if step.strip() else 1
    if not 1 <= n <= STEPS:
        raise LearnError(f"Learn has steps 1 to {STEPS}; there is no step {n}")
    picks = {name: _whole(name, text) for name, text in zip(PICKS, (t, k, i, j), strict=True)}
    return LearnQuery(n, play=_flag(play), fit=_flag(fit), **picks)


@dataclass(frozen=True)
class Context:
    """A name's report and its weights, with the picks checked and their defaults filled in."""

    report: InspectReport
    model: RNN  # float64, the weights the report was traced under
    labels: tuple[str, ...]  # each vocabulary index as the page shows it (<end>, a, b, ...)
    step: int
    t: int
    k: int
    i: int
    j: int
    play: bool

    @property
    def tr(self) -> GammaTrace:
        return self.report.trace

    @property
    def T(self) -> int:
        return self.report.T

    @property
    def D_h(self) -> int:
        return self.report.hidden_size

    def label(self, t: int) -> tuple[str, str]:
        """x(t) and y(t) as the page shows them (<start>, <end> or the letter)."""
        s = self.report.steps[t - 1]
        return s.x, s.y

    def delta(self, t: int, k: int) -> F64Array:
        """gamma_t(k) o sigma'(z(k)) = dJ(t)/dz(k) (t = 0: summed over t)."""
        gamma = self.tr.accumulated[k - 1] if t == 0 else self.tr.gamma[t - 1, k - 1]
        out: F64Array = gamma * self.tr.sigma_prime[k - 1]
        return out


def context(report: InspectReport, model: RNN, labels: tuple[str, ...], q: LearnQuery) -> Context:
    """The picks of ``q`` checked against the name (LearnError in words), defaults filled in."""
    T, D_h, name = report.T, report.hidden_size, report.name
    if q.t and not 1 <= q.t <= T:
        raise LearnError(f"t = {q.t} is outside {name!r}: it has T = {T} steps (t = 1 … {T})")
    t = q.t or T
    if q.fit and q.step != 7 and q.k > t:
        q = LearnQuery(q.step, q.t, t, q.i, q.j, q.play)
    if q.step == 7 and q.k and not 1 <= q.k <= T:  # the backward pass of all of J: k = T ... 1
        raise LearnError(f"k = {q.k} is outside {name!r}: the backward pass runs k = {T} … 1")
    if q.step != 7 and q.k and not 1 <= q.k <= t:
        raise LearnError(f"k = {q.k} does not fit t = {t}: γ_t⁽ᵏ⁾ = ∂J⁽ᵗ⁾/∂h⁽ᵏ⁾ exists for 1 ≤ k ≤ t only")
    for label, unit in (("i", q.i), ("j", q.j)):
        if unit and not 1 <= unit <= D_h:
            raise LearnError(f"unit {label} = {unit} is outside h: D_h = {D_h} units ({label} = 1 … {D_h})")
    tr = report.trace
    default_i = int(np.argmax(np.abs(tr.accumulated).max(axis=0))) + 1  # the unit the gradient uses most
    k = q.k or {5: max(1, t - 2), 6: t, 7: T}.get(q.step, t)
    j = q.j or int(np.argmax(np.abs(tr.h[k - 1]))) + 1  # the largest entry of h(k - 1)
    return Context(report, model, labels, q.step, t, k, q.i or default_i, j, q.play)
