"""The page's fragments about runs: New run (fresh or a fork), My runs, and the /runs table.

    POST /fragments/runs/new              the Train form, plus `label` and `fork` (a run id or
                                          nothing): a run of the visitor's own, training at once
    GET  /fragments/runs/mine             "My runs": the runs this browser made (its cookie)
    POST /fragments/runs/{id}/label       rename one of them (its token, or the teacher's)
    POST /fragments/runs/{id}/delete      delete one of them (the same)
    POST /fragments/runs/visitors         the teacher closes or opens visitor runs (/runs)
    POST /fragments/runs/presets/{name}   a one-click experiment: its runs, then their comparison
    GET  /fragments/runs/stream           /runs's rows, following every run over one event stream

Refusals land beside their fields, as everywhere on the page (app/web/forms.py): a train
field's beside the Train form's field, a label's beside the label.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from app.deps import HubDep, PathRunControlDep, PathRunDep, ServiceDep, SettingsDep
from app.http.runs_auth import is_teacher
from app.http.schemas import FieldError, TrainRequest
from app.routes.runs import VISITOR_COOKIE, require_teacher, visitor_of
from app.training import registry
from app.training.presets import PRESETS, make_preset
from app.training.service import TrainingService
from app.training.states import RefusedError
from app.web import templating, views
from app.web.errors import FormError
from app.web.forms import form_model, refusals
from app.web.runs import my_runs, run_rows

router = APIRouter(prefix="/fragments/runs", tags=["fragments"], include_in_schema=False)

TRAIN_FIELDS = tuple(TrainRequest.model_fields)
NEW_RUN_FIELDS = ("label", "fork")
TrainForm = Annotated[TrainRequest, Depends(form_model(TrainRequest, "train"))]
ROWS_PERIOD = 1.0  # seconds: /runs's rows are redrawn at most this often, however busy the runs
RUNS = "runs.html"
PRESETS_TEMPLATE = "partials/presets.html"
CLOSED = "the teacher has closed visitor runs for now: watch the class's run, or ask the teacher"


def teacher_asks(request: Request, settings: SettingsDep) -> bool:
    """Whether the request carries the teacher's token."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and is_teacher(settings, given.strip())


def mine_html(service: TrainingService, visitor: str | None, notes: list[tuple[str, str, str]]) -> str:
    """The My runs block, and notes for its slots."""
    context = {"my_runs": my_runs(service, visitor), "limits": views.LIMITS}
    return views.swaps_html(context, ("my_runs",), notes)


