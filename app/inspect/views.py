"""What the Inspect templates print: an InspectReport turned into labelled, formatted values.

The view models are plain data: numbers formatted here (app/inspect/numbers.py),
each with its exact value beside it for the hover title, and the charts'
geometry (app/inspect/charts.py, app/inspect/decay.py). The words, the formulas
and every equation link are in the templates (templates/partials/inspect.html
and templates/partials/inspect/), which name each quantity by the seed's symbol
and equation.

    inspect_view(report, key, step, walk, selected, opened, whatif)  the whole panel body, under
                                                     a what-if (app/inspect/whatif.py): a K greys
                                                     the dropped cells, a bug redraws the map
    lit_layers(report, walk)                         what step k of the walk lights on the charts
    vector_view(report, t, k)                        one gamma_t(k) across the hidden units
    render(block, **context)                         one of the panel's fragments

The accumulation table, the gradient check and the decay plot sit under closed
<details>: the panel body carries only their place (partials/inspect/more.html),
and the page asks for a part when it is opened (/fragments/inspect/more?part=...),
or names the parts it has open in its next request, which then draws them in
place (``opened``). Their view models are in app/inspect/parts.py.

The accumulation table's walk is in app/inspect/walk.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from markupsafe import Markup

from app.http.schemas import MAX_NAME_CHARS
from app.inspect.bars import BarChart, VectorChart, dW_h_bars, vector_chart
from app.inspect.charts import GammaMap, accumulated_map, gamma_map
from app.inspect.estimates import EstimatesView, TruncView, estimates_view, truncation_view
from app.inspect.numbers import Cell, cell, exact, fmt
from app.inspect.parts import (
    VECTOR_URL,
    DecayView,
    GradCheckView,
    TableView,
    decay_view,
    grad_check_view,
    table_view,
)
from app.inspect.walk import WalkLayers, walk_layers
from app.inspect.whatif import NO_WHATIF, WhatIf, WhatIfView, whatif_view
from app.web import templating
from rnn_core.estimates import dropped_mask
from rnn_core.inspect_report import InspectReport

PANEL = "partials/inspect.html"
Fragment = Literal["result", "error", "walk", "vector", "learn", "note", "table", "grad", "decay",
                   "estimates", "whatif_error"]  # fmt: skip
#: The template holding each fragment (a block of the same name).
TEMPLATES: dict[Fragment, str] = {
    "result": PANEL,
    "error": PANEL,
    "walk": "partials/inspect/walk.html",
    "vector": "partials/inspect/vector.html",
    "learn": "partials/learn/card.html",
    "note": "partials/inspect/note.html",
    "table": "partials/inspect/table.html",
    "grad": "partials/inspect/grad_check.html",
    "decay": "partials/inspect/decay.html",
    "estimates": "partials/inspect/estimates.html",
    "whatif_error": "partials/inspect/whatif.html",
}
MAX_INSPECT_CHARS = MAX_NAME_CHARS  # the longest name the Generate panel writes: 40
#: Above this J(t) the probability e^-J(t) of the true character underflows float64 to 0.
J_UNDERFLOW = 700.0


@dataclass(frozen=True)
class ShellView:
    """What the panel's shell shows before any name is traced (it is rendered with the page)."""

    max_name_chars: int
    input_maxlength: int  # above the limit, so a longer name is refused in words, not cut short


def shell_view() -> ShellView:
    """The panel's shell: the name field's limits (page.html includes it; routes/pages.py passes it)."""
    return ShellView(MAX_INSPECT_CHARS, MAX_INSPECT_CHARS + 20)


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


