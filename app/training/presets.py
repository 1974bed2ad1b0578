"""One-click experiments: each preset is a few runs that differ in one thing, made for a visitor.

A preset's runs start from the server's default configuration (its pace too, so a
student sees them learn side by side) and change only the field the experiment is
about; the comparison page then shows them together, with a note on what to look
for (templates/partials/presets.html, by the preset's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.training import registry
from app.training.registry import QuotaError
from app.training.service import TrainingService
from app.training.states import RefusedError
from rnn_core.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    """An experiment: its runs, as changes to the default configuration, each with a label."""

    name: str
    title: str
    runs: tuple[tuple[str, dict[str, Any]], ...]  # (label, changes)


PRESETS = {
    p.name: p
    for p in (
        Preset(
            "activations",
            "sigmoid, tanh, relu",
            (
                ("sigmoid", {"activation": "sigmoid"}),
                ("tanh", {"activation": "tanh"}),
                ("relu", {"activation": "relu"}),
            ),
        ),
        Preset(
            "truncation",
            "full BPTT against truncated at K = 5 and K = 1",
            (("full BPTT", {"truncation": None}), ("K = 5", {"truncation": 5}), ("K = 1", {"truncation": 1})),
        ),
        Preset(
            "init",
            "tanh with ||W_h|| = 0.5, 1, 3 at the start",
            (
                ("||W_h|| 0.5", {"activation": "tanh", "w_h_init_norm": 0.5}),
                ("||W_h|| 1", {"activation": "tanh", "w_h_init_norm": 1.0}),
                ("||W_h|| 3", {"activation": "tanh", "w_h_init_norm": 3.0}),
            ),
        ),
        Preset(
            "clipping",
            "a learning rate that explodes, with clipping off and on",
            (
                (
                    "no clipping",
                    {"optimizer": "sgd", "learning_rate": 2.0, "clip_value": None, "clip_norm": None},
                ),
                (
                    "clip |g| at 1",
                    {"optimizer": "sgd", "learning_rate": 2.0, "clip_value": None, "clip_norm": 1.0},
                ),
            ),
        ),
        Preset(
            "hidden-size",
            "D_h = 16, 64, 256",
            (
                ("D_h 16", {"hidden_size": 16}),
                ("D_h 64", {"hidden_size": 64}),
                ("D_h 256", {"hidden_size": 256}),
            ),
        ),
    )
}


@dataclass(frozen=True)
class Made:
    """The runs a preset made: (id, token) each, in the preset's order."""

    preset: Preset
    runs: tuple[tuple[str, str], ...]


def make_preset(service: TrainingService, name: str, owner: str | None) -> Made:
    """Create and start the preset's runs for `owner`; KeyError for an unknown preset.

    The quota is checked for all of them first (QuotaError, nothing made), so a
    preset never leaves half its runs behind.
    """
    preset = PRESETS[name]
    settings = service.settings
    mine = sum(1 for r in service.runs.values() if r.meta.owner == owner) if owner else 0
    if owner is not None and mine + len(preset.runs) > settings.max_runs_per_client:
        raise QuotaError(
            f"this experiment makes {len(preset.runs)} runs and you have {mine} of the "
            f"{settings.max_runs_per_client} a visitor may hold: delete some of yours first (My runs)"
        )
    if len(service.runs) + len(preset.runs) > settings.max_runs:
        raise QuotaError(
            f"the server holds {len(service.runs)} of its {settings.max_runs} runs: this experiment needs "
            f"{len(preset.runs)}; ask the teacher to make room"
        )
    base = service.default_config
    try:
        configs = [TrainConfig.from_dict({**base.to_dict(), **changes}) for _, changes in preset.runs]
    except ValueError as exc:  # this server's configuration cannot hold the experiment
        raise RefusedError(f"the {name} experiment cannot run here: {exc}") from None
    made = []
    for (label, _), config in zip(preset.runs, configs, strict=True):
        created = registry.create(service, config, "bundled", label=f"{preset.name}: {label}", owner=owner)
        made.append((created.run.run_id, created.token))
    return Made(preset, tuple(made))