@router.post("/new")
def new_run(
    request: Request,
    body: TrainForm,
    service: ServiceDep,
    settings: SettingsDep,
    label: Annotated[str, Form(max_length=1000)] = "",
    fork: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """A run of the visitor's own, from the Train form (or forking `fork`'s weights), labelled."""
    if not settings.visitor_runs and not teacher_asks(request, settings):
        raise FormError("newrun", NEW_RUN_FIELDS, [FieldError(field="body", message=CLOSED)], 403)
    visitor, new_visitor = visitor_of(request)
    config = body.to_config()
    source, changed = None, frozenset[str]()
    if fork:
        if fork not in service.runs:
            message = f"there is no run {fork!r} to fork (deleted?): start your own instead"
            raise FormError("newrun", NEW_RUN_FIELDS, [FieldError(field="fork", message=message)], 404)
        source = service.get(fork)
        # the fields the form changes from the forked run's own configuration
        base = source.config
        changed = frozenset(n for n in base.to_dict() if getattr(config, n) != getattr(base, n))
    with refusals("newrun", NEW_RUN_FIELDS):
        registry.clean_label(label)
    with refusals("train", TRAIN_FIELDS):
        created = registry.create(
            service,
            config,
            body.dataset,
            label=label,
            from_run=source,
            changed=changed,
            owner=None if teacher_asks(request, settings) else visitor,
        )
    page = templating.env.get_template("partials/new_run.html")
    response = HTMLResponse(page.render(run=created.run.run_id, token=created.token))
    if new_visitor:
        response.set_cookie(VISITOR_COOKIE, visitor, max_age=30 * 24 * 3600, httponly=True, samesite="lax")
    return response


@router.post("/presets/{name}", include_in_schema=False)
def preset(request: Request, name: str, service: ServiceDep, settings: SettingsDep) -> HTMLResponse:
    """A one-click experiment: its runs, made for the visitor, then the comparison of them."""
    if name not in PRESETS:
        message = f"there is no experiment {name!r}: pick one of {', '.join(PRESETS)}"
        raise FormError("presets", (), [FieldError(field="body", message=message)], 404)
    if not settings.visitor_runs and not teacher_asks(request, settings):
        raise FormError("presets", (), [FieldError(field="body", message=CLOSED)], 403)
    visitor, new_visitor = visitor_of(request)
    owner = None if teacher_asks(request, settings) else visitor
    with refusals("presets"):
        made = make_preset(service, name, owner)
    ids = ",".join(run_id for run_id, _ in made.runs)
    context = {"tokens": json.dumps(dict(made.runs)), "url": f"/compare?runs={ids}&preset={name}"}
    response = HTMLResponse(templating.render(PRESETS_TEMPLATE, "made", context))
    if new_visitor:
        response.set_cookie(VISITOR_COOKIE, visitor, max_age=30 * 24 * 3600, httponly=True, samesite="lax")
    return response


@router.get("/mine", response_class=HTMLResponse)
def mine(request: Request, service: ServiceDep) -> HTMLResponse:
    """My runs, fresh."""
    return HTMLResponse(mine_html(service, request.cookies.get(VISITOR_COOKIE), []))


@router.post("/{run_id}/label", dependencies=[PathRunControlDep])
def rename(
    request: Request,
    run: PathRunDep,
    service: ServiceDep,
    label: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    """Give one of my runs a new label."""
    slot = f"err-myrun-{run.run_id}"
    try:
        registry.rename(run, label)
    except RefusedError as exc:
        notes = [(slot, exc.message, "bad")]
        return HTMLResponse(views.swaps_html({}, (), notes), 422)
    notes = [(slot, "renamed", "ok")]
    return HTMLResponse(mine_html(service, request.cookies.get(VISITOR_COOKIE), notes))


@router.post("/{run_id}/delete", dependencies=[PathRunControlDep])
def delete(request: Request, run: PathRunDep, service: ServiceDep) -> HTMLResponse:
    """Delete one of my runs; from that run's own page, go back to the class's run."""
    with refusals("myruns"):
        registry.delete(service, run)
    html = mine_html(service, request.cookies.get(VISITOR_COOKIE), [("err-myruns", "deleted", "ok")])
    headers = {"HX-Redirect": "/"} if request.headers.get("x-bptt-run") == run.run_id else None
    return HTMLResponse(html, headers=headers)


@router.post("/visitors", dependencies=[Depends(require_teacher)])
def visitors(settings: SettingsDep, open: Annotated[bool, Form()]) -> HTMLResponse:
    """The teacher closes (or opens again) the creation of runs by visitors, from /runs."""
    settings.visitor_runs = open
    context = {"visitor_runs": settings.visitor_runs, "control_locked": True}
    said = "visitors may make runs" if open else "visitor runs are closed"
    return HTMLResponse(views.swaps_html(context, ("visitors",), [("err-visitors", said, "ok")], RUNS))


@router.get("/table", response_class=HTMLResponse)
def runs_table(service: ServiceDep) -> HTMLResponse:
    """The rows of /runs, fresh."""
    return HTMLResponse(templating.render(RUNS, "rows", {"rows": run_rows(service)}))


@router.get("/stream", response_class=EventSourceResponse)
async def stream(hub: HubDep, service: ServiceDep) -> AsyncIterable[ServerSentEvent]:
    """/runs's rows, redrawn as the runs move (at most every ROWS_PERIOD), over one stream."""
    with hub.subscribe() as subscription:
        yield ServerSentEvent(raw_data=await run_in_threadpool(_rows_html, service), id=str(hub.last_id))
        drawn = time.monotonic()
        async for event in subscription:
            subscription.drain()
            wait = ROWS_PERIOD - (time.monotonic() - drawn)
            if wait > 0:
                await asyncio.sleep(wait)
                subscription.drain()
            drawn = time.monotonic()
            yield ServerSentEvent(raw_data=await run_in_threadpool(_rows_html, service), id=str(event.id))


def _rows_html(service: TrainingService) -> str:
    return views.swaps_html({"rows": run_rows(service)}, ("rows",), template=RUNS)
