"""Checkpoints: one self-describing `.npz` file, written atomically, loaded all or nothing.

The layout and its checks live in `checkpoint_format`. Writing goes through
`fileio.atomic_write_bytes` (a temporary file in the target's folder, flush,
fsync, rename, fsync the folder), so a crash leaves the old file or the new
one, never a torn one. Loading reads
with `allow_pickle=False` and checks everything before it builds anything, so a
bad file raises `CheckpointError` naming the problem and never yields a
half-loaded model.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypedDict, Unpack, cast

import numpy as np

from .checkpoint_format import (
    BEST_PREFIX,
    FORMAT,
    FORMAT_VERSION,
    MAX_UNPACKED_BYTES,
    META_KEY,
    OPTIM_PREFIX,
    PARAM_PREFIX,
    CheckpointError,
    read_archive,
    validate_archive,
)
from .config import TrainConfig
from .fileio import atomic_write_bytes
from .model import RNN
from .vocab import Vocab

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_bytes",
    "load_checkpoint",
    "save_checkpoint",
]

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


@dataclass
class Checkpoint:
    """Everything a checkpoint holds, rebuilt: the model, its vocabulary and the run's state."""

    model: RNN
    vocab: Vocab
    config: TrainConfig | None = None
    step: int = 0
    epoch: int = 0
    optimizer_state: dict[str, Any] | None = None  # as `Optimizer.state_dict()`
    rng_state: dict[str, Any] | None = None  # a numpy bit generator's `.state`
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    best_params: dict[str, np.ndarray] | None = None  # the weights of the best validation loss, if stored


class RunState(TypedDict, total=False):
    """What a checkpoint may hold besides the model and vocabulary (keywords of `save_checkpoint`)."""

    config: TrainConfig | None
    step: int  # updates applied so far
    epoch: int  # full passes over the training names
    optimizer_state: dict[str, Any] | None  # `Optimizer.state_dict()`: arrays go in the npz
    rng_state: dict[str, Any] | None  # a numpy bit generator's `.state` (JSON-ready)
    history: list[dict[str, Any]] | None  # loss points, as `Trainer.history`
    extra: dict[str, Any] | None  # anything else JSON-ready
    best_params: Mapping[str, np.ndarray] | None  # the best validation loss's weights, like `model.params`


# --------------------------------------------------------------------- writing
def checkpoint_bytes(model: RNN, vocab: Vocab, **state: Unpack[RunState]) -> bytes:
    """The checkpoint file's content as bytes (for a download); see `save_checkpoint`."""
    unknown = sorted(set(state) - set(RunState.__annotations__))
    if unknown:
        raise TypeError(f"unknown checkpoint keyword(s): {', '.join(unknown)}")
    if vocab.size != model.vocab_size:
        raise CheckpointError(
            f"vocabulary has {vocab.size} characters but the model expects {model.vocab_size}"
        )
    arrays: dict[str, np.ndarray] = {}
    for name, arr in model.params.items():
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(f"refusing to save: {name} holds non-finite values")
        arrays[PARAM_PREFIX + name] = arr
    best_params = state.get("best_params")
    if best_params is not None:
        for name, arr in model.params.items():
            best = np.asarray(best_params[name], dtype=arr.dtype)
            if best.shape != arr.shape or not np.all(np.isfinite(best)):
                raise CheckpointError(
                    f"refusing to save: the best weights' {name} is not a finite {arr.shape}"
                )
            arrays[BEST_PREFIX + name] = best
    optimizer_state = state.get("optimizer_state")
    config = state.get("config")
    optimizer_meta = None
    if optimizer_state is not None:
        optimizer_meta = {k: v for k, v in optimizer_state.items() if k != "slots"}
        slots = optimizer_state.get("slots", {})
        optimizer_meta["slots"] = list(slots)
        for slot, slot_arrays in slots.items():
            for name, arr in slot_arrays.items():
                arrays[f"{OPTIM_PREFIX}{slot}.{name}"] = np.asarray(arr)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "model": {
            "vocab_size": model.vocab_size,
            "hidden_size": model.hidden_size,
            "activation": model.activation,
            "dtype": str(model.dtype),
        },
        "vocab": list(vocab.chars),
        "config": None if config is None else config.to_dict(),
        "step": int(state.get("step", 0)),
        "epoch": int(state.get("epoch", 0)),
        "optimizer": optimizer_meta,
        "rng_state": state.get("rng_state"),
        "history": list(state.get("history") or []),
        "extra": dict(state.get("extra") or {}),
    }
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"refusing to save: metadata is not plain JSON ({exc})") from None
    arrays[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    # numpy's stubs type each keyword of savez like its `allow_pickle: bool`: hence the dict[str, Any].
    np.savez(buffer, **cast(dict[str, Any], arrays))
    return buffer.getvalue()


def save_checkpoint(
    path: str | os.PathLike[str] | IO[bytes], model: RNN, vocab: Vocab, **state: Unpack[RunState]
) -> None:
    """Write a checkpoint to `path` atomically (or into an open binary file).

    `state` holds the run's keywords (see `RunState`; all optional): config,
    step, epoch, optimizer_state, rng_state, history, extra, best_params. A path is written
    through a temporary file in the same folder, flushed and fsync'ed, then
    renamed over the target, and the folder is fsync'ed: a crash leaves either
    the old file or the new one, never a torn one.
    """
    payload = checkpoint_bytes(model, vocab, **state)
    if isinstance(path, str | os.PathLike):
        atomic_write_bytes(path, payload)
    else:
        path.write(payload)


# --------------------------------------------------------------------- reading
def load_checkpoint(source: Source, *, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> Checkpoint:
    """Read, check and rebuild a checkpoint from a path, bytes or a binary file object.

    Raises CheckpointError naming the problem; nothing is built unless every
    check passes. An archive claiming to unpack to more than ``max_unpacked_bytes``
    is refused before any array is read.
    """
    arrays, meta = read_archive(_read_bytes(source), max_unpacked_bytes)
    plan = validate_archive(arrays, meta)
    return _build(plan)


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if not isinstance(source, str | os.PathLike):
        data = source.read()
        if not isinstance(data, bytes | bytearray):
            raise CheckpointError("checkpoint must be read from a binary file")
        return bytes(data)
    path = Path(source)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None


def _build(plan: dict[str, Any]) -> Checkpoint:
    V, D_h, activation, dtype = plan["shape"]
    model = RNN(vocab_size=V, hidden_size=D_h, activation=activation, seed=0, dtype=dtype)
    model.set_params(plan["params"])
    return Checkpoint(
        model=model,
        vocab=plan["vocab"],
        config=plan["config"],
        step=plan["step"],
        epoch=plan["epoch"],
        optimizer_state=plan["optimizer_state"],
        rng_state=plan["rng_state"],
        history=plan["history"],
        extra=plan["extra"],
        best_params=plan["best_params"],
    )
