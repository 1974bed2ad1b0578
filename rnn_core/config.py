"""The training configuration: one frozen dataclass, checked by `validate()`.

Every knob of a training run lives here, so the CLI, the web app and the
checkpoints all speak of the same fields. `to_dict`/`from_dict` carry it through
JSON (checkpoint metadata, the web API).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .activations import activation_names
from .optim import OPTIMIZERS

#: The floating-point types a model may compute in.
DTYPE_NAMES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (see docs/CONTRACTS.md)."""

    hidden_size: int = 64  # D_h: the size of h(t); 64 spells dinosaur names without memorising them
    activation: str = "sigmoid"  # sigma of Eq. 1.2: sigmoid (the seed's) | tanh | relu
    optimizer: str = "adam"  # sgd | adagrad | adam; Adam learns fastest on names
    learning_rate: float = 0.003  # step size; 0.001-0.01 suits Adam, SGD wants ~0.1-1
    momentum: float = 0.9  # SGD only: the fraction of the last update carried on
    batch_size: int = 32  # names per step; J is summed over them
    clip_value: float | None = 5.0  # element-wise clip of every gradient, as in the seed's notebooks
    clip_norm: float | None = None  # clip the global L2 norm of all gradients (None: off)
    seed: int = 0  # one seed for the weights, the train/val split and the batch order
    dtype: str = "float32"  # float32 for speed, float64 for exact checks
    val_fraction: float = 0.1  # share of the names held out for the validation loss
    eval_every: int = 100  # steps between validation losses
    sample_every: int = 200  # steps between sampled names
    max_steps: int = 10_000  # the run is "finished" here, near the best validation loss
    history_limit: int = 1_000  # loss-history points kept (downsampled beyond)

    def validate(self) -> TrainConfig:
        """Check every field; raise ValueError naming the first bad one. Returns self."""
        _check_int(self, "hidden_size", minimum=1)
        _check_choice(self, "activation", activation_names())
        _check_choice(self, "optimizer", tuple(OPTIMIZERS))
        _check_positive(self, "learning_rate")
        _check_real(self, "momentum")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        _check_int(self, "batch_size", minimum=1)
        if self.clip_value is not None:
            _check_positive(self, "clip_value")
        if self.clip_norm is not None:
            _check_positive(self, "clip_norm")
        _check_int(self, "seed", minimum=0)
        _check_choice(self, "dtype", DTYPE_NAMES)
        _check_real(self, "val_fraction")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        _check_int(self, "eval_every", minimum=1)
        _check_int(self, "sample_every", minimum=1)
        _check_int(self, "max_steps", minimum=1)
        _check_int(self, "history_limit", minimum=2)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from a dict, refusing unknown keys by name; missing keys keep defaults.

        The result is validated.
        """
        if not isinstance(data, dict):
            raise ValueError(f"config must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(map(str, unknown))}")
        return cls(**data).validate()

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed, validated."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})


def _check_int(config: TrainConfig, name: str, minimum: int) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_real(config: TrainConfig, name: str) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _check_positive(config: TrainConfig, name: str) -> None:
    _check_real(config, name)
    value = getattr(config, name)
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, got {value!r}")


def _check_choice(config: TrainConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