# --------------------------------------------------------------- the models
@dataclass(frozen=True)
class Guess:
    char: str
    prob: str
    exact: str
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
class VectorView:
    """The selected cell (t, k) of the map (t = 0: step k, summed over t), with Eq. 5.2's numbers."""

    t: int
    k: int
    kind: Literal["accumulated", "own", "sent"]  # t = 0: sum_t gamma_t(k); t = k; t > k
    chart: VectorChart
    norm: Cell  # |gamma_t(k)|
    chars: str  # x(k) -> y(k)
    sigma_mean: Cell  # the mean of sigma'(z(k))
    delta_norm: Cell  # |gamma_t(k) o sigma'(z(k))|
    h_norm: Cell  # |h(k-1)|
    term_norm: Cell  # |dJ(t)/dW_h(k)| = delta_norm x h_norm, Eq. 5.2


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
    gamma_map: GammaMap
    dW_h_bars: BarChart
    layers: WalkLayers  # step k of the walk, drawn over the two charts (and the table's map)
    walk_k: int  # the step k the walk has lit (0: none), kept while the table is closed
    table: TableView | None  # None: drawn when opened (PARTS)
    decay: DecayView | None
    dW_h_sum: Cell
    dW_h_norm: Cell
    grad: GradCheckView | None  # None: computed and drawn when opened
    vector: VectorView
    whatif: WhatIfView  # the what-if bar: the run's K and clip, the student's, the bug
    trunc: TruncView | None  # the K in force beside the map (None: full BPTT)
    estimates: EstimatesView | None  # None: drawn when opened


def render(block: Fragment, **context: Any) -> Markup:
    """One of the panel's fragments: the block ``block`` of its template, rendered alone."""
    return templating.render(TEMPLATES[block], block, context)


# ------------------------------------------------------------------ builders
def inspect_view(
    r: InspectReport,
    key: str,
    step: int,
    walk: int = 0,
    selected: tuple[int, int] | None = None,
    opened: tuple[str, ...] = (),
    w: WhatIf = NO_WHATIF,
) -> InspectView:
    """Everything the panel body shows for one name, traced under the weights ``key`` of ``step``.

    The parts of PARTS are computed and drawn only when named in ``opened`` (the page has them
    open); the others are left for the page to ask for when they are opened. Under a what-if
    ``w``: its K greys the cells it drops, its bug draws the broken pass's gammas on the map."""
    t, k = selected if selected and 1 <= selected[1] <= selected[0] <= r.T else (r.T, r.T)
    walk = walk if 1 <= walk <= r.T else 0
    dropped = dropped_mask(r.T, w.K) if w.K is not None else None
    norms = r.broken(w.bug).gamma_norms if w.bug else None
    maps = gamma_map(r, VECTOR_URL, dropped=dropped, norms=norms), dW_h_bars(r)
    table = table_view(r, walk, w.K) if "table" in opened else None
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
        gamma_map=maps[0],
        dW_h_bars=maps[1],
        layers=walk_layers(maps[0], table.accumulated_map if table else None, maps[1], walk),
        walk_k=walk,
        table=table,
        decay=decay_view(r) if "decay" in opened else None,
        dW_h_sum=cell(r.dW_h_norm_sum),
        dW_h_norm=cell(r.dW_h_norm),
        grad=grad_check_view(r, w.bug) if "grad" in opened else None,
        vector=vector_view(r, t, k),
        whatif=whatif_view(w),
        trunc=truncation_view(r, w),
        estimates=estimates_view(r, w) if "estimates" in opened else None,
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
                    exact(g.prob),
                    f"{100 * g.prob:.1f}",
                    "hit" if g.char == s.y else "",
                )
                for g in s.guesses
            ),
        )
        for s in r.steps
    )


def lit_layers(r: InspectReport, walk: int) -> WalkLayers:
    """The walk's layers at step k = ``walk``, for the charts the page already shows."""
    return walk_layers(gamma_map(r, VECTOR_URL), accumulated_map(r, VECTOR_URL), dW_h_bars(r), walk)


def vector_view(r: InspectReport, t: int, k: int) -> VectorView:
    """gamma_t(k) across the hidden units; t = 0 asks for the accumulated gamma(k) = dJ/dh(k)."""
    tr = r.trace
    values = tr.accumulated[k - 1] if t == 0 else tr.gamma[t - 1, k - 1]
    kind: Literal["accumulated", "own", "sent"] = "accumulated" if t == 0 else "own" if t == k else "sent"
    delta = float(np.linalg.norm(values * tr.sigma_prime[k - 1]))
    h_norm = float(np.linalg.norm(tr.h[k - 1]))
    step = r.steps[k - 1]
    return VectorView(
        t,
        k,
        kind,
        vector_chart(values),
        cell(float(np.linalg.norm(values))),
        f"{step.x} → {step.y}",
        cell(float(tr.sigma_prime[k - 1].mean())),
        cell(delta),
        cell(h_norm),
        cell(delta * h_norm),
    )
