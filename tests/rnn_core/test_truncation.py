"""Truncated BPTT: the kept terms dJ(t)/dW_h(k), t - K < k <= t, summed by brute force from the full trace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import PARAM_NAMES, trace_gammas

from .conftest import random_model, random_names

INPUT_PARAMS = ("W_h", "W_x", "b1")  # the ones truncation changes; U and b2 have only local terms


def brute_force(model, ids, K: int | None) -> dict[str, np.ndarray]:
    """sum over t, and k = t-K+1 .. t, of Eq. 5.2 and its W_x, b1 twins, one term at a time."""
    tr = trace_gammas(model, ids)  # the full trace: every gamma_t(k)
    D_h, V = model.hidden_size, model.vocab_size
    grads = {"W_h": np.zeros((D_h, D_h)), "W_x": np.zeros((D_h, V)), "b1": np.zeros(D_h)}
    for t in range(1, tr.T + 1):
        first = 1 if K is None else max(1, t - K + 1)
        for k in range(first, t + 1):
            dz = tr.gamma[t - 1, k - 1] * tr.sigma_prime[k - 1]  # gamma_t(k) o sigma'(z(k))
            grads["W_h"] += np.outer(dz, tr.h[k - 1])  # dJ(t)/dW_h(k) = dz h(k-1)^T (Eq. 5.2)
            if k > 1:  # x(1), the start marker, is the zero vector
                grads["W_x"][:, tr.inputs[k - 1]] += dz  # dJ(t)/dW_x(k) = dz x(k)^T
            grads["b1"] += dz  # dJ(t)/db1(k) = dz
    return grads


def assert_close(got, want, what: str) -> None:
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale, err_msg=what)


cases = st.tuples(
    st.integers(1, 12),  # D_h
    st.integers(2, 9),  # V
    st.lists(st.integers(0, 12), min_size=1, max_size=5),  # name lengths
    st.sampled_from(["sigmoid", "tanh", "relu"]),
    st.integers(1, 16),  # K: 1, inside the names, and beyond the longest
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=80, deadline=None)
@given(cases)
def test_truncated_gradients_are_the_kept_terms(case):
    D_h, V, lengths, activation, K, seed = case
    model = random_model(V, D_h, activation, seed)
    rng = np.random.default_rng(seed)
    seqs = [list(rng.integers(1, V, size=n)) for n in lengths]
    loss, grads = model.loss_and_grads(seqs, truncation=K)
    full_loss, full = model.loss_and_grads(seqs)
    assert loss == full_loss  # the loss is the full J whatever K
    for name in ("U", "b2"):
        np.testing.assert_array_equal(grads[name], full[name], err_msg=name)
    # The batch's gradient is the sum over its names of the brute-force sums.
    per_name = [brute_force(model, ids, K) for ids in seqs]
    for name in INPUT_PARAMS:
        assert_close(grads[name], sum(g[name] for g in per_name), f"{activation} K={K} {name}")
    T_max = max(lengths) + 1
    if T_max <= K:  # K >= T of every name: full BPTT, the same arrays exactly
        for name in PARAM_NAMES:
            np.testing.assert_array_equal(grads[name], full[name], err_msg=name)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_k_1_keeps_only_the_local_terms(activation):
    model = random_model(7, 6, activation, seed=2)
    ids = [3, 1, 4, 1, 5, 6]
    _, grads = model.loss_and_grads([ids], truncation=1)
    tr = trace_gammas(model, ids)
    dz = np.diagonal(tr.gamma).T * tr.sigma_prime  # gamma_k(k) o sigma'(z(k))
    assert_close(grads["W_h"], dz.T @ tr.h[:-1], "W_h")
    assert_close(grads["b1"], dz.sum(axis=0), "b1")


@settings(max_examples=40, deadline=None)
@given(cases)
def test_the_batch_is_the_sum_of_its_names(case):
    D_h, V, lengths, activation, K, seed = case
    model = random_model(V, D_h, activation, seed)
    rng = np.random.default_rng(seed)
    seqs = [list(rng.integers(1, V, size=n)) for n in lengths]
    loss, grads = model.loss_and_grads(seqs, truncation=K)
    alone = [model.loss_and_grads([s], truncation=K) for s in seqs]
    assert loss == pytest.approx(sum(a[0] for a in alone), rel=1e-12)
    for name in PARAM_NAMES:
        assert_close(grads[name], sum(a[1][name] for a in alone), name)


@settings(max_examples=40, deadline=None)
@given(cases)
def test_the_truncated_trace_agrees_with_loss_and_grads(case):
    D_h, V, lengths, activation, K, seed = case
    model = random_model(V, D_h, activation, seed)
    ids = list(np.random.default_rng(seed).integers(1, V, size=lengths[0]))
    tr = trace_gammas(model, ids, truncation=K)
    full = trace_gammas(model, ids)
    assert tr.truncation == K and full.truncation is None
    lag = np.subtract.outer(np.arange(tr.T), np.arange(tr.T))  # t - k
    band = (lag >= 0) & (lag < K)
    assert np.all(tr.gamma[~band] == 0.0)
    np.testing.assert_array_equal(tr.gamma[band], full.gamma[band])
    np.testing.assert_allclose(tr.accumulated, tr.gamma.sum(axis=0))
    loss, grads = model.loss_and_grads([ids], truncation=K)
    assert tr.loss == pytest.approx(loss, rel=1e-12)
    assert_close(tr.dW_h.sum(axis=0), grads["W_h"], "dW_h")
    for name in PARAM_NAMES:
        assert_close(tr.grads[name], grads[name], name)


def test_the_kept_scratch_serves_full_and_truncated_passes_alike():
    rng = np.random.default_rng(4)
    model = random_model(8, 10, "tanh", seed=4)
    a, b = random_names(rng, 8, 6, max_len=12), random_names(rng, 8, 3, max_len=5)
    want = [model.loss_and_grads(a, truncation=3)[1], model.loss_and_grads(b)[1]]
    for _ in range(2):
        got = [model.loss_and_grads(a, truncation=3)[1], model.loss_and_grads(b)[1]]
        model.loss_and_grads(b, truncation=2)
        for w, g in zip(want, got, strict=True):
            for name in PARAM_NAMES:
                np.testing.assert_array_equal(g[name], w[name], err_msg=name)


def test_float32_truncation_agrees_with_float64():
    rng = np.random.default_rng(3)
    model = random_model(10, 16, "sigmoid", seed=3)
    seqs = random_names(rng, 10, 5, max_len=12)
    _, g64 = model.loss_and_grads(seqs, truncation=4)
    _, g32 = model.astype("float32").loss_and_grads(seqs, truncation=4)
    for name in PARAM_NAMES:
        assert g32[name].dtype == np.float32
        np.testing.assert_allclose(g32[name], g64[name], rtol=1e-3, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_a_bad_truncation_is_refused(bad):
    model = random_model(5, 4, "tanh", seed=1)
    with pytest.raises(ValueError, match="truncation"):
        model.loss_and_grads([[1, 2]], truncation=bad)
    with pytest.raises(ValueError, match="truncation"):
        trace_gammas(model, [1, 2], truncation=bad)
