"""Checkpoints: bit-exact round trip, exact resume, atomic writes, every kind of bad file refused."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import rnn_core.checkpoint as checkpoint_module
import rnn_core.fileio as fileio_module
from rnn_core import PARAM_NAMES, RNN, Vocab
from rnn_core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_bytes,
    load_checkpoint,
    save_checkpoint,
)
from rnn_core.config import TrainConfig
from rnn_core.trainer import Trainer

from .training_names import NAMES


def small_config(**changes) -> TrainConfig:
    base = dict(hidden_size=6, batch_size=5, seed=3, dtype="float64", eval_every=4, sample_every=7)
    return TrainConfig(**{**base, **changes})


def trained(steps: int = 6, **changes) -> Trainer:
    trainer = Trainer(small_config(**changes), NAMES)
    trainer.run(max_steps=steps)
    trainer.evaluate()
    return trainer


def unpack(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and the metadata of a checkpoint, to tamper with."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    return arrays, meta


def pack(arrays: dict[str, np.ndarray], meta: dict | bytes) -> bytes:
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(raw, dtype=np.uint8), **arrays)
    return buffer.getvalue()


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    trainer = trained(dtype=dtype, optimizer="adam")
    path = tmp_path / "run.ckpt"
    trainer.save(path)
    ckpt = load_checkpoint(path)
    for name in PARAM_NAMES:
        got, want = ckpt.model.params[name], trainer.model.params[name]
        assert got.dtype == want.dtype == np.dtype(dtype)
        assert_array_equal(got, want, err_msg=name)
    assert ckpt.model.activation == trainer.model.activation
    assert ckpt.vocab == trainer.vocab
    assert ckpt.config == trainer.config
    assert (ckpt.step, ckpt.epoch) == (trainer.step, trainer.epoch)
    assert ckpt.history == trainer.history
    assert ckpt.rng_state == trainer._batches.rng.bit_generator.state
    state = trainer.optimizer.state_dict()
    assert {k: v for k, v in ckpt.optimizer_state.items() if k != "slots"} == {
        k: v for k, v in state.items() if k != "slots"
    }
    for slot, arrays in state["slots"].items():
        for name, arr in arrays.items():
            assert_array_equal(ckpt.optimizer_state["slots"][slot][name], arr)


def test_minimal_checkpoint_and_file_like_sources():
    vocab = Vocab.from_names(["abc"])
    model = RNN(vocab.size, 3, activation="tanh", seed=1)
    data = checkpoint_bytes(model, vocab, extra={"note": "hi"})
    for source in (data, bytearray(data), io.BytesIO(data)):
        ckpt = load_checkpoint(source)
        assert ckpt.config is None and ckpt.optimizer_state is None and ckpt.history == []
        assert ckpt.extra == {"note": "hi"} and ckpt.model.activation == "tanh"
        assert_array_equal(ckpt.model.W_h, model.W_h)
    buffer = io.BytesIO()
    save_checkpoint(buffer, model, vocab)
    assert load_checkpoint(buffer.getvalue()).vocab == vocab


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "adam"])
def test_resume_equals_uninterrupted_run(tmp_path, optimizer):
    """Stop mid-epoch, save, resume: the losses after are exactly those of one straight run."""
    changes = dict(optimizer=optimizer, learning_rate=0.05, clip_norm=1.0)
    straight = Trainer(small_config(**changes), NAMES)
    straight_losses = [straight.train_step()["train_loss"] for _ in range(13)]

    first = Trainer(small_config(**changes), NAMES)
    losses = [first.train_step()["train_loss"] for _ in range(6)]  # 6 * 5 names: mid-epoch 2
    first.save(tmp_path / "a.ckpt")
    resumed = Trainer.resume(tmp_path / "a.ckpt", NAMES)
    assert (resumed.step, resumed.epoch) == (6, first.epoch)
    losses += [resumed.train_step()["train_loss"] for _ in range(7)]

    assert losses == straight_losses
    assert resumed.history == straight.history
    for name in PARAM_NAMES:
        assert_array_equal(resumed.model.params[name], straight.model.params[name], err_msg=name)


def test_resume_on_other_names_starts_a_new_epoch(tmp_path):
    trainer = trained(steps=3)
    trainer.save(tmp_path / "a.ckpt")
    resumed = Trainer.resume(tmp_path / "a.ckpt", NAMES[:-3])
    assert resumed.step == 3
    resumed.train_step()
    assert resumed.step == 4


@pytest.mark.parametrize(
    "junk",
    [
        "nonsense",
        {"cursor": "x", "order_rng_state": {"bit_generator": "PCG64"}, "names_digest": None},
        {"cursor": 10**6, "history_stride": -4},
    ],
)
def test_odd_trainer_state_starts_a_fresh_epoch(junk):
    buffer = io.BytesIO()
    trained(steps=3).save(buffer)
    arrays, meta = unpack(buffer.getvalue())
    meta["extra"]["trainer"] = junk if isinstance(junk, str) else {**meta["extra"]["trainer"], **junk}
    resumed = Trainer.resume(pack(arrays, meta), NAMES)
    assert resumed.step == 3 and resumed._history_stride >= 1
    resumed.train_step()
    assert resumed.step == 4


# ---------------------------------------------------------------- atomic write
def test_atomic_write_leaves_only_the_target(tmp_path):
    trainer = trained(steps=2)
    target = tmp_path / "sub" / "run.ckpt"
    trainer.save(target)
    trainer.train_step()
    trainer.save(target)  # over the old file
    assert sorted(p.name for p in target.parent.iterdir()) == ["run.ckpt"]
    assert load_checkpoint(target).step == 3


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    trainer = trained(steps=2)
    target = tmp_path / "run.ckpt"
    trainer.save(target)
    before = target.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fileio_module.os, "replace", broken_replace)
    trainer.train_step()
    with pytest.raises(OSError, match="disk full"):
        trainer.save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]


def test_non_finite_weights_are_not_saved(tmp_path):
    trainer = trained(steps=2)
    target = tmp_path / "run.ckpt"
    trainer.save(target)
    before = target.read_bytes()
    trainer.model.U[0, 0] = np.nan
    with pytest.raises(CheckpointError, match="U"):
        trainer.save(target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.ckpt"]


# ------------------------------------------------------------------- bad files
@pytest.fixture(scope="module")
def good() -> bytes:
    buffer = io.BytesIO()
    trained(steps=5).save(buffer)
    return buffer.getvalue()


def _drop(arrays, meta, key):
    del arrays[key]
    return arrays, meta


def _replace(key, value):
    def change(arrays, meta):
        arrays[key] = value(arrays[key])
        return arrays, meta

    return change


def _meta(change):
    def apply(arrays, meta):
        change(meta)
        return arrays, meta

    return apply


TAMPERED = {
    "missing W_h": (lambda a, m: _drop(a, m, "param.W_h"), "missing array 'W_h'"),
    "missing Adam slot": (lambda a, m: _drop(a, m, "optim.v.U"), "missing array 'optim.v.U'"),
    "wrong shape": (_replace("param.W_h", lambda x: x[:, :-1]), "W_h has shape"),
    "wrong dtype": (_replace("param.U", lambda x: x.astype(np.float32)), "U has dtype float32"),
    "NaN weights": (_replace("param.b1", lambda x: x * np.nan), "b1 holds non-finite"),
    "inf optimizer": (_replace("optim.m.W_x", lambda x: x + np.inf), "non-finite"),
    "extra array": (
        lambda a, m: ({**a, "param.W_z": np.zeros(2)}, m),
        "unexpected array",
    ),
    "mismatched vocab": (_meta(lambda m: m.update(vocab=m["vocab"][:-1])), "vocabulary mismatch"),
    "unsorted vocab": (_meta(lambda m: m.update(vocab=m["vocab"][::-1])), "vocabulary"),
    "future version": (_meta(lambda m: m.update(version=FORMAT_VERSION + 1)), "newer"),
    "no version": (_meta(lambda m: m.pop("version")), "version"),
    "other format": (_meta(lambda m: m.update(format="pytorch")), "not a BPTT Lab"),
    "hidden size lie": (
        _meta(lambda m: m["model"].update(hidden_size=7)),
        "W_h has shape",
    ),
    "bad config": (_meta(lambda m: m["config"].update(hidden_size=0)), "hidden_size"),
    "config mismatch": (_meta(lambda m: m["config"].update(activation="relu")), "activation"),
    "unknown config key": (_meta(lambda m: m["config"].update(colour="red")), "colour"),
    "negative step": (_meta(lambda m: m.update(step=-1)), "step"),
    "bad optimizer": (_meta(lambda m: m["optimizer"].update(name="lion")), "lion"),
    "bad rng": (_meta(lambda m: m["rng_state"].update(bit_generator="Nope")), "RNG"),
    "bad history": (_meta(lambda m: m["history"].append({"step": "x"})), "history"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_checkpoints_are_refused(good, case):
    change, message = TAMPERED[case]
    arrays, meta = unpack(good)
    data = pack(*change(arrays, meta))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(data)


def test_bad_json_is_refused(good):
    arrays, _ = unpack(good)
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(pack(arrays, b'{"format": "bptt-lab-checkpoint", '))
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(pack(arrays, b"\xff\xfe"))
    with pytest.raises(CheckpointError, match="object"):
        load_checkpoint(pack(arrays, b"[1, 2]"))


def test_missing_metadata_is_refused(good):
    arrays, _ = unpack(good)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(buffer.getvalue())


@pytest.mark.parametrize("cut", [0, 10, 0.5, -1])
def test_truncated_files_are_refused(good, cut):
    end = int(len(good) * cut) if isinstance(cut, float) else cut
    with pytest.raises(CheckpointError):
        load_checkpoint(good[:end])


def test_random_bytes_and_flipped_bytes_are_refused(good):
    rng = np.random.default_rng(0)
    with pytest.raises(CheckpointError, match="not an npz"):
        load_checkpoint(rng.bytes(len(good)))
    damaged = bytearray(good)
    damaged[len(good) // 3] ^= 0xFF  # inside an array: the zip CRC catches it
    with pytest.raises(CheckpointError):
        load_checkpoint(bytes(damaged))


def test_pickled_arrays_are_refused(good):
    arrays, meta = unpack(good)
    arrays["param.W_h"] = np.array([{"evil": 1}], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(buffer.getvalue())


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "nope.ckpt")


def test_nothing_is_built_when_a_late_check_fails(good, monkeypatch):
    """The history is checked last: a bad history must fail before any RNN exists."""
    built = []
    real_rnn = checkpoint_module.RNN

    def counting_rnn(*args, **kwargs):
        built.append(1)
        return real_rnn(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "RNN", counting_rnn)
    arrays, meta = unpack(good)
    meta["history"].append({"step": 1, "train_loss": "high"})
    with pytest.raises(CheckpointError, match="history"):
        load_checkpoint(pack(arrays, meta))
    assert built == []
    load_checkpoint(good)
    assert built == [1]


def test_failed_resume_leaves_the_running_trainer_alone(good):
    trainer = trained(steps=3)
    before = {k: v.copy() for k, v in trainer.model.params.items()}
    arrays, meta = unpack(good)
    arrays["param.W_h"] = arrays["param.W_h"] * np.nan
    with pytest.raises(CheckpointError):
        Trainer.resume(pack(arrays, meta), NAMES)
    for name, arr in before.items():
        assert_array_equal(trainer.model.params[name], arr)
    assert trainer.step == 3


def test_an_archive_that_unpacks_too_large_is_refused_before_reading(good):
    with pytest.raises(CheckpointError, match="unpacks to"):
        load_checkpoint(good, max_unpacked_bytes=1_000)
    # A zip bomb: a few kilobytes of compressed zeros claiming megabytes.
    bomb = io.BytesIO()
    np.savez_compressed(bomb, W_h=np.zeros((1_000, 1_000)))
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(CheckpointError, match="8,000,"):
        load_checkpoint(bomb.getvalue(), max_unpacked_bytes=1_000_000)


# -------------------------------------------------------------- best weights
def overfitting(**changes) -> TrainConfig:
    """A run whose validation loss turns up well before its last step."""
    base = dict(hidden_size=32, batch_size=6, learning_rate=0.03, val_fraction=0.25, max_steps=120,
                eval_every=5, sample_every=10**6)  # fmt: skip
    return small_config(**{**base, **changes})


def test_the_best_so_far_survives_a_round_trip_mid_run():
    trainer = Trainer(overfitting(), NAMES)
    trainer.run(max_steps=100)
    assert trainer.best_step is not None and trainer.best_step < 100 and not trainer.holds_best
    resumed = Trainer.resume(checkpoint_bytes_of(trainer), NAMES)
    assert (resumed.best_val_loss, resumed.best_step) == (trainer.best_val_loss, trainer.best_step)
    assert resumed.val_rising == trainer.val_rising and resumed.val_loss == trainer.val_loss
    for name in PARAM_NAMES:
        assert_array_equal(resumed.best.params[name], trainer.best.params[name], err_msg=name)
    trainer.run()
    resumed.run()
    assert resumed.holds_best and resumed.best_step == trainer.best_step
    for name in PARAM_NAMES:  # the same run as if never interrupted, best weights put back alike
        assert_array_equal(resumed.model.params[name], trainer.model.params[name], err_msg=name)


def test_a_finished_run_holding_its_best_round_trips():
    trainer = Trainer(overfitting(), NAMES)
    trainer.run()
    data = checkpoint_bytes_of(trainer)
    _, meta = unpack(data)
    assert not any(k.startswith("best.") for k in unpack(data)[0])  # the weights are the best
    assert meta["extra"]["trainer"]["best"]["best_step"] == trainer.best_step
    resumed = Trainer.resume(data, NAMES)
    assert resumed.holds_best and resumed.finished
    assert resumed.val_loss == resumed.best_val_loss == trainer.best_val_loss
    assert resumed.history[-1]["clipped"] is trainer.history[-1]["clipped"]
    for name in PARAM_NAMES:
        assert_array_equal(resumed.best.params[name], trainer.model.params[name], err_msg=name)


def test_a_checkpoint_from_before_best_tracking_still_loads():
    trainer = Trainer(overfitting(), NAMES)
    trainer.run(max_steps=100)
    arrays, meta = unpack(checkpoint_bytes_of(trainer))
    for key in [k for k in arrays if k.startswith("best.")]:
        del arrays[key]
    for key in ("best", "held_val_loss"):
        del meta["extra"]["trainer"][key]
    for point in meta["history"]:
        point.pop("grad_norm", None)
        point.pop("clipped", None)
    del meta["config"]["truncation"], meta["config"]["w_h_init_norm"], meta["config"]["keep_best"]
    resumed = Trainer.resume(pack(arrays, meta), NAMES)
    assert resumed.step == 100 and resumed.best_val_loss is None and not resumed.holds_best
    assert resumed.config.keep_best and resumed.config.truncation is None
    resumed.evaluate()
    assert resumed.best_step == 100 and resumed.holds_best


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("best.U"), "missing array 'best.U'"),
        (lambda a: a.update({"best.W_h": a["best.W_h"][:, :-1]}), "best.W_h has shape"),
        (lambda a: a.update({"best.b1": a["best.b1"] * np.nan}), "best.b1 holds non-finite"),
    ],
)
def test_bad_best_weights_are_refused(change, message):
    trainer = Trainer(overfitting(), NAMES)
    trainer.run(max_steps=100)
    arrays, meta = unpack(checkpoint_bytes_of(trainer))
    change(arrays)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(pack(arrays, meta))


def checkpoint_bytes_of(trainer: Trainer) -> bytes:
    buffer = io.BytesIO()
    trainer.save(buffer)
    return buffer.getvalue()
