"""trace_gammas: the identities of the seed's two tricks, on random names and weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import trace_gammas

from .conftest import random_model


def loss_with_h_nudged(model, ids, k: int, delta: np.ndarray) -> float:
    """J of one name when h(k) is replaced by h(k) + delta after it is computed (1-based k)."""
    tr = trace_gammas(model, ids)
    h = tr.h[k] + delta
    J = float(tr.step_loss[: k - 1].sum())  # J(1..k-1) do not depend on h(k)
    for t in range(k, tr.T + 1):
        if t > k:
            z = model.W_h @ h + model.W_x[:, tr.inputs[t - 1]] + model.b1
            h = model.act.sigma(z, out=z)
        theta = model.U @ h + model.b2
        J += float(np.log(np.exp(theta - theta.max()).sum()) + theta.max() - theta[tr.targets[t - 1]])
    return J


cases = st.tuples(
    st.integers(1, 16),  # D_h
    st.integers(2, 9),  # V
    st.integers(0, 12),  # name length
    st.sampled_from(["sigmoid", "tanh", "relu"]),
    st.integers(0, 2**31 - 1),
)


def make(case):
    D_h, V, n, activation, seed = case
    model = random_model(V, D_h, activation, seed)
    ids = list(np.random.default_rng(seed).integers(1, V, size=n))
    return model, ids


@settings(max_examples=60, deadline=None)
@given(cases)
def test_gamma_is_zero_above_the_diagonal(case):
    model, ids = make(case)
    tr = trace_gammas(model, ids)
    T = tr.T
    assert tr.gamma.shape == (T, T, model.hidden_size)
    upper = np.triu(np.ones((T, T), bool), k=1)
    assert np.all(tr.gamma[upper] == 0.0)


@settings(max_examples=60, deadline=None)
@given(cases)
def test_gamma_t_t_backprops_through_softmax_and_affine(case):
    model, ids = make(case)
    tr = trace_gammas(model, ids)
    for t in range(tr.T):
        y = np.zeros(model.vocab_size)
        y[tr.targets[t]] = 1.0
        np.testing.assert_allclose(
            tr.gamma[t, t],
            model.U.T @ (tr.y_hat[t] - y),
            rtol=1e-12,
            atol=1e-14,
            err_msg=f"t={t + 1}",
        )


@settings(max_examples=60, deadline=None)
@given(cases)
def test_neighbouring_steps_obey_eq_6_2(case):
    model, ids = make(case)
    tr = trace_gammas(model, ids)
    for t in range(1, tr.T + 1):
        for k in range(2, t + 1):
            expected = model.W_h.T @ (tr.gamma[t - 1, k - 1] * tr.sigma_prime[k - 1])
            np.testing.assert_allclose(
                tr.gamma[t - 1, k - 2], expected, rtol=1e-10, atol=1e-14, err_msg=f"t={t} k={k}"
            )


@settings(max_examples=60, deadline=None)
@given(cases)
def test_dW_h_per_step_sums_to_the_full_gradient(case):
    """Eq. 5.2 and the second trick: sum over k of dJ/dW_h(k) is dJ/dW_h."""
    model, ids = make(case)
    tr = trace_gammas(model, ids)
    loss, grads = model.loss_and_grads([ids])
    np.testing.assert_allclose(tr.loss, loss, rtol=1e-12)
    np.testing.assert_allclose(tr.dW_h.sum(axis=0), grads["W_h"], rtol=1e-9, atol=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(tr.grads[name], g, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_accumulated_gamma_is_dJ_dh_by_perturbing_h(activation):
    """accumulated(k) = sum_t gamma_t(k) = dJ/dh(k), checked by nudging h(k) itself."""
    rng = np.random.default_rng(5)
    model = random_model(7, 6, activation, seed=5)
    ids = list(rng.integers(1, 7, size=6))
    tr = trace_gammas(model, ids)
    np.testing.assert_allclose(tr.accumulated, tr.gamma.sum(axis=0))
    eps = 1e-6
    for k in range(1, tr.T + 1):
        numeric = np.zeros(model.hidden_size)
        for i in range(model.hidden_size):
            e = np.zeros(model.hidden_size)
            e[i] = eps
            plus = loss_with_h_nudged(model, ids, k, e)
            minus = loss_with_h_nudged(model, ids, k, -e)
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(tr.accumulated[k - 1], numeric, rtol=1e-6, atol=1e-8, err_msg=f"k={k}")


def test_step_loss_sigma_prime_and_decay():
    model = random_model(5, 4, "sigmoid", seed=2)
    ids = [1, 2, 3, 4, 1]
    tr = trace_gammas(model, ids)
    np.testing.assert_allclose(tr.sigma_prime, tr.h[1:] * (1 - tr.h[1:]))
    assert np.all(tr.sigma_prime <= 0.25)
    np.testing.assert_allclose(tr.step_loss, -np.log(tr.y_hat[np.arange(tr.T), tr.targets]))
    decay = tr.decay()
    np.testing.assert_allclose(decay[:, 0], 1.0)
    norms = tr.gamma_norms
    np.testing.assert_allclose(decay[5, 3], norms[5, 2] / norms[5, 5])
    assert np.isnan(decay[2, 3])


def test_float32_model_is_traced_in_float64():
    model = random_model(5, 4, "tanh", seed=9).astype("float32")
    tr = trace_gammas(model, [1, 2])
    assert tr.gamma.dtype == np.float64
    assert model.W_h.dtype == np.float32


def test_out_of_range_ids_are_refused():
    model = random_model(5, 4, "tanh", seed=9)
    with pytest.raises(ValueError, match="out of range"):
        trace_gammas(model, [1, 5])


def test_the_trace_is_the_models_own_forward_pass():
    """trace_gammas runs RNN.forward: z(t) (Eq. 1.1) and J(t) (Eq. 3.2) are the batched pass's rows."""
    model = random_model(6, 5, "tanh", seed=4)
    ids = [1, 5, 2, 3]
    tr = trace_gammas(model, ids)
    np.testing.assert_allclose(np.tanh(tr.z), tr.h[1:], rtol=1e-15)
    np.testing.assert_allclose(tr.z[0], model.b1, rtol=1e-15)  # h(0) = 0 and x(1) = 0
    np.testing.assert_allclose(tr.z[1], model.W_h @ tr.h[1] + model.W_x[:, ids[0]] + model.b1)
    fw = model.forward([ids, [2], []], keep_z=True)
    assert fw.z is not None and model.forward([ids]).z is None
    assert fw.loss == pytest.approx(float(fw.row_loss.sum()), rel=1e-15)
    assert fw.loss == pytest.approx(tr.loss + model.loss([[2]]) + model.loss([[]]), rel=1e-12)
