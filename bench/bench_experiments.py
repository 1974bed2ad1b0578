"""What the best weights buy, and where a plain sigmoid RNN lands: validation loss after 30 s of CPU.

For each names file (the bundled one, and ../shared/data/dinos.txt when it is
there) and each configuration, one trainer runs until it has used the CPU
budget (process time) or finished, evaluating every ``eval_every`` steps. It
prints the validation loss (nats per character, Eq. 3.3 over the held-out
names' characters) of the last weights (what ``keep_best = false`` holds) and
the best one seen (what ``keep_best = true`` holds: rnn_core/best.py). Training
is the same either way (keep_best only decides which weights the run ends
on), so one run gives both.

The peer, run in the same process on the same split: a character trigram model
(interpolated with its bigram, unigram and a uniform guess, the weights chosen
on the last tenth of the training names) gives the floor a model that sees two
characters back reaches. For the bundled dinosaur
list the reference figures we know of are a trigram about 1.67 and a 2-layer
LSTM about 1.48 nats per character; the script prints where each RNN lands
between the trigram it measured and that LSTM figure.

    .venv/bin/python bench/bench_experiments.py [--seconds 30] [--names FILE]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, as the server runs
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: rnn_core lives beside bench/
    sys.path.insert(0, str(REPO))

from rnn_core import TrainConfig, Trainer, Vocab  # noqa: E402
from rnn_core.data import load_names, split_names  # noqa: E402

NAMES_FILES = (REPO / "data" / "dinosaurs.txt", REPO.parent / "shared" / "data" / "dinos.txt")
TRIGRAM_REFERENCE = 1.67  # nats/char, a character trigram on the dinosaur list (reference figure)
LSTM_REFERENCE = 1.48  # nats/char, a 2-layer LSTM on the dinosaur list (reference figure, not run here)
#: The configurations compared: the default, and the best plain sigmoid RNN we found in a short
#: search (D_h, learning rate, batch size, clipping; bench/README.md gives the search).
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "sigmoid, best found": {"hidden_size": 128},
}


def train_for(config: TrainConfig, names: Sequence[str], seconds: float) -> dict[str, Any]:
    """Train until ``seconds`` of process time are used or the run finishes."""
    trainer = Trainer(config, names)
    start = time.process_time()
    trainer.run(should_stop=lambda: time.process_time() - start >= seconds)  # evaluates every eval_every
    last = trainer.evaluate()  # the weights held at the end compete for the best too (Trainer.finish)
    return {
        "steps": trainer.step,
        "cpu": time.process_time() - start,
        "last": last,
        "best": trainer.best_val_loss if trainer.best_val_loss is not None else last,
        "best_step": trainer.best_step,
        "vocab": trainer.vocab,
        "train": trainer.train_names,
        "val": trainer.val_names,
    }


class Trigram:
    """A character trigram interpolated with its bigram, unigram and uniform (Jelinek-Mercer)."""

    def __init__(self, train: Sequence[str], vocab: Vocab) -> None:
        self.size = vocab.size  # what a step may predict: every character, and the end
        self.tri: Counter[tuple[str, str, str]] = Counter()
        self.tri_ctx: Counter[tuple[str, str]] = Counter()
        self.bi: Counter[tuple[str, str]] = Counter()
        self.bi_ctx: Counter[str] = Counter()
        self.uni: Counter[str] = Counter()
        for a, b, c in _triples(train):
            self.tri[a, b, c] += 1
            self.tri_ctx[a, b] += 1
            self.bi[b, c] += 1
            self.bi_ctx[b] += 1
            self.uni[c] += 1
        self.total = sum(self.uni.values())

    def loss(self, names: Sequence[str], weights: tuple[float, float, float]) -> float:
        """Nats per character on ``names`` (each name and its end counted), mixing by ``weights``."""
        w3, w2, w1 = weights
        w0 = 1.0 - w3 - w2 - w1
        total, count = 0.0, 0
        for a, b, c in _triples(names):
            p3 = self.tri[a, b, c] / self.tri_ctx[a, b] if self.tri_ctx[a, b] else 0.0
            p2 = self.bi[b, c] / self.bi_ctx[b] if self.bi_ctx[b] else 0.0
            p = w3 * p3 + w2 * p2 + w1 * self.uni[c] / self.total + w0 / self.size
            total -= math.log(p)
            count += 1
        return total / count


def _triples(names: Sequence[str]) -> list[tuple[str, str, str]]:
    start, end = "\x02", "\x03"  # two characters no name holds: the start pad and the end
    out: list[tuple[str, str, str]] = []
    for name in names:
        chars = [start, start, *name, end]
        out += zip(chars, chars[1:], chars[2:], strict=False)
    return out


def trigram_peer(train: Sequence[str], val: Sequence[str], vocab: Vocab) -> tuple[float, tuple[float, ...]]:
    """The trigram's loss on ``val``, its mixing weights chosen on the last tenth of ``train``."""
    cut = max(1, len(train) // 10)
    tuned = Trigram(train[:-cut], vocab)
    w3s, w2s = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (0.1, 0.2, 0.3)
    grid = [(w3, w2, 0.05) for w3 in w3s for w2 in w2s if w3 + w2 < 0.95]
    weights = min(grid, key=lambda w: tuned.loss(train[-cut:], w))
    return Trigram(train, vocab).loss(val, weights), weights


def between(value: float, trigram: float, lstm: float) -> str:
    """Where ``value`` sits from the trigram (0 %) to the LSTM (100 %)."""
    return f"{100 * (trigram - value) / (trigram - lstm):.0f} %"


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU seconds per run (default 30)")
    parser.add_argument("--names", action="append", help="a names file (repeatable; default: both)")
    args = parser.parse_args()
    files = [Path(n) for n in args.names] if args.names else [p for p in NAMES_FILES if p.is_file()]
    for path in files:
        names = load_names(path.read_text(encoding="utf-8").splitlines())
        print(f"\n{path.name}: {len(names)} names, {args.seconds:g} s of CPU per run")
        trigram = None
        for label, changes in CONFIGS.items():
            config = TrainConfig(**{"max_steps": 1_000_000, **changes})
            r = train_for(config, names, args.seconds)
            if trigram is None:
                trigram, weights = trigram_peer(r["train"], r["val"], r["vocab"])
                mix = "/".join(f"{w:g}" for w in weights)
                print(f"  character trigram (interpolated {mix}), same split: {trigram:.3f} nats/char")
                train_check, _ = split_names(names, config.val_fraction, config.seed)
                assert list(train_check) == list(r["train"])  # every run holds out the same names
            print(
                f"  {label:20s} {r['steps']:6d} steps in {r['cpu']:.1f} s of CPU: last weights"
                f" {r['last']:.3f} (keep_best off), best {r['best']:.3f} at step {r['best_step']}"
                f" (keep_best on)\n  {'':20s} the best lies {between(r['best'], trigram, LSTM_REFERENCE)}"
                f" of the way from this trigram to the LSTM's {LSTM_REFERENCE},"
                f" {between(r['best'], TRIGRAM_REFERENCE, LSTM_REFERENCE)} from the reference"
                f" trigram's {TRIGRAM_REFERENCE}"
            )


if __name__ == "__main__":
    main()
