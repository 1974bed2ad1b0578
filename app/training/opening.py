"""Bringing a run up from its folder: what it was, which names it trains on, its checkpoint.

    runs/<id>/checkpoint.npz   the run: weights, optimizer state, step, loss history
    runs/<id>/run.json         who it is (label, owner, creation time, token hash), the
                               state it was saved in, and its data set
    runs/<id>/names.txt        the last names file uploaded to it

`read_saved(folder, bundled)` reads what a folder holds into a `Saved`: the
checkpoint's bytes once they are known to load (an unreadable one is set
aside, never overwritten), the data sets it may train on (the one run.json
names first) and the run's meta. The service opens the run from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.training.datasets import UPLOADED, Dataset, load_saved_upload
from app.training.states import RunState
from app.training.storage import RunFolder
from rnn_core.checkpoint import load_checkpoint
from rnn_core.data import load_names

log = logging.getLogger("bptt_lab.opening")


@dataclass(frozen=True)
class Meta:
    """Who a run is, kept in its run.json."""

    label: str = ""
    owner: str | None = None  # the visitor who created it (None: the server's own)
    created: float = 0.0  # seconds since the epoch
    token_hash: str | None = None  # sha256 of the run token, hex (None: no token of its own)

    def to_dict(self) -> dict[str, Any]:
        """The fields for run.json."""
        return {
            "label": self.label,
            "owner": self.owner,
            "created": self.created,
            "token_hash": self.token_hash,
        }

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Meta:
        """The meta a run.json holds (what is missing or odd keeps its default)."""

        def text(key: str) -> str | None:
            value = info.get(key)
            return value if isinstance(value, str) else None

        created = info.get("created")
        return cls(
            label=text("label") or "",
            owner=text("owner"),
            created=float(created) if isinstance(created, int | float) else 0.0,
            token_hash=text("token_hash"),
        )


@dataclass
class Saved:
    """What a run's folder holds."""

    folder: Path
    datasets: list[Dataset]  # the candidates, the likeliest first
    uploaded: Dataset | None  # the run's own names file, if one was uploaded
    meta: Meta = field(default_factory=Meta)
    checkpoint: bytes | None = None  # None: nothing (readable) to resume
    state: RunState | None = None  # the state it was saved in
    message: str | None = None  # why a checkpoint was set aside, if one was


def read_saved(folder: Path, bundled: Dataset, max_bytes: int) -> Saved:
    """Everything `folder` holds about a run (see the module docstring)."""
    store = RunFolder(folder)
    store.remove_leftovers()
    info = store.read_run_info()
    uploaded = load_saved_upload(folder)
    saved = Saved(folder, candidates(info, bundled, uploaded), uploaded, Meta.from_info(info))
    state = info.get("state")
    saved.state = RunState(state) if state in set(RunState) else None
    if store.checkpoint.is_file():
        try:
            data = store.checkpoint.read_bytes()
            load_checkpoint(data, max_unpacked_bytes=max_bytes)
            saved.checkpoint = data
        except (ValueError, OSError) as exc:
            saved.message = set_aside(store, exc)
    return saved


def set_aside(store: RunFolder, exc: BaseException) -> str:
    """Move an unusable checkpoint out of the way (kept, never overwritten); what to say about it."""
    kept = store.set_aside()
    log.warning("not resuming %s: %s; it is kept as %s", store.checkpoint, exc, kept)
    return f"The saved checkpoint could not be read ({exc}); it is kept as {kept}."


def candidates(info: dict[str, Any], bundled: Dataset, uploaded: Dataset | None) -> list[Dataset]:
    """The data sets a saved run may train on: the one run.json names first, each once."""
    found: list[Dataset] = []
    for dataset in (saved_dataset(info, bundled, uploaded), bundled, uploaded):
        if dataset is not None and all(dataset.names != d.names for d in found):
            found.append(dataset)
    return found


def saved_dataset(info: dict[str, Any], bundled: Dataset, uploaded: Dataset | None) -> Dataset:
    """The data set run.json names: the bundled one, or the uploaded names it holds."""
    if info.get("dataset") != UPLOADED:
        return bundled
    names = info.get("names")
    if not isinstance(names, list):  # run.json of an older version: no names in it
        return uploaded or bundled
    try:
        cleaned = tuple(load_names(names))
    except ValueError:  # NamesError
        return uploaded or bundled
    return Dataset(UPLOADED, str(info.get("filename", "names.txt")), cleaned)
