"""Request and response bodies of the JSON API, every field bounded.

The same request models check the page's forms, so a value is refused with the
same words on the page as in the API.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from rnn_core.config import TrainConfig

MAX_PREFIX = 20
MAX_NAME_CHARS = 40
SEED_MAX = 2**31 - 1


def _whole_float_is_int(value: Any) -> Any:
    """JSON's 11.0 is the integer 11 (JSON Schema says so); 11.5, true and "11" stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: The validation context of the page's forms: their values are text, typed by people.
FORM = {"form": True}


def is_form(info: ValidationInfo) -> bool:
    """Whether a page's form is being read (see FORM), not a JSON body."""
    return bool(info.context and info.context.get("form"))


def _blank_is_none(value: Any, info: ValidationInfo) -> Any:
    """A form's empty text box means "none" (no clipping, a random seed); in JSON, "" stays text."""
    return None if is_form(info) and isinstance(value, str) and not value.strip() else value


class Body(BaseModel):
    """Strict about unknown fields, NaN, infinity and types: JSON `true` is no number, "3" no integer.

    The page's forms send text; they are read with
    `model_validate(..., strict=False, context=FORM)`.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


_DEFAULT = TrainConfig()  # the defaults live in rnn_core; the bounds are the web's


class TrainRequest(Body):
    """The whole training configuration (rnn_core TrainConfig) and the data set."""

    hidden_size: int = Field(_DEFAULT.hidden_size, ge=1, le=512, description="D_h, the size of h(t)")
    activation: Literal["sigmoid", "tanh", "relu"] = Field("sigmoid", description="sigma, Eq. 1.2")
    optimizer: Literal["sgd", "adagrad", "adam"] = "adam"
    learning_rate: float = Field(_DEFAULT.learning_rate, gt=0, le=10)
    momentum: float = Field(_DEFAULT.momentum, ge=0, lt=1, description="SGD only")
    batch_size: int = Field(_DEFAULT.batch_size, ge=1, le=512, description="names per step")
    clip_value: float | None = Field(_DEFAULT.clip_value, gt=0, le=1e4, description="element-wise; null: off")
    clip_norm: float | None = Field(None, gt=0, le=1e4, description="global norm; null: off")
    seed: int = Field(_DEFAULT.seed, ge=0, le=SEED_MAX)
    dtype: Literal["float32", "float64"] = "float32"
    val_fraction: float = Field(_DEFAULT.val_fraction, ge=0, le=0.5)
    eval_every: int = Field(
        _DEFAULT.eval_every, ge=1, le=100_000, description="steps between validation losses"
    )
    sample_every: int = Field(
        _DEFAULT.sample_every, ge=1, le=100_000, description="steps between sampled names"
    )
    max_steps: int = Field(_DEFAULT.max_steps, ge=1, le=10_000_000)
    history_limit: int = Field(
        _DEFAULT.history_limit, ge=10, le=2_000, description="loss-history points kept"
    )
    dataset: Literal["bundled", "uploaded"] = "bundled"

    blank_clip = field_validator("clip_value", "clip_norm", mode="before")(_blank_is_none)
    whole = field_validator(
        "hidden_size",
        "batch_size",
        "seed",
        "eval_every",
        "sample_every",
        "max_steps",
        "history_limit",
        mode="before",
    )(_whole_float_is_int)

    def to_config(self) -> TrainConfig:
        """The rnn_core config these fields describe."""
        return TrainConfig(**self.model_dump(exclude={"dataset"})).validate()


class ConfigPatch(Body):
    """What may change while a run trains (fields left out stay as they are)."""

    learning_rate: float | None = Field(None, gt=0, le=10)
    max_steps: int | None = Field(None, ge=1, le=10_000_000)

    whole = field_validator("max_steps", mode="before")(_whole_float_is_int)


class GenerateRequest(Body):
    """How many names to write, and how."""

    count: int = Field(10, ge=1, le=50)
    temperature: float = Field(
        1.0, ge=0, le=5, description="0 (or below 0.01): always the likeliest character"
    )
    prefix: str = Field(
        "",
        max_length=MAX_PREFIX,
        pattern=r"^[A-Za-z]*$",
        description="every name starts with these letters",
    )
    max_length: int = Field(
        20, ge=1, le=MAX_NAME_CHARS, description="longest name; raised to the prefix's length"
    )
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="null: a different draw each time")

    blank_seed = field_validator("seed", mode="before")(_blank_is_none)
    whole = field_validator("count", "max_length", "seed", mode="before")(_whole_float_is_int)

    @field_validator("prefix", mode="before")
    @classmethod
    def _lower(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        return (value.strip() if is_form(info) else value).lower()


class NameOut(BaseModel):
    """One generated name."""

    name: str
    log_prob: float = Field(description="ln P(name, end) under the model, nats (= -J, Eq. 3.3)")
    log_prob_per_char: float = Field(description="log_prob per step, nats/char")
    novel: bool = Field(description="not in the data set")
    ended: bool = Field(description="false when max_length cut the name")


class GenerateResponse(BaseModel):
    """Sampled names and the greedy (argmax) one."""

    names: list[NameOut]
    greedy: NameOut
    step: int = Field(description="the training step of the weights used")


class DatasetOut(BaseModel):
    """A data set the server can train on."""

    source: Literal["bundled", "uploaded"]
    filename: str
    names: int
    vocab_size: int


class ConfigOut(BaseModel):
    """The training configuration in use (rnn_core TrainConfig)."""

    hidden_size: int
    activation: str
    optimizer: str
    learning_rate: float
    momentum: float
    batch_size: int
    clip_value: float | None
    clip_norm: float | None
    seed: int
    dtype: str
    val_fraction: float
    eval_every: int
    sample_every: int
    max_steps: int
    history_limit: int


class StatusOut(BaseModel):
    """The run as it is now; losses in nats per character."""

    run_id: str
    state: Literal["idle", "running", "paused", "diverged", "finished"]
    step: int
    epoch: int
    train_loss: float | None = Field(description="J per character of the last batch (Eq. 3.3)")
    val_loss: float | None = Field(description="J per character on the held-out names")
    chars_per_sec: float
    uniform_loss: float = Field(description="ln V: the loss of guessing uniformly")
    message: str | None = Field(description="what happened and what to change, if anything")
    storage_warning: str | None
    config: ConfigOut
    dataset: DatasetOut


class FieldError(BaseModel):
    """A refused value: which field, and why."""

    field: str
    message: str


class ErrorOut(BaseModel):
    """Every 4xx answer of the API."""

    detail: str
    errors: list[FieldError] = Field(default_factory=list)
