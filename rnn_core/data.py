"""The names the model learns from: loading, checking and splitting them.

A names file holds one name per line. Loading strips each line, lower-cases it,
skips blank lines and drops repeats (keeping the first), and refuses any name
with a character outside a-z, naming the line and the character.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz")


class NamesError(ValueError):
    """A names list that cannot be trained on (empty, unreadable, or a bad character)."""


def bundled_names_path() -> Path:
    """The path of the dinosaur names shipped with the project (data/dinosaurs.txt)."""
    return Path(__file__).resolve().parent.parent / "data" / "dinosaurs.txt"


def load_names(path_or_lines: str | os.PathLike[str] | bytes | Iterable[str]) -> list[str]:
    """Read and clean a names list.

    `path_or_lines` is a path (str or Path) of a UTF-8 text file, the bytes of
    such a file (an upload), or an iterable of lines. Raises NamesError if the
    list is empty, the file cannot be read, or a name has a character outside a-z.
    """
    source, lines = _read_lines(path_or_lines)
    names: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            raise NamesError(f"{source}line {number}: expected text, got {type(line).__name__}")
        name = line.strip().lower()
        if not name:
            continue
        for ch in name:
            if ch not in ALPHABET:
                raise NamesError(
                    f"{source}line {number}: name {name!r} has character {ch!r}; "
                    "only the letters a-z are allowed"
                )
        if name not in seen:
            seen.add(name)
            names.append(name)
    if not names:
        raise NamesError(f"{source}no names found (the list is empty)")
    return names


def split_names(names: Sequence[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Split names into (train, validation) by a seeded shuffle: same inputs, same split.

    The validation part holds round(len * val_fraction) names (at least one when
    val_fraction > 0 and there are two names or more; the training part is never
    empty). Each part keeps the names in their original order.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    n = len(names)
    if n == 0:
        raise NamesError("no names to split")
    n_val = 0
    if val_fraction > 0 and n >= 2:
        n_val = min(max(1, round(n * val_fraction)), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    val_idx = np.sort(order[:n_val])
    train_idx = np.sort(order[n_val:])
    return [names[i] for i in train_idx], [names[i] for i in val_idx]


def _read_lines(
    path_or_lines: str | os.PathLike[str] | bytes | Iterable[str],
) -> tuple[str, list[str]]:
    """Return (a prefix naming the source for messages, the lines)."""
    if isinstance(path_or_lines, bytes | bytearray):
        try:
            text = bytes(path_or_lines).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NamesError(f"names file is not UTF-8 text (byte {exc.start})") from None
        return "", text.splitlines()
    if isinstance(path_or_lines, str | os.PathLike):
        path = Path(path_or_lines)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise NamesError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise NamesError(f"cannot read names file {path}: {exc.strerror or exc}") from None
        return f"{path}: ", text.splitlines()
    return "", list(path_or_lines)
