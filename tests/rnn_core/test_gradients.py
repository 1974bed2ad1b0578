"""Every parameter's gradient against centred finite differences, in float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import PARAM_NAMES

from .conftest import random_model

EPS = 3e-5  # the fourth-order stencil's error is O(EPS^4); rounding adds ~1e-16 J / EPS
TOL = 1e-6


def relative_error(analytic: float, numeric: float, J: float = 1.0) -> float:
    """|a - n| / max(|a|, |n|, floor): the relative error, above what differences can resolve.

    Rounding leaves about 1.5 eps_mach |J| / EPS of noise in the five-point stencil
    (1e-10 for J ~ 100). Entries smaller than 1e7 times that noise (and than 1e-3)
    are held to it absolutely instead of to an unreachable relative bound.
    """
    floor = max(1e-3, 1e7 * 1.5 * np.finfo(float).eps * abs(J) / EPS)
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)


class CrossedKinkError(Exception):
    """A relu unit changed sides of z = 0 inside the stencil: J is not smooth there."""


def _loss_on_same_side(model, seqs, pattern) -> float:
    """J, refusing to compare across a relu kink (sigmoid and tanh are smooth)."""
    fw = model.forward(seqs)
    if pattern is not None and not np.array_equal(fw.h > 0, pattern):
        raise CrossedKinkError
    return fw.loss


def _pattern(model, seqs):
    return model.forward(seqs).h > 0 if model.activation == "relu" else None


def centred_difference(model, seqs, name: str, index: tuple[int, ...]) -> float:
    """The centred five-point stencil for dJ/dp of one entry: (8(J+1 - J-1) - (J+2 - J-2)) / 12 eps."""
    p = model.params[name]
    old = p[index]
    pattern = _pattern(model, seqs)
    J = {}
    try:
        for k in (-2, -1, 1, 2):
            p[index] = old + k * EPS
            J[k] = _loss_on_same_side(model, seqs, pattern)
    finally:
        p[index] = old
    return (8 * (J[1] - J[-1]) - (J[2] - J[-2])) / (12 * EPS)


def directional_difference(model, seqs, direction: dict) -> float:
    """The same stencil along ``direction`` in the space of all parameters at once."""
    start = {k: p.copy() for k, p in model.params.items()}
    pattern = _pattern(model, seqs)
    J = {}
    try:
        for k in (-2, -1, 1, 2):
            for name, p in model.params.items():
                np.add(start[name], k * EPS * direction[name], out=p)
            J[k] = _loss_on_same_side(model, seqs, pattern)
    finally:
        model.set_params(start)
    return (8 * (J[1] - J[-1]) - (J[2] - J[-2])) / (12 * EPS)


@settings(max_examples=100, deadline=None)
@given(
    D_h=st.integers(1, 32),
    V=st.integers(2, 12),
    lengths=st.lists(st.integers(0, 20), min_size=1, max_size=8),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_gradients_match_finite_differences(D_h, V, lengths, activation, seed):
    rng = np.random.default_rng(seed)
    model = random_model(V, D_h, activation, seed)
    seqs = [list(rng.integers(1, V, size=n)) for n in lengths]
    loss, grads = model.loss_and_grads(seqs)
    assert np.isfinite(loss)
    assert set(grads) == set(PARAM_NAMES)
    for name in PARAM_NAMES:
        g = grads[name]
        assert g.shape == model.params[name].shape, name
        # The largest entries and a few random ones of each parameter.
        flat = np.argsort(-np.abs(g), axis=None)[:3].tolist()
        flat += rng.integers(0, g.size, size=3).tolist()
        for i in flat:
            index = np.unravel_index(i, g.shape)
            try:
                numeric = centred_difference(model, seqs, name, index)
            except CrossedKinkError:
                continue
            err = relative_error(float(g[index]), numeric, loss)
            assert err < TOL, f"{activation} {name}{index}: analytic {g[index]} numeric {numeric}"
    # The whole gradient along one random direction of all parameters at once.
    direction = {k: rng.standard_normal(p.shape) for k, p in model.params.items()}
    try:
        numeric = directional_difference(model, seqs, direction)
    except CrossedKinkError:
        return
    analytic = sum(float(np.vdot(grads[k], direction[k])) for k in PARAM_NAMES)
    assert relative_error(analytic, numeric, loss) < TOL


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_every_entry_of_a_small_model(activation):
    """Exhaustive on a small case: every entry of every parameter."""
    rng = np.random.default_rng(7)
    model = random_model(6, 5, activation, seed=11)
    seqs = [list(rng.integers(1, 6, size=n)) for n in (4, 0, 7, 2)]
    _, grads = model.loss_and_grads(seqs)
    for name in PARAM_NAMES:
        numeric = np.zeros_like(grads[name])
        for index in np.ndindex(*numeric.shape):
            numeric[index] = centred_difference(model, seqs, name, index)  # no kink here
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_float32_gradients_agree_with_float64():
    rng = np.random.default_rng(3)
    model = random_model(10, 16, "sigmoid", seed=3)
    seqs = [list(rng.integers(1, 10, size=n)) for n in (5, 9, 1)]
    loss64, g64 = model.loss_and_grads(seqs)
    loss32, g32 = model.astype("float32").loss_and_grads(seqs)
    assert g32["W_h"].dtype == np.float32
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(g32[name], g64[name], rtol=1e-3, atol=1e-4, err_msg=name)
