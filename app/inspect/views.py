"""What the Inspect templates print: an InspectReport turned into labelled, formatted values.

The templates hold no logic; every number they show is formatted here, with its
exact value beside it for the hover title, and every quantity keeps the seed's
name and equation (links go to the equation list in templates/partials/inspect.html).

    inspect_view(report, key, step, walk, selected)  the whole panel body
    walk_view(report, walk)                  the accumulation table and the step-back control
    vector_view(report, t, k)                one gamma_t(k) across the hidden units
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
from markupsafe import Markup

from app.inspect.charts import accumulated_svg, decay_svg, dW_h_bars_svg, gamma_heatmap_svg, vector_svg
from app.web import templating
from rnn_core.gradcheck import GradCheckEntry
from rnn_core.inspect_report import InspectReport, TableRow

PANEL = "partials/inspect.html"
VECTOR_URL = "/fragments/inspect/gamma"
GRAD_CHECK_TOLERANCE = 1e-6  # the bar for every parameter


NOT_FINITE = {math.inf: "∞", -math.inf: "−∞"}


def fmt(value: float, spec: str = ".4g") -> str:
    """A value as the page prints it: 4 significant digits; ∞ or "not a number" when not finite."""
    if math.isfinite(value):
        return format(value, spec)
    return NOT_FINITE.get(value, "not a number")


#: Above this J(t) the probability e^-J(t) of the true character underflows float64 to 0.
J_UNDERFLOW = 700.0


def nonfinite_note(r: InspectReport) -> str | None:
    """What the panel says when some J(t) is vast or not finite: which steps, why, what to change."""
    bad = [s.t for s in r.steps if not math.isfinite(s.J) or s.J > J_UNDERFLOW]
    if not bad and math.isfinite(r.loss):
        return None
    where = ", ".join(str(t) for t in bad[:8]) + (", ..." if len(bad) > 8 else "")
    return (
        f"J(t) is enormous at t = {where}: the model gives the true next character a probability "
        "that is 0 in floating point (ŷ(t)[y(t)] underflows), so its weights are saturated, the "
        "mark of a learning rate far too high. Lower the learning rate and press Reset."
    )


def exact(value: float) -> str:
    """A value as a hover title gives it: 7 significant digits."""
    return f"{value:.6e}" if math.isfinite(value) else fmt(value)


def eq(number: str) -> Markup:
    """A link to one of the seed's equations in the panel's equation list."""
    anchor = "eq-" + number.replace(".", "-")
    return Markup(f'<a class="eq" href="#{anchor}">Eq.&nbsp;{escape(number)}</a>')


def gamma_sym(t: int | str, k: int | str) -> Markup:
    """gamma_t^(k) as HTML."""
    return Markup(f"γ<sub>{escape(str(t))}</sub><sup>({escape(str(k))})</sup>")


@dataclass(frozen=True)
class Cell:
    """One number on the page: shown rounded, exact in its title, with a highlight class."""

    text: str
    title: str
    css: str = ""


def cell(value: float, css: str = "") -> Cell:
    """A formatted number."""
    return Cell(fmt(value), exact(value), css)


@dataclass(frozen=True)
class Guess:
    char: str
    prob: str
    title: str
    width: str  # bar width, percent
    css: str  # "hit" when the guess is the true next character


@dataclass(frozen=True)
class StepView:
    t: int
    x: str
    y: str
    J: Cell
    J_width: str  # bar height, percent of the largest J(t)
    p_target: Cell
    guesses: tuple[Guess, ...]


@dataclass(frozen=True)
class RowView:
    """One row of the accumulation table."""

    k: int
    chars: str  # x(k) -> y(k)
    computes: Cell
    receives: Cell
    accumulated: Cell
    sigma_prime: Cell
    adds: Cell
    passes: Cell
    running: Cell
    css: str  # walk-current / walk-next / walk-prev / ""


@dataclass(frozen=True)
class Line:
    """One line of the walk's explanation: a verb, a formula, the value and its equation."""

    verb: str
    formula: Markup
    value: Cell
    equation: Markup


@dataclass(frozen=True)
class WalkView:
    k: int  # 0 before the walk starts
    T: int
    next_k: int  # what the step-back button asks for
    button: str
    rows: tuple[RowView, ...]
    lines: tuple[Line, ...]
    heading: Markup
    style: Markup  # highlights the quantities that move in the maps and bars


@dataclass(frozen=True)
class VectorView:
    t: int
    k: int
    svg: Markup
    symbol: Markup
    norm: Cell
    how: Markup  # how it was computed, with its equation


