"""Request bodies are refused when too large, before they are read whole.

A pure ASGI middleware: a declared Content-Length over the limit gets 413 at
once, nothing read; a body without one (chunked) is counted as it streams and
cut off with 413 the moment it passes the limit. Uploads have their own limits
(settings `max_names_bytes`, `max_checkpoint_bytes`), everything else the
small `max_body_bytes`.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

MULTIPART_OVERHEAD = 16_384  # boundaries and part headers around an uploaded file


def body_limit(path: str, settings: Settings) -> int:
    """The largest body accepted on `path`, in bytes."""
    if path.endswith("/checkpoint"):
        return settings.max_checkpoint_bytes + MULTIPART_OVERHEAD
    if path.endswith("/dataset"):
        return settings.max_names_bytes + MULTIPART_OVERHEAD
    return settings.max_body_bytes


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
        limit = body_limit(scope["path"], self.settings)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
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
