"""gradcheck: the shared finite differences, and the two checks built on them."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_core import PARAM_NAMES, Vocab, trace_gammas
from rnn_core.gradcheck import (
    FIVE_POINT,
    TWO_POINT,
    centred_differences,
    check_gradients,
    gradient_check,
    largest_entries,
)

from .conftest import random_model
from .training_names import NAMES

VOCAB = Vocab.from_names(NAMES)
ACTIVATIONS = ["sigmoid", "tanh", "relu"]


def moved_loss(model, seqs, name, index, delta) -> float:
    moved = model.copy()
    moved.params[name][index] += delta
    return moved.loss(seqs)


def test_stencils_are_the_textbook_formulas() -> None:
    model = random_model(VOCAB.size, 6, "tanh", seed=17)
    seqs = [VOCAB.encode("baryonyx"), VOCAB.encode("rugops")]
    before = {k: p.copy() for k, p in model.params.items()}
    entries = [("W_h", (1, 2)), ("W_x", (2, 3)), ("b1", (4,)), ("U", (0, 5)), ("b2", (0,))]
    eps = 1e-3
    two = list(centred_differences(model, seqs, entries, eps, TWO_POINT))
    five = list(centred_differences(model, seqs, entries, eps, FIVE_POINT))
    assert [e for e, _ in two] == [e for e, _ in five] == entries
    for (name, index), (_, got2), (_, got5) in zip(entries, two, five, strict=True):
        J = {k: moved_loss(model, seqs, name, index, k * eps) for k in (-2, -1, 1, 2)}
        assert got2 == pytest.approx((J[1] - J[-1]) / (2 * eps), rel=1e-9)
        assert got5 == pytest.approx((8 * (J[1] - J[-1]) - (J[2] - J[-2])) / (12 * eps), rel=1e-9)
    for name, p in model.params.items():  # the model itself is never moved
        np.testing.assert_array_equal(p, before[name])


def test_a_relu_kink_inside_the_stencil_gives_none() -> None:
    model = random_model(VOCAB.size, 4, "relu", seed=3)
    seqs = [VOCAB.encode("iguanodon")]
    # Put unit 0 exactly on its kink at t = 1: z(1) = W_x x(1) + b1 = b1 (x(1) = 0).
    model.b1[0] = 0.0
    got = dict(centred_differences(model, seqs, [("b1", (0,)), ("b2", (1,))], 1e-4, skip_kinks=True))
    assert got[("b1", (0,))] is None
    assert got[("b2", (1,))] is not None


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_check_gradients_passes_on_random_entries(activation: str) -> None:
    model = random_model(VOCAB.size, 7, activation, seed=5)
    seqs = [VOCAB.encode(n) for n in ("stegosaurus", "rugops", "")]
    entries = check_gradients(model, seqs, entries_per_param=4, seed=1)
    assert [e.param for e in entries] == [n for n in PARAM_NAMES for _ in range(4)]
    assert max(e.rel_error for e in entries) < 1e-6
    assert entries == check_gradients(model, seqs, entries_per_param=4, seed=1)  # seeded


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_check_passes_and_uses_the_largest_entries(activation: str) -> None:
    model = random_model(VOCAB.size, 12, activation, seed=13)
    ids = VOCAB.encode("triceratops")
    tr = trace_gammas(model, ids)
    checked = gradient_check(model, tr)
    _, grads = model.loss_and_grads([ids])
    assert [(e.param, e.index) for e in checked] == largest_entries(tr, 3)
    assert {e.param for e in checked} == set(PARAM_NAMES)
    for e in checked:
        assert e.rel_error < 1e-6, e
        assert e.analytic == pytest.approx(grads[e.param][e.index], rel=1e-9, abs=1e-13)
        assert abs(e.analytic) >= np.sort(np.abs(grads[e.param]).ravel())[-3] * (1 - 1e-9)
    assert gradient_check(model, tr, entries=0) == ()


def test_gradient_check_of_a_float32_model_runs_in_float64() -> None:
    model = random_model(VOCAB.size, 8, "sigmoid", seed=2).astype(np.float32)
    tr = trace_gammas(model, VOCAB.encode("oviraptor"))
    assert max(e.rel_error for e in gradient_check(model, tr)) < 1e-6
