"""Sampling: reproducible, keeps the prefix, greedy at temperature 0, honest log-probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_core import RNN, Vocab, VocabError, greedy, log_prob, sample, sample_with_log_probs

from .conftest import random_model

NAMES = ["abelisaurus", "tyrannosaurus", "triceratops", "iguanodon", "velociraptor"]


@pytest.fixture
def setup():
    vocab = Vocab.from_names(NAMES)
    model = random_model(vocab.size, 12, "tanh", seed=4, scale=0.8)
    return model, vocab


def test_same_seed_same_names(setup):
    model, vocab = setup
    a = sample(model, vocab, n=8, seed=123)
    b = sample(model, vocab, n=8, seed=123)
    c = sample(model, vocab, n=8, seed=124)
    assert a == b
    assert a != c
    assert all(set(name) <= set(vocab.chars) for name in a)


def test_prefix_is_kept_and_length_bounded(setup):
    model, vocab = setup
    names = sample(model, vocab, n=20, prefix="tri", max_length=7, seed=1)
    assert all(name.startswith("tri") for name in names)
    assert all(len(name) <= 7 for name in names)


def test_near_zero_temperature_gives_the_argmax_name(setup):
    model, vocab = setup
    best = greedy(model, vocab, prefix="a", max_length=12)
    cold = sample(model, vocab, n=5, temperature=1e-4, prefix="a", max_length=12, seed=0)
    assert cold == [best.name] * 5
    # The greedy name really is argmax at every step.
    ids = vocab.encode(best.name)
    y_hat = model.forward([ids]).y_hat  # one name: its rows are its steps, in order
    for t in range(1, len(ids)):
        assert int(np.argmax(y_hat[t])) == ids[t]


def test_log_prob_is_minus_J(setup):
    model, vocab = setup
    for s in sample_with_log_probs(model, vocab, n=10, seed=5, max_length=40):
        if s.ended:
            np.testing.assert_allclose(s.log_prob, log_prob(model, vocab, s.name), rtol=1e-10)
            assert s.steps == len(s.name) + 1
        assert s.log_prob <= 0


def test_prefix_is_scored_and_max_length_is_exact(setup):
    model, vocab = setup
    for s in sample_with_log_probs(model, vocab, n=10, prefix="ab", max_length=30, seed=2):
        if s.ended:
            np.testing.assert_allclose(s.log_prob, log_prob(model, vocab, s.name), rtol=1e-10)
            assert s.steps == len(s.name) + 1
    full = sample_with_log_probs(model, vocab, n=3, prefix="abc", max_length=3, seed=2)
    assert [s.name for s in full] == ["abc"] * 3
    assert all(not s.ended and s.steps == 3 for s in full)
    capped = sample_with_log_probs(model, vocab, n=20, max_length=4, temperature=2.0, seed=3)
    assert all(len(s.name) <= 4 for s in capped)
    assert all(s.ended or len(s.name) == 4 for s in capped)


def test_float32_model_samples(setup):
    model, vocab = setup
    assert len(sample(model.astype("float32"), vocab, n=3, seed=0)) == 3


def test_bad_arguments(setup):
    model, vocab = setup
    with pytest.raises(VocabError, match="'Z'"):
        sample(model, vocab, prefix="aZ")
    with pytest.raises(ValueError, match="max_length"):
        sample(model, vocab, prefix="abcde", max_length=3)
    with pytest.raises(ValueError, match="n must"):
        sample(model, vocab, n=0)
    with pytest.raises(ValueError, match="vocabulary"):
        sample(RNN(5, 3), vocab)
