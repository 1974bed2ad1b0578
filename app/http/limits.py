"""Request bodies are refused when too large, before they are read whole.

A pure ASGI middleware: a declared Content-Length over the limit gets 413 at
once, nothing read; a body without one (chunked) is counted as it streams and
cut off with 413 the moment it passes the limit. Upload routes say what they
take with `@accepts(Upload.CHECKPOINT)` or `@accepts(Upload.NAMES)`, and get
their own limits (settings `max_checkpoint_bytes`, `max_names_bytes`); every
other route the small `max_body_bytes`. A limit follows the route
wherever its path goes: the body is counted when the handler first
reads it, after routing has put the route's endpoint in the scope.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

MULTIPART_OVERHEAD = 16_384  # boundaries and part headers around an uploaded file
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class Upload(Enum):
    """What an upload route takes, and so how large its body may be."""

    CHECKPOINT = "checkpoint"
    NAMES = "names"


_UPLOADS: dict[Callable[..., Any], Upload] = {}  # route endpoint -> what it takes


def accepts(upload: Upload) -> Callable[[Endpoint], Endpoint]:
    """Mark a route's endpoint as one taking `upload` (put it under the route decorator)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _UPLOADS[endpoint] = upload
        return endpoint

    return mark


def body_limit(endpoint: object, settings: Settings) -> int:
    """The largest body the route `endpoint` accepts, in bytes."""
    upload = _UPLOADS.get(endpoint) if callable(endpoint) else None
    if upload is Upload.CHECKPOINT:
        return settings.max_checkpoint_bytes + MULTIPART_OVERHEAD
    if upload is Upload.NAMES:
        return settings.max_names_bytes + MULTIPART_OVERHEAD
    return settings.max_body_bytes


def largest_limit(settings: Settings) -> int:
    """The largest body any route accepts: beyond it a request is refused before routing."""
    return max(settings.max_body_bytes, settings.max_checkpoint_bytes, settings.max_names_bytes) + (
        MULTIPART_OVERHEAD
    )


def too_large(limit: int) -> str:
    """The message of a 413."""
    return f"the request body is too large (at most {limit:,} bytes)"


class BodyLimitMiddleware:
    """Refuse bodies over the path's limit (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, its body counted against the limit of its path."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > largest_limit(self.settings):
            await _refuse(send, largest_limit(self.settings))
            return
        received, limit = 0, 0

        async def counted() -> Message:
            # The body is first read by the route's handler, after routing put its endpoint in
            # the scope: that is when its limit is known.
            nonlocal received, limit
            if not limit:
                limit = body_limit(scope.get("endpoint"), self.settings)
                if declared is not None and declared > limit:
                    raise HTTPException(413, too_large(limit))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    """A 413 in the API's error shape, sent without reading the body."""
    body = json.dumps({"detail": too_large(limit), "errors": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
