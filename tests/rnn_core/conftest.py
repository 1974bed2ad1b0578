"""Shared helpers for the rnn_core tests: random models with every parameter perturbed."""

from __future__ import annotations

import numpy as np

from rnn_core import RNN


def random_model(V: int, D_h: int, activation: str, seed: int, scale: float = 0.5) -> RNN:
    """A float64 RNN whose every parameter (biases too) is random, so no unit sits on a kink."""
    model = RNN(vocab_size=V, hidden_size=D_h, activation=activation, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed + 1)
    for name, p in model.params.items():
        # W_h's noise shrinks with D_h so the recurrence stays out of chaos, as trained nets do.
        std = scale / np.sqrt(D_h) if name == "W_h" else scale
        p += rng.standard_normal(p.shape) * std
    return model


def random_names(rng: np.random.Generator, V: int, count: int, max_len: int) -> list[list[int]]:
    """``count`` encoded names of lengths 0..max_len over characters 1..V-1 (0 is the end token)."""
    return [list(rng.integers(1, V, size=rng.integers(0, max_len + 1))) for _ in range(count)]
