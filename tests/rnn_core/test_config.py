"""TrainConfig: defaults, validation that names the bad field, and the JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from rnn_core.config import TrainConfig, config_fields


def test_defaults_are_valid_and_frozen():
    config = TrainConfig()
    assert config.validate() is config
    assert (config.hidden_size, config.optimizer, config.dtype) == (64, "adam", "float32")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hidden_size", 0),
        ("hidden_size", -3),
        ("hidden_size", 2.5),
        ("activation", "softplus"),
        ("optimizer", "rmsprop"),
        ("learning_rate", 0.0),
        ("learning_rate", -0.1),
        ("learning_rate", math.nan),
        ("momentum", 1.0),
        ("batch_size", 0),
        ("clip_value", 0.0),
        ("clip_norm", -1.0),
        ("seed", -1),
        ("dtype", "float16"),
        ("val_fraction", 1.0),
        ("val_fraction", -0.1),
        ("eval_every", 0),
        ("sample_every", 0),
        ("max_steps", 0),
        ("history_limit", 1),
        ("batch_size", True),
        ("truncation", 0),
        ("truncation", 2.5),
        ("w_h_init_norm", 0.0),
        ("w_h_init_norm", 11.0),
        ("keep_best", "yes"),
        ("keep_best", None),
    ],
)
def test_validate_names_the_field(field, value):
    config = dataclasses.replace(TrainConfig(), **{field: value})
    with pytest.raises(ValueError, match=field):
        config.validate()


def test_clipping_may_be_off_but_not_zero():
    off = TrainConfig(clip_value=None, clip_norm=None)
    assert off.validate() is off
    for field in ("clip_value", "clip_norm"):
        with pytest.raises(ValueError, match=field):
            dataclasses.replace(TrainConfig(), **{field: 0.0}).validate()


def test_every_field_is_declared_with_help_and_a_default_within_its_bounds():
    specs = config_fields()
    assert [s.name for s in specs] == [f.name for f in dataclasses.fields(TrainConfig)]
    for spec in specs:
        assert spec.help and "\n" not in spec.help, spec.name
        assert spec.default == getattr(TrainConfig(), spec.name)
        b = spec.bounds
        if spec.default is not None and b.choices is None and spec.kind is not str:
            assert b.ge is None or spec.default >= b.ge, spec.name
            assert b.gt is None or spec.default > b.gt, spec.name
            assert b.le is None or spec.default <= b.le, spec.name
            assert b.lt is None or spec.default < b.lt, spec.name
    kinds = {s.name: (s.kind, s.optional) for s in specs}
    assert kinds["hidden_size"] == (int, False) and kinds["clip_norm"] == (float, True)


def test_the_bounds_refuse_by_name_at_either_end():
    with pytest.raises(ValueError, match="hidden_size must be at most 512"):
        TrainConfig(hidden_size=513).validate()
    with pytest.raises(ValueError, match="momentum must be less than 1"):
        TrainConfig(momentum=1.0).validate()
    assert TrainConfig(hidden_size=512, momentum=0.0).validate().hidden_size == 512


def test_dict_round_trip_through_json():
    config = TrainConfig(hidden_size=7, activation="tanh", clip_value=None, learning_rate=0.3)
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_from_dict_refuses_unknown_keys_by_name_and_validates():
    with pytest.raises(ValueError, match="hiden_size"):
        TrainConfig.from_dict({"hiden_size": 10})
    with pytest.raises(ValueError, match="hidden_size"):
        TrainConfig.from_dict({"hidden_size": 0})
    assert TrainConfig.from_dict({}) == TrainConfig()


def test_replace_validates():
    assert TrainConfig().replace(learning_rate=0.5).learning_rate == 0.5
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig().replace(learning_rate=-1)


def test_the_experiment_fields_default_to_the_old_behaviour():
    config = TrainConfig()
    assert (config.truncation, config.w_h_init_norm, config.keep_best) == (None, None, True)
    kinds = {s.name: (s.kind, s.optional) for s in config_fields()}
    assert kinds["truncation"] == (int, True) and kinds["w_h_init_norm"] == (float, True)
    assert kinds["keep_best"] == (bool, False)
    assert TrainConfig(truncation=1, w_h_init_norm=0.9, keep_best=False).validate().truncation == 1
