"""What the benchmark modules share: the data, the Adam settings, and a contender's record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnn_core import Vocab
from rnn_core.batching import Corpus, Picked

REPO = Path(__file__).resolve().parent.parent
Seqs = list[list[int]]
LR = 0.01  # the same Adam settings for every contender
BETAS = (0.9, 0.999)
EPS = 1e-8


@dataclass
class Contender:
    """One way of training: `step(i)` trains on batch i of the shared list."""

    key: str
    label: str
    activation: str
    step: Callable[[int], object]
    rates: list[float] = field(default_factory=list)  # characters per second, one per round
    chunk: int = 1  # batches per timed repetition


def load_bench_names(explicit: str | None) -> tuple[list[str], str]:
    """The names to draw batches from, and where they came from."""
    candidates = [Path(explicit)] if explicit else []
    candidates += [REPO / "data" / "dinosaurs.txt", REPO.parent / "shared" / "data" / "dinos.txt"]
    for path in candidates:
        if path.is_file():
            names: list[str] = []
            seen: set[str] = set()
            for line in path.read_text(encoding="utf-8").splitlines():
                name = line.strip().lower()
                if name and name.isascii() and name.isalpha() and name not in seen:
                    seen.add(name)
                    names.append(name)
            if names:
                return names, str(path)
    # No file: synthetic names of dinosaur-like lengths over a-z.
    rng = np.random.default_rng(1234)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    names = ["abcdefghijklmnopqrstuvwxyz"]
    names += ["".join(rng.choice(letters, size=int(rng.integers(5, 15)))) for _ in range(1500)]
    return names, "synthetic (no names file found)"


def make_batches(names: Sequence[str], vocab: Vocab, n: int, size: int, seed: int) -> list[Seqs]:
    """A fixed list of n batches of `size` distinct names each, encoded."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n):
        pick = rng.choice(len(names), size=size, replace=False)
        batches.append([vocab.encode(names[i]) for i in pick])
    return batches


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def as_trainer_batches(batches: Sequence[Seqs], start_id: int, end_id: int) -> list[Picked]:
    """The batches as the trainer hands them to the model: its names laid out once, then picked."""
    corpus = Corpus.from_sequences([s for b in batches for s in b], start_id, end_id)
    starts = np.cumsum([0, *map(len, batches)])
    return [corpus.pick(np.arange(starts[i], starts[i + 1])) for i in range(len(batches))]
