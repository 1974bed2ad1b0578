"""BestWeights: the lowest validation loss, its step, its weights copied, and 'rising'."""

from __future__ import annotations

import math

import numpy as np
from numpy.testing import assert_array_equal

from rnn_core.best import RISING_AFTER, BestWeights


def weights(value: float) -> dict[str, np.ndarray]:
    return {"W_h": np.full((2, 2), value), "b1": np.full(2, value)}


def test_a_new_best_is_strictly_lower_and_its_weights_are_copied():
    best = BestWeights(keep=True)
    live = weights(1.0)
    assert best.offer(0, 3.0, live) and best.params is not None
    kept = best.params["W_h"]
    live["W_h"][...] = 9.0  # training moves the live arrays on
    assert_array_equal(best.params["W_h"], 1.0)
    assert not best.offer(5, 3.0, weights(2.0))  # equal is no better
    assert not best.offer(10, math.nan, weights(2.0))
    assert best.offer(15, 2.5, weights(4.0))
    assert (best.val_loss, best.step) == (2.5, 15)
    assert best.params["W_h"] is kept and np.all(kept == 4.0)  # copied into the same arrays


def test_rising_counts_evaluations_since_the_best_once_per_step():
    best = BestWeights(keep=False)
    best.offer(0, 3.0, weights(0.0))
    assert best.params is None and not best.rising
    for i in range(1, RISING_AFTER + 1):
        assert not best.rising
        best.offer(i, 3.0 + i, weights(0.0))
        best.offer(i, 3.0 + i, weights(0.0))  # the same weights again: counted once
    assert best.evals_since == RISING_AFTER and best.rising
    best.offer(99, 1.0, weights(0.0))
    assert not best.rising


def test_state_round_trip_and_odd_states():
    best = BestWeights(keep=True)
    best.offer(3, 2.0, weights(1.0))
    best.offer(6, 2.5, weights(2.0))
    again = BestWeights(keep=True)
    again.load_state_dict(best.state_dict(), best.params)
    assert (again.val_loss, again.step, again.evals_since) == (2.0, 3, 1)
    assert again.params is not None and np.all(again.params["b1"] == 1.0)
    assert not again.offer(6, 1.0, weights(0.0))  # step 6 was counted already
    for odd in [{}, {"best_val_loss": "x", "best_step": 3}, {"best_val_loss": 2.0, "best_step": -1}]:
        fresh = BestWeights(keep=False)
        fresh.load_state_dict(odd, None)
        assert fresh.val_loss is None and fresh.step is None
    no_weights = BestWeights(keep=True)
    no_weights.load_state_dict(best.state_dict(), None)  # a kept best it could not put back
    assert no_weights.val_loss is None
