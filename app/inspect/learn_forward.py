"""Learn, steps 1 to 3: the forward pass of the seed, one name's numbers plugged in.

    unit_step     step 1: z(t)[i] = (W_h h(t-1))[i] + (W_x x(t))[i] + b1[i], h(t)[i] = sigma(z(t)[i])
                  (Eq. 1.1, 1.2), for the step t and the hidden unit i the student picks
    output_step   step 2: theta(t) = U h(t) + b2, y_hat(t) = softmax(theta(t)), J(t) = -log y_hat(t)[y(t)],
                  J = sum_t J(t) (Eq. 2.1, 3.1, 3.2, 3.3)
    reach_step    step 3: why W_h is tricky: J(t) reaches back to every earlier h(k), each made with W_h

Each returns a plain view (numbers as app.inspect.numbers.Num, charts as app.inspect.charts
models); the words are in templates/partials/learn/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.inspect.learn_base import Context
from app.inspect.numbers import Num, exact, num
from app.inspect.strip import Strip, strip

TOP_OUTPUTS = 4  # rows of the softmax table besides the target


# ------------------------------------------------------------------ step 1
@dataclass(frozen=True)
class UnitView:
    t: int
    i: int
    x: str  # x(t) as shown
    start: bool  # x(1) is the start marker: the zero vector
    recurrent: Num  # (W_h h(t-1))[i]
    input: Num  # (W_x x(t))[i]: the column of W_x for the letter, or 0 at t = 1
    bias: Num  # b1[i]
    z: Num  # z(t)[i], the trace's
    h: Num  # h(t)[i] = sigma(z(t)[i])
    sigma_prime: Num  # sigma'(z(t)[i]), the slope used on the way back (Eq. 5.1.1)
    h_prev_norm: Num
    strip: Strip  # h(t) across the hidden units, unit i marked


def unit_step(c: Context) -> UnitView:
    """Eq. 1.1 and 1.2 for one step t and one unit i."""
    m, tr, t, i = c.model, c.tr, c.t, c.i
    x, _ = c.label(t)
    col = int(tr.inputs[t - 1])
    start = col >= m.W_x.shape[1]  # the start marker's index is V: x(1) = 0
    return UnitView(
        t=t,
        i=i,
        x=x,
        start=start,
        recurrent=num(float(m.W_h[i - 1] @ tr.h[t - 1])),
        input=num(0.0 if start else float(m.W_x[i - 1, col])),
        bias=num(float(m.b1[i - 1])),
        z=num(float(tr.z[t - 1, i - 1])),
        h=num(float(tr.h[t, i - 1])),
        sigma_prime=num(float(tr.sigma_prime[t - 1, i - 1])),
        h_prev_norm=num(float(np.linalg.norm(tr.h[t - 1]))),
        strip=strip(tr.h[t], i, mid=30.0),
    )


# ------------------------------------------------------------------ step 2
@dataclass(frozen=True)
class OutputRow:
    char: str
    theta: Num  # theta(t)[c]
    p: Num  # y_hat(t)[c]
    target: bool  # c is y(t)


@dataclass(frozen=True)
class ProbBar:
    char: str
    x: float
    y: float
    width: float
    height: float
    label_x: float
    value: str  # y_hat(t)[c], exact
    target: bool


@dataclass(frozen=True)
class ProbChart:
    width: float
    height: float
    base: float  # the y of the zero line
    bars: tuple[ProbBar, ...]


@dataclass(frozen=True)
class LossTerm:
    t: int
    y: str
    J: Num


@dataclass(frozen=True)
class OutputView:
    t: int
    x: str
    y: str
    rows: tuple[OutputRow, ...]  # the likeliest characters, and the target
    log_sum: Num  # log sum_c e^theta(t)[c]
    theta_y: Num  # theta(t)[y(t)]
    p_y: Num
    J_t: Num
    chart: ProbChart
    terms: tuple[LossTerm, ...]  # J(1) ... J(T)
    J: Num
    per_char: Num


def prob_chart(y_hat: np.ndarray, labels: tuple[str, ...], target: int) -> ProbChart:
    """y_hat(t) over the vocabulary, one bar a character, the target marked (not by colour alone)."""
    V = y_hat.size
    left, top, plot = 4.0, 6.0, 60.0
    bw = min(16.0, 400.0 / V)
    bars = tuple(
        ProbBar(
            char=labels[c],
            x=round(left + c * bw + 1, 2),
            y=round(top + plot * (1 - float(y_hat[c])), 2),
            width=round(bw - 2, 2),
            height=round(max(plot * float(y_hat[c]), 0.5), 2),
            label_x=round(left + (c + 0.5) * bw, 2),
            value=exact(float(y_hat[c])),
            target=c == target,
        )
        for c in range(V)
    )
    return ProbChart(round(left + V * bw + 4, 2), top + plot + 28, top + plot, bars)


def output_step(c: Context) -> OutputView:
    """Eq. 2.1 to 3.3 at step t: the scores, the probabilities, the loss of the true next letter."""
    m, tr, t, labels = c.model, c.tr, c.t, c.labels
    theta = m.U @ tr.h[t] + m.b2  # Eq. 2.1
    target = int(tr.targets[t - 1])
    top = max(float(theta.max()), -math.inf)
    log_sum = top + math.log(float(np.exp(theta - top).sum()))
    order = [int(v) for v in np.argsort(-tr.y_hat[t - 1], kind="stable")[:TOP_OUTPUTS]]
    if target not in order:
        order.append(target)
    rows = tuple(
        OutputRow(labels[v], num(float(theta[v])), num(float(tr.y_hat[t - 1, v]), ".3g"), v == target)
        for v in order
    )
    x, y = c.label(t)
    J = float(tr.step_loss.sum())
    return OutputView(
        t=t,
        x=x,
        y=y,
        rows=rows,
        log_sum=num(log_sum),
        theta_y=num(float(theta[target])),
        p_y=num(float(tr.y_hat[t - 1, target]), ".3g"),
        J_t=num(float(tr.step_loss[t - 1])),
        chart=prob_chart(tr.y_hat[t - 1], labels, target),
        terms=tuple(
            LossTerm(s, c.label(s)[1], num(float(tr.step_loss[s - 1]), ".3g")) for s in range(1, c.T + 1)
        ),
        J=num(J),
        per_char=num(J / c.T),
    )


# ------------------------------------------------------------------ step 3
@dataclass(frozen=True)
class Reach:
    k: int
    x: str  # x(k): what step k reads
    gamma: Num  # |gamma_t(k)| = |dJ(t)/dh(k)|


@dataclass(frozen=True)
class ReachView:
    t: int
    y: str
    chain: tuple[Reach, ...]  # k = 1 ... t
    far: Num  # |gamma_t(1)| / |gamma_t(t)|


def reach_step(c: Context) -> ReachView:
    """Row t of the triangle, read as the chain h(1) -> ... -> h(t) -> J(t) that W_h builds."""
    norms, t = c.report.gamma_norms, c.t
    own = float(norms[t - 1, t - 1])
    return ReachView(
        t=t,
        y=c.label(t)[1],
        chain=tuple(Reach(k, c.label(k)[0], num(float(norms[t - 1, k - 1]))) for k in range(1, t + 1)),
        far=num(float(norms[t - 1, 0]) / own if own else math.nan),
    )
