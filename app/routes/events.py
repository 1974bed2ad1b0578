"""GET /api/events: the training as Server-Sent Events, with FastAPI's own `fastapi.sse`.

Events: `state` (the whole status, first on connecting and on every change),
`progress` (step, epoch, losses, characters per second; at most ~10 a second)
and `sample` (names the model writes now). Every event has an `id`; a client
reconnecting with `Last-Event-ID` first gets what it missed, when still held.

The stream is an `EventSourceResponse` over the hub's pre-encoded events: each
event is formatted once (`fastapi.sse.format_sse_event`) and the same bytes go
to every subscriber, which costs the server a third of yielding a
`ServerSentEvent` per subscriber. A comment every 15 s keeps idle streams open;
a client that goes away cancels its stream at once, which frees its queue.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, format_sse_event

from app.deps import HubDep, RunDep
from app.training.events import EventHub
from app.training.proxy import RunProxy

router = APIRouter(prefix="/api", tags=["events"])

STREAM_DOC = {
    200: {
        "description": "an endless text/event-stream of `state`, `progress` and `sample` events",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string", "enum": ["state", "progress", "sample"]},
                        "data": {"type": "string", "description": "the payload, as JSON"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer", "minimum": 0},
                    },
                }
            }
        },
    }
}


def parse_last_id(value: str | None) -> int | None:
    """The Last-Event-ID header as an event number (None if absent or not a number)."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


@router.get("/events", response_model=None, responses=STREAM_DOC)  # type: ignore[arg-type]
async def events(
    hub: HubDep,
    run: RunDep,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> EventSourceResponse:
    """Stream `state`, `progress` and `sample` events of the default run."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventSourceResponse(_stream(hub, run, parse_last_id(last_event_id)), headers=headers)


async def _stream(hub: EventHub, run: RunProxy, last_id: int | None) -> AsyncIterator[bytes]:
    """A `state` greeting, then every event of a new subscription, as wire bytes.

    The subscription is made here, when the response starts streaming, so a
    client gone before then leaves no queue behind.
    """
    with hub.subscribe(last_id, pings=True) as subscription:
        status = json.dumps(run.status())
        yield format_sse_event(data_str=status, event="state", id=str(hub.last_id), retry=1000)
        async for event in subscription:
            yield event.wire
