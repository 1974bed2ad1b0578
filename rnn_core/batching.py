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

Packing reads the names from a ``Corpus``: the names laid out once as arrays,
one after another, so that a batch of them is a handful of array operations.
A trainer keeps one of its training names and hands the model ``corpus.pick(idx)``,
which reads like the list of those names; any other list is laid out on the spot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import overload

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
        if isinstance(seqs, Picked) and (seqs.corpus.start_id, seqs.corpus.end_id) == (start_id, end_id):
            return seqs.corpus.pack(seqs.idx)
        return Corpus.from_sequences(seqs, start_id, end_id).pack(np.arange(len(seqs)))


@dataclass(frozen=True)
class Corpus:
    """Encoded names laid out one after another, T = n + 1 entries each.

    Name k takes entries first[k] .. first[k] + T[k] - 1 of ``inputs`` (the start
    marker, then c1..cn) and of ``targets`` (c1..cn, then the end token).
    """

    seqs: Sequence[Sequence[int]]  # the names, encoded
    start_id: int
    end_id: int
    T: IndexArray  # (names,)
    first: IndexArray  # (names,)
    inputs: IndexArray  # (sum of T,)
    targets: IndexArray  # (sum of T,)

    @classmethod
    def from_sequences(cls, seqs: Sequence[Sequence[int]], start_id: int, end_id: int) -> Corpus:
        """Lay out encoded names (no end token) for a model whose start marker is ``start_id``."""
        T = np.fromiter((len(s) + 1 for s in seqs), dtype=np.intp, count=len(seqs))
        first = np.zeros(len(seqs), dtype=np.intp)
        np.cumsum(T[:-1], out=first[1:])
        cells = chain.from_iterable(chain(s, (end_id,)) for s in seqs)
        targets = np.fromiter(cells, dtype=np.intp, count=int(T.sum()))
        inputs = np.empty_like(targets)
        inputs[1:] = targets[:-1]  # x(t) = y(t-1) = c_{t-1} ...
        inputs[first] = start_id  # ... and x(1), the start marker
        return cls(seqs, start_id, end_id, T, first, inputs, targets)

    def pick(self, idx: IndexArray) -> Picked:
        """The names at ``idx``, as a sequence that packs from here."""
        return Picked(self, np.asarray(idx, dtype=np.intp))

    def pack(self, idx: IndexArray) -> Batch:
        """The batch of the names at ``idx`` (in that order; packed longest first)."""
        T = self.T[idx]
        order = np.argsort(-T, kind="stable")  # ties keep their order
        lengths = T[order]
        steps = np.arange(lengths[0])[:, None]
        active = steps < lengths  # (T_max, B), step-major
        n_active = active.sum(axis=1)
        offsets = np.zeros(len(n_active) + 1, dtype=np.intp)
        np.cumsum(n_active, out=offsets[1:])
        at = (self.first[idx[order]] + steps)[active]  # row offsets[t] + b: entry first[b] + t
        # h(t-1) of row offsets[t] + b is row offsets[t-1] + b.
        prev_idx = (offsets[:-2, None] + np.arange(len(idx)))[active[1:]]
        return Batch(order, lengths, n_active, offsets, self.inputs[at], self.targets[at], prev_idx)


class Picked(Sequence[Sequence[int]]):
    """Names of a ``Corpus`` chosen by index: reads like the list of them, packs without reading them."""

    def __init__(self, corpus: Corpus, idx: IndexArray) -> None:
        self.corpus, self.idx = corpus, idx

    def __len__(self) -> int:
        return len(self.idx)

    def __iter__(self) -> Iterator[Sequence[int]]:
        seqs = self.corpus.seqs
        return (seqs[k] for k in self.idx.tolist())

    @overload
    def __getitem__(self, i: int) -> Sequence[int]: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Sequence[int]]: ...
    def __getitem__(self, i: int | slice) -> Sequence[int] | Sequence[Sequence[int]]:
        if isinstance(i, slice):
            return [self.corpus.seqs[k] for k in self.idx[i].tolist()]
        return self.corpus.seqs[int(self.idx[i])]

    @property
    def n_steps(self) -> int:
        """sum of T = len + 1 over the names: the characters predicted, end tokens included."""
        return int(self.corpus.T[self.idx].sum())
