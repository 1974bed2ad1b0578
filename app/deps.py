"""What route handlers receive through `Depends`, as typed aliases (swap them in tests).

SettingsDep   the server's Settings
ServiceDep    the TrainingService (all runs)
RunDep             the default run
PathRunDep         the run named by the path: /api/runs/{run_id}/...
HubDep             the EventHub feeding the event streams
ControlDep         checks the control token on routes that change the default run (app/http/control.py)
PathRunControlDep  checks the run's token, or the teacher's (app/http/runs_auth.py)
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request

from app.http.control import Credentials, check_control
from app.http.runs_auth import check_run_control
from app.settings import Settings, get_settings
from app.training.events import EventHub
from app.training.proxy import RunProxy
from app.training.service import DEFAULT_RUN, TrainingService


def get_service(request: Request) -> TrainingService:
    """The training service the lifespan started."""
    service: TrainingService = request.app.state.service
    return service


def get_run(service: Annotated[TrainingService, Depends(get_service)]) -> RunProxy:
    """The default run: what /api/... without a run id means."""
    return service.get()


def get_path_run(run_id: str, service: Annotated[TrainingService, Depends(get_service)]) -> RunProxy:
    """The run named by the path (404 naming it when there is none); it counts as active."""
    run = service.get(run_id)
    run.last_active = time.monotonic()
    return run


def check_path_run_control(
    run_id: str,
    service: Annotated[TrainingService, Depends(get_service)],
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Credentials,
) -> None:
    """The request may change this run: it carries the run's token or the teacher's.

    The token is judged before the run is looked up, so that an unknown id tells
    nothing to a request that may not drive it.
    """
    check_run_control(run_id, service, settings, credentials.credentials if credentials else "")


#: The header a page sends with every request of its own (static/app.js): the run it shows.
PAGE_RUN_HEADER = "x-bptt-run"


def page_run_id(request: Request) -> str:
    """The run a page's request is about: its header, or ?run= (event streams send no headers)."""
    return request.headers.get(PAGE_RUN_HEADER) or request.query_params.get("run") or DEFAULT_RUN


def get_page_run(request: Request, default: Annotated[RunProxy, Depends(get_run)]) -> RunProxy:
    """The run of the page that sent this request (404 naming it when there is none).

    The default run's page sends no run; its requests get `get_run`'s (which tests may swap)."""
    run_id = page_run_id(request)
    if run_id == DEFAULT_RUN:
        return default
    run = get_service(request).get(run_id)
    run.last_active = time.monotonic()
    return run


def check_page_control(
    request: Request,
    service: Annotated[TrainingService, Depends(get_service)],
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Credentials,
) -> None:
    """The page may change its run: the teacher's token, the run's own, or (default run) none needed."""
    given = credentials.credentials if credentials else ""
    check_run_control(page_run_id(request), service, settings, given)


def get_hub(request: Request) -> EventHub:
    """The event fan-out of this app."""
    hub: EventHub = request.app.state.hub
    return hub


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[TrainingService, Depends(get_service)]
RunDep = Annotated[RunProxy, Depends(get_run)]
PathRunDep = Annotated[RunProxy, Depends(get_path_run)]
PageRunDep = Annotated[RunProxy, Depends(get_page_run)]
HubDep = Annotated[EventHub, Depends(get_hub)]
ControlDep = Depends(check_control)
PathRunControlDep = Depends(check_path_run_control)
PageControlDep = Depends(check_page_control)
