"""The order in which a trainer takes its names: one seeded permutation per epoch.

Each epoch draws a permutation of the training names from one seeded
`np.random.Generator` and walks it `batch_size` names at a time (the last batch
of an epoch may be smaller). The generator's state before each draw is kept, so
that a checkpoint can redraw the epoch's permutation on resume instead of storing it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .arrays import IndexArray

Position = tuple[Any, ...]


class BatchOrder:
    """Indices of the next batch of names; ``epoch_done`` once a batch used up an epoch."""

    def __init__(self, n_names: int, seed: int) -> None:
        self.n_names = n_names
        self.rng = np.random.default_rng([seed, 1])
        self.order: IndexArray | None = None  # this epoch's permutation; None: draw one next
        self.order_rng_state: dict[str, Any] | None = None  # the generator's state it was drawn from
        self.cursor = 0

    @property
    def epoch_done(self) -> bool:
        """The last batch taken finished an epoch (the next one draws a new permutation)."""
        return self.order is None

    def next(self, batch_size: int) -> IndexArray:
        """The indices of the next ``batch_size`` names of this epoch's permutation."""
        if self.order is None:
            self._draw()
        assert self.order is not None
        idx = self.order[self.cursor : self.cursor + batch_size]
        self.cursor += len(idx)
        if self.cursor >= len(self.order):
            self.order = None  # the epoch is used up
        return idx

    def position(self) -> Position:
        """Everything ``next`` changes, to go back to (a step that failed takes its batch again)."""
        return (self.order, self.order_rng_state, self.cursor, self.rng.bit_generator.state)

    def restore_position(self, position: Position) -> None:
        """Go back to a ``position()``."""
        self.order, self.order_rng_state, self.cursor, rng_state = position
        self.rng.bit_generator.state = rng_state

    def state_dict(self) -> dict[str, Any]:
        """The epoch's place for a checkpoint (the generator's own state is stored beside it)."""
        return {
            "cursor": self.cursor,
            "order_rng_state": self.order_rng_state if self.order is not None else None,
        }

    def resume_epoch(self, state: dict[str, Any]) -> None:
        """Redraw the epoch's permutation of a ``state_dict()`` and go on from its cursor.

        Anything missing or odd (a hand-edited file) starts a fresh epoch instead.
        """
        order_state, cursor = state.get("order_rng_state"), state.get("cursor", 0)
        if order_state is None:
            return
        current = self.rng.bit_generator.state
        try:
            self.rng.bit_generator.state = order_state
            self._draw()
        except (TypeError, ValueError, KeyError):
            self.order = None
        finally:
            self.rng.bit_generator.state = current
        if self.order is not None and isinstance(cursor, int) and 0 <= cursor < len(self.order):
            self.cursor = cursor
        else:
            self.order, self.cursor = None, 0

    def _draw(self) -> None:
        self.order_rng_state = dict(self.rng.bit_generator.state)
        self.order = self.rng.permutation(self.n_names)
        self.cursor = 0
