"""What route handlers receive through `Depends`, as typed aliases (swap them in tests).

SettingsDep   the server's Settings
ServiceDep    the TrainingService (all runs)
RunDep        the default run
HubDep        the EventHub feeding /api/events
ControlDep    checks the control token on routes that change the run
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from .events import EventHub
from .run import Run
from .settings import Settings, get_settings
from .training import TrainingService


def get_service(request: Request) -> TrainingService:
    """The training service the lifespan started."""
    return request.app.state.service


def get_run(service: Annotated[TrainingService, Depends(get_service)]) -> Run:
    """The default run (the only one today)."""
    return service.run()


def get_hub(request: Request) -> EventHub:
    """The event fan-out of this app."""
    return request.app.state.hub


def check_control(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """When BPTT_LAB_CONTROL_TOKEN is set, require it (bearer header, or the page's cookie)."""
    if settings.control_token is None:
        return
    expected = settings.control_token.get_secret_value().encode()
    header = request.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip() or request.cookies.get("bptt_lab_token", "")
    if not hmac.compare_digest(given.encode(), expected):
        raise HTTPException(
            401,
            "this server is driven by its teacher: changing the run needs the control token",
            headers={"WWW-Authenticate": "Bearer"},
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[TrainingService, Depends(get_service)]
RunDep = Annotated[Run, Depends(get_run)]
HubDep = Annotated[EventHub, Depends(get_hub)]
ControlDep = Depends(check_control)
