"""GET /api/events: the training as Server-Sent Events, with FastAPI's own `fastapi.sse`.

Events: `state` (the whole status, first on connecting and on every change),
`progress` (step, epoch, losses, characters per second; at most ~10 a second)
and `sample` (names the model writes now). Every event has an `id`; a client
reconnecting with `Last-Event-ID` first gets what it missed, when still held.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ..deps import HubDep, RunDep

router = APIRouter(prefix="/api", tags=["events"])

KEEPALIVE_SECONDS = 5.0  # a comment this often lets a vanished client be noticed and dropped


def parse_last_id(value: str | None) -> int | None:
    """The Last-Event-ID header as an event number (None if absent or not a number)."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


@router.get("/events", response_class=EventSourceResponse)
async def events(
    hub: HubDep,
    run: RunDep,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> AsyncIterable[ServerSentEvent]:
    """Stream `state`, `progress` and `sample` events of the default run."""
    with hub.subscribe(parse_last_id(last_event_id)) as subscription:
        yield ServerSentEvent(event="state", data=run.status(), id=str(hub.last_id), retry=1000)
        while not subscription.closed:
            event = await subscription.next(KEEPALIVE_SECONDS)
            if event is not None:
                yield ServerSentEvent(event=event.kind, data=event.data, id=str(event.id))
            elif not subscription.closed:
                yield ServerSentEvent(comment="keep-alive")
