"""What a worker's runs report, held until the worker's host ships it to the web process.

A run in a worker publishes its events and writes its checkpoints through a
`RunChannel` (the same two calls it would make on the event hub and on its
run folder in one process); the channel puts them in the worker's `Outbox`.
The host takes everything at once (`take`) after each command and each slice
of work and sends it on: events in the order they happened, and of each run's
checkpoints only the newest (an older one would be overwritten anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: (run key, kind, payload) of one event.
Event = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Checkpoint:
    """A run's checkpoint as its worker took it, for the web process to write."""

    key: str
    data: bytes
    info: dict[str, Any]  # what run.json keeps beside it
    version: int  # the run's version the bytes were taken at


@dataclass
class Outbox:
    """Events and checkpoints of every run of one worker, waiting to be shipped."""

    events: list[Event] = field(default_factory=list)
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)

    def for_run(self, key: str) -> RunChannel:
        """The channel a run reports through."""
        return RunChannel(self, key)

    def take(self) -> tuple[list[Event], list[Checkpoint]]:
        """Everything held, emptying the outbox."""
        events, checkpoints = self.events, list(self.checkpoints.values())
        self.events, self.checkpoints = [], {}
        return events, checkpoints

    def __bool__(self) -> bool:
        return bool(self.events or self.checkpoints)


@dataclass(frozen=True)
class RunChannel:
    """One run's way out: `publish` an event, `write` a checkpoint."""

    outbox: Outbox
    key: str

    def publish(self, kind: str, data: Mapping[str, Any]) -> None:
        """Queue an event of this run."""
        self.outbox.events.append((self.key, kind, dict(data)))

    def write(self, checkpoint: bytes, run_info: dict[str, Any], version: int) -> bool:
        """Queue this run's checkpoint (the web process writes it; it reports storage trouble)."""
        self.outbox.checkpoints[self.key] = Checkpoint(self.key, checkpoint, run_info, version)
        return True
