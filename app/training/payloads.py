"""What a run hands to other modules: its progress and status, and a snapshot of its weights.

`Progress` is the payload of a `progress` event, `Status` that of a `state`
event and of GET /api/status (app/http/schemas.py `StatusOut` is its public
shape). Losses are in nats per character; None when not measured or not finite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from app.training.states import RunState
from rnn_core import RNN, Vocab
from rnn_core.config import TrainConfig


class DatasetSummary(TypedDict):
    """A data set as the API and the page describe it."""

    source: str  # "bundled" or "uploaded"
    filename: str
    names: int
    vocab_size: int


class Progress(TypedDict):
    """Where a run is now."""

    run_id: str
    state: RunState
    step: int
    epoch: int
    version: int  # grows with every change of the run: an older payload never wins
    train_loss: float | None  # J per character of the last batch (Eq. 3.3)
    val_loss: float | None  # J per character on the held-out names
    chars_per_sec: float


class Status(Progress):
    """A run's progress, configuration and data, and what it has to say."""

    uniform_loss: float  # ln V: the loss of guessing uniformly
    message: str | None
    storage_warning: str | None
    config: dict[str, Any]  # TrainConfig.to_dict()
    dataset: DatasetSummary
    best_val_loss: float | None  # the lowest validation loss so far
    best_step: int | None  # and its step
    holds_best: bool  # a finished keep_best run holds the weights of best_step
    val_rising: bool  # the validation loss has not come back to its best for two evaluations


class Sample(TypedDict):
    """Names the model wrote at a step (a `sample` event, and the page's list)."""

    step: int
    names: list[str]


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the weights (in float64, for exact reading) and what goes with them."""

    model: RNN
    vocab: Vocab
    config: TrainConfig
    names: frozenset[str]
    step: int
    version: int
    run_id: str = "default"  # whose weights: keys of cached traces name the run