@dataclass(frozen=True)
class GradRow:
    param: str
    equation: Markup
    index: str
    analytic: Cell
    numeric: Cell
    rel_error: Cell
    css: str  # "ok" below the tolerance, else "bad"


@dataclass(frozen=True)
class DecayNote:
    activation: str
    css: str
    text: Markup


@dataclass(frozen=True)
class InspectView:
    name: str
    key: str
    step: int
    activation: str
    hidden_size: int
    vocab_size: int
    T: int
    loss: Cell
    loss_per_char: Cell
    warning: str | None  # said when J is not finite
    steps: tuple[StepView, ...]
    gamma_map: Markup
    accumulated_map: Markup
    dW_h_bars: Markup
    dW_h_sum: Cell
    dW_h_norm: Cell
    decay_plot: Markup
    decay_notes: tuple[DecayNote, ...]
    grad_rows: tuple[GradRow, ...]
    grad_max: Cell  # css "ok" or "bad"
    grad_verdict: str
    walk: WalkView
    vector: VectorView


def render(block: str, **context: Any) -> str:
    """One block of templates/partials/inspect.html, rendered alone (jinja2-fragments)."""
    return templating.render(PANEL, block, context)


# ------------------------------------------------------------------- builders
def inspect_view(
    r: InspectReport, key: str, step: int, walk: int = 0, selected: tuple[int, int] | None = None
) -> InspectView:
    """Everything the panel body shows for one name, traced under the weights ``key`` of ``step``."""
    t, k = selected if selected and 1 <= selected[1] <= selected[0] <= r.T else (r.T, r.T)
    grad_ok = r.grad_check_max_error < GRAD_CHECK_TOLERANCE
    return InspectView(
        name=r.name,
        key=key,
        step=step,
        activation=r.activation,
        hidden_size=r.hidden_size,
        vocab_size=r.vocab_size,
        T=r.T,
        loss=cell(r.loss),
        loss_per_char=cell(r.loss / r.T),
        warning=nonfinite_note(r),
        steps=step_views(r),
        gamma_map=Markup(gamma_heatmap_svg(r, VECTOR_URL)),
        accumulated_map=Markup(accumulated_svg(r, VECTOR_URL)),
        dW_h_bars=Markup(dW_h_bars_svg(r)),
        dW_h_sum=cell(r.dW_h_norm_sum),
        dW_h_norm=cell(r.dW_h_norm),
        decay_plot=Markup(decay_svg(r)),
        decay_notes=decay_notes(r),
        grad_rows=tuple(grad_row(e) for e in r.grad_check),
        grad_max=cell(r.grad_check_max_error, "ok" if grad_ok else "bad"),
        grad_verdict="< 1e-6: the gradients are right" if grad_ok else "≥ 1e-6: look closer",
        walk=walk_view(r, walk),
        vector=vector_view(r, t, k),
    )


def step_views(r: InspectReport) -> tuple[StepView, ...]:
    """The unrolled strip: x(t), y(t), J(t) and the top guesses per step."""
    J_max = max((s.J for s in r.steps if math.isfinite(s.J)), default=0.0) or 1.0
    return tuple(
        StepView(
            t=s.t,
            x=s.x,
            y=s.y,
            J=Cell(fmt(s.J, ".3g"), exact(s.J)),
            J_width=f"{100 * min(s.J / J_max, 1.0):.1f}",
            p_target=Cell(f"{s.p_target:.3g}", exact(s.p_target)),
            guesses=tuple(
                Guess(
                    g.char,
                    f"{g.prob:.2f}",
                    f"ŷ({s.t})[{g.char}] = {exact(g.prob)}",
                    f"{100 * g.prob:.1f}",
                    "hit" if g.char == s.y else "",
                )
                for g in s.guesses
            ),
        )
        for s in r.steps
    )


def _row_class(row_k: int, walk: int) -> str:
    if walk == 0:
        return ""
    return {walk: "walk-current", walk + 1: "walk-from", walk - 1: "walk-to"}.get(row_k, "")


