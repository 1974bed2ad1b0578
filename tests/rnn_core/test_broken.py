"""The deliberate bugs (rnn_core/broken.py): each one is caught by the gradient check."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import trace_gammas
from rnn_core.broken import BUGS, BugError, broken_trace, weight_grads
from rnn_core.gradcheck import GRAD_CHECK_TOLERANCE, gradient_check

from .conftest import random_model

cases = st.tuples(
    st.integers(1, 12),  # D_h
    st.integers(2, 8),  # V
    st.integers(0, 10),  # name length
    st.sampled_from(["sigmoid", "tanh", "relu"]),
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=60, deadline=None)
@given(cases)
def test_the_right_sums_give_the_real_gradients(case):
    """The bugs' gradients are derived as the real pass derives its own (Eq. 5.2 summed over k)."""
    D_h, V, n, activation, seed = case
    model = random_model(V, D_h, activation, seed)
    tr = trace_gammas(model, list(np.random.default_rng(seed).integers(1, V, size=n)))
    for name, g in weight_grads(tr, tr.accumulated).items():
        np.testing.assert_allclose(g, tr.grads[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("bug", sorted(BUGS))
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_every_bug_turns_the_gradient_check_red(bug: str, activation: str) -> None:
    model = random_model(7, 6, activation, seed=3, scale=1.0)
    tr = trace_gammas(model, [1, 4, 2, 5, 3, 6])
    assert max(e.rel_error for e in gradient_check(model, tr)) < GRAD_CHECK_TOLERANCE  # real: green
    wrong = broken_trace(tr, model.W_h, bug)
    assert wrong.loss == tr.loss and np.array_equal(wrong.grads["U"], tr.grads["U"])
    errors = {e.param: e.rel_error for e in gradient_check(model, wrong)}
    assert errors["W_h"] > 1e-3, errors  # caught
    assert not np.allclose(wrong.gamma, tr.gamma)  # and the map changes


def test_overwriting_keeps_only_each_steps_own_term() -> None:
    model = random_model(5, 4, "tanh", seed=1)
    tr = trace_gammas(model, [1, 2, 3, 4])
    wrong = broken_trace(tr, model.W_h, "overwrite")
    np.testing.assert_array_equal(wrong.accumulated, np.diagonal(tr.gamma, axis1=0, axis2=1).T)


def test_an_unknown_bug_is_refused() -> None:
    model = random_model(5, 4, "tanh", seed=1)
    with pytest.raises(BugError, match="no such bug"):
        broken_trace(trace_gammas(model, [1, 2]), model.W_h, "typo")
