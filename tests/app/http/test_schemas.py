"""The API's training models are TrainConfig's declaration, field for field (app/http/schemas.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from rnn_core.activations import activation_names
from rnn_core.config import TrainConfig, config_fields
from rnn_core.optim import OPTIMIZERS

from ..conftest import make_settings

#: What picks the data or names the run, beside TrainConfig's own fields.
NOT_CONFIG = {"dataset"}
BOUND_KEYS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    runs: Path = tmp_path_factory.mktemp("runs")
    schema = create_app(make_settings(runs)).openapi()
    return schema["components"]["schemas"]


def merged(prop: dict[str, Any]) -> dict[str, Any]:
    """A property with the parts of its anyOf (a value or null) folded in."""
    out = dict(prop)
    for part in prop.get("anyOf", ()):
        out.update(part)
    return out


def test_the_training_request_lists_exactly_train_configs_fields(components: dict[str, Any]) -> None:
    properties = components["TrainRequest"]["properties"]
    names = [f.name for f in config_fields()]
    assert names == list(TrainConfig.__dataclass_fields__)
    assert set(properties) == set(names) | NOT_CONFIG
    assert [p for p in properties if p not in NOT_CONFIG] == names


@pytest.mark.parametrize("spec", config_fields(), ids=lambda s: s.name)
def test_each_field_keeps_train_configs_default_bounds_and_help(
    components: dict[str, Any], spec: Any
) -> None:
    prop = merged(components["TrainRequest"]["properties"][spec.name])
    assert prop.get("default") == getattr(TrainConfig(), spec.name)  # FastAPI leaves out null
    assert prop["description"] == spec.help
    for bound, key in BOUND_KEYS.items():
        assert prop.get(key) == getattr(spec.bounds, bound), f"{spec.name}: {key}"
    if spec.bounds.choices is not None:
        assert prop["enum"] == list(spec.bounds.choices)
    out = merged(components["ConfigOut"]["properties"][spec.name])
    assert spec.name in components["ConfigOut"]["required"] and "default" not in out


def test_the_choices_come_from_the_registries(components: dict[str, Any]) -> None:
    properties = components["TrainRequest"]["properties"]
    assert properties["activation"]["enum"] == list(activation_names())
    assert properties["optimizer"]["enum"] == list(OPTIMIZERS)


def test_the_live_patch_holds_only_what_may_change_while_training(components: dict[str, Any]) -> None:
    live = {f.name for f in config_fields() if f.live}
    assert set(components["ConfigPatch"]["properties"]) == live
    assert live == {"learning_rate", "max_steps", "steps_per_second"}
