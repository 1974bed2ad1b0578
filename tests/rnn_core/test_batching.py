"""The batched loss and gradients equal the sums over names taken one at a time."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import PARAM_NAMES
from rnn_core.batching import Batch

from .conftest import random_model, random_names


@settings(max_examples=60, deadline=None)
@given(
    D_h=st.integers(1, 24),
    V=st.integers(2, 10),
    count=st.integers(1, 10),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_batch_equals_sum_of_single_names(D_h, V, count, activation, seed):
    rng = np.random.default_rng(seed)
    model = random_model(V, D_h, activation, seed)
    seqs = random_names(rng, V, count, max_len=15)
    loss, grads = model.loss_and_grads(seqs)
    total = 0.0
    summed = {k: np.zeros_like(p) for k, p in model.params.items()}
    for s in seqs:
        one_loss, one_grads = model.loss_and_grads([s])
        total += one_loss
        for k in PARAM_NAMES:
            summed[k] += one_grads[k]
    np.testing.assert_allclose(loss, total, rtol=1e-12)
    for k in PARAM_NAMES:
        np.testing.assert_allclose(grads[k], summed[k], rtol=1e-9, atol=1e-12, err_msg=k)


def reference_packing(seqs, start_id, end_id):
    """The layout spelled out on padded (B, T_max) grids, the slow way."""
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    T = [len(seqs[i]) + 1 for i in order]
    x = np.full((len(seqs), T[0]), start_id)
    y = np.full((len(seqs), T[0]), end_id)
    for b, i in enumerate(order):
        x[b, 1 : T[b]] = seqs[i]
        y[b, : T[b] - 1] = seqs[i]
    rows = [(t, b) for t in range(T[0]) for b in range(len(seqs)) if t < T[b]]
    row_of = {tb: r for r, tb in enumerate(rows)}
    return {
        "order": order,
        "lengths": T,
        "n_active": [sum(1 for T_b in T if T_b > t) for t in range(T[0])],
        "x_idx": [x[b, t] for t, b in rows],
        "y_idx": [y[b, t] for t, b in rows],
        "prev_idx": [row_of[(t - 1, b)] for t, b in rows if t > 0],
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(1, 8), max_size=12), min_size=1, max_size=12))
def test_packing_matches_the_padded_grids(seqs):
    batch = Batch.from_sequences(seqs, start_id=9, end_id=0)
    for field, want in reference_packing(seqs, start_id=9, end_id=0).items():
        assert getattr(batch, field).tolist() == list(want), field
    assert batch.offsets.tolist() == [0, *np.cumsum(batch.n_active).tolist()]


def test_packing_layout():
    batch = Batch.from_sequences([[1, 2], [], [3, 4, 5]], start_id=9, end_id=0)
    assert batch.lengths.tolist() == [4, 3, 1]
    assert batch.order.tolist() == [2, 0, 1]
    assert batch.n_active.tolist() == [3, 2, 2, 1]
    assert batch.offsets.tolist() == [0, 3, 5, 7, 8]
    # step 1: the start marker for all; then each running name's previous character
    assert batch.x_idx.tolist() == [9, 9, 9, 3, 1, 4, 2, 5]
    assert batch.y_idx.tolist() == [3, 1, 0, 4, 2, 5, 0, 0]
    # the row of h(t-1) for each row of steps 2..4
    assert batch.prev_idx.tolist() == [0, 1, 3, 4, 5]
    assert batch.n_rows == 8 and batch.t_max == 4


def test_loss_counts_every_step():
    model = random_model(6, 3, "sigmoid", seed=1)
    seqs = [[1, 2], [3]]
    assert model.count_steps(seqs) == 5
    fw = model.forward(seqs)
    assert fw.y_hat.shape == (5, 6)
    np.testing.assert_allclose(fw.y_hat.sum(axis=1), 1.0)
