"""The checkpoint format: its constants, its error, and what makes an archive valid.

A checkpoint is one `.npz` archive:

    param.W_h, param.W_x, param.b1, param.U, param.b2    the model's arrays
    optim.<slot>.<param>                                   optimizer arrays (e.g. optim.m.W_h)
    best.W_h, best.W_x, best.b1, best.U, best.b2           optional: the best validation loss's weights
    meta                                                   uint8 array: UTF-8 JSON metadata

The metadata holds the format name and version, the model's shape (vocab size,
hidden size, activation, dtype), the vocabulary's characters, the training
config, step and epoch, the optimizer's scalars, the RNG bit-generator state,
the loss history and a free-form `extra` dict.

`read_archive` opens the bytes (no pickles) and `validate_archive` checks every
part against the others (version, keys, dtypes, shapes against the vocabulary
and hidden size, finite values, JSON), raising `CheckpointError` naming the
problem. Neither builds a model: `checkpoint.load_checkpoint` does, afterwards.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any, TypeGuard

import numpy as np

from .activations import activation_names
from .config import DTYPE_NAMES, TrainConfig
from .model import PARAM_NAMES
from .optim import OPTIMIZERS
from .vocab import Vocab, VocabError

FORMAT = "bptt-lab-checkpoint"
FORMAT_VERSION = 1
META_KEY = "meta"
PARAM_PREFIX = "param."
OPTIM_PREFIX = "optim."
BEST_PREFIX = "best."


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or read: corrupt, truncated, mismatched or too new."""


#: The most a checkpoint may unpack to. A compressed archive of zeros can claim far
#: more than it weighs; its sizes are read from the zip directory before anything is.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


