"""Who may drive the run (docs/ARCHITECTURE.md "Who may drive"): the control token.

When BPTT_LAB_CONTROL_TOKEN is set, the routes that change the run (start,
pause, resume, step, reset, config, the uploads) need it: the API as a bearer
header, `Authorization: Bearer <token>`; the page sends the same header from a
token field kept in the tab's sessionStorage (static/app.js). Without it they
answer 401 with a message; watching, generating and inspecting stay open.
Tokens are compared in constant time (`hmac.compare_digest`).

With a token set, /openapi.json declares the bearer scheme on those routes, so
/docs can send it ("Authorize"); without one it declares none, since then
nothing needs it. A server listening beyond loopback with no token logs a
warning at start.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.settings import Settings, get_settings

log = logging.getLogger("bptt_lab.control")

SCHEME = "controlToken"  # the security scheme's name in /openapi.json
MISSING = "changing the run needs the control token (Authorization: Bearer <token>)"
WRONG = "the control token is wrong"
BEARER = HTTPBearer(
    scheme_name=SCHEME,
    description="BPTT_LAB_CONTROL_TOKEN: needed by the routes that change the run",
    auto_error=False,
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def token_matches(given: str, expected: str) -> bool:
    """Whether `given` is the token, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_control(settings: Annotated[Settings, Depends(get_settings)], credentials: Credentials) -> None:
    """When a control token is set, refuse a request that does not carry it (401)."""
    if settings.control_token is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not token_matches(given, settings.control_token.get_secret_value()):
        detail = WRONG if given else MISSING
        raise HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="bptt-lab"'})


def is_loopback(host: str) -> bool:
    """Whether `host` only takes connections from this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposure_warning(settings: Settings) -> str | None:
    """The warning to log at start when others can reach the server and nobody guards the run."""
    if settings.control_token is not None or is_loopback(settings.host):
        return None
    return (
        f"BPTT Lab listens on {settings.host}, beyond loopback, with no control token: anyone "
        "who reaches it can start, reset or replace the run. Set BPTT_LAB_CONTROL_TOKEN."
    )


def document_control(app: FastAPI, settings: Settings) -> None:
    """Without a token, take the bearer scheme out of /openapi.json: then nothing needs it."""
    if settings.control_token is not None:
        return
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.pop("security", None)
        schemes = schema.get("components", {}).get("securitySchemes", {})
        schemes.pop(SCHEME, None)
        if not schemes:
            schema.get("components", {}).pop("securitySchemes", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
