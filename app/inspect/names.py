"""Checking a name to inspect: refused in plain words, or turned into the name the model reads.

clean_name(raw, vocab)   the name (spaces dropped, lower-cased for a lower-case vocabulary),
                         or InspectNameError: empty, too long, a control character, a
                         character the vocabulary lacks
"""

from __future__ import annotations

import unicodedata

from app.inspect.views import MAX_INSPECT_CHARS
from rnn_core import Vocab


class InspectNameError(ValueError):
    """A name that cannot be inspected, with the reason in words a person understands."""


def _describe(char: str) -> str:
    """A character as a message shows it: 'é', or U+0009."""
    if unicodedata.category(char).startswith("C") or char.isspace():
        return f"U+{ord(char):04X}"
    return repr(char)


def known_characters(vocab: Vocab) -> str:
    """The vocabulary's characters without the end token, for messages."""
    return "".join(c for c in vocab.chars if c != vocab.end)


def clean_name(raw: str, vocab: Vocab, limit: int = MAX_INSPECT_CHARS) -> str:
    """The name to inspect, or InspectNameError saying what is wrong with it.

    Surrounding spaces are dropped; upper case is lowered when the vocabulary
    has no upper-case letters (the bundled names are lower case)."""
    name = raw.strip()
    if not name:
        raise InspectNameError("type a name to inspect (it is empty)")
    if len(name) > limit:
        raise InspectNameError(
            f"a name to inspect is at most {limit} characters long (this one has {len(name)})"
        )
    for pos, char in enumerate(name, start=1):
        if unicodedata.category(char).startswith("C"):
            raise InspectNameError(
                f"position {pos} holds a control character ({_describe(char)}), not a letter"
            )
    if not any(c.isupper() for c in vocab.chars):
        name = name.lower()
    for pos, char in enumerate(name, start=1):
        if char not in vocab or char == vocab.end:
            raise InspectNameError(
                f"{_describe(char)} at position {pos} is not in the model's vocabulary "
                f"(it knows {known_characters(vocab)!r})"
            )
    return name
