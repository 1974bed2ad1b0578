"""Pack a batch of names of different lengths into time-major rows with no padding.

A name of n characters is T = n + 1 steps (docs/ARCHITECTURE.md "Names as sequences"): the
inputs are the start marker then c1..cn, the targets are c1..cn then the end
token. Names are sorted by length, longest first, so the names still running
at step t are always the first ``n_active[t]`` of them. Every step's rows are
stored one after the other in a single (N, .) array, N = sum of all T:

    rows of step t  = offsets[t] : offsets[t] + n_active[t]
    h(t-1) of those = the first n_active[t] rows of step t-1

so the recurrence touches only live rows, and everything outside it (the input
gather, the output layer, the weight gradients) is one 2-D product over N rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import IndexArray


@dataclass(frozen=True)
class Batch:
    """Index arrays describing B names packed step by step (0-based steps here)."""

    order: IndexArray  # (B,) position in the caller's list of each sorted name
    lengths: IndexArray  # (B,) T of each sorted name, descending
    n_active: IndexArray  # (T_max,) names still running at each step
    offsets: IndexArray  # (T_max + 1,) first row of each step; offsets[-1] == N
    x_idx: IndexArray  # (N,) input index per row: a character id, or V for the start marker
    y_idx: IndexArray  # (N,) target character id per row (the end token on a name's last step)
    prev_idx: IndexArray  # (N - n_active[0],) row of h(t-1) for every row of steps t >= 1

    @property
    def n_rows(self) -> int:
        """N: the number of (name, step) pairs, i.e. characters predicted."""
        return int(self.offsets[-1])

    @property
    def t_max(self) -> int:
        """The longest T in the batch."""
        return len(self.n_active)

    def rows(self, t: int) -> slice:
        """The rows of 0-based step t."""
        return slice(int(self.offsets[t]), int(self.offsets[t + 1]))

    @classmethod
    def from_sequences(cls, seqs: Sequence[Sequence[int]], start_id: int, end_id: int) -> Batch:
        """Pack encoded names (no end token) for a model whose start marker is ``start_id``."""
        if len(seqs) == 0:
            raise ValueError("a batch needs at least one name")
        T = np.fromiter((len(s) + 1 for s in seqs), dtype=np.intp, count=len(seqs))
        order = np.argsort(-T, kind="stable")
        lengths = T[order]
        B, T_max = len(seqs), int(lengths[0])
        # Padded (B, T_max) input and target grids; only cells with t < T_b are used.
        x_grid = np.full((B, T_max), start_id, dtype=np.intp)
        y_grid = np.full((B, T_max), end_id, dtype=np.intp)
        for b, i in enumerate(order):
            s = seqs[i]
            if len(s):
                x_grid[b, 1 : len(s) + 1] = s
                y_grid[b, : len(s)] = s
        active = np.arange(T_max)[:, None] < lengths[None, :]  # (T_max, B), step-major
        n_active = active.sum(axis=1)
        offsets = np.zeros(T_max + 1, dtype=np.intp)
        np.cumsum(n_active, out=offsets[1:])
        row_of = np.full((T_max, B), -1, dtype=np.intp)
        row_of[active] = np.arange(offsets[-1])
        prev_idx = row_of[:-1][active[1:]]
        return cls(
            order=order,
            lengths=lengths,
            n_active=n_active,
            offsets=offsets,
            x_idx=x_grid.T[active],
            y_idx=y_grid.T[active],
            prev_idx=prev_idx,
        )
