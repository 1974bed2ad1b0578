"""inspect_report: every number of the Inspect view against trace_gammas and the model itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import PARAM_NAMES, RNN, Vocab, trace_gammas
from rnn_core.decay import gamma_norms_under, spectral_norm
from rnn_core.gradcheck import gradient_check
from rnn_core.inspect_report import build_report
from rnn_core.inspect_text import render_inspect, render_report
from rnn_core.trace import decay_ratios

from .conftest import random_model
from .training_names import NAMES

VOCAB = Vocab.from_names(NAMES)
ACTIVATIONS = ["sigmoid", "tanh", "relu"]


def model_for(activation: str, D_h: int = 10, seed: int = 0) -> RNN:
    return random_model(VOCAB.size, D_h, activation, seed)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_trace_and_norms_are_trace_gammas(activation: str) -> None:
    model = model_for(activation)
    r = build_report(model, VOCAB, "stegosaurus")
    tr = trace_gammas(model, VOCAB.encode("stegosaurus"))
    assert r.T == tr.T == len("stegosaurus") + 1
    np.testing.assert_allclose(r.trace.gamma, tr.gamma, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.gamma_norms, np.linalg.norm(tr.gamma, axis=2), rtol=1e-12)
    np.testing.assert_allclose(r.accumulated_norms, np.linalg.norm(tr.accumulated, axis=1))
    np.testing.assert_allclose(r.dW_h_norms, tr.dW_h_norms, rtol=1e-10, atol=1e-14)
    full = np.linalg.norm(tr.dW_h.sum(axis=0))
    np.testing.assert_allclose(r.dW_h_norm, full, rtol=1e-10, err_msg="|dJ/dW_h|, Eq. 4.1")
    np.testing.assert_allclose(r.dW_h_norm, np.linalg.norm(tr.grads["W_h"]), rtol=1e-10)
    assert r.dW_h_norm_sum >= r.dW_h_norm * (1 - 1e-12)  # the triangle inequality
    assert r.loss == pytest.approx(model.loss([VOCAB.encode("stegosaurus")]), rel=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_accumulation_table_is_the_seeds(activation: str) -> None:
    """Each row: computes gamma_k(k), receives sum_{t>k} gamma_t(k), passes Eq. 6.2, adds Eq. 5.2."""
    model = model_for(activation, seed=3)
    r = build_report(model, VOCAB, "velociraptor")
    tr = r.trace
    T = tr.T
    assert [row.k for row in r.table] == list(range(T, 0, -1))
    rows = {row.k: row for row in r.table}
    for k in range(1, T + 1):
        row = rows[k]
        msg = f"k = {k}"
        np.testing.assert_allclose(row.computes, np.linalg.norm(tr.gamma[k - 1, k - 1]), err_msg=msg)
        received = tr.gamma[k:, k - 1].sum(axis=0)  # gamma_t(k) for t > k
        np.testing.assert_allclose(row.receives, np.linalg.norm(received), atol=1e-14, err_msg=msg)
        np.testing.assert_allclose(row.accumulated, np.linalg.norm(tr.accumulated[k - 1]), err_msg=msg)
        np.testing.assert_allclose(row.adds, np.linalg.norm(tr.dW_h[k - 1]), rtol=1e-10, err_msg=msg)
        running = np.linalg.norm(tr.dW_h[k - 1 :].sum(axis=0))
        np.testing.assert_allclose(row.running, running, rtol=1e-10, atol=1e-14, err_msg=msg)
        np.testing.assert_allclose(row.sigma_prime_mean, tr.sigma_prime[k - 1].mean(), err_msg=msg)
        delta = tr.accumulated[k - 1] * tr.sigma_prime[k - 1]
        np.testing.assert_allclose(row.passes, np.linalg.norm(model.W_h.T @ delta), rtol=1e-10)
        if k > 1:  # what k passes is what k - 1 receives: the second trick
            np.testing.assert_allclose(row.passes, rows[k - 1].receives, rtol=1e-9, atol=1e-14)
    assert rows[1].adds == 0.0  # h(0) = 0: step 1 adds nothing to dJ/dW_h
    np.testing.assert_allclose(rows[1].running, r.dW_h_norm, rtol=1e-12)


def test_steps_strip() -> None:
    model = model_for("tanh", seed=5)
    r = build_report(model, VOCAB, "rugops")
    tr = r.trace
    assert [s.x for s in r.steps] == ["<start>", "r", "u", "g", "o", "p", "s"]
    assert [s.y for s in r.steps] == ["r", "u", "g", "o", "p", "s", "<end>"]
    for t, s in enumerate(r.steps):
        assert s.t == t + 1
        assert pytest.approx(tr.step_loss[t], rel=1e-12) == s.J
        assert s.p_target == pytest.approx(tr.y_hat[t, tr.targets[t]], rel=1e-12)
        assert len(s.guesses) == 3
        probs = [g.prob for g in s.guesses]
        np.testing.assert_allclose(probs, np.sort(tr.y_hat[t])[::-1][:3], rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_decay_for_every_activation_equals_trace_gammas(activation: str) -> None:
    model = model_for(activation, seed=7)
    ids = VOCAB.encode("pachycephalosaurus")
    r = build_report(model, VOCAB, "pachycephalosaurus")
    assert r.decays[0].activation == activation
    assert sorted(d.activation for d in r.decays) == sorted(ACTIVATIONS)
    for d in r.decays:
        twin = model.with_activation(d.activation)
        with np.errstate(divide="ignore"):  # a twin may put y_hat(t)[y(t)] at 0
            tr = trace_gammas(twin, ids)
        np.testing.assert_allclose(
            d.ratios, tr.decay(), rtol=1e-8, atol=1e-300, equal_nan=True, err_msg=d.activation
        )
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(d.median, np.nanmedian(tr.decay(), axis=0), rtol=1e-8)
            np.testing.assert_allclose(d.mean, np.nanmean(tr.decay(), axis=0), rtol=1e-8)
        assert d.max_slope == twin.act.max_slope
        assert d.sigma_prime_mean == pytest.approx(tr.sigma_prime.mean(), rel=1e-10)
    sigmoid = next(d for d in r.decays if d.activation == "sigmoid")
    assert sigmoid.max_slope == 0.25  # the 1/4 the page explains


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gamma_norms_under_matches_a_full_trace(activation: str) -> None:
    model = model_for("sigmoid", D_h=7, seed=11).astype(np.float32)
    ids = VOCAB.encode("iguanodon")
    norms, sigma_prime = gamma_norms_under(model, ids, activation)
    tr = trace_gammas(model.with_activation(activation), ids)
    assert norms.dtype == sigma_prime.dtype == np.float64  # float64 whatever the model's dtype
    np.testing.assert_allclose(norms, tr.gamma_norms, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sigma_prime, tr.sigma_prime)
    assert np.all(np.triu(norms, 1) == 0)  # J(t) does not depend on h(k) for k > t
    # decay_ratios by hand on a 3-step triangle: row t holds |gamma_t(t-d)| / |gamma_t(t)|.
    norms = np.array([[2.0, 0, 0], [1.0, 4.0, 0], [0.5, 3.0, 6.0]])
    expected = np.array([[1.0, np.nan, np.nan], [1.0, 0.25, np.nan], [1.0, 0.5, 0.5 / 6]])
    np.testing.assert_allclose(decay_ratios(norms), expected, equal_nan=True)


def test_the_report_checks_its_own_trace() -> None:
    model = model_for("tanh", D_h=12, seed=13)
    r = build_report(model, VOCAB, "triceratops")
    assert "grad_check" not in vars(r) and "decays" not in vars(r)  # computed when first read
    assert r.grad_check == gradient_check(model, r.trace)
    assert r.grad_check is r.grad_check and "grad_check" in vars(r)  # then kept
    assert {e.param for e in r.grad_check} == set(PARAM_NAMES)
    assert r.grad_check_max_error == max(e.rel_error for e in r.grad_check) < 1e-6


def test_spectral_norm_by_power_iteration() -> None:
    W = np.random.default_rng(0).standard_normal((40, 40)) / 6
    true = np.linalg.norm(W, 2)
    assert true * 0.99 <= spectral_norm(W) <= true * (1 + 1e-12)
    assert spectral_norm(np.zeros((3, 3))) == 0.0


def test_float32_models_are_traced_in_float64() -> None:
    model = model_for("sigmoid", seed=19).astype(np.float32)
    r = build_report(model, VOCAB, "oviraptor")
    ref = trace_gammas(model.astype(np.float64), VOCAB.encode("oviraptor"))
    assert r.trace.gamma.dtype == np.float64
    np.testing.assert_allclose(r.trace.gamma, ref.gamma, rtol=1e-12, atol=1e-15)


def test_json_is_plain_and_finite() -> None:
    r = build_report(model_for("relu", seed=23), VOCAB, "gallimimus")
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    T, D_h = r.T, r.hidden_size
    assert np.shape(data["gamma"]) == (T, T, D_h)
    assert np.shape(data["accumulated"]) == (T, D_h)
    assert [len(row) for row in data["decay"][0]["ratios"]] == list(range(1, T + 1))
    assert data["table"][0]["k"] == T
    assert {g["param"] for g in data["grad_check"]} == set(PARAM_NAMES)


def test_unknown_characters_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'7'"):
        build_report(model_for("sigmoid"), VOCAB, "t7rex")


def test_text_rendering_has_every_section() -> None:
    r = build_report(model_for("sigmoid", seed=29), VOCAB, "maiasaura")
    text = render_report(r)
    for needle in ["'maiasaura'", "J = ", "<start>", "<end>", "|gamma_t(k)|", "accumulation table",
                   "Eq. 6.2", "Eq. 5.2", "sum_k |dJ/dW_h(k)|", "Decay", "sigma' <= 0.25",
                   "Gradient check", "W_h", "b2"]:  # fmt: skip
        assert needle in text, needle
    assert f"{r.dW_h_norm:.4e}" in text


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 9),  # D_h
    st.text(alphabet="abcdeghi", min_size=1, max_size=10),
    st.sampled_from(ACTIVATIONS),
    st.integers(0, 2**31 - 1),
)
def test_table_identities_hold_for_any_name(D_h: int, name: str, activation: str, seed: int) -> None:
    vocab = Vocab.from_names(["abcdeghi"])
    model = random_model(vocab.size, D_h, activation, seed)
    r = build_report(model, vocab, name, grad_check_entries=1)
    rows = {row.k: row for row in r.table}
    for k in range(2, r.T + 1):
        assert rows[k].passes == pytest.approx(rows[k - 1].receives, rel=1e-8, abs=1e-12)
    assert rows[1].running == pytest.approx(r.dW_h_norm, rel=1e-10, abs=1e-14)
    assert r.dW_h_norm_sum >= r.dW_h_norm * (1 - 1e-10) - 1e-14
    for d in r.decays:
        assert d.ratios[np.arange(r.T), 0].tolist() == pytest.approx([1.0] * r.T, nan_ok=True)


def test_cli_text_gets_the_whole_view_given_the_report() -> None:
    model = model_for("tanh", seed=31)
    tr = trace_gammas(model, VOCAB.encode("rugops"))
    basic = render_inspect(tr, VOCAB, "rugops")
    full = render_inspect(tr, VOCAB, "rugops", report=build_report(model, VOCAB, "rugops"))
    assert full.startswith(basic)
    assert "accumulation table" in full and "Gradient check" in full
    assert "accumulation table" not in basic
