"""Plain-text rendering of a gamma trace, for `python -m rnn_core inspect NAME`.

Two parts: a per-step table (t, input x(t), target y(t), J(t), |gamma_t(t)|,
|gamma(t)|) and the T x T grid of |gamma_t(k)| (row t: the loss step J(t);
column k: the hidden state h(k); "." where k > t, since J(t) does not depend
on later states).
"""

from __future__ import annotations

import numpy as np

from .trace import GammaTrace
from .vocab import Vocab

START = "<start>"
END = "<end>"


def render_inspect(trace: GammaTrace, vocab: Vocab, name: str) -> str:
    """The step table and the |gamma_t(k)| grid of `trace`, as text."""
    return "\n".join(
        [
            _header(trace, name),
            "",
            render_step_table(trace, vocab),
            "",
            render_gamma_grid(trace.gamma_norms),
        ]
    )


def _header(trace: GammaTrace, name: str) -> str:
    return (
        f"name {name!r}: T = {trace.T} steps, J = {trace.loss:.4f} nats "
        f"({trace.loss / trace.T:.4f} nats/char)"
    )


def char_label(vocab: Vocab, index: int) -> str:
    """A character index as shown in tables: the letter, <start> for x(1) = 0, <end> for the end."""
    if index >= vocab.size:
        return START
    if index == vocab.end_id:
        return END
    return vocab.chars[index]


def render_step_table(trace: GammaTrace, vocab: Vocab) -> str:
    """One row per step t: x(t), y(t), J(t) (Eq. 3.2), |gamma_t(t)| and |gamma(t)| = |dJ/dh(t)|."""
    own = np.linalg.norm(trace.gamma[np.arange(trace.T), np.arange(trace.T)], axis=1)
    accumulated = np.linalg.norm(trace.accumulated, axis=1)
    lines = [f"{'t':>3}  {'x(t)':<7}  {'y(t)':<7}  {'J(t)':>8}  {'|gamma_t(t)|':>12}  {'|gamma(t)|':>12}"]
    for t in range(trace.T):
        lines.append(
            f"{t + 1:>3}  {char_label(vocab, int(trace.inputs[t])):<7}  "
            f"{char_label(vocab, int(trace.targets[t])):<7}  {trace.step_loss[t]:>8.4f}  "
            f"{own[t]:>12.4e}  {accumulated[t]:>12.4e}"
        )
    return "\n".join(lines)


def render_gamma_grid(norms: np.ndarray) -> str:
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
