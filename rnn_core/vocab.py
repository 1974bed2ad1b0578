"""The character vocabulary: the sorted characters of the training names plus the end token.

docs/ARCHITECTURE.md "Names as sequences": the end-of-name token ``"\\n"`` sorts before every
letter, so it is always index 0 (``Vocab.end_id == 0``). That is how a model
that knows only ``vocab_size`` knows which output ends a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

END = "\n"
START_LABEL = "<start>"  # how tables show the start marker x(1) = 0
END_LABEL = "<end>"  # how tables show the end token


class VocabError(ValueError):
    """A name holds a character the vocabulary does not know."""


@dataclass(frozen=True)
class Vocab:
    """An ordered set of characters; index 0 is the end token ``"\\n"``."""

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chars = tuple(self.chars)
        if not chars or chars[0] != END:
            raise VocabError('a vocabulary must start with the end token "\\n"')
        if any(len(c) != 1 for c in chars):
            raise VocabError("every vocabulary entry must be a single character")
        if list(chars) != sorted(set(chars)):
            raise VocabError("vocabulary characters must be sorted and unique")
        object.__setattr__(self, "chars", chars)
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(chars)})

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Vocab:
        """The sorted set of characters of ``names`` plus the end token."""
        seen: set[str] = set()
        for name in names:
            if END in name:
                raise VocabError(f"name {name!r} contains the end token '\\n'")
            seen.update(name)
        if not seen:
            raise VocabError("cannot build a vocabulary from no characters (empty list of names?)")
        return cls(tuple(sorted(seen | {END})))

    @property
    def size(self) -> int:
        """V: the number of characters, end token included."""
        return len(self.chars)

    @property
    def end(self) -> str:
        """The end-of-name token."""
        return END

    @property
    def end_id(self) -> int:
        """The index of the end token (always 0)."""
        return 0

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def encode(self, name: str) -> list[int]:
        """The character indices of ``name`` (no end token); raises VocabError naming a bad character."""
        try:
            return [self._index[c] for c in name]
        except KeyError:
            pos, bad = next((i, c) for i, c in enumerate(name) if c not in self._index)
            raise VocabError(
                f"character {bad!r} at position {pos + 1} of {name!r} is not in the vocabulary "
                f"(known: {self.printable()})"
            ) from None

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ``ids``; the end token is dropped."""
        return "".join(self.chars[i] for i in ids if i != self.end_id)

    def label(self, index: int) -> str:
        """A character index as tables show it: the letter, <end> for the end token, and
        <start> for the start marker x(1) = 0 (a model's input index ``size``, or more)."""
        if index >= self.size:
            return START_LABEL
        if index == self.end_id:
            return END_LABEL
        return self.chars[index]

    def printable(self) -> str:
        """The known characters, end token shown as \\n, for messages."""
        return "".join(c if c != END else "\\n" for c in self.chars)