def walk_view(r: InspectReport, walk: int) -> WalkView:
    """The accumulation table with step k = ``walk`` lit (0: none yet), and the next step."""
    T = r.T
    walk = walk if 1 <= walk <= T else 0
    chars = {s.t: f"{s.x} → {s.y}" for s in r.steps}
    rows = []
    for row in r.table:
        css = _row_class(row.k, walk)
        moving = "moves" if css == "walk-current" else ""
        rows.append(
            RowView(
                k=row.k,
                chars=chars[row.k],
                computes=cell(row.computes, moving),
                receives=cell(row.receives, moving or ("moves-to" if css == "walk-to" else "")),
                accumulated=cell(row.accumulated, moving),
                sigma_prime=cell(row.sigma_prime_mean),
                adds=cell(row.adds, moving),
                passes=cell(row.passes, moving or ("moves-from" if css == "walk-from" else "")),
                running=cell(row.running, moving),
                css=css,
            )
        )
    next_k = walk - 1 if walk > 1 else T
    if walk == 0:
        button = f"Step backwards from k = {T}"
    elif walk == 1:
        button = f"Start again at k = {T}"
    else:
        button = f"Step back to k = {walk - 1}"
    current = next((row for row in r.table if row.k == walk), None)
    return WalkView(
        k=walk,
        T=T,
        next_k=next_k,
        button=button,
        rows=tuple(rows),
        lines=walk_lines(current, T) if current else (),
        heading=_walk_heading(current, chars, T),
        style=_walk_style(walk),
    )


def _walk_heading(row: TableRow | None, chars: dict[int, str], T: int) -> Markup:
    if row is None:
        return Markup(
            "The backward pass runs from k = T down to 1. Press the button to walk it one step "
            "at a time: the table, the γ map, γ(k) and the ∂J/∂W<sub>h</sub>(k) bars light up "
            "what each step uses and what it hands on."
        )
    return Markup(f"Step k = {row.k} of {T} (input → target: {escape(chars[row.k])}): the cell h({row.k})")


def walk_lines(row: TableRow, T: int) -> tuple[Line, ...]:
    """What step k computes, receives, holds, adds and passes (the seed's table, one row)."""
    k = row.k
    later = (
        Markup(f"Σ<sub>t={k + 1}…{T}</sub> ") + gamma_sym("t", k)
        if k < T
        else Markup("nothing (k = T is the last step)")
    )
    lines = [
        Line(
            "computes",
            gamma_sym(k, k) + Markup(f" = U<sup>T</sup>(ŷ({k}) − y({k}))"),
            cell(row.computes),
            eq("3.1") + Markup(", ") + eq("2.1"),
        ),
        Line(f"receives from step {k + 1}", later, cell(row.receives), eq("6.2")),
        Line(
            "holds",
            Markup(f"γ({k}) = ∂J/∂h({k}) = ") + gamma_sym(k, k) + Markup(" + received"),
            cell(row.accumulated),
            eq("4.1"),
        ),
        Line(
            "adds to the gradient",
            Markup(f"∂J/∂W<sub>h</sub><sup>({k})</sup> = (γ({k}) ∘ σ′(z({k}))) h({k - 1})<sup>T</sup>"),
            cell(row.adds),
            eq("5.2"),
        ),
        Line(
            "gradient so far",
            Markup(f"Σ<sub>j={k}…{T}</sub> ∂J/∂W<sub>h</sub><sup>(j)</sup>"),
            cell(row.running),
            eq("4.1"),
        ),
        Line(
            f"passes to step {k - 1}" if k > 1 else "passes to h(0) (a constant: unused)",
            Markup(f"W<sub>h</sub><sup>T</sup>(γ({k}) ∘ σ′(z({k}))) = Σ<sub>t≥{k}</sub> ")
            + gamma_sym("t", k - 1),
            cell(row.passes),
            eq("6.2"),
        ),
    ]
    return tuple(lines)


def _walk_style(walk: int) -> Markup:
    """CSS lighting column k (and k - 1) of the γ map, row k of γ(k), bar k of ∂J/∂W_h(k)."""
    if walk == 0:
        return Markup("")
    return Markup(
        "<style>"
        f'#inspect-result .g-cell[data-k="{walk}"]{{stroke:#d9480f;stroke-width:2}}'
        f'#inspect-result .g-cell[data-k="{walk - 1}"]:not([data-t="{walk - 1}"])'
        "{stroke:#f59f00;stroke-width:1.5;stroke-dasharray:3 2}"
        f'#inspect-result .acc-row[data-k="{walk}"] > text{{fill:#d9480f;font-weight:700}}'
        f'#inspect-result .acc-hit[data-k="{walk}"]{{stroke:#d9480f;stroke-width:1.5}}'
        f'#inspect-result .dwh-bar[data-k="{walk}"] rect{{fill:#d9480f}}'
        "</style>"
    )


