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

    def spy(seqs, **kw):
        seen.append(seqs)
        return real(seqs, **kw)

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

    def spy(seqs, **kw):
        seen.extend(trainer.vocab.decode(s) for s in seqs)
        return real(seqs, **kw)

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


@pytest.mark.parametrize("keep_best", [False, True])
def test_callbacks_fire_at_their_steps(keep_best):
    trainer = Trainer(config(max_steps=12, keep_best=keep_best), NAMES)
    events: list[tuple[str, int]] = []
    for event in ("on_step_end", "on_evaluation", "on_sample"):
        trainer.add_callback(event, lambda t, info, e=event: events.append((e, info["step"])))
    last = trainer.run()
    assert last is not None and last["step"] == 12 and trainer.finished
    assert [s for e, s in events if e == "on_step_end"] == list(range(1, 13))
    # keep_best: the step that finishes the run evaluates its weights (and may put the best back)
    finishing = [12] * (len([s for e, s in events if e == "on_evaluation"]) - 2) if keep_best else []
    assert [s for e, s in events if e == "on_evaluation"] == [5, 10, *finishing]
    assert len(finishing) in ((1, 2) if keep_best else (0,))
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
    last = trainer.history[-1]
    assert last == {"step": 3, "train_loss": last["train_loss"], "grad_norm": last["grad_norm"],
                    "clipped": last["clipped"], "val_loss": val}  # fmt: skip


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

    def poisoned(seqs, **kw):
        loss, grads = real(seqs, **kw)
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
    monkeypatch.setattr(trainer.model, "loss_and_grads", lambda s, **kw: (math.nan, real(s)[1]))
    with pytest.raises(DivergedError, match="loss"):
        trainer.train_step()
    monkeypatch.setattr(trainer.model, "loss_and_grads", lambda s, **kw: (1e6, real(s)[1]))
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

    def huge(seqs, **kw):
        loss, grads = real(seqs, **kw)
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


# ------------------------------------------------------------ the experiments
def overfitting(**changes) -> TrainConfig:
    """A run whose validation loss turns up well before its last step (24 names, a big step)."""
    base = dict(hidden_size=32, batch_size=6, learning_rate=0.03, val_fraction=0.25, max_steps=120,
                eval_every=5, sample_every=10**6)  # fmt: skip
    return config(**{**base, **changes})


CLIPS = [(None, None), (1e4, None), (0.05, None), (None, 0.5), (None, 1e4), (0.5, 2.0)]


@pytest.mark.parametrize(("clip_value", "clip_norm"), CLIPS)
def test_history_keeps_the_gradient_norm_before_clipping_and_whether_clipping_changed_it(
    monkeypatch, clip_value, clip_norm
):
    trainer = Trainer(config(clip_value=clip_value, clip_norm=clip_norm, learning_rate=0.01), NAMES)
    raw = []
    real = trainer.model.loss_and_grads

    def spy(seqs, **kw):
        loss, grads = real(seqs, **kw)
        raw.append({k: g.copy() for k, g in grads.items()})
        return loss, grads

    monkeypatch.setattr(trainer.model, "loss_and_grads", spy)
    trainer.run(max_steps=6)
    for point, grads in zip(trainer.history, raw, strict=True):
        flat = np.concatenate([g.ravel() for g in grads.values()])
        assert point["grad_norm"] == pytest.approx(np.linalg.norm(flat), rel=1e-12)
        clipped = np.clip(flat, -clip_value, clip_value) if clip_value is not None else flat
        changed = not np.array_equal(clipped, flat)
        changed |= bool(clip_norm is not None and np.linalg.norm(clipped) > clip_norm)
        assert point["clipped"] is changed
    expect_some = clip_value == 0.05 or clip_norm == 0.5 or clip_value == 0.5
    assert any(p["clipped"] for p in trainer.history) is expect_some


def test_the_history_thins_with_grad_norm_and_clipped_in_every_point():
    trainer = Trainer(config(history_limit=10, clip_norm=1.0), NAMES)
    trainer.run(max_steps=40)
    train_points = [p for p in trainer.history if "train_loss" in p]
    assert len(trainer.history) <= 10 and train_points
    assert all(isinstance(p["clipped"], bool) and p["grad_norm"] > 0 for p in train_points)


