"""Visitors' runs: creating (fresh or forked), renaming and deleting them, their tokens and quotas.

A run's id is unguessable (`secrets.token_urlsafe`, 16 characters) and so is
its token, which is returned once, at creation: the server keeps only its
SHA-256 and compares in constant time. Anyone with a run's id may watch it;
its token (or the teacher's) drives it (app/http/runs_auth.py).

Quotas: at most `max_runs` runs in all, and `max_runs_per_client` per
visitor (the teacher's runs are not counted); the default run is the
server's own and cannot be deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from app.training.opening import Meta
from app.training.proxy import RunProxy
from app.training.service import DEFAULT_RUN, TrainingService
from app.training.states import NotNowError, RefusedError, RunState
from rnn_core.checkpoint import load_checkpoint, save_checkpoint
from rnn_core.config import TrainConfig

#: Fields a fork may not change: they would change the shape of the weights.
SHAPE_FIELDS = ("hidden_size", "dtype")
MAX_LABEL = 60


class QuotaError(NotNowError):
    """A quota is full: no more runs for now."""


@dataclass(frozen=True)
class Created:
    """A new run and its token (shown this once)."""

    run: RunProxy
    token: str


def token_hash(token: str) -> str:
    """What the server keeps of a run token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def holds_token(run: RunProxy, token: str) -> bool:
    """Whether `token` is this run's, compared in constant time."""
    stored = run.meta.token_hash
    return stored is not None and hmac.compare_digest(token_hash(token), stored)


#: A label holds no control character (the API's schema says the same: app/http/schemas.py).
LABEL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"


def clean_label(label: str | None) -> str:
    """A label as kept: no control characters, at most MAX_LABEL characters (RefusedError otherwise)."""
    text = (label or "").strip()
    if len(text) > MAX_LABEL:
        raise RefusedError(f"a label is at most {MAX_LABEL} characters (this one has {len(text)})", "label")
    if re.fullmatch(LABEL_PATTERN, text) is None:
        raise RefusedError("a label may not hold control characters", "label")
    return text


def create(
    service: TrainingService,
    config: TrainConfig,
    source: str = "bundled",
    label: str | None = None,
    from_run: RunProxy | None = None,
    changed: frozenset[str] = frozenset(),
    owner: str | None = None,
) -> Created:
    """A new run, training at once: fresh on `config`, or a fork of `from_run`'s weights.

    A fork takes the other run's weights, optimizer state, step and history, and
    its configuration with the fields in `changed` taken from `config` (shape
    fields refused). QuotaError when a quota is full.
    """
    settings = service.settings
    text = clean_label(label)
    with service._lock:
        check_quota(service, owner)
        run_id = secrets.token_urlsafe(12)
    token = secrets.token_urlsafe(24)
    meta = Meta(label=text, owner=owner, created=time.time(), token_hash=token_hash(token))
    folder = settings.runs_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = None
    if from_run is not None:
        checkpoint, config = forked(from_run, config, changed)
    else:
        service.dataset(source, service.get(DEFAULT_RUN))  # refuses "uploaded" with no names file
    run = service._open(run_id, folder, meta=meta, checkpoint=checkpoint, config=config)
    if from_run is None and source != "bundled":
        run.start(config, service.dataset(source, service.get(DEFAULT_RUN)))
    elif run.state in (RunState.IDLE, RunState.PAUSED):
        run.resume()
    return Created(run, token)


def forked(source: RunProxy, config: TrainConfig, changed: frozenset[str]) -> tuple[bytes, TrainConfig]:
    """`source`'s checkpoint with the `changed` fields of `config` applied (shape fields refused).

    A fork that could not take a step (its max_steps reached: the source finished) gets
    as many steps again as the source had, so that it trains on.
    """
    data, _ = source.checkpoint_file()
    ckpt = load_checkpoint(data)
    base = ckpt.config or source.config
    for name in SHAPE_FIELDS:
        if name in changed and getattr(config, name) != getattr(base, name):
            raise RefusedError(
                f"a fork keeps the weights' shape: {name} must stay {getattr(base, name)!r}", name
            )
    changes: dict[str, Any] = {name: getattr(config, name) for name in changed if name not in SHAPE_FIELDS}
    new = base.replace(**changes)
    if new.max_steps <= ckpt.step:  # a finished run's fork gets a budget as large again, to train on
        new = new.replace(max_steps=ckpt.step + base.max_steps)
    model = (
        ckpt.model if new.activation == ckpt.model.activation else ckpt.model.with_activation(new.activation)
    )
    same_optimizer = new.optimizer == base.optimizer
    extra, best_params = ckpt.extra, ckpt.best_params
    if changes:  # the best so far was measured under another configuration: the fork starts its own
        trainer_extra = {k: v for k, v in (extra.get("trainer") or {}).items() if k != "best"}
        extra, best_params = {**extra, "trainer": trainer_extra}, None
    buffer = io.BytesIO()
    save_checkpoint(
        buffer,
        model,
        ckpt.vocab,
        config=new,
        step=ckpt.step,
        epoch=ckpt.epoch,
        optimizer_state=ckpt.optimizer_state if same_optimizer else None,
        rng_state=ckpt.rng_state,
        history=ckpt.history,
        extra=extra,
        best_params=best_params,
    )
    return buffer.getvalue(), new


def check_quota(service: TrainingService, owner: str | None) -> None:
    """QuotaError, saying what to do, when a new run would be one too many."""
    settings = service.settings
    if len(service.runs) >= settings.max_runs:
        raise QuotaError(
            f"the server holds its most runs ({settings.max_runs}): delete one of yours, "
            "or ask the teacher to make room"
        )
    if owner is not None:
        mine = sum(1 for r in service.runs.values() if r.meta.owner == owner)
        if mine >= settings.max_runs_per_client:
            raise QuotaError(
                f"you have {mine} runs, the most one visitor may have: delete one of yours first"
            )


def rename(run: RunProxy, label: str) -> None:
    """Give the run a new label (kept in its run.json at its next save)."""
    run.meta = Meta(clean_label(label), run.meta.owner, run.meta.created, run.meta.token_hash)
    run.save()


def delete(service: TrainingService, run: RunProxy) -> None:
    """Remove a run: out of its worker, off the disk (the default run cannot go)."""
    if run.run_id == DEFAULT_RUN:
        raise NotNowError("the default run is the class's: it cannot be deleted (reset it instead)")
    service.remove(run)
