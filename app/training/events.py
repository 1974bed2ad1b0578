"""Fan-out of training events to any number of Server-Sent-Event subscribers.

The training thread calls `EventHub.publish`; it never touches a queue itself.
`publish` hands the event to the event loop with `loop.call_soon_threadsafe`,
and there, on the loop's own thread, the event gets its id and goes into one
bounded `asyncio.Queue` per subscriber. A queue that is full drops its oldest
event to make room, so a slow browser loses intermediate updates but never the
latest one, and never slows training. A subscriber that goes away takes its
queue with it.

Each event is encoded once, to JSON and to SSE wire bytes, however many
subscribers send it. A short ring of recent events lets a client that
reconnects with `Last-Event-ID` catch up on what it missed. `ping` puts a
keep-alive marker in the queues of the subscribers that asked for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event

#: The event kinds of the stream (docs/ARCHITECTURE.md "The web API").
EVENT_KINDS = ("progress", "sample", "state")
PING_SECONDS = 15.0  # between keep-alive comments on an idle stream


@dataclass(frozen=True)
class Event:
    """One event: a kind (progress, sample, state), its payload, and its id on the stream."""

    id: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def json(self) -> str:
        """The payload as JSON (NaN and infinities as null), encoded once for all subscribers."""
        return json.dumps(finite(self.data), separators=(",", ":"), allow_nan=False)

    @cached_property
    def wire(self) -> bytes:
        """The event as it goes on the stream (`event:`, `data:`, `id:`), encoded once."""
        if self is PING:
            return KEEPALIVE_COMMENT
        return format_sse_event(data_str=self.json, event=self.kind, id=str(self.id))


#: The keep-alive marker: a comment line on the wire, no event for the client.
PING = Event(0, "ping")


def finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


class EventHub:
    """Bounded queue per subscriber; publish from any thread, deliver on the loop."""

    def __init__(self, queue_size: int = 64, replay: int = 256) -> None:
        self.queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None
        # queue -> (wants pings, the runs it follows; None: every run)
        self._queues: dict[asyncio.Queue[Event | None], tuple[bool, frozenset[str] | None]] = {}
        self._recent: deque[Event] = deque(maxlen=replay)
        self._ids = itertools.count(1)
        self._closed = False
        self.dropped = 0  # events a full queue had to drop (all subscribers)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the event loop that owns the queues (the app's lifespan does this)."""
        self._loop = loop
        self._closed = False

    def viewers(self, run_id: str) -> int:
        """How many streams follow run `run_id` now."""
        return sum(1 for _, runs in self._queues.values() if runs is None or run_id in runs)

    def stats(self) -> dict[str, int]:
        """What the fan-out holds now: subscribers, the longest queue and its bound, events kept."""
        longest = max((queue.qsize() for queue in list(self._queues)), default=0)
        return {
            "subscribers": len(self._queues),
            "longest_queue": longest,
            "queue_size": self.queue_size,
            "replay_held": len(self._recent),
            "replay_size": self._recent.maxlen or 0,
            "dropped": self.dropped,
        }

    @property
    def last_id(self) -> int:
        """The id of the newest event delivered so far (0 before any)."""
        return self._recent[-1].id if self._recent else 0

    def publish(self, kind: str, data: Mapping[str, Any]) -> None:
        """Queue an event for every subscriber; safe from any thread, never blocks."""
        loop = self._loop
        if loop is None or self._closed or loop.is_closed():
            return
        if _on_loop_thread(loop):
            self._deliver(kind, data)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed since the check
            loop.call_soon_threadsafe(self._deliver, kind, data)

    def _deliver(self, kind: str, data: Mapping[str, Any]) -> None:
        """On the loop: number the event, remember it, put it in every queue."""
        event = Event(next(self._ids), kind, dict(data))
        self._recent.append(event)
        for queue, (_, runs) in self._queues.items():
            if follows(runs, event):
                self._offer(queue, event)

    def ping(self) -> None:
        """A keep-alive marker for every subscriber that asked for pings (on the loop)."""
        for queue, (wants, _) in self._queues.items():
            if wants:
                self._offer(queue, PING)

    def _offer(self, queue: asyncio.Queue[Event | None], event: Event | None) -> None:
        """put_nowait, dropping the oldest queued event when the queue is full."""
        while True:
            try:
                queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                queue.get_nowait()
                self.dropped += 1

    def subscribe(
        self, last_id: int | None = None, pings: bool = False, runs: frozenset[str] | None = None
    ) -> Subscription:
        """A new subscriber's queue, registered at once; first the events newer than `last_id`.

        `runs` names the runs it follows (each event names its run): one stream for
        several runs, as a page that follows them wants.
        """
        queue: asyncio.Queue[Event | None] = asyncio.Queue(self.queue_size)
        if last_id is not None:
            for event in self._recent:
                if event.id > last_id and follows(runs, event):
                    self._offer(queue, event)
        self._queues[queue] = (pings, runs)
        return Subscription(self, queue)

    def _unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._queues.pop(queue, None)

    def close(self) -> None:
        """End every stream (on shutdown): each subscriber gets an end marker."""
        self._closed = True
        for queue in list(self._queues):
            self._offer(queue, None)

    async def keep_alive(self, seconds: float = PING_SECONDS) -> None:
        """Ping every `seconds` until cancelled (a task of the app's lifespan)."""
        while True:
            await asyncio.sleep(seconds)
            self.ping()


def follows(runs: frozenset[str] | None, event: Event) -> bool:
    """Whether a subscriber following `runs` wants `event`."""
    return runs is None or event.data.get("run_id") in runs


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    """True when called from the thread running `loop`."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class Subscription:
    """One subscriber: iterate it for events; leaving the `with` block frees its queue."""

    def __init__(self, hub: EventHub, queue: asyncio.Queue[Event | None]) -> None:
        self._hub, self.queue = hub, queue
        self.closed = False  # the hub closed (server shutting down): no more events

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving; the queue goes away."""
        self._hub._unsubscribe(self.queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        event = await self.get()
        if event is None:
            raise StopAsyncIteration
        return event

    def drain(self) -> list[Event]:
        """The events already waiting, taken without waiting (a slow reader catches up at once)."""
        out: list[Event] = []
        while not self.queue.empty():
            event = self.queue.get_nowait()
            if event is None:
                self._end()
                break
            out.append(event)
        return out

    async def get(self) -> Event | None:
        """The next event, waiting for it; None once the hub has closed."""
        if self.closed:
            return None
        event = await self.queue.get()
        if event is None:
            self._end()
        return event

    def _end(self) -> None:
        self.closed = True
        self.close()
