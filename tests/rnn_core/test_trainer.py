"""The training loop: batches, losses per character, callbacks, divergence, history, isolation."""

from __future__ import annotations

import ast
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from rnn_core.config import TrainConfig
from rnn_core.data import NamesError
from rnn_core.trainer import DivergedError, Trainer

from .training_names import NAMES


def config(**changes) -> TrainConfig:
    base = dict(hidden_size=8, batch_size=4, seed=0, dtype="float64", eval_every=5, sample_every=6)
    return TrainConfig(**{**base, **changes})


def test_split_vocab_and_first_loss():
    trainer = Trainer(config(val_fraction=0.25), NAMES)
    assert len(trainer.val_names) == 6 and len(trainer.train_names) == 18
    assert not set(trainer.val_names) & set(trainer.train_names)
    assert trainer.vocab.size == len(set("".join(NAMES))) + 1
    info = trainer.train_step()
    assert set(info) >= {"step", "epoch", "train_loss", "chars", "seconds", "grad_norm"}
    assert info["step"] == trainer.step == 1
    # an untrained model is close to uniform guessing: ln V nats per character
    assert abs(info["train_loss"] - math.log(trainer.vocab.size)) < 0.5
    assert info["chars_per_sec"] > 0 and info["grad_norm"] > 0


def test_train_loss_is_nats_per_character_of_the_batch(monkeypatch):
    trainer = Trainer(config(), NAMES)
    seen = []
    real = trainer.model.loss_and_grads

    def spy(seqs):
        seen.append(seqs)
        return real(seqs)

    monkeypatch.setattr(trainer.model, "loss_and_grads", spy)
    before = trainer.model.copy()
    info = trainer.train_step()
    batch = seen[0]
    assert info["chars"] == sum(len(s) + 1 for s in batch)
    assert info["train_loss"] == pytest.approx(before.loss(batch) / info["chars"], rel=1e-12)


def test_every_training_name_once_per_epoch(monkeypatch):
    trainer = Trainer(config(batch_size=5), NAMES)
    seen: list[str] = []
    real = trainer.model.loss_and_grads

    def spy(seqs):
        seen.extend(trainer.vocab.decode(s) for s in seqs)
        return real(seqs)

    monkeypatch.setattr(trainer.model, "loss_and_grads", spy)
    n = len(trainer.train_names)  # 22: four batches of 5 and one of 2
    steps_per_epoch = math.ceil(n / 5)
    for _ in range(steps_per_epoch - 1):
        trainer.train_step()
        assert trainer.epoch == 0
    trainer.train_step()
    assert trainer.epoch == 1
    assert Counter(seen) == Counter(trainer.train_names)
    first_epoch = list(seen)
    for _ in range(steps_per_epoch):
        trainer.train_step()
    assert trainer.epoch == 2
    assert Counter(seen[n:]) == Counter(trainer.train_names)
    assert seen[n:] != first_epoch  # a fresh permutation each epoch


def test_same_seed_same_run_other_seed_other_run():
    def losses(seed):
        trainer = Trainer(config(seed=seed), NAMES)
        return [trainer.train_step()["train_loss"] for _ in range(8)]

    assert losses(1) == losses(1)
    assert losses(1) != losses(2)


def test_callbacks_fire_at_their_steps():
    trainer = Trainer(config(max_steps=12), NAMES)
    events: list[tuple[str, int]] = []
    for event in ("on_step_end", "on_evaluation", "on_sample"):
        trainer.add_callback(event, lambda t, info, e=event: events.append((e, info["step"])))
    last = trainer.run()
    assert last is not None and last["step"] == 12 and trainer.finished
    assert [s for e, s in events if e == "on_step_end"] == list(range(1, 13))
    assert [s for e, s in events if e == "on_evaluation"] == [5, 10]
    assert [s for e, s in events if e == "on_sample"] == [6, 12]
    with pytest.raises(ValueError, match="on_epoch_end"):
        trainer.add_callback("on_epoch_end", lambda t, i: None)


def test_run_stops_when_asked():
    trainer = Trainer(config(), NAMES)
    trainer.run(should_stop=lambda: trainer.step >= 3)
    assert trainer.step == 3
    trainer.run(max_steps=5)
    assert trainer.step == 5


def test_evaluate_is_the_validation_loss_per_character():
    trainer = Trainer(config(), NAMES)
    trainer.run(max_steps=3)
    got = []
    trainer.add_callback("on_evaluation", lambda t, info: got.append(info["val_loss"]))
    val = trainer.evaluate()
    ids = [trainer.vocab.encode(n) for n in trainer.val_names]
    assert val == pytest.approx(trainer.model.loss(ids) / trainer.model.count_steps(ids))
    assert got == [val]
    assert trainer.history[-1] == {"step": 3, "train_loss": trainer.history[-1]["train_loss"],
                                   "val_loss": val}  # fmt: skip


