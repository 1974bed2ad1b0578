"""sigma and sigma' (Eq. 1.2, 5.1.1), and each activation's form sigma(z) = a + b f(c z)."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_core.activations import ACTIVATIONS, get_activation

Z = np.concatenate([np.linspace(-50, 50, 2001), [-745.0, -40.0, 0.0, 40.0, 745.0]])


def test_sigmoid_in_its_tanh_form_is_the_logistic_function():
    sigmoid = get_activation("sigmoid")
    h = sigmoid.sigma(Z, out=np.empty_like(Z))
    exact = np.exp(-np.logaddexp(0.0, -Z))  # 1 / (1 + e^-z), computed without overflow
    np.testing.assert_allclose(h, exact, rtol=0, atol=2e-16)  # absolute: h is a probability-like
    assert np.all((h >= 0) & (h <= 1))
    assert h[Z == 0.0][0] == 0.5


def test_sigmoid_never_overflows_or_warns():
    sigmoid = get_activation("sigmoid")
    z = np.array([-1e30, -1e4, 1e4, 1e30], dtype=np.float32)
    with np.errstate(all="raise"):
        h = sigmoid.sigma(z, out=np.empty_like(z))
    np.testing.assert_array_equal(h, [0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_sigma_is_a_plus_b_f_of_c_z(name):
    act = get_activation(name)
    direct = act.sigma(Z, out=np.empty_like(Z))
    core = act.f(act.c * Z, out=np.empty_like(Z))
    np.testing.assert_allclose(act.a + act.b * core, direct, rtol=0, atol=1e-15)
    if name != "sigmoid":
        assert (act.a, act.b, act.c) == (0.0, 1.0, 1.0)  # s(t) = h(t): the model's own weights


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_sigma_prime_from_h_matches_the_slope(name):
    act = get_activation(name)
    z = np.linspace(-6, 6, 97) + 0.013  # off relu's kink at 0
    h = act.sigma(z, out=np.empty_like(z))
    eps = 1e-6
    slope = (act.sigma(z + eps, out=np.empty_like(z)) - act.sigma(z - eps, out=np.empty_like(z))) / (2 * eps)
    np.testing.assert_allclose(act.sigma_prime(h, out=np.empty_like(h)), slope, rtol=1e-6, atol=1e-9)
    assert np.all(act.sigma_prime(h, out=np.empty_like(h)) <= act.max_slope)


def test_sigmoid_prime_is_h_times_one_minus_h():
    h = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(get_activation("sigmoid").sigma_prime(h, out=np.empty_like(h)), h * (1 - h))


def test_in_place():
    z = Z.copy()
    out = get_activation("sigmoid").sigma(z, out=z)
    assert out is z
