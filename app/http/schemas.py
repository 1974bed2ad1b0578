"""Request and response bodies of the JSON API, every field bounded.

The training configuration's models (`TrainRequest`, `ConfigPatch`, `ConfigOut`)
are derived from rnn_core's `TrainConfig` declaration: its fields, defaults,
bounds, choices and help, so a field is declared once. The same request models
check the page's forms, so a value is refused with the same words on the page
as in the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from app.training.registry import LABEL_PATTERN, MAX_LABEL
from app.training.states import RunState
from rnn_core.config import SEED_MAX, ConfigField, TrainConfig, config_fields

MAX_PREFIX = 20
MAX_NAME_CHARS = 40
M = TypeVar("M", bound=BaseModel)


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


def config_field(spec: ConfigField, *, required: bool = False, optional: bool = False) -> tuple[Any, Any]:
    """The pydantic (annotation, Field) of one TrainConfig field: its type, choices, bounds and help."""
    b = spec.bounds
    kind: Any = Literal[b.choices] if b.choices is not None else spec.kind
    if spec.optional or optional:
        kind = kind | None
    default = ... if required else (None if optional else spec.default)
    return kind, Field(default, ge=b.ge, gt=b.gt, le=b.le, lt=b.lt, description=spec.help)


def config_model(
    name: str, base: type[M], *, live_only: bool = False, required: bool = False, doc: str = ""
) -> type[M]:
    """A model with TrainConfig's fields (or only those that may change while a run trains)."""
    specs = [s for s in config_fields() if s.live or not live_only]
    declared: dict[str, Any] = {s.name: config_field(s, required=required, optional=live_only) for s in specs}
    return create_model(name, __base__=base, __doc__=doc or base.__doc__, **declared)


class ConfigBody(Body):
    """Reads TrainConfig fields as a person or JSON writes them (see the validator)."""

    @model_validator(mode="before")
    @classmethod
    def _as_written(cls, data: Any, info: ValidationInfo) -> Any:
        """JSON's 11.0 is the integer 11; a form's blank box is "none" for a field that may be off."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for spec in config_fields():
            if spec.name not in out:
                continue
            value = out[spec.name]
            if spec.kind is int:
                value = _whole_float_is_int(value)
            out[spec.name] = _blank_is_none(value, info)
        return out


class TrainBody(ConfigBody):
    """The whole training configuration (rnn_core TrainConfig) and the data set."""

    dataset: Literal["bundled", "uploaded"] = Field("bundled", description="the names to train on")

    def to_config(self) -> TrainConfig:
        """The rnn_core config these fields describe."""
        names = {s.name for s in config_fields()}
        return TrainConfig.from_dict(self.model_dump(include=names))


class PatchBody(ConfigBody):
    """What may change while a run trains (fields left out stay as they are)."""

    def changes(self) -> dict[str, Any]:
        """The fields that were given (null only for a field that may be off, such as the pace)."""
        given = self.model_dump(exclude_unset=True)
        may_be_off = {s.name for s in config_fields() if s.optional}
        return {k: v for k, v in given.items() if v is not None or k in may_be_off}


class RunCreateBody(TrainBody):
    """A new run: a training configuration, or a fork of another run, and a label."""

    from_run: str | None = Field(
        None,
        max_length=64,
        description="fork this run: its weights, optimizer state, step and history; the fields "
        "given here change its configuration (not hidden_size or dtype)",
    )
    label: str | None = Field(
        None,
        max_length=MAX_LABEL,
        pattern=LABEL_PATTERN,
        description="a name for the run, no control characters",
    )


class ConfigBase(BaseModel):
    """The training configuration in use (rnn_core TrainConfig)."""


if TYPE_CHECKING:  # the checker sees the bases; at run time the fields come from TrainConfig

    class TrainRequest(TrainBody): ...

    class ConfigPatch(PatchBody): ...

    class ConfigOut(ConfigBase): ...

    class RunCreate(RunCreateBody): ...

else:
    TrainRequest = config_model("TrainRequest", TrainBody)
    ConfigPatch = config_model("ConfigPatch", PatchBody, live_only=True)
    ConfigOut = config_model("ConfigOut", ConfigBase, required=True)
    RunCreate = config_model("RunCreate", RunCreateBody)


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


class StatusOut(BaseModel):
    """The run as it is now; losses in nats per character."""

    run_id: str
    state: RunState
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
    best_val_loss: float | None = Field(None, description="the lowest validation loss so far")
    best_step: int | None = Field(None, description="the step of best_val_loss")
    holds_best: bool = Field(False, description="a finished keep_best run holds the weights of best_step")
    val_rising: bool = Field(False, description="validation loss not back to its best for two evaluations")


class RunOut(BaseModel):
    """One run at a glance."""

    id: str
    label: str
    url: str = Field(description="its page")
    state: RunState
    step: int
    train_loss: float | None
    val_loss: float | None
    best_val_loss: float | None = Field(description="the lowest validation loss it reached")
    config: ConfigOut
    created: float = Field(description="seconds since the epoch (0 for the default run)")


class RunsOut(BaseModel):
    """Every run of the server."""

    runs: list[RunOut]


class CreatedOut(BaseModel):
    """A new run; its token drives it and is shown this once."""

    id: str
    token: str = Field(description="Authorization: Bearer <token> drives this run; keep it")
    url: str
    status: StatusOut


class LabelPatch(Body):
    """A run's new label."""

    label: str = Field(max_length=MAX_LABEL, pattern=LABEL_PATTERN)


class VisitorRuns(Body):
    """Whether visitors may create runs."""

    open: bool


class HistoryPoint(BaseModel):
    """One point of a run's history: what was measured at that step (the rest is left out)."""

    step: int
    train_loss: float | None = Field(None, description="J per character of the step's batch")
    val_loss: float | None = Field(None, description="J per character on the held-out names")
    grad_norm: float | None = Field(None, description="the global L2 norm of the gradient, before clipping")
    clipped: bool | None = Field(None, description="clipping changed the gradient at this step")
    best_step: int | None = Field(None, description="a keep_best run's finish: whose weights it took")
    final_val_loss: float | None = Field(None, description="and the validation loss of those it replaced")


class HistoryOut(BaseModel):
    """A run's loss history, nats per character (downsampled to the run's history_limit)."""

    history: list[HistoryPoint]


class FieldError(BaseModel):
    """A refused value: which field, and why."""

    field: str
    message: str


class ErrorOut(BaseModel):
    """Every 4xx answer of the API."""

    detail: str
    errors: list[FieldError] = Field(default_factory=list)
