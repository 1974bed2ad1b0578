"""The hidden-layer activations sigma of Eq. 1.2 and their derivatives sigma' (Eq. 5.1.1).

Each derivative is computed from h = sigma(z) alone (sigmoid: h(1-h),
tanh: 1-h^2, relu: 1 where h > 0), so the training pass need not keep z.
All functions write into ``out`` so the hot loop allocates nothing.

Each activation also says how it is built from a core function f, applied in
place: sigma(z) = a + b f(c z). For tanh and relu, (a, b, c) = (0, 1, 1); the
sigmoid is a tanh in disguise, sigma(z) = 1/2 + tanh(z/2)/2. The forward loop
(``model.Cell``) runs on s = f(c z), one call of f per time step.
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
    """sigma(z) = 1 / (1 + e^-z) = (1 + tanh(z/2)) / 2, in place when ``out is z``.

    The tanh form: one transcendental call and no division, and nothing overflows.
    """
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
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
    """sigma and sigma' of one activation, the bound on sigma' that the page explains,
    and sigma as a + b f(c z) with a core function f (see the module docstring)."""

    name: str
    sigma: ArrayMap  # Eq. 1.2
    sigma_prime: ArrayMap  # Eq. 5.1.1, from h = sigma(z)
    max_slope: float
    f: ArrayMap  # the core: sigma(z) = a + b f(c z)
    a: float = 0.0
    b: float = 1.0
    c: float = 1.0


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_prime, 0.25, _tanh, a=0.5, b=0.5, c=0.5),
    "tanh": Activation("tanh", _tanh, _tanh_prime, 1.0, _tanh),
    "relu": Activation("relu", _relu, _relu_prime, 1.0, _relu),
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
