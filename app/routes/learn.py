"""Learn: the fragments of the guided walk through the seed's derivation (app/inspect/learn.py).

    GET /fragments/learn/open?name=&step=&t=&k=&i=&j=   the panel body with Learn at a step, on the
                                                        weights of now, kept still for the walk
    GET /fragments/learn?name=&snap=&step=&t=...        one step of a walk (its card), read from the
                                                        walk's frozen weights `snap`
    GET /fragments/learn/close?name=                    the panel body without Learn, weights of now

Every answer puts the name and the step in the page's address (HX-Replace-Url), so a reload or a
shared link, `/?name=boosaurus&learn=6`, opens the same step (the panel's shell asks
/fragments/inspect/start with them). The parameters are read as text and checked here, so that a
step out of range, a unit or a (t, k) outside the name, or weights no longer kept, come back as a
sentence in the panel, never as the API's JSON.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.datastructures import QueryParams

from app.deps import PageRunDep
from app.inspect.learn import LearnError, LearnQuery, query_of
from app.inspect.service import InspectNameError, Job
from app.inspect.views import render
from app.routes.inspect import InspectionDep, Opened

router = APIRouter(prefix="/fragments/learn", tags=["learn"], include_in_schema=False)

#: The page's query keys of a walk: the step, and the picks as learn_t, learn_k, ...
URL_KEYS = ("learn", "learn_t", "learn_k", "learn_i", "learn_j")


class Picks(BaseModel):
    """A walk's place, as the page sends it: read as text, checked by `query_of`."""

    step: str = ""
    t: str = ""
    k: str = ""
    i: str = ""
    j: str = ""
    play: str = ""
    fit: str = ""

    def query(self) -> LearnQuery:
        """The checked place (LearnError naming what is wrong)."""
        return query_of(self.step, self.t, self.k, self.i, self.j, self.play, self.fit)


PicksDep = Annotated[Picks, Query()]


def page_url(request: Request, name: str, q: LearnQuery | None) -> str:
    """The page's address with the inspected name and the walk's step and picks (none: no walk)."""
    params = dict(QueryParams(urlsplit(request.headers.get("hx-current-url", "")).query))
    for key in URL_KEYS:
        params.pop(key, None)
    params["name"] = name
    if q is not None:
        picks = {"learn": q.step, "learn_t": q.t, "learn_k": q.k, "learn_i": q.i, "learn_j": q.j}
        params.update({key: str(v) for key, v in picks.items() if v})
    return "/?" + urlencode(params)


def answered(request: Request, service: InspectionDep, job: Job, q: LearnQuery | None) -> Response:
    """The job's answer, with the page's address following the walk when it was shown."""
    done = service.run(job)
    headers = {"HX-Replace-Url": page_url(request, job.name, q)} if done.status == 200 else None
    return HTMLResponse(done.body, done.status, headers=headers)


def refused(message: str) -> HTMLResponse:
    return HTMLResponse(render("error", message=message), 422)


@router.get("/open", response_class=HTMLResponse)
def learn_open(
    request: Request,
    run: PageRunDep,
    service: InspectionDep,
    picks: PicksDep,
    name: str = "",
    opened: Opened = [],  # noqa: B006 (FastAPI copies a query default)
) -> Response:
    """The panel body with Learn at ``step`` (default 1), on fresh weights kept for the walk;
    ``open``: the parts of the panel the page has open, drawn in place."""
    try:
        q = picks.query()
        name = name or service.default_name(run)
        job = service.job(run, name, "result", learn=q, fresh=True, opened=opened)
    except (LearnError, InspectNameError) as exc:
        return refused(str(exc))
    return answered(request, service, job, q)


@router.get("", response_class=HTMLResponse)
def learn_step(
    request: Request, run: PageRunDep, service: InspectionDep, picks: PicksDep, name: str = "", snap: str = ""
) -> Response:
    """One step of the walk on its frozen weights ``snap``: the Learn card alone."""
    try:
        q = picks.query()
        job = service.job(run, name, "learn", learn=q, snap=snap or "-")
    except (LearnError, InspectNameError) as exc:
        return refused(str(exc))
    return answered(request, service, job, q)


@router.get("/close", response_class=HTMLResponse)
def learn_close(
    request: Request,
    run: PageRunDep,
    service: InspectionDep,
    name: str = "",
    opened: Opened = [],  # noqa: B006 (FastAPI copies a query default)
) -> Response:
    """The panel body without Learn, on the weights of now (following training again)."""
    try:
        job = service.job(run, name or service.default_name(run), "result", fresh=True, opened=opened)
    except InspectNameError as exc:
        return refused(str(exc))
    return answered(request, service, job, None)