def test_sample_names_fires_on_sample():
    trainer = Trainer(config(), NAMES)
    got = []
    trainer.add_callback("on_sample", lambda t, info: got.append(info["names"]))
    names = trainer.sample_names(4)
    assert len(names) == 4 and got == [names]
    assert trainer.sample_names(4) == names  # seeded by the step


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_gradients_raise_and_keep_the_weights(monkeypatch, bad):
    trainer = Trainer(config(), NAMES)
    trainer.run(max_steps=2)
    before = {k: v.copy() for k, v in trainer.model.params.items()}
    adam_m = {k: v.copy() for k, v in trainer.optimizer.slots["m"].items()}
    real = trainer.model.loss_and_grads
    twin = Trainer(config(), NAMES)
    twin.run(max_steps=2)
    expected_next = twin.train_step()["train_loss"]

    def poisoned(seqs):
        loss, grads = real(seqs)
        grads["W_h"][0, 0] = bad
        return loss, grads

    monkeypatch.setattr(trainer.model, "loss_and_grads", poisoned)
    with pytest.raises(DivergedError, match="gradient"):
        trainer.train_step()
    assert trainer.step == 2
    for k, v in before.items():
        assert_array_equal(trainer.model.params[k], v, err_msg=k)
        assert_array_equal(trainer.optimizer.slots["m"][k], adam_m[k])
    monkeypatch.setattr(trainer.model, "loss_and_grads", real)
    assert trainer.train_step()["train_loss"] == expected_next  # same batch as before


def test_non_finite_or_exploding_loss_raises(monkeypatch):
    trainer = Trainer(config(), NAMES)
    real = trainer.model.loss_and_grads
    monkeypatch.setattr(trainer.model, "loss_and_grads", lambda s: (math.nan, real(s)[1]))
    with pytest.raises(DivergedError, match="loss"):
        trainer.train_step()
    monkeypatch.setattr(trainer.model, "loss_and_grads", lambda s: (1e6, real(s)[1]))
    with pytest.raises(DivergedError, match="uniform"):
        trainer.train_step()
    assert trainer.step == 0


def test_huge_learning_rate_diverges_without_clipping():
    trainer = Trainer(config(optimizer="sgd", learning_rate=10.0, clip_value=None, activation="relu"), NAMES)
    with pytest.raises(DivergedError):
        trainer.run(max_steps=50)
    assert all(np.all(np.isfinite(p)) for p in trainer.model.params.values())


def test_an_overflowing_update_is_rolled_back(monkeypatch):
    trainer = Trainer(config(dtype="float32", optimizer="sgd", learning_rate=1e-3, clip_value=None), NAMES)
    trainer.run(max_steps=1)
    trainer.set_learning_rate(10.0)  # the largest a config allows
    before = {k: v.copy() for k, v in trainer.model.params.items()}
    velocity = {k: v.copy() for k, v in trainer.optimizer.slots["velocity"].items()}
    real = trainer.model.loss_and_grads

    def huge(seqs):
        loss, grads = real(seqs)
        for g in grads.values():
            g[...] = 1e38  # finite, but lr * g overflows float32
        return loss, grads

    monkeypatch.setattr(trainer.model, "loss_and_grads", huge)
    with pytest.raises(DivergedError, match="overflow"):
        trainer.train_step()
    assert trainer.step == 1 and trainer.optimizer.step_count == 1
    for k, v in before.items():
        assert_array_equal(trainer.model.params[k], v, err_msg=k)
        assert_array_equal(trainer.optimizer.slots["velocity"][k], velocity[k])


def test_history_is_downsampled_to_the_limit():
    trainer = Trainer(config(history_limit=10, eval_every=7), NAMES)
    for _ in range(100):
        trainer.train_step()
        if trainer.step % 7 == 0:
            trainer.evaluate()
        assert len(trainer.history) <= 10
    steps = [p["step"] for p in trainer.history]
    assert steps == sorted(set(steps))
    assert steps[-1] >= 90 and steps[0] <= 16
    assert any("val_loss" in p for p in trainer.history)


def test_history_keeps_every_step_below_the_limit():
    trainer = Trainer(config(), NAMES)
    trainer.run(max_steps=7)
    assert [p["step"] for p in trainer.history] == list(range(1, 8))
    assert "val_loss" in trainer.history[4]


def test_learning_rate_changes_while_training():
    trainer = Trainer(config(), NAMES)
    trainer.set_learning_rate(0.123)
    assert trainer.optimizer.lr == 0.123 and trainer.config.learning_rate == 0.123
    with pytest.raises(ValueError, match="learning_rate"):
        trainer.set_learning_rate(-1.0)
    assert trainer.optimizer.lr == 0.123


def test_float32_training_stays_float32():
    trainer = Trainer(config(dtype="float32"), NAMES)
    trainer.run(max_steps=3)
    assert all(p.dtype == np.float32 for p in trainer.model.params.values())
    assert all(s.dtype == np.float32 for s in trainer.optimizer.slots["v"].values())


def test_bad_input_is_refused():
    with pytest.raises(NamesError, match="'3'"):
        Trainer(config(), ["abc", "t3rex"])
    with pytest.raises(NamesError, match="empty"):
        Trainer(config(), [])
    with pytest.raises(ValueError, match="hidden_size"):
        Trainer(config(hidden_size=0), NAMES)
    with pytest.raises(ValueError, match="activation"):
        Trainer(config(activation="swish"), NAMES)
    with pytest.raises(ValueError, match="optimizer"):
        Trainer(config(optimizer="lion"), NAMES)


def test_rnn_core_never_imports_the_app():
    package = Path(__file__).resolve().parents[2] / "rnn_core"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            assert not any(n == "app" or n.startswith("app.") for n in names), path.name