def read_archive(
    data: bytes, max_unpacked_bytes: int = MAX_UNPACKED_BYTES
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array of the npz (read eagerly, no pickles) and the parsed metadata."""
    if not data:
        raise CheckpointError("checkpoint is empty")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CheckpointError("not a checkpoint: not an npz (zip) archive, or truncated")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"corrupt checkpoint: {exc}") from None
    if unpacked > max_unpacked_bytes:
        raise CheckpointError(
            f"checkpoint unpacks to {unpacked:,} bytes, more than the {max_unpacked_bytes:,} allowed"
        )
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for key in npz.files:
                arrays[key] = npz[key]
    except Exception as exc:  # zip, CRC, zlib, header or pickle errors all mean "corrupt"
        raise CheckpointError(f"corrupt checkpoint: {type(exc).__name__}: {exc}") from None
    raw = arrays.pop(META_KEY, None)
    if raw is None:
        raise CheckpointError(f"checkpoint is missing its metadata entry {META_KEY!r}")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError("checkpoint metadata must be a 1-D uint8 array of JSON bytes")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise CheckpointError("checkpoint metadata must be a JSON object")
    return arrays, meta


def validate_archive(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    """Check the archive against itself; return the checked parts, ready to build."""
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"not a BPTT Lab checkpoint (format {meta.get('format')!r})")
    version = meta.get("version")
    if not _is_int(version) or version < 1:
        raise CheckpointError(f"checkpoint has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint format version {version} is newer than this program reads "
            f"({FORMAT_VERSION}); upgrade BPTT Lab"
        )
    shape = _require(meta, "model", dict)
    V = _require(shape, "vocab_size", int, where="model")
    D_h = _require(shape, "hidden_size", int, where="model")
    activation = _require(shape, "activation", str, where="model")
    dtype = _require(shape, "dtype", str, where="model")
    if V < 2 or D_h < 1:
        raise CheckpointError(f"checkpoint has vocab_size {V} and hidden_size {D_h}")
    if activation not in activation_names():
        raise CheckpointError(f"checkpoint has an unknown activation {activation!r}")
    if dtype not in DTYPE_NAMES:
        raise CheckpointError(f"checkpoint has an unsupported dtype {dtype!r}")

    chars = _require(meta, "vocab", list)
    if not all(isinstance(c, str) for c in chars):
        raise CheckpointError("checkpoint vocabulary must be a list of characters")
    try:
        vocab = Vocab(tuple(chars))
    except VocabError as exc:
        raise CheckpointError(f"checkpoint vocabulary is invalid: {exc}") from None
    if vocab.size != V:
        raise CheckpointError(
            f"vocabulary mismatch: {vocab.size} characters stored but the model has vocab_size {V}"
        )

    expected = _param_shapes(V, D_h)
    params = {}
    for name, want in expected.items():
        params[name] = _checked_array(arrays, PARAM_PREFIX + name, want, dtype, V, D_h)

    config = None
    if meta.get("config") is not None:
        try:
            config = TrainConfig.from_dict(_require(meta, "config", dict))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint config is invalid: {exc}") from None
        for key, value in (("hidden_size", D_h), ("activation", activation), ("dtype", dtype)):
            if getattr(config, key) != value:
                raise CheckpointError(
                    f"checkpoint config {key}={getattr(config, key)!r} does not match "
                    f"the stored model ({value!r})"
                )

    step = _require(meta, "step", int)
    epoch = _require(meta, "epoch", int)
    if step < 0 or epoch < 0:
        raise CheckpointError(f"checkpoint step {step} / epoch {epoch} must not be negative")

    optimizer_state, used = _validate_optimizer(meta.get("optimizer"), arrays, dtype, V, D_h)
    best_params = None
    if any(key.startswith(BEST_PREFIX) for key in arrays):  # all five or none
        best_params = {
            name: _checked_array(arrays, BEST_PREFIX + name, want, dtype, V, D_h)
            for name, want in expected.items()
        }
        used |= {BEST_PREFIX + name for name in expected}
    unexpected = sorted(set(arrays) - used - {PARAM_PREFIX + n for n in PARAM_NAMES})
    if unexpected:
        raise CheckpointError(f"checkpoint holds unexpected array(s): {', '.join(unexpected)}")

    rng_state = meta.get("rng_state")
    if rng_state is not None:
        _check_rng_state(rng_state)
    history = _validate_history(meta.get("history", []))
    extra = meta.get("extra") or {}
    if not isinstance(extra, dict):
        raise CheckpointError("checkpoint 'extra' must be a JSON object")

    return {
        "shape": (V, D_h, activation, dtype),
        "vocab": vocab,
        "params": params,
        "config": config,
        "step": step,
        "epoch": epoch,
        "optimizer_state": optimizer_state,
        "rng_state": rng_state,
        "history": history,
        "extra": extra,
        "best_params": best_params,
    }


# ------------------------------------------------------------------ the checks
def _param_shapes(V: int, D_h: int) -> dict[str, tuple[int, ...]]:
    """The model's shapes: W_h (D_h, D_h), W_x (D_h, V), b1 (D_h,), U (V, D_h), b2 (V,)."""
    return {"W_h": (D_h, D_h), "W_x": (D_h, V), "b1": (D_h,), "U": (V, D_h), "b2": (V,)}


def _checked_array(
    arrays: dict[str, np.ndarray],
    key: str,
    shape: tuple[int, ...],
    dtype: str,
    V: int,
    D_h: int,
) -> np.ndarray:
    label = key.removeprefix(PARAM_PREFIX)
    if key not in arrays:
        raise CheckpointError(f"checkpoint is missing array {label!r}")
    arr = arrays[key]
    if arr.dtype != np.dtype(dtype):
        raise CheckpointError(f"{label} has dtype {arr.dtype}, expected {dtype}")
    if arr.shape != shape:
        raise CheckpointError(
            f"{label} has shape {arr.shape}, expected {shape} for vocab size {V} and hidden size {D_h}"
        )
    if not np.all(np.isfinite(arr)):
        raise CheckpointError(f"{label} holds non-finite values (NaN or inf)")
    return arr


def _validate_optimizer(
    state: Any, arrays: dict[str, np.ndarray], dtype: str, V: int, D_h: int
) -> tuple[dict[str, Any] | None, set[str]]:
    """The optimizer state rebuilt with its arrays, and the array keys it used."""
    if state is None:
        return None, set()
    if not isinstance(state, dict):
        raise CheckpointError("checkpoint optimizer state must be a JSON object")
    name = state.get("name")
    if name not in OPTIMIZERS:
        raise CheckpointError(f"checkpoint has an unknown optimizer {name!r}")
    lr = state.get("learning_rate")
    if not _is_real(lr) or lr <= 0:
        raise CheckpointError(f"checkpoint optimizer learning_rate {lr!r} is invalid")
    step = state.get("step")
    if not _is_int(step) or step < 0:
        raise CheckpointError(f"checkpoint optimizer step {step!r} is invalid")
    hyper = state.get("hyper", {})
    if not isinstance(hyper, dict) or not all(_is_real(v) for v in hyper.values()):
        raise CheckpointError("checkpoint optimizer hyperparameters must be finite numbers")
    slot_names = state.get("slots")
    if slot_names != list(OPTIMIZERS[name].slot_names):
        raise CheckpointError(f"checkpoint optimizer slots {slot_names!r} do not match {name}")
    used: set[str] = set()
    slots: dict[str, dict[str, np.ndarray]] = {}
    for slot in slot_names:
        slots[slot] = {}
        for pname, shape in _param_shapes(V, D_h).items():
            key = f"{OPTIM_PREFIX}{slot}.{pname}"
            slots[slot][pname] = _checked_array(arrays, key, shape, dtype, V, D_h)
            used.add(key)
    rebuilt = {"name": name, "learning_rate": lr, "step": step, "hyper": hyper, "slots": slots}
    return rebuilt, used


def _check_rng_state(state: Any) -> None:
    """Refuse an RNG state numpy cannot restore (tried on a throw-away bit generator)."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    cls = getattr(np.random, name, None) if isinstance(name, str) else None
    if cls is None or not (isinstance(cls, type) and issubclass(cls, np.random.BitGenerator)):
        raise CheckpointError(f"checkpoint RNG state names no known bit generator ({name!r})")
    try:
        cls().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise CheckpointError(f"checkpoint RNG state is invalid: {exc}") from None


def _validate_history(history: Any) -> list[dict[str, Any]]:
    if not isinstance(history, list):
        raise CheckpointError("checkpoint history must be a list")
    for i, point in enumerate(history):
        if not isinstance(point, dict) or not _is_int(point.get("step")):
            raise CheckpointError(f"checkpoint history point {i} has no integer 'step'")
        for key, value in point.items():
            if value is not None and not isinstance(value, bool) and not _is_real(value):
                raise CheckpointError(f"checkpoint history point {i} has a bad {key!r}: {value!r}")
    return history


def _require(data: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    """data[key], which must exist and be of `kind` (bool is not an int)."""
    label = f"{where}.{key}" if where else key
    if key not in data:
        raise CheckpointError(f"checkpoint metadata is missing {label!r}")
    value = data[key]
    ok = _is_int(value) if kind is int else isinstance(value, kind)
    if not ok:
        raise CheckpointError(f"checkpoint metadata {label!r} must be {kind.__name__}")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))
