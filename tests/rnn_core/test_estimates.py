"""Gradient estimates read off a full trace (rnn_core.estimates), the decay's measured slope and
its bound (rnn_core.decay), and the broken backward passes kept by the Inspect report."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnn_core import RNN, Vocab, trace_gammas
from rnn_core.decay import DecayFit, decays_by_activation, fit_decay, spectral_norm
from rnn_core.estimates import (
    band_accumulated,
    clip_scale,
    cosine_and_ratio,
    dropped_count,
    dropped_mask,
    dropped_received,
    kept_mask,
    truncated_grads,
    truncation_cosine_and_ratio,
)
from rnn_core.inspect_report import build_report
from rnn_core.optim import global_norm
from rnn_core.trace import decay_ratios

VOCAB = Vocab.from_names(["abcdefghijklmnopqrstuvwxyz"])
NAME = "boosaurus"


def model(activation: str = "tanh", seed: int = 3) -> RNN:
    m = RNN(VOCAB.size, 10, activation, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed)
    for p in m.params.values():
        p += rng.standard_normal(p.shape) * 0.3
    return m


@pytest.mark.parametrize("T", [1, 2, 5, 10])
@pytest.mark.parametrize("K", [1, 2, 3, 9, 10, 50])
def test_the_dropped_cells_are_the_triangle_minus_the_band(T: int, K: int) -> None:
    dropped, kept = dropped_mask(T, K), kept_mask(T, K)
    triangle = T * (T + 1) // 2
    band = sum(min(t, K) for t in range(1, T + 1))  # row t keeps k = max(1, t-K+1) .. t
    assert int(kept.sum()) == band
    assert int(dropped.sum()) == triangle - band == dropped_count(T, K)
    t, k = np.nonzero(dropped)
    assert np.all(k <= t - K)  # 0-based: k - 1 <= (t - 1) - K
    assert not np.any(dropped & kept)
    assert dropped_count(T, None) == 0 and int(kept_mask(T, None).sum()) == triangle


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("K", [1, 2, 4])
def test_truncated_grads_from_the_full_trace_equal_truncated_bptt(activation: str, K: int) -> None:
    m = model(activation)
    ids = VOCAB.encode(NAME)
    full = trace_gammas(m, ids)
    want = trace_gammas(m, ids, truncation=K)
    got = truncated_grads(full, K)
    for name in ("W_h", "W_x", "b1", "U", "b2"):
        np.testing.assert_allclose(got[name], want.grads[name], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(band_accumulated(full, K), want.accumulated, rtol=1e-9, atol=1e-12)
    withheld = dropped_received(full, K)  # what step k no longer receives: sum_{t >= k+K} gamma_t(k)
    for k in range(1, full.T + 1):
        expect = full.gamma[k + K - 1 :, k - 1].sum(axis=0)
        np.testing.assert_allclose(withheld[k - 1], expect, rtol=1e-9, atol=1e-12)


def test_at_K_of_T_or_more_the_estimate_is_the_full_gradient() -> None:
    tr = trace_gammas(model(), VOCAB.encode(NAME))
    for K in (tr.T, tr.T + 1, 10_000):
        cosine, ratio = cosine_and_ratio(truncated_grads(tr, K)["W_h"], tr.grads["W_h"])
        assert (cosine, ratio) == (pytest.approx(1.0, abs=1e-12), pytest.approx(1.0, abs=1e-12))
    cosine, ratio = cosine_and_ratio(truncated_grads(tr, 1)["W_h"], tr.grads["W_h"])
    assert cosine < 1.0 - 1e-6  # truncation turns the gradient


def test_clipping_keeps_the_direction_and_scales_the_length() -> None:
    tr = trace_gammas(model(), VOCAB.encode(NAME))
    g = global_norm(tr.grads)
    for c in (g / 10, g / 2, g, 2 * g):
        scale = clip_scale(tr.grads, c)
        assert scale == pytest.approx(min(1.0, c / g))
        cosine, ratio = cosine_and_ratio(tr.grads["W_h"] * scale, tr.grads["W_h"])
        assert cosine == pytest.approx(1.0, abs=1e-12) and ratio == pytest.approx(min(1.0, c / g))
    assert clip_scale(tr.grads, None) == 1.0


def test_cosine_and_ratio_of_a_zero_gradient_are_undefined() -> None:
    zero = np.zeros((3, 3))
    assert all(math.isnan(v) for v in cosine_and_ratio(np.ones((3, 3)), zero))
    cosine, ratio = cosine_and_ratio(zero, np.ones((3, 3)))
    assert math.isnan(cosine) and ratio == 0.0


@pytest.mark.parametrize("rate", [0.3, 0.8, 1.0, 1.7])
def test_the_measured_slope_of_a_geometric_decay_is_its_rate(rate: float) -> None:
    T = 12
    t, k = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    scale = np.linspace(0.5, 3.0, T)[:, None]  # every row its own |gamma_t(t)|
    norms = np.where(k <= t, scale * rate ** (t - k).astype(float), 0.0)
    fit = fit_decay(decay_ratios(norms))
    assert isinstance(fit, DecayFit)
    assert fit.rate == pytest.approx(rate, rel=1e-9)
    assert fit.intercept == pytest.approx(0.0, abs=1e-9)
    assert fit.cells == T * (T + 1) // 2
    assert fit.at(3) == pytest.approx(rate**3, rel=1e-9)


def test_no_slope_without_two_distances() -> None:
    assert fit_decay(decay_ratios(np.ones((1, 1)))) is None
    assert fit_decay(decay_ratios(np.zeros((4, 4)))) is None


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_the_bound_is_sigma_max_times_max_sigma_prime(activation: str) -> None:
    m = model(activation)
    tr = trace_gammas(m, VOCAB.encode(NAME))
    own = decays_by_activation(m, tr, [])[0]
    sigma_max = spectral_norm(m.W_h)
    assert own.W_h_norm == sigma_max
    assert own.rate_bound == pytest.approx(sigma_max * m.act.max_slope, rel=1e-15)
    assert sigma_max == pytest.approx(np.linalg.norm(m.W_h, 2), rel=1e-3)
    assert own.fit is not None and own.fit.cells >= tr.T  # the diagonal at least


def test_a_broken_pass_never_touches_the_model() -> None:
    m = model("sigmoid")
    before = {name: p.tobytes() for name, p in m.params.items()}
    report = build_report(m, VOCAB, NAME)
    inner = {name: p.tobytes() for name, p in report.model.params.items()}
    for bug in ("no-sigma-prime", "no-step-back", "overwrite"):
        check = report.broken_check(bug)
        assert max(e.rel_error for e in check) > 1e-3  # caught
        assert report.broken(bug) is report.broken(bug)  # kept
    assert {name: p.tobytes() for name, p in m.params.items()} == before
    assert {name: p.tobytes() for name, p in report.model.params.items()} == inner
    assert report.grad_check_max_error < 1e-6  # the real pass is still right


@pytest.mark.parametrize("K", [None, 1, 2, 5, 10, 11])
def test_the_gram_cosine_and_ratio_equal_the_matrices(K: int | None) -> None:
    tr = trace_gammas(model("sigmoid"), VOCAB.encode(NAME))
    want = cosine_and_ratio(truncated_grads(tr, K)["W_h"], tr.grads["W_h"])
    got = truncation_cosine_and_ratio(tr, K)
    assert got == (pytest.approx(want[0], rel=1e-9), pytest.approx(want[1], rel=1e-9))
