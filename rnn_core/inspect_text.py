"""Plain-text rendering of a gamma trace, for `python -m rnn_core inspect NAME`.

`render_inspect` writes the basic view of a trace in two parts: a per-step
table (t, input x(t), target y(t), J(t), |gamma_t(t)|, |gamma(t)|) and the
T x T grid of |gamma_t(k)| (row t: the loss step J(t); column k: the hidden
state h(k); "." where k > t, since J(t) does not depend on later states).
Given the report (rnn_core.inspect_report) it goes on with the rest of the
Inspect view (`render_sections`); `render_report` writes that whole view from
a report alone.
"""

from __future__ import annotations

import numpy as np

from .arrays import F64Array
from .inspect_report import InspectReport
from .trace import GammaTrace
from .vocab import Vocab


def render_inspect(trace: GammaTrace, vocab: Vocab, name: str, report: InspectReport | None = None) -> str:
    """The step table and the |gamma_t(k)| grid of `trace`, as text.

    Given the `report` of the same name (``build_report``), the rest of the
    Inspect view follows: the top guesses per step, the seed's accumulation
    table, the decay of |gamma_t(k)| under every activation and a gradient check.
    """
    text = "\n".join(
        [
            _header(trace, name),
            "",
            render_step_table(trace, vocab),
            "",
            render_gamma_grid(trace.gamma_norms),
        ]
    )
    if report is None:
        return text
    return text + "\n\n" + render_sections(report)


def _header(trace: GammaTrace, name: str) -> str:
    return (
        f"name {name!r}: T = {trace.T} steps, J = {trace.loss:.4f} nats "
        f"({trace.loss / trace.T:.4f} nats/char)"
    )


def render_step_table(trace: GammaTrace, vocab: Vocab) -> str:
    """One row per step t: x(t), y(t), J(t) (Eq. 3.2), |gamma_t(t)| and |gamma(t)| = |dJ/dh(t)|."""
    own = np.linalg.norm(trace.gamma[np.arange(trace.T), np.arange(trace.T)], axis=1)
    accumulated = np.linalg.norm(trace.accumulated, axis=1)
    lines = [f"{'t':>3}  {'x(t)':<7}  {'y(t)':<7}  {'J(t)':>8}  {'|gamma_t(t)|':>12}  {'|gamma(t)|':>12}"]
    for t in range(trace.T):
        lines.append(
            f"{t + 1:>3}  {vocab.label(int(trace.inputs[t])):<7}  "
            f"{vocab.label(int(trace.targets[t])):<7}  {trace.step_loss[t]:>8.4f}  "
            f"{own[t]:>12.4e}  {accumulated[t]:>12.4e}"
        )
    return "\n".join(lines)


def render_gamma_grid(norms: F64Array) -> str:
    """The (T, T) matrix |gamma_t(k)| (row t, column k) as a text grid; "." where k > t."""
    T = norms.shape[0]
    width = 8
    lines = [
        "|gamma_t(k)|: row t = loss step J(t), column k = hidden state h(k)",
        "t\\k" + "".join(f"{k + 1:>{width}}" for k in range(T)),
    ]
    for t in range(T):
        cells = [f"{norms[t, k]:>{width}.1e}" if k <= t else f"{'.':>{width}}" for k in range(T)]
        lines.append(f"{t + 1:>3}" + "".join(cells))
    return "\n".join(lines)


# ------------------------------------------- the whole Inspect view (inspect_report)
def render_report(report: InspectReport) -> str:
    """The whole Inspect view as plain text, for ``python -m rnn_core inspect NAME``."""
    return "\n\n".join([_text_header(report), render_gamma_grid(report.gamma_norms), render_sections(report)])


def render_sections(report: InspectReport) -> str:
    """The parts beyond the |gamma_t(k)| grid: guesses, table, decay, gradient check."""
    return "\n\n".join(
        [_text_steps(report), _text_table(report), _text_decay(report), _text_grad_check(report)]
    )


def _text_header(r: InspectReport) -> str:
    return (
        f"name {r.name!r} under the current weights ({r.activation}, D_h = {r.hidden_size}, "
        f"V = {r.vocab_size}): T = {r.T} steps, J = {r.loss:.4f} nats (Eq. 3.3), "
        f"{r.loss / r.T:.4f} nats/char"
    )


def _text_steps(r: InspectReport) -> str:
    lines = [f"{'t':>3}  {'x(t)':<7}  {'y(t)':<7}  {'J(t) 3.2':>9}  {'p(y(t))':>8}  top guesses"]
    for s in r.steps:
        guesses = "  ".join(f"{g.char} {g.prob:.3f}" for g in s.guesses)
        lines.append(f"{s.t:>3}  {s.x:<7}  {s.y:<7}  {s.J:>9.4f}  {s.p_target:>8.4f}  {guesses}")
    return "\n".join(lines)


def _text_table(r: InspectReport) -> str:
    head = (
        f"{'k':>3}  {'computes':>10}  {'receives':>10}  {'|gamma(k)|':>10}  {'mean sig_p':>10}  "
        f"{'passes':>10}  {'adds':>10}  {'running':>10}"
    )
    lines = [
        "The accumulation table (second trick), k = T down to 1:",
        "  computes |gamma_k(k)|, receives |sum_{t>k} gamma_t(k)| from k+1, passes",
        "  |W_h^T (gamma(k) o sigma'(z(k)))| to k-1 (Eq. 6.2), adds |dJ/dW_h(k)| (Eq. 5.2)",
        head,
    ]
    for row in r.table:
        lines.append(
            f"{row.k:>3}  {row.computes:>10.3e}  {row.receives:>10.3e}  {row.accumulated:>10.3e}  "
            f"{row.sigma_prime_mean:>10.4f}  {row.passes:>10.3e}  {row.adds:>10.3e}  "
            f"{row.running:>10.3e}"
        )
    lines.append(f"sum_k |dJ/dW_h(k)| = {r.dW_h_norm_sum:.4e}   |dJ/dW_h| = {r.dW_h_norm:.4e} (Eq. 4.1)")
    return "\n".join(lines)


def _text_decay(r: InspectReport) -> str:
    names = [d.activation for d in r.decays]
    lines = [
        "Decay |gamma_t(k)| / |gamma_t(t)| by distance d = t - k (median over t):",
        f"{'d':>3}  " + "  ".join(f"{n:>10}" for n in names),
    ]
    for d in range(r.T):
        lines.append(f"{d:>3}  " + "  ".join(f"{dec.median[d]:>10.3e}" for dec in r.decays))
    for dec in r.decays:
        lines.append(
            f"{dec.activation}: sigma' <= {dec.max_slope:g} (mean {dec.sigma_prime_mean:.3f}), "
            f"|W_h|_2 = {dec.W_h_norm:.3f}: each step back multiplies |gamma| by at most "
            f"{dec.rate_bound:.3f}"
        )
    return "\n".join(lines)


def _text_grad_check(r: InspectReport) -> str:
    lines = [
        "Gradient check (float64, centred differences):",
        f"{'param':<6} {'entry':<9} {'analytic':>14} {'numeric':>14} {'rel error':>10}",
    ]
    for e in r.grad_check:
        index = ",".join(map(str, e.index))
        lines.append(f"{e.param:<6} {index:<9} {e.analytic:>14.6e} {e.numeric:>14.6e} {e.rel_error:>10.2e}")
    return "\n".join(lines)
