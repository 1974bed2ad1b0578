"""The names a run trains on: the bundled list, or a names file a user uploaded.

An upload is checked by rnn_core's own rules (`load_names`: UTF-8 text, one
name per line, letters a-z only) plus a few of the server's (not binary, not
too many names, not too long), then kept in the run's folder so a restart
trains on it again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from app.training.payloads import DatasetSummary
from rnn_core.data import NamesError, bundled_names_path, load_names
from rnn_core.fileio import atomic_write_bytes

BUNDLED = "bundled"
UPLOADED = "uploaded"
UPLOAD_FILE = "names.txt"  # an uploaded data set, inside the run's folder
MAX_NAMES = 100_000
MAX_NAME_LENGTH = 40


@dataclass(frozen=True)
class Dataset:
    """A cleaned list of names and where it came from."""

    source: str  # BUNDLED or UPLOADED
    filename: str
    names: tuple[str, ...]
    name_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_set", frozenset(self.names))

    @property
    def vocab_size(self) -> int:
        """V: the distinct characters plus the end token."""
        return len(set("".join(self.names))) + 1

    @property
    def uniform_loss(self) -> float:
        """ln V: the loss per character of guessing uniformly (nats)."""
        return math.log(self.vocab_size)

    def summary(self) -> DatasetSummary:
        """What the API and the page say about it."""
        return {
            "source": self.source,
            "filename": self.filename,
            "names": len(self.names),
            "vocab_size": self.vocab_size,
        }


def bundled_dataset(path: Path | None = None) -> Dataset:
    """The default data set: `path` if given (BPTT_LAB_NAMES_FILE), else the bundled names."""
    path = path or bundled_names_path()
    return Dataset(BUNDLED, path.name, tuple(load_names(path)))


def parse_upload(data: bytes, filename: str) -> Dataset:
    """Check an uploaded names file; raise NamesError with a message a person understands."""
    if not data.strip():
        raise NamesError("the names file is empty")
    if b"\x00" in data:
        raise NamesError("the file looks binary (it holds NUL bytes); upload a text file")
    names = load_names(data)
    if len(names) > MAX_NAMES:
        raise NamesError(f"too many names: {len(names):,} (at most {MAX_NAMES:,})")
    longest = max(names, key=len)
    if len(longest) > MAX_NAME_LENGTH:
        raise NamesError(
            f"name {longest[:20]!r}... is {len(longest)} letters long (at most {MAX_NAME_LENGTH})"
        )
    if len(names) < 2:
        raise NamesError("the file holds one name; upload at least two (one per line)")
    return Dataset(UPLOADED, clean_filename(filename), tuple(names))


def save_upload(folder: Path, dataset: Dataset) -> None:
    """Keep an uploaded data set in the run's folder (atomically)."""
    atomic_write_bytes(folder / UPLOAD_FILE, ("\n".join(dataset.names) + "\n").encode("utf-8"))


def load_saved_upload(folder: Path) -> Dataset | None:
    """The data set uploaded earlier into this folder, if any and still readable."""
    path = folder / UPLOAD_FILE
    if not path.is_file():
        return None
    try:
        return Dataset(UPLOADED, UPLOAD_FILE, tuple(load_names(path)))
    except NamesError:
        return None


def clean_filename(filename: str) -> str:
    """A file name safe to show: its last path part, printable, at most 60 characters."""
    name = Path(filename.replace("\\", "/")).name or "names.txt"
    return "".join(c for c in name if c.isprintable())[:60] or "names.txt"