def test_each_step_uses_the_configured_truncation(monkeypatch):
    trainer = Trainer(config(truncation=2), NAMES)
    seen = []
    real = trainer.model.loss_and_grads

    def spy(seqs, **kw):
        seen.append(kw.get("truncation"))
        return real(seqs, **kw)

    monkeypatch.setattr(trainer.model, "loss_and_grads", spy)
    trainer.run(max_steps=3)
    assert seen == [2, 2, 2]


def test_w_h_init_norm_sets_the_spectral_norm_of_the_first_weights():
    trainer = Trainer(config(w_h_init_norm=0.7), NAMES)
    assert np.linalg.norm(trainer.model.W_h, 2) == pytest.approx(0.7, rel=1e-12)


def weights_at_each_evaluation(trainer: Trainer) -> dict[int, dict[str, np.ndarray]]:
    """The weights of the first evaluation of each step, filled in as the run goes."""
    seen: dict[int, dict[str, np.ndarray]] = {}

    def keep(t, info):
        seen.setdefault(info["step"], {k: p.copy() for k, p in t.model.params.items()})

    trainer.add_callback("on_evaluation", keep)
    return seen


def test_a_finished_keep_best_run_holds_its_best_weights():
    trainer = Trainer(overfitting(), NAMES)
    seen = weights_at_each_evaluation(trainer)
    vals = []
    trainer.add_callback("on_evaluation", lambda t, info: vals.append((info["step"], info["val_loss"])))
    trainer.run()
    assert trainer.finished and trainer.step == 120
    best_step = trainer.best_step
    assert best_step is not None and best_step < 120  # the validation loss turned up
    assert trainer.best_val_loss == min(v for _, v in vals)
    assert trainer.holds_best and trainer.val_rising
    for name, p in trainer.model.params.items():
        assert_array_equal(p, seen[best_step][name], err_msg=name)
        assert_array_equal(p, trainer.best.params[name], err_msg=name)
    # What the run reports: its val_loss, the last evaluation event and the history, all the best.
    assert trainer.val_loss == trainer.best_val_loss == vals[-1][1]
    last = trainer.history[-1]
    assert last["step"] == 120 and last["val_loss"] == trainer.best_val_loss
    assert last["best_step"] == best_step and last["final_val_loss"] > trainer.best_val_loss
    assert trainer.evaluate() == trainer.best_val_loss  # the very weights
    trainer.finish()  # idempotent
    assert trainer.model.params["W_h"] is trainer.optimizer.params["W_h"]  # restored in place


def test_without_keep_best_the_last_weights_stay():
    trainer = Trainer(overfitting(keep_best=False), NAMES)
    seen = weights_at_each_evaluation(trainer)
    trainer.run()
    assert trainer.best_step is not None and trainer.best_step < 120 and not trainer.holds_best
    assert trainer.best.params is None  # nothing copied
    assert trainer.history[-1]["val_loss"] > trainer.best_val_loss
    assert_array_equal(trainer.model.W_h, seen[120]["W_h"])


def test_raising_max_steps_continues_from_the_weights_held(monkeypatch):
    trainer = Trainer(overfitting(), NAMES)
    trainer.run()
    held = {k: p.copy() for k, p in trainer.model.params.items()}
    trainer.config = trainer.config.replace(max_steps=130)
    assert not trainer.finished
    started_from = []
    real = trainer.model.loss_and_grads

    def spy(seqs, **kw):
        started_from.append(trainer.model.W_h.copy())
        return real(seqs, **kw)

    monkeypatch.setattr(trainer.model, "loss_and_grads", spy)
    trainer.train_step()
    assert trainer.step == 121 and not trainer.holds_best and trainer.val_loss is None
    assert_array_equal(started_from[0], held["W_h"])
    trainer.run()
    assert trainer.step == 130 and trainer.holds_best
    assert trainer.val_loss == trainer.best_val_loss
