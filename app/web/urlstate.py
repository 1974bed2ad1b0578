"""The page's configuration in its URL, so a view can be shared and reloaded.

The query string holds the training form's fields under their own names, the
generate form's under a `g_` prefix (both forms have a `seed`), and the chart's
`scale`. Reading is forgiving: a value that would be refused is left out and
the form shows its default. Writing merges new values into the URL the browser
shows (htmx sends it as HX-Current-URL) and hands it back in HX-Replace-Url.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ValidationError
from starlette.datastructures import QueryParams

from app.http.schemas import FORM, GenerateRequest, TrainRequest

TRAIN_KEYS = (
    "hidden_size",
    "activation",
    "optimizer",
    "learning_rate",
    "batch_size",
    "clip_value",
    "seed",
    "max_steps",
    "steps_per_second",
    "dataset",
)
GEN_KEYS = ("count", "temperature", "prefix", "max_length", "seed")
GEN_PREFIX = "g_"
SCALES = ("linear", "log")


def _accepted(model: type[BaseModel], key: str, value: str) -> bool:
    """Whether `model` takes `value` for `key` on its own."""
    try:
        model.model_validate({key: value}, strict=False, context=FORM)
    except ValidationError:
        return False
    return True


def train_values(query: Mapping[str, str]) -> dict[str, str]:
    """The training form's fields that the query string sets to a valid value."""
    return {k: query[k] for k in TRAIN_KEYS if k in query and _accepted(TrainRequest, k, query[k])}


def gen_values(query: Mapping[str, str]) -> dict[str, str]:
    """The generate form's fields that the query string sets to a valid value."""
    out = {}
    for key in GEN_KEYS:
        value = query.get(GEN_PREFIX + key)
        if value is not None and _accepted(GenerateRequest, key, value):
            out[key] = value
    return out


def scale_of(query: Mapping[str, str]) -> str:
    """The loss chart's y axis: linear (default) or log."""
    return query.get("scale") if query.get("scale") in SCALES else "linear"  # type: ignore[return-value]


def train_query(body: TrainRequest) -> dict[str, str]:
    """The query-string form of a training request."""
    data = body.model_dump(include=set(TRAIN_KEYS))
    return {k: "" if v is None else str(v) for k, v in data.items()}


def gen_query(body: GenerateRequest) -> dict[str, str]:
    """The query-string form of a generate request (g_ keys)."""
    data = body.model_dump(include=set(GEN_KEYS))
    return {GEN_PREFIX + k: "" if v is None else str(v) for k, v in data.items()}


def merged_url(current: str | None, changes: Mapping[str, Any]) -> str:
    """The page's URL ("/" and a query) with `changes` merged into the query of `current`."""
    params = dict(QueryParams(urlsplit(current or "/").query))
    params.update({k: str(v) for k, v in changes.items()})
    return "/?" + urlencode(params) if params else "/"
