"""The Inspect service: check a name, trace it under a snapshot of the current weights.

A request names a character string; this module refuses it in plain words
(empty, too long, a control character, a character the vocabulary lacks) or
builds the `InspectReport` of rnn_core.inspect_report from a snapshot of the
run's weights, off the event loop. Reports are cached by (name, weights key),
so the page's step-backwards walk and heatmap clicks read the very numbers the
page shows, and a poll while the weights stand still costs nothing.
"""

from __future__ import annotations

import secrets
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from rnn_core import RNN, Vocab
from rnn_core.inspect_report import InspectReport, build_report

from .schemas import MAX_NAME_CHARS

MAX_INSPECT_CHARS = MAX_NAME_CHARS  # the longest name the Generate panel writes: 40
CACHE_SIZE = 8  # reports kept (each holds a T x T x D_h gamma)


class InspectNameError(ValueError):
    """A name that cannot be inspected, with the reason in words a person understands."""


class Snapshot(Protocol):
    """What inspection needs from a snapshot of the run (app.run.Snapshot has it)."""

    model: RNN
    vocab: Vocab
    step: int
    version: int


class SnapshotSource(Protocol):
    """Anything that hands out consistent copies of the weights (app.run.Run)."""

    def snapshot(self) -> Snapshot: ...


def _describe(char: str) -> str:
    """A character as a message shows it: 'é', or U+0009 (CHARACTER TABULATION)."""
    if unicodedata.category(char).startswith("C") or char.isspace():
        return f"U+{ord(char):04X} ({unicodedata.name(char, 'control character')})"
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
                f"{_describe(char)} at position {pos} is a control character, not a letter"
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


@dataclass(frozen=True)
class Inspected:
    """A report and the weights it was computed under."""

    report: InspectReport
    key: str  # names the weights: this server's token and the run's weights version
    step: int  # the training step of those weights


class InspectionService:
    """Builds and caches Inspect reports from snapshots of a run's weights."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._token = secrets.token_hex(3)  # a restarted server never reuses a key
        self._cache: OrderedDict[tuple[str, str], Inspected] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def key_of(self, snap: Snapshot) -> str:
        """The key of a snapshot's weights."""
        return f"{self._token}-{snap.version}"

    def current_key(self, source: SnapshotSource) -> str:
        """The key of the weights now (cheap: the run reuses its snapshot until they move)."""
        return self.key_of(source.snapshot())

    def inspect(self, source: SnapshotSource, raw_name: str, key: str | None = None) -> Inspected:
        """The report of ``raw_name``: the cached one for ``key`` if kept, else under the
        current weights. Raises InspectNameError for a name that cannot be inspected."""
        snap = source.snapshot()
        name = clean_name(raw_name, snap.vocab)
        with self._lock:
            for wanted in (key, self.key_of(snap)):
                found = self._cache.get((name, wanted or ""))
                if found is not None:
                    self._cache.move_to_end((name, found.key))
                    return found
        try:
            report = build_report(snap.model, snap.vocab, name)
        except ValueError as exc:  # a vocabulary the model does not match, say
            raise InspectNameError(str(exc)) from None
        done = Inspected(report, self.key_of(snap), snap.step)
        with self._lock:
            self._cache[(name, done.key)] = done
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return done

    async def inspect_async(self, source: SnapshotSource, raw_name: str, key: str | None = None) -> Inspected:
        """``inspect`` in a worker thread: the event loop never waits on NumPy."""
        return await run_in_threadpool(self.inspect, source, raw_name, key)


@lru_cache
def get_inspection() -> InspectionService:
    """The inspection service of this process (swap it in tests with dependency_overrides)."""
    return InspectionService()
