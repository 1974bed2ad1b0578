"""Learn: the seed's derivation walked in nine steps on one name, under frozen weights.

One screen per idea, each with its equation, this name's numbers plugged in, and
the views of the Inspect panel it is about lit (docs/ARCHITECTURE.md: the model,
Eq. 1.1 ... 6.2):

    1 the unit (Eq. 1.1, 1.2)          4 the first trick (Eq. 4.1)       7 the second trick: passing sums
    2 scores, softmax, loss (2.1-3.3)  5 Claim 1 (Eq. 5.2)               8 the payoff, and the check
    3 why W_h is tricky                6 Claim 2 (Eq. 6.2)               9 why plain RNNs forget

    learn_view(report, model, labels, query, meta)   the card of one step (templates/partials/learn/)

The weights are a snapshot the Inspect service keeps (app/inspect/frozen.py) from
the walk's first step until the student asks for fresh ones, so training goes on
while the numbers stand still. The step builders are in learn_forward.py (1-3),
learn_backward.py (4-7) and learn_payoff.py (8, 9); the picks are checked in
learn_base.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from app.inspect.learn_backward import claim_one_step, claim_two_step, sums_step, terms_step
from app.inspect.learn_base import STEPS, Context, LearnError, LearnQuery, context, query_of
from app.inspect.learn_forward import output_step, reach_step, unit_step
from app.inspect.learn_payoff import forget_step, payoff_step
from rnn_core import RNN
from rnn_core.inspect_report import InspectReport

__all__ = ["STEPS", "LearnError", "LearnMeta", "LearnQuery", "LearnView", "learn_view", "query_of"]

LEARN_URL = "/fragments/learn"


@dataclass(frozen=True)
class Plan:
    """What a step is called, the equations it is about, and the panel's views it lights."""

    title: str
    equations: tuple[str, ...]
    lit: str  # space-separated: unrolled map bars table decay grad
    build: Callable[[Context], Any]


PLANS: dict[int, Plan] = {
    1: Plan("The unit", ("1.1", "1.2"), "unrolled", unit_step),
    2: Plan("Scores, probabilities and the loss", ("2.1", "3.1", "3.2", "3.3"), "unrolled", output_step),
    3: Plan("Why W_h is tricky", ("1.1",), "unrolled map", reach_step),
    4: Plan("The first trick: a copy of W_h per step", ("4.1",), "map", terms_step),
    5: Plan("Claim 1: the gradient at step k", ("5.2",), "map bars table unrolled", claim_one_step),
    6: Plan("Claim 2: one step back", ("6.2",), "map", claim_two_step),
    7: Plan("The second trick: passing sums", ("6.2", "5.2", "4.1"), "table bars unrolled", sums_step),
    8: Plan("The payoff, and the check", ("4.1", "5.2"), "bars grad", payoff_step),
    9: Plan("Why plain RNNs forget", ("5.1.1", "6.2"), "decay", forget_step),
}


@dataclass(frozen=True)
class LearnMeta:
    """Where the walk's weights come from: their key and training step, and the run's step now."""

    name: str
    key: str
    weights_step: int
    now_step: int


@dataclass(frozen=True)
class StepLink:
    n: int
    title: str
    current: bool


@dataclass(frozen=True)
class LearnView:
    step: int
    title: str
    equations: tuple[str, ...]
    steps: tuple[StepLink, ...]
    name: str
    key: str  # the frozen snapshot's key: every step asks for these weights again
    weights_step: int
    now_step: int
    T: int
    D_h: int
    activation: str
    chars: tuple[str, ...]  # x(t) -> y(t) for t = 1 ... T, as the pickers name the steps
    t: int
    k: int
    i: int
    j: int
    play: bool
    lit: str
    marks: str  # "t:k" pairs lit in the panel's views; t = 0 lights step k (row, bar, column)
    body: Any  # the step's own view

    def url(self, **changes: int | str) -> str:
        """The fragment of this walk with ``changes`` (a step, a pick) made; a new step starts its
        own k afresh (k is where steps 5 to 7 have got to)."""
        query: dict[str, int | str] = {"name": self.name, "snap": self.key, "step": self.step}
        query.update(t=self.t, k=self.k, i=self.i, j=self.j)
        if "step" in changes and changes["step"] != self.step:
            query["k"] = 0
        query.update(changes)
        return f"{LEARN_URL}?{urlencode(query)}"

    @property
    def prev(self) -> int:
        return self.step - 1

    @property
    def next(self) -> int:
        return self.step + 1 if self.step < STEPS else 0


def _marks(c: Context) -> str:
    """The cells (t, k) and the steps (0, k) of the panel's views this step is about."""
    t, k = c.t, c.k
    pairs: list[tuple[int, int]] = {
        1: [(0, t)],
        2: [(0, t)],
        3: [(t, kk) for kk in range(1, t + 1)],
        4: [(t, kk) for kk in range(1, t + 1)],
        5: [(t, k), (0, k)],
        6: [(t, kk) for kk in range(k, t + 1)],
        7: [(0, k)],
    }.get(c.step, [])
    return " ".join(f"{a}:{b}" for a, b in pairs)


def learn_view(
    report: InspectReport, model: RNN, labels: tuple[str, ...], q: LearnQuery, meta: LearnMeta
) -> LearnView:
    """The card of step ``q.step`` for the name of ``report``; LearnError when a pick does not fit."""
    c = context(report, model, labels, q)
    plan = PLANS[q.step]
    return LearnView(
        step=q.step,
        title=plan.title,
        equations=plan.equations,
        steps=tuple(StepLink(n, p.title, n == q.step) for n, p in PLANS.items()),
        name=meta.name,
        key=meta.key,
        weights_step=meta.weights_step,
        now_step=meta.now_step,
        T=c.T,
        D_h=c.D_h,
        activation=report.activation,
        chars=tuple(f"{s.x} → {s.y}" for s in report.steps),
        t=c.t,
        k=c.k,
        i=c.i,
        j=c.j,
        play=c.play and q.step == 7 and c.k > 1,
        lit=plan.lit,
        marks=_marks(c),
        body=plan.build(c),
    )
