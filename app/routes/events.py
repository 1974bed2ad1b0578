"""GET /api/events: the training as Server-Sent Events (fastapi.sse)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, format_sse_event

from ..deps import HubDep, RunDep
from ..events import EventHub, Subscription

router = APIRouter(prefix="/api", tags=["events"])


def parse_last_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@router.get("/events", response_class=EventSourceResponse)
async def events(hub: HubDep, run: RunDep, last_event_id: Annotated[str | None, Header(max_length=32)] = None) -> EventSourceResponse:
    """Stream."""
    subscription = hub.subscribe(parse_last_id(last_event_id))
    first = format_sse_event(data_str=__import__("json").dumps(run.status()), event="state", id=str(hub.last_id), retry=1000)
    return EventSourceResponse(_stream(subscription, first), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(subscription: Subscription, first: bytes) -> AsyncIterator[bytes]:
    with subscription:
        yield first
        async for event in subscription:
            yield event.wire
