"""What route handlers receive through `Depends`, as typed aliases (swap them in tests).

SettingsDep   the server's Settings
ServiceDep    the TrainingService (all runs)
RunDep        the default run
HubDep        the EventHub feeding /api/events
ControlDep    checks the control token on routes that change the run (app/http/control.py)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.http.control import check_control
from app.settings import Settings, get_settings
from app.training.events import EventHub
from app.training.proxy import RunProxy
from app.training.service import TrainingService


def get_service(request: Request) -> TrainingService:
    """The training service the lifespan started."""
    service: TrainingService = request.app.state.service
    return service


def get_run(service: Annotated[TrainingService, Depends(get_service)]) -> RunProxy:
    """The default run (the only one today)."""
    return service.get()


def get_hub(request: Request) -> EventHub:
    """The event fan-out of this app."""
    hub: EventHub = request.app.state.hub
    return hub


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[TrainingService, Depends(get_service)]
RunDep = Annotated[RunProxy, Depends(get_run)]
HubDep = Annotated[EventHub, Depends(get_hub)]
ControlDep = Depends(check_control)
