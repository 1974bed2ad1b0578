"""The Inspect maps' geometry (app/inspect/charts.py): axis labels that never touch, one shared scale."""

from __future__ import annotations

import itertools

import numpy as np

from app.inspect.charts import axis_labels, triangle_map


def test_the_last_step_is_labelled_and_never_beside_another_label() -> None:
    for T in range(1, 60):
        for every in (1, 2, 3):
            shown = axis_labels(T, every)
            assert shown[0] == 0 and shown[-1] == T - 1
            assert all(b - a >= min(every, T - 1) for a, b in itertools.pairwise(shown)), shown


def test_a_shared_span_sets_the_colour_scale() -> None:
    norms = np.tril(np.full((4, 4), 0.5))
    own = triangle_map(norms, "", "label")
    shared = triangle_map(norms, "", "label", span=(-6, 2))
    assert own.cells[0].fill != shared.cells[0].fill  # the same value, drawn on another scale
    assert next(t.text for t in shared.legend.ticks).startswith("1e-6")
