"""The training configuration: every field declared once, with its default, bounds and help.

`TrainConfig` is a frozen dataclass. Each field is declared by `setting(...)`,
which keeps its one-line help, its bounds and its choices in the field's
metadata; `config_fields()` reads them back. Everything else that speaks of a
training field derives from that: `validate()` here, the CLI's flags and help
(`rnn_core/cli.py`), the web API's request and response models and the page
form's `min`/`max` (`app/http/schemas.py`). Adding a field is one line.

`to_dict`/`from_dict` carry a config through JSON (checkpoint metadata, the API).
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any

from .activations import activation_names
from .optim import OPTIMIZERS

#: The floating-point types a model may compute in.
DTYPE_NAMES: tuple[str, ...] = ("float32", "float64")
SEED_MAX = 2**31 - 1
_SPEC = "bptt_lab.setting"


@dataclass(frozen=True)
class Bounds:
    """The range and choices a field's values must keep to (None: no such limit)."""

    ge: float | None = None  # at least
    gt: float | None = None  # greater than
    le: float | None = None  # at most
    lt: float | None = None  # less than
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ConfigField:
    """One field of TrainConfig as the CLI and the web read it."""

    name: str
    kind: type  # int, float, str or bool: the type of a value that is not None
    optional: bool  # None is allowed (and means "off")
    default: Any
    help: str
    bounds: Bounds
    live: bool  # may change while the run trains


def setting(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[str, ...] | None = None,
    live: bool = False,
) -> Any:
    """A TrainConfig field: its default, one line of help, its bounds or choices."""
    spec = (help, Bounds(ge, gt, le, lt, choices), live)
    return field(default=default, metadata={_SPEC: spec})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run."""

    hidden_size: int = setting(64, "D_h, the size of the hidden state h(t) (Eq. 1.1)", ge=1, le=512)
    activation: str = setting(
        "sigmoid", "sigma of Eq. 1.2 (sigmoid is the seed's)", choices=activation_names()
    )
    w_h_init_norm: float | None = setting(
        None, "||W_h||_2 at init, W_h's largest singular value; none: 1/sqrt(D_h) noise", gt=0, le=10
    )
    optimizer: str = setting(
        "adam", "the update rule; Adam learns fastest on names", choices=tuple(OPTIMIZERS)
    )
    learning_rate: float = setting(
        0.003, "step size; 0.001-0.01 suits Adam, SGD wants 0.1-1", gt=0, le=10, live=True
    )
    momentum: float = setting(0.9, "SGD only: the fraction of the last update carried on", ge=0, lt=1)
    batch_size: int = setting(32, "names per training step; J is summed over them", ge=1, le=512)
    clip_value: float | None = setting(5.0, "clip every gradient entry to [-c, c]; none: off", gt=0, le=1e4)
    clip_norm: float | None = setting(
        None, "clip the global L2 norm of all gradients; none: off", gt=0, le=1e4
    )
    truncation: int | None = setting(
        None, "truncated BPTT: each J(t) reaches back K steps (1: only its own); none: full", ge=1
    )
    seed: int = setting(
        0, "one seed for the weights, the train/val split and the batch order", ge=0, le=SEED_MAX
    )
    dtype: str = setting("float32", "float32 for speed, float64 for exact checks", choices=DTYPE_NAMES)
    val_fraction: float = setting(0.1, "share of the names held out for the validation loss", ge=0, le=0.5)
    eval_every: int = setting(100, "steps between validation losses", ge=1, le=10_000_000)
    sample_every: int = setting(200, "steps between sampled names", ge=1, le=10_000_000)
    max_steps: int = setting(
        10_000, "the run is finished after this many steps", ge=1, le=10_000_000, live=True
    )
    keep_best: bool = setting(True, "a finished run holds the weights of its best validation loss")
    history_limit: int = setting(1_000, "loss-history points kept (downsampled beyond)", ge=10, le=2_000)
    steps_per_second: float | None = setting(
        None, "pace: at most this many steps a second; none: as fast as it goes", ge=0.1, le=10_000, live=True
    )

    def validate(self) -> TrainConfig:
        """Check every field against its declaration; raise ValueError naming the first bad one."""
        for spec in config_fields():
            _check(spec, getattr(self, spec.name))
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


@cache
def config_fields() -> tuple[ConfigField, ...]:
    """TrainConfig's fields with their types, defaults, help and bounds, in declaration order."""
    hints = typing.get_type_hints(TrainConfig)
    out = []
    for f in fields(TrainConfig):
        kind, optional = _kind_of(hints[f.name])
        help_text, bounds, live = f.metadata[_SPEC]
        out.append(ConfigField(f.name, kind, optional, f.default, help_text, bounds, live))
    return tuple(out)


def _kind_of(hint: Any) -> tuple[type, bool]:
    """(int, False) for `int`, (float, True) for `float | None`."""
    if isinstance(hint, types.UnionType):
        kinds = [a for a in typing.get_args(hint) if a is not type(None)]
        return kinds[0], len(kinds) < len(typing.get_args(hint))
    return hint, False


def _check(spec: ConfigField, value: Any) -> None:
    """ValueError naming the field when `value` does not fit its declaration."""
    name, b = spec.name, spec.bounds
    if value is None:
        if spec.optional:
            return
        raise ValueError(f"{name} is required")
    if spec.kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return
    if b.choices is not None:
        if value not in b.choices:
            raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(b.choices)}")
        return
    if spec.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if spec.kind is float and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_far = (
        (b.ge is not None and value < b.ge, "at least", b.ge),
        (b.gt is not None and value <= b.gt, "greater than", b.gt),
        (b.le is not None and value > b.le, "at most", b.le),
        (b.lt is not None and value >= b.lt, "less than", b.lt),
    )
    for broken, words, limit in too_far:
        if broken:
            raise ValueError(f"{name} must be {words} {limit:g}, got {value!r}")
