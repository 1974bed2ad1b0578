"""The hidden-layer activations sigma of Eq. 1.2 and their derivatives sigma'.

Each derivative is computed from h = sigma(z) alone (sigmoid: h(1-h),
tanh: 1-h^2, relu: 1 where h > 0), so the forward pass need not keep z.
All functions write into ``out`` so the hot loop allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def _sigmoid(z: Array, out: Array) -> Array:
    """sigma(z) = 1 / (1 + e^-z), in place when ``out is z``."""
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _sigmoid_prime(h: Array, out: Array) -> Array:
    """sigma'(z) = sigma(z)(1 - sigma(z)) = h(1 - h); at most 1/4."""
    np.subtract(1.0, h, out=out)
    out *= h
    return out


def _tanh(z: Array, out: Array) -> Array:
    return np.tanh(z, out=out)


def _tanh_prime(h: Array, out: Array) -> Array:
    """tanh'(z) = 1 - tanh(z)^2 = 1 - h^2; at most 1."""
    np.multiply(h, h, out=out)
    np.subtract(1.0, out, out=out)
    return out


def _relu(z: Array, out: Array) -> Array:
    return np.maximum(z, 0.0, out=out)


def _relu_prime(h: Array, out: Array) -> Array:
    """relu'(z) = 1 where z > 0, else 0 (h > 0 exactly when z > 0)."""
    np.greater(h, 0.0, out=out)
    return out


@dataclass(frozen=True)
class Activation:
    """sigma and sigma' of one activation, and the bound on sigma' that the page explains."""

    name: str
    sigma: Callable[[Array, Array], Array]
    sigma_prime: Callable[[Array, Array], Array]
    max_slope: float


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_prime, 0.25),
    "tanh": Activation("tanh", _tanh, _tanh_prime, 1.0),
    "relu": Activation("relu", _relu, _relu_prime, 1.0),
}


def activation_names() -> tuple[str, ...]:
    """The accepted values of ``activation``."""
    return tuple(ACTIVATIONS)


def get_activation(name: str) -> Activation:
    """The activation called ``name``; ValueError naming the choices otherwise."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}") from None
