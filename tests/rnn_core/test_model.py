"""The batched pass itself: the Cell's form of sigma, the kept scratch arrays, copies."""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest

from rnn_core import PARAM_NAMES, RNN
from rnn_core.arrays import Scratch, thread_scratch

from .conftest import random_model, random_names

ACTIVATIONS = ["sigmoid", "tanh", "relu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_cell_steps_are_eq_1_1_and_1_2(activation):
    """Cell carries s(t) = f(c z(t)); h(t) = a + b s(t) is sigma(W_h h(t-1) + W_x x(t) + b1)."""
    model = random_model(7, 5, activation, seed=3)
    cell = model.cell(rows=3)
    x1 = np.full(3, model.start_id)
    s1 = cell.step(cell.inputs(x1))  # h(0) = 0
    h1 = cell.h(s1.copy())
    want = model.act.sigma(np.tile(model.b1, (3, 1)), out=np.empty((3, 5)))
    np.testing.assert_allclose(h1, want, rtol=1e-14, atol=1e-15)
    x2 = np.array([1, 4, 6])
    z2 = np.empty((3, 5))
    s2 = cell.step(cell.inputs(x2), s1, keep_z=z2)
    np.testing.assert_allclose(z2, h1 @ model.W_h.T + model.W_x[:, x2].T + model.b1, rtol=1e-13)
    np.testing.assert_allclose(cell.h(s2.copy()), model.act.sigma(z2, out=np.empty_like(z2)), atol=1e-15)
    # The output layer from the cell's state: theta(t) = U h(t) + b2, the state left alone.
    before = s2.copy()
    np.testing.assert_allclose(cell.theta(s2), cell.h(s2.copy()) @ model.U.T + model.b2, rtol=1e-13)
    np.testing.assert_array_equal(s2, before)


def test_keep_z_is_exact_for_the_sigmoid():
    model = random_model(6, 4, "sigmoid", seed=8)
    fw = model.forward([[1, 2, 3], [4]], keep_z=True)
    assert fw.z is not None
    np.testing.assert_allclose(fw.h, 1 / (1 + np.exp(-fw.z)), rtol=1e-14)


def test_loss_and_grads_equals_forward_then_backward():
    rng = np.random.default_rng(0)
    model = random_model(9, 7, "sigmoid", seed=0)
    seqs = random_names(rng, 9, 6, max_len=10)
    loss, grads = model.loss_and_grads(seqs)  # the kept scratch arrays
    fw = model.forward(seqs)  # new arrays
    assert fw.loss == loss
    for name, g in model.backward(fw).items():
        np.testing.assert_array_equal(g, grads[name], err_msg=name)


def test_gradients_are_new_arrays_every_call():
    """The scratch is reused, the gradients handed out are not: a caller may keep them."""
    rng = np.random.default_rng(1)
    model = random_model(8, 6, "tanh", seed=1)
    a, b = random_names(rng, 8, 5, max_len=9), random_names(rng, 8, 3, max_len=12)
    _, first = model.loss_and_grads(a)
    kept = {k: g.copy() for k, g in first.items()}
    _, second = model.loss_and_grads(b)
    _, again = model.loss_and_grads(a)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(first[name], kept[name], err_msg=name)
        np.testing.assert_array_equal(again[name], kept[name], err_msg=name)
        assert not np.shares_memory(first[name], second[name])


def test_forward_hands_out_its_own_arrays():
    rng = np.random.default_rng(2)
    model = random_model(8, 6, "sigmoid", seed=2)
    seqs = random_names(rng, 8, 4, max_len=8)
    fw = model.forward(seqs)
    h, y_hat = fw.h.copy(), fw.y_hat.copy()
    model.loss_and_grads(random_names(rng, 8, 7, max_len=14))
    model.forward(seqs)
    np.testing.assert_array_equal(fw.h, h)
    np.testing.assert_array_equal(fw.y_hat, y_hat)


def test_scratch_grows_and_keeps_its_memory():
    scratch = Scratch(keep=True)
    a = scratch.empty("h", (10, 4), np.float32)
    b = scratch.empty("h", (8, 4), np.float32)
    assert np.shares_memory(a, b)
    assert not np.shares_memory(a, scratch.empty("h", (8, 4), np.float64))  # one buffer per dtype
    c = scratch.empty("h", (40, 4), np.float32)  # larger: a new buffer
    assert c.shape == (40, 4) and not np.shares_memory(a, c)
    assert not np.shares_memory(Scratch(keep=False).empty("h", (8, 4), np.float32), c)
    assert scratch.claim() is scratch
    assert not scratch.claim().keep  # held: a nested caller gets a non-keeping one
    scratch.release()
    assert scratch.claim() is scratch
    scratch.release()


def test_one_scratch_per_thread_shared_by_models():
    rng = np.random.default_rng(3)
    small, large = random_model(8, 6, "tanh", seed=3), random_model(8, 12, "sigmoid", seed=4)
    seqs = random_names(rng, 8, 5, max_len=9)
    want = small.loss_and_grads(seqs)
    large.loss_and_grads(seqs)  # the same thread's scratch, grown
    got = small.loss_and_grads(seqs)
    assert got[0] == want[0]
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(got[1][name], want[1][name])
    seen = []
    worker = threading.Thread(target=lambda: seen.append(thread_scratch()))
    worker.start()
    worker.join()
    assert seen[0] is not thread_scratch()


def test_two_threads_training_one_model_get_the_right_gradients():
    rng = np.random.default_rng(4)
    model = random_model(10, 16, "sigmoid", seed=4)
    batches = [random_names(rng, 10, 16, max_len=12) for _ in range(2)]
    want = [model.loss_and_grads(seqs) for seqs in batches]
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(30):
            loss, grads = model.loss_and_grads(batches[k])
            if loss != want[k][0] or any(not np.array_equal(grads[n], want[k][1][n]) for n in PARAM_NAMES):
                errors.append(f"thread {k}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("clone", [RNN.copy, copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copies_are_independent_and_train_alike(clone):
    rng = np.random.default_rng(5)
    model = random_model(8, 6, "sigmoid", seed=5).astype(np.float32)
    seqs = random_names(rng, 8, 5, max_len=9)
    model.loss_and_grads(seqs)  # the scratch is in use and filled
    twin = clone(model)
    loss, grads = model.loss_and_grads(seqs)
    twin_loss, twin_grads = twin.loss_and_grads(seqs)
    assert twin_loss == loss
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(twin_grads[name], grads[name])
        assert not np.shares_memory(twin.params[name], model.params[name])
    twin.W_h[0, 0] += 1.0  # the twin's arrays are its own
    assert model.W_h[0, 0] != twin.W_h[0, 0]


def test_writing_into_the_models_arrays_changes_the_model():
    model = random_model(6, 4, "sigmoid", seed=6)
    seqs = [[1, 2, 3]]
    before = model.loss(seqs)
    model.W_h[...] = 0.0
    model.b2[1] += 3.0
    assert model.loss(seqs) != before
    np.testing.assert_array_equal(model.params["W_h"], 0.0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("D_h", "norm"), [(1, 0.5), (7, 1.0), (32, 2.5), (100, 0.9)])
def test_W_h_norm_sets_the_spectral_norm_at_init(dtype, D_h, norm):
    model = RNN(vocab_size=6, hidden_size=D_h, seed=3, dtype=dtype, W_h_norm=norm)
    assert np.linalg.svd(model.W_h.astype(np.float64), compute_uv=False)[0] == pytest.approx(
        norm, rel=1e-12 if dtype == "float64" else 1e-6
    )
    plain = RNN(vocab_size=6, hidden_size=D_h, seed=3, dtype=dtype)
    # only the scale of W_h changes: its direction, and every other parameter, are the seed's
    np.testing.assert_allclose(model.W_h / norm, plain.W_h / np.linalg.norm(plain.W_h, 2), rtol=1e-5)
    for name in ("W_x", "b1", "U", "b2"):
        np.testing.assert_array_equal(model.params[name], plain.params[name])


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_W_h_norm_is_refused(bad):
    with pytest.raises(ValueError, match="W_h_norm"):
        RNN(vocab_size=5, hidden_size=4, W_h_norm=bad)
