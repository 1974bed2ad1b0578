"""GET /api/events[?runs=a,b] and /api/runs/{id}/events: the training as Server-Sent Events.

FastAPI's own `fastapi.sse` serves them.

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

from fastapi import APIRouter, Header, Query
from fastapi.sse import EventSourceResponse, format_sse_event

from app.deps import HubDep, PathRunDep, ServiceDep
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


RUN_IDS = r"^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+){0,15}$"  # at most 16 runs on one stream


@router.get("/events", response_model=None, responses=STREAM_DOC)  # type: ignore[arg-type]
async def events(
    hub: HubDep,
    service: ServiceDep,
    runs: Annotated[str | None, Query(max_length=400, pattern=RUN_IDS)] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> EventSourceResponse:
    """Stream `state`, `progress` and `sample` events of the default run, or of `runs` (a,b,c).

    Each event names its run (`run_id`); one stream follows several runs, as a page
    comparing them needs (a browser keeps about six connections to a server).
    """
    followed = [service.get(run_id) for run_id in (runs.split(",") if runs else ["default"])]
    return _response(hub, followed, parse_last_id(last_event_id))


@router.get("/runs/{run_id}/events", response_model=None, responses=STREAM_DOC)  # type: ignore[arg-type]
async def run_events(
    hub: HubDep, run: PathRunDep, last_event_id: Annotated[str | None, Header(max_length=32)] = None
) -> EventSourceResponse:
    """Stream the events of one run."""
    return _response(hub, [run], parse_last_id(last_event_id))


def _response(hub: EventHub, runs: list[RunProxy], last_id: int | None) -> EventSourceResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventSourceResponse(_stream(hub, runs, last_id), headers=headers)


async def _stream(hub: EventHub, runs: list[RunProxy], last_id: int | None) -> AsyncIterator[bytes]:
    """A `state` greeting per run, then every event of a new subscription, as wire bytes.

    The subscription is made here, when the response starts streaming, so a
    client gone before then leaves no queue behind.
    """
    with hub.subscribe(last_id, pings=True, runs=frozenset(r.run_id for r in runs)) as subscription:
        for run in runs:
            status = json.dumps(run.status())
            yield format_sse_event(data_str=status, event="state", id=str(hub.last_id), retry=1000)
        async for event in subscription:
            yield event.wire
