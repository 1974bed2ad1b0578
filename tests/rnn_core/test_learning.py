"""Learning: on the bundled names the RNN beats a character trigram model on held-out names."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import pytest

from rnn_core.config import TrainConfig
from rnn_core.data import bundled_names_path, load_names
from rnn_core.trainer import Trainer

START = "^"  # padding before a name's first character (never a letter)
END = "\n"  # the end token, predicted after the last character like the RNN's
MAX_STEPS = 1500  # about 3 s on one core; the RNN passes the trigram after ~400 steps


def trigram_nats_per_char(train: Sequence[str], val: Sequence[str], V: int, k: float) -> float:
    """Add-k trigram: P(c | ab) = (n(abc) + k) / (n(ab) + k V), fitted on train, scored on val.

    Each name of n characters contributes n + 1 predictions (its letters and the
    end token), exactly the steps the RNN is scored on.
    """
    context: Counter[str] = Counter()
    triple: Counter[tuple[str, str]] = Counter()

    def events(name: str):
        padded = START * 2 + name + END
        for i in range(2, len(padded)):
            yield padded[i - 2 : i], padded[i]

    for name in train:
        for ctx, nxt in events(name):
            context[ctx] += 1
            triple[ctx, nxt] += 1
    total, count = 0.0, 0
    for name in val:
        for ctx, nxt in events(name):
            total -= math.log((triple[ctx, nxt] + k) / (context[ctx] + k * V))
            count += 1
    return total / count


@pytest.mark.slow
def test_rnn_beats_a_smoothed_trigram_model():
    names = load_names(bundled_names_path())
    config = TrainConfig(
        hidden_size=64,
        optimizer="adam",
        learning_rate=0.01,
        dtype="float32",
        seed=0,
        eval_every=100,
        sample_every=10**6,
        max_steps=MAX_STEPS,
    )
    trainer = Trainer(config, names)
    V = trainer.vocab.size
    # the best smoothing for the baseline, chosen on the validation names themselves
    baseline = min(
        trigram_nats_per_char(trainer.train_names, trainer.val_names, V, k)
        for k in (0.01, 0.03, 0.1, 0.3, 1.0)
    )
    assert baseline < math.log(V)  # the baseline itself learns something

    val_losses: list[float] = []
    trainer.add_callback("on_evaluation", lambda t, info: val_losses.append(info["val_loss"]))
    trainer.run(should_stop=lambda: bool(val_losses) and val_losses[-1] < baseline)
    assert val_losses[-1] < baseline, (
        f"after {trainer.step} steps the validation loss is {val_losses[-1]:.4f} nats/char, "
        f"the trigram model's {baseline:.4f}"
    )
