"""Optimizers against hand-computed updates; clipping by value and by global norm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from rnn_core.optim import (
    SGD,
    Adagrad,
    Adam,
    clip_by_global_norm,
    clip_by_value,
    clip_gradients,
    global_norm,
    make_optimizer,
)

G1 = np.array([0.5, 1.0])
G2 = np.array([1.0, -1.0])


def fresh() -> dict[str, np.ndarray]:
    return {"W_h": np.array([1.0, -2.0])}


def test_sgd_momentum_by_hand():
    params = fresh()
    opt = SGD(params, lr=0.1, momentum=0.9)
    opt.step({"W_h": G1})  # v = g = [0.5, 1]; p -= 0.1 v
    assert_allclose(params["W_h"], [0.95, -2.1], rtol=0, atol=1e-15)
    opt.step({"W_h": G2})  # v = 0.9 [0.5, 1] + [1, -1] = [1.45, -0.1]
    assert_allclose(params["W_h"], [0.95 - 0.145, -2.1 + 0.01], rtol=0, atol=1e-15)


def test_adagrad_by_hand():
    params = fresh()
    opt = Adagrad(params, lr=0.1, eps=1e-8)
    opt.step({"W_h": G1})  # G = [0.25, 1]: each entry moves by lr g / |g| = 0.1
    assert_allclose(params["W_h"], [0.9, -2.1], rtol=1e-7)
    opt.step({"W_h": G2})  # G = [1.25, 2]
    expected = [0.9 - 0.1 / math.sqrt(1.25), -2.1 + 0.1 / math.sqrt(2.0)]
    assert_allclose(params["W_h"], expected, rtol=1e-7)


def test_adam_by_hand():
    params = fresh()
    opt = Adam(params, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step({"W_h": G1})  # bias-corrected m = g, v = g^2: the first step is lr g / (|g| + eps)
    p1 = np.array([1.0, -2.0]) - 0.1 * G1 / (np.abs(G1) + 1e-8)
    assert_allclose(params["W_h"], p1, rtol=1e-15)
    assert_allclose(p1, [0.9, -2.1], rtol=1e-7)
    opt.step({"W_h": G2})
    # m = 0.9 * 0.1 g1 + 0.1 g2 ; v = 0.999 * 0.001 g1^2 + 0.001 g2^2 ; t = 2
    m = np.array([0.145, -0.01])
    v = np.array([0.00124975, 0.001999])
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = p1 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    assert_allclose(params["W_h"], expected, rtol=1e-12)
    assert opt.step_count == 2


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adam"])
def test_updates_in_place_and_keep_dtype(name):
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal((3, 4)).astype(np.float32) for k in ("W_h", "U")}
    ids = {k: id(v) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer(name, params, 0.01)
    grads = {k: rng.standard_normal((3, 4)).astype(np.float32) for k in params}
    opt.step(grads)
    for k, v in params.items():
        assert id(v) == ids[k]
        assert v.dtype == np.float32
        assert not np.array_equal(v, before[k]), k


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adam"])
def test_state_dict_round_trip_continues_identically(name):
    rng = np.random.default_rng(1)
    a = {"W_h": rng.standard_normal((2, 3)), "b1": rng.standard_normal(2)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in a.items()} for _ in range(5)]
    opt_a = make_optimizer(name, a, 0.05)
    for g in grads[:3]:
        opt_a.step(g)
    b = {k: v.copy() for k, v in a.items()}
    opt_b = make_optimizer(name, b, 0.5)
    opt_b.load_state_dict(opt_a.state_dict())
    assert opt_b.lr == 0.05 and opt_b.step_count == 3
    for g in grads[3:]:
        opt_a.step(g)
        opt_b.step(g)
    for k in a:
        assert_array_equal(a[k], b[k], err_msg=k)


def test_state_dict_is_a_copy():
    params = fresh()
    opt = Adam(params, lr=0.1)
    opt.step({"W_h": G1})
    state = opt.state_dict()
    opt.step({"W_h": G2})
    assert state["step"] == 1
    assert not np.array_equal(state["slots"]["m"]["W_h"], opt.slots["m"]["W_h"])


def test_load_state_dict_checks_before_writing():
    params = fresh()
    opt = Adam(params, lr=0.1)
    opt.step({"W_h": G1})
    good = opt.state_dict()
    bad = opt.state_dict()
    bad["slots"]["v"]["W_h"] = np.zeros(5)
    bad["step"] = 7
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    assert opt.step_count == 1
    assert_array_equal(opt.slots["m"]["W_h"], good["slots"]["m"]["W_h"])
    with pytest.raises(ValueError, match="sgd"):
        opt.load_state_dict({**good, "name": "sgd"})


def test_learning_rate_can_change():
    params = fresh()
    opt = SGD(params, lr=0.1, momentum=0.0)
    opt.set_learning_rate(1.0)
    opt.step({"W_h": G1})
    assert_allclose(params["W_h"], [0.5, -3.0])
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="learning_rate"):
            opt.set_learning_rate(bad)


def test_make_optimizer_refuses_unknown_names():
    with pytest.raises(ValueError, match="'rmsprop'"):
        make_optimizer("rmsprop", fresh(), 0.1)
    assert isinstance(make_optimizer("sgd", fresh(), 0.1, momentum=0.5), SGD)


def test_clip_by_value_in_place():
    grads = {"W_h": np.array([-7.0, -1.0, 0.5, 9.0]), "b2": np.array([5.5])}
    arr = grads["W_h"]
    out = clip_by_value(grads, 5.0)
    assert out is grads and grads["W_h"] is arr
    assert_array_equal(grads["W_h"], [-5.0, -1.0, 0.5, 5.0])
    assert_array_equal(grads["b2"], [5.0])


def test_clip_by_global_norm_scales_to_max_norm():
    grads = {"W_h": np.array([3.0, 0.0]), "b1": np.array([0.0, 4.0])}  # norm 5
    before = clip_by_global_norm(grads, 1.0)
    assert before == pytest.approx(5.0)
    assert global_norm(grads) == pytest.approx(1.0)
    assert_allclose(grads["W_h"], [0.6, 0.0])
    small = {"W_h": np.array([0.3, 0.4])}
    assert clip_by_global_norm(small, 1.0) == pytest.approx(0.5)
    assert_array_equal(small["W_h"], [0.3, 0.4])  # below the bound: untouched


def test_global_norm_survives_float32_overflow_and_sees_nan():
    big = {"W_h": np.array([1e20, 1e20], dtype=np.float32)}  # squares overflow float32
    assert global_norm(big) == pytest.approx(math.sqrt(2) * 1e20, rel=1e-6)
    assert math.isnan(global_norm({"W_h": np.array([1.0, np.nan])}))
    assert math.isinf(global_norm({"W_h": np.array([np.inf, 1.0])}))


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adam"])
def test_one_update_over_all_parameters_equals_one_per_parameter(name):
    """The flat update over every parameter at once is the per-parameter rule, entry for entry."""
    rng = np.random.default_rng(2)
    shapes = {"W_h": (4, 4), "W_x": (4, 3), "b1": (4,), "U": (3, 4), "b2": (3,)}
    together = {k: rng.standard_normal(s) for k, s in shapes.items()}
    apart = {k: {k: v.copy()} for k, v in together.items()}  # one optimizer per parameter
    opt = make_optimizer(name, together, 0.05)
    opts = {k: make_optimizer(name, p, 0.05) for k, p in apart.items()}
    for _ in range(4):
        # Gradients as the model hands them out: some are views, not contiguous.
        grads = {k: rng.standard_normal(s[::-1]).T if len(s) == 2 else rng.standard_normal(s)
                 for k, s in shapes.items()}  # fmt: skip
        opt.step(grads)
        for k, o in opts.items():
            o.step({k: grads[k]})
    for k in shapes:
        assert_array_equal(together[k], apart[k][k], err_msg=k)
        for slot in opt.slot_names:
            assert_array_equal(opt.slots[slot][k], opts[k].slots[slot][k], err_msg=f"{slot}/{k}")


def test_slots_are_keyed_and_shaped_like_the_parameters():
    params = {"W_h": np.zeros((3, 2)), "b1": np.zeros(3)}
    opt = Adam(params, lr=0.1)
    for slot in ("m", "v"):
        assert {k: a.shape for k, a in opt.slots[slot].items()} == {"W_h": (3, 2), "b1": (3,)}
    state = opt.state_dict()
    assert {k: a.shape for k, a in state["slots"]["m"].items()} == {"W_h": (3, 2), "b1": (3,)}
    opt.step({"W_h": np.ones((3, 2)), "b1": np.ones(3)})
    assert np.all(opt.slots["m"]["W_h"] != 0) and np.all(opt.slots["v"]["b1"] != 0)


def test_clip_gradients_says_exactly_when_it_changed_something():
    def grads():
        return {"W_h": np.array([3.0, -4.0]), "b1": np.array([0.0])}  # norm 5, largest entry 4

    for clip_value, clip_norm, changed in [
        (None, None, False),
        (4.0, None, False),  # on the bound: unchanged
        (3.9, None, True),
        (None, 5.0, False),
        (None, 4.9, True),
        (10.0, 10.0, False),
        (3.5, 4.99, True),  # the value clip alone already changed it
        (3.0, 4.5, True),  # the value clip makes the norm 4.24: the norm clip leaves it
    ]:
        g = grads()
        before = {k: v.copy() for k, v in g.items()}
        assert clip_gradients(g, clip_value, clip_norm) is changed, (clip_value, clip_norm)
        same = all(np.array_equal(g[k], before[k]) for k in g)
        assert same is not changed