def vector_view(r: InspectReport, t: int, k: int) -> VectorView:
    """gamma_t(k) across the hidden units, with how Eq. 6.2 (or the output layer) made it;
    t = 0 asks for the accumulated gamma(k) = sum_t gamma_t(k) = dJ/dh(k)."""
    if t == 0:
        values = r.trace.accumulated[k - 1]
        symbol = Markup(f"γ({k}) = Σ<sub>t≥{k}</sub> ") + gamma_sym("t", k) + Markup(f" = ∂J/∂h({k})")
        how = (
            Markup("the sum the second trick carries back: ")
            + gamma_sym(k, k)
            + Markup(f" plus what step {k + 1} passed, ")
            + eq("4.1")
        )
        plain = f"γ({k})"
    elif t == k:
        values = r.trace.gamma[t - 1, k - 1]
        symbol = gamma_sym(t, k) + Markup(f" = ∂J({t})/∂h({k})")
        how = Markup(f"= U<sup>T</sup>(ŷ({t}) − y({t})): J({t}) back through ") + (
            eq("3.1") + Markup(" and ") + eq("2.1")
        )
        plain = f"γ_{t}({k})"
    else:
        values = r.trace.gamma[t - 1, k - 1]
        symbol = gamma_sym(t, k) + Markup(f" = ∂J({t})/∂h({k})")
        how = (
            Markup("= W<sub>h</sub><sup>T</sup>(")
            + gamma_sym(t, k + 1)
            + Markup(f" ∘ σ′(z({k + 1}))), ")
            + eq("6.2")
            + Markup(f", applied {t - k} time{'s' if t - k > 1 else ''} from ")
            + gamma_sym(t, t)
        )
        plain = f"γ_{t}({k})"
    return VectorView(
        t=t,
        k=k,
        svg=Markup(vector_svg(values, plain, plain)),
        symbol=symbol,
        norm=cell(float(np.linalg.norm(values))),
        how=how,
    )


_PARAM_EQUATION = {"W_h": "5.2", "W_x": "1.1", "b1": "1.1", "U": "2.1", "b2": "2.1"}


def grad_row(e: GradCheckEntry) -> GradRow:
    """One checked entry: analytic (the trace's BPTT) against the centred difference."""
    return GradRow(
        param=e.param,
        equation=eq(_PARAM_EQUATION[e.param]),
        index="[" + ", ".join(str(i + 1) for i in e.index) + "]",
        analytic=Cell(f"{e.analytic:.6g}", exact(e.analytic)),
        numeric=Cell(f"{e.numeric:.6g}", exact(e.numeric)),
        rel_error=Cell(f"{e.rel_error:.1e}", exact(e.rel_error)),
        css="ok" if e.rel_error < GRAD_CHECK_TOLERANCE else "bad",
    )


def decay_notes(r: InspectReport) -> tuple[DecayNote, ...]:
    """Why the lines fall: the bound max sigma' x |W_h|_2 on each step back through Eq. 6.2."""
    why = {
        "sigmoid": "σ′(z) = σ(z)(1 − σ(z)) ≤ 1/4",
        "tanh": "tanh′(z) = 1 − tanh²(z) ≤ 1",
        "relu": "relu′(z) is 1 where z &gt; 0, else 0",
    }
    notes = []
    for n, d in enumerate(r.decays):
        slope = "¼" if d.max_slope == 0.25 else f"{d.max_slope:g}"
        text = (
            Markup(f"<b>{escape(d.activation)}</b>: {why.get(d.activation, 'σ′ ≤ ' + slope)} ")
            + eq("5.1.1")
            + Markup(f" (here {d.sigma_prime_mean:.3f} on average), so each step back through ")
            + eq("6.2")
            + Markup(
                f" multiplies |γ| by at most {slope} × ‖W<sub>h</sub>‖₂ = "
                f"{slope} × {d.W_h_norm:.3f} = <b>{d.rate_bound:.3f}</b>"
            )
        )
        if d.rate_bound < 1:
            text += Markup(
                f": |γ<sub>t</sub><sup>(k)</sup>| ≤ {d.rate_bound:.3f}<sup>t−k</sup> |γ<sub>t</sub>"
                "<sup>(t)</sup>| must vanish, the reason plain RNNs forget."
            )
        elif d.max_slope < 1:
            text += Markup(": only weights with ‖W<sub>h</sub>‖₂ &gt; 4 let it grow; the typical σ′ decides.")
        else:
            text += Markup(": the bound allows growth; the typical σ′ decides.")
        notes.append(DecayNote(d.activation, f"act-{n}", text))
    return tuple(notes)
