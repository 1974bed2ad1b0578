"""The hidden-layer activations sigma of Eq. 1.2 and their derivatives sigma' (Eq. 5.1.1).

Each derivative is computed from h = sigma(z) alone (sigmoid: h(1-h),
tanh: 1-h^2, relu: 1 where h > 0), so the training pass need not keep z.
All functions write into ``out`` so the hot loop allocates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .arrays import FloatArray


class ArrayMap(Protocol):
    """An element-wise function that writes its result into ``out`` and returns it."""

    def __call__(self, x: FloatArray, /, out: FloatArray) -> FloatArray: ...


def _sigmoid(z: FloatArray, out: FloatArray) -> FloatArray:
    """sigma(z) = 1 / (1 + e^-z), in place when ``out is z``."""
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _sigmoid_prime(h: FloatArray, out: FloatArray) -> FloatArray:
    """sigma'(z) = sigma(z)(1 - sigma(z)) = h(1 - h); at most 1/4."""
    np.subtract(1.0, h, out=out)
    out *= h
    return out


def _tanh(z: FloatArray, out: FloatArray) -> FloatArray:
    """sigma(z) = tanh(z)."""
    np.tanh(z, out=out)
    return out


def _tanh_prime(h: FloatArray, out: FloatArray) -> FloatArray:
    """tanh'(z) = 1 - tanh(z)^2 = 1 - h^2; at most 1."""
    np.multiply(h, h, out=out)
    np.subtract(1.0, out, out=out)
    return out


def _relu(z: FloatArray, out: FloatArray) -> FloatArray:
    """sigma(z) = max(z, 0)."""
    np.maximum(z, 0.0, out=out)
    return out


def _relu_prime(h: FloatArray, out: FloatArray) -> FloatArray:
    """relu'(z) = 1 where z > 0, else 0 (h > 0 exactly when z > 0)."""
    np.greater(h, 0.0, out=out)
    return out


@dataclass(frozen=True)
class Activation:
    """sigma and sigma' of one activation, and the bound on sigma' that the page explains."""

    name: str
    sigma: ArrayMap  # Eq. 1.2
    sigma_prime: ArrayMap  # Eq. 5.1.1, from h = sigma(z)
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
