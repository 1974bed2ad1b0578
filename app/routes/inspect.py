"""Inspect: GET /api/inspect (JSON) and the Inspect panel's fragments (DESIGN part 3).

    GET /api/inspect?name=...             the whole gamma trace of a name, as JSON
    GET /fragments/inspect?name=...       the panel body (204 if `key` is still current)
    GET /fragments/inspect/start          the panel body for a first name of the data set
    GET /fragments/inspect/walk?walk=k    the accumulation table with step k lit
    GET /fragments/inspect/gamma?t=&k=    one gamma_t(k) across the hidden units
    GET /fragments/inspect/more?part=     a part the panel draws when opened: table, grad, decay,
                                          estimates

The panel's requests name the parts it has open (``open``, repeated), which the
body then draws in place; closed ones are asked for when they are opened.

The body, the walk and the parts also take the panel's what-if (app/inspect/whatif.py):
``k_trunc`` (a truncation K for this name), ``clip`` (a clip norm) and ``bug`` (a broken copy
of the backward pass; asking for one opens the gradient check, which it is meant to fail).
A bad one is a 422 with a sentence, shown beside the what-if bar.

Handlers are plain functions, so FastAPI runs them in its thread pool: taking a
snapshot of the weights never blocks the event loop, and the tracing itself runs
in the inspection worker process (app/inspect/service.py). A refused name is a 422
with a sentence: JSON under /api, an HTML fragment for the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from app.deps import PageRunDep, PathRunDep, RunDep
from app.http.schemas import ErrorOut, FieldError
from app.inspect.learn import LearnError, LearnQuery, query_of
from app.inspect.parts import PARTS
from app.inspect.service import (
    InspectionService,
    InspectNameError,
    Job,
    JobKind,
    SnapshotSource,
    WhatIfError,
    get_inspection,
)
from app.inspect.views import render
from app.web.urlstate import merged_url

router = APIRouter(tags=["inspect"])
InspectionDep = Annotated[InspectionService, Depends(get_inspection)]
Step = Annotated[int, Query(ge=0, le=1_000)]
#: The parts of the panel body the page has open (app/inspect/parts.py PARTS), drawn in place.
Opened = Annotated[list[str], Query(alias="open")]


#: The what-if of the panel, as typed: checked (and refused in words) by app/inspect/whatif.py.
class WhatIfQuery(BaseModel):
    """The what-if the panel holds, as the page sends it (checked by the service's job)."""

    k_trunc: str = ""  # a truncation K for this name
    clip: str = ""  # a clip norm
    bug: str = ""  # a broken copy of the backward pass

    def fields(self) -> tuple[str, str, str]:
        return self.k_trunc, self.clip, self.bug


WhatIfDep = Annotated[WhatIfQuery, Query()]


class GuessOut(BaseModel):
    char: str
    prob: float = Field(description="y_hat(t)[char], Eq. 3.1")


class StepOut(BaseModel):
    t: int
    x: str = Field(description="the input x(t): <start> at t = 1, then the previous character")
    y: str = Field(description="the target y(t): the next character, <end> at t = T")
    J: float | None = Field(description="J(t), Eq. 3.2 (null if not finite)")
    p_target: float = Field(description="y_hat(t)[y(t)], Eq. 3.1")
    guesses: list[GuessOut] = Field(description="the model's top 3 next characters")


class DecayOut(BaseModel):
    activation: str
    max_slope: float = Field(description="the largest sigma' can be (1/4 for sigmoid)")
    W_h_norm: float = Field(description="the spectral norm of W_h")
    rate_bound: float = Field(description="max_slope * W_h_norm: Eq. 6.2's largest shrink factor")
    sigma_prime_mean: float
    ratios: list[list[float | None]] = Field(
        description="ratios[t-1][d] = |gamma_t(t-d)| / |gamma_t(t)|, d = 0..t-1"
    )
    median: list[float | None] = Field(description="median over t, by distance d = t - k")
    mean: list[float | None] = Field(description="mean over t, by distance d = t - k")


class TableRowOut(BaseModel):
    k: int
    computes: float = Field(description="|gamma_k(k)|")
    receives: float = Field(description="|sum_{t>k} gamma_t(k)|, from step k+1")
    accumulated: float = Field(description="|gamma(k)| = |dJ/dh(k)|")
    sigma_prime_mean: float = Field(description="mean of sigma'(z(k)), Eq. 5.1.1")
    passes: float = Field(description="|W_h^T (gamma(k) o sigma'(z(k)))|, Eq. 6.2, to step k-1")
    adds: float = Field(description="|dJ/dW_h(k)|, Eq. 5.2")
    running: float = Field(description="|sum_{j>=k} dJ/dW_h(j)|")


class GradCheckOut(BaseModel):
    param: str
    index: list[int] = Field(description="0-based entry of the parameter")
    analytic: float
    numeric: float = Field(description="(J(p + eps) - J(p - eps)) / (2 eps), float64")
    rel_error: float


class InspectOut(BaseModel):
    """The gamma trace of one name under the current weights (steps t, k are 1-based)."""

    name: str
    step: int = Field(description="the training step of the weights traced")
    activation: str
    hidden_size: int
    vocab_size: int
    T: int = Field(description="steps: the name's length plus one")
    loss: float | None = Field(description="J, Eq. 3.3, nats (null if not finite)")
    warning: str | None = Field(None, description="what is wrong when J is not finite, else null")
    steps: list[StepOut]
    step_loss: list[float | None] = Field(description="J(t), Eq. 3.2 (null if not finite)")
    gamma: list[list[list[float]]] = Field(description="gamma[t-1][k-1] = gamma_t(k), (T, T, D_h)")
    gamma_norms: list[list[float]] = Field(description="|gamma_t(k)|, (T, T)")
    accumulated: list[list[float]] = Field(description="gamma(k) = dJ/dh(k), (T, D_h)")
    accumulated_norms: list[float]
    sigma_prime: list[list[float]] = Field(description="sigma'(z(k)), (T, D_h), Eq. 5.1.1")
    dW_h_norms: list[float] = Field(description="|dJ/dW_h(k)|, Eq. 5.2")
    dW_h_norm_sum: float = Field(description="sum_k |dJ/dW_h(k)|")
    dW_h_norm: float = Field(description="|dJ/dW_h|, Eq. 4.1")
    decay: list[DecayOut] = Field(description="the model's activation first, then the others")
    table: list[TableRowOut] = Field(description="the accumulation table, k = T down to 1")
    grad_check: list[GradCheckOut]


def _refused_json(exc: InspectNameError) -> JSONResponse:
    message = str(exc)
    body = ErrorOut(detail=message, errors=[FieldError(field="name", message=message)])
    return JSONResponse(body.model_dump(), 422)


def _html(service: InspectionService, make_job: Callable[[], Job]) -> Response:
    """The answer to one of the panel's requests, or the refusal shown beside the input."""
    try:
        job = make_job()  # refuses a name that cannot be inspected, or a what-if
    except InspectNameError as exc:
        return HTMLResponse(render("error", message=str(exc)), 422)
    except WhatIfError as exc:
        return HTMLResponse(render("whatif_error", message=str(exc), field=exc.field), 422)
    done = service.run(job)
    return HTMLResponse(done.body, done.status)


@router.get(
    "/api/inspect",
    response_model=InspectOut,
    responses={422: {"model": ErrorOut, "description": "the name cannot be inspected"}},
)
def api_inspect(run: RunDep, service: InspectionDep, name: str = "") -> Response:
    """The gamma trace of ``name`` under the default run's current weights."""
    return _inspect_json(run, service, name)


@router.get(
    "/api/runs/{run_id}/inspect",
    response_model=InspectOut,
    tags=["runs"],
    responses={
        404: {"model": ErrorOut, "description": "there is no run with this id"},
        422: {"model": ErrorOut, "description": "the name cannot be inspected"},
    },
)
def run_inspect(run: PathRunDep, service: InspectionDep, name: str = "") -> Response:
    """The gamma trace of ``name`` under this run's current weights."""
    return _inspect_json(run, service, name)


def _inspect_json(run: SnapshotSource, service: InspectionService, name: str) -> Response:
    try:
        job = service.job(run, name, "json")
    except InspectNameError as exc:
        return _refused_json(exc)
    done = service.run(job)  # JSON text, shaped like InspectOut (tests check it against the model)
    return Response(done.body, done.status, media_type="application/json")


@router.get("/fragments/inspect", response_class=HTMLResponse, include_in_schema=False)
def inspect_fragment(
    request: Request,
    run: PageRunDep,
    service: InspectionDep,
    what_if: WhatIfDep,
    name: str = "",
    key: str = "",
    walk: Step = 0,
    t: Step = 0,
    k: Step = 0,
    fresh: bool = False,
    learn: str = "",
    opened: Opened = [],  # noqa: B006 (FastAPI copies a query default)
) -> Response:
    """The panel body for ``name``; 204 when ``key`` names the weights already shown.

    ``learn``: the step a Learn walk was at (the form sends it), kept for the new name on fresh
    weights; a name asked for by a person goes into the page's address. ``k_trunc``, ``clip``,
    ``bug``: the what-if; a bug opens the gradient check (what it is meant to fail)."""
    try:
        q = query_of(learn) if learn.strip() else None
    except LearnError:
        q = LearnQuery(1)
    if key and q is None and key == service.current_key(run):
        return Response(status_code=204)
    whatif = what_if.fields()
    shown = [*opened, "grad"] if what_if.bug.strip() else opened
    response = _html(
        service,
        lambda: service.job(
            run, name, "result", walk=walk, t=t, k=k, fresh=fresh, learn=q, opened=shown, whatif=whatif
        ),
    )
    if fresh and response.status_code == 200:
        changes = {"name": name.strip(), **({"learn": q.step} if q else {})}
        response.headers["HX-Replace-Url"] = merged_url(request.headers.get("hx-current-url"), changes)
    return response


@router.get("/fragments/inspect/start", response_class=HTMLResponse, include_in_schema=False)
def inspect_start(
    run: PageRunDep,
    service: InspectionDep,
    name: str = "",
    learn: str = "",
    t: str = "",
    k: str = "",
    i: str = "",
    j: str = "",
) -> Response:
    """The panel body the page opens with: the address's name (else a first name of the data set),
    with Learn at the address's step. What the address names but cannot be shown is said beside
    the name field, and the panel shows what it can instead, never nothing."""
    notes = []
    q = None
    if learn.strip():
        try:
            q = query_of(learn, t, k, i, j)
        except LearnError as exc:
            notes.append(str(exc))
    default = service.default_name(run)
    try:
        job = service.job(run, name or default, "result", fresh=True, learn=q)
    except InspectNameError as exc:
        notes.append(f"{name!r} cannot be inspected: {exc}")
        job = service.job(run, default, "result", fresh=True, learn=q)
    done = service.run(job)
    note = str(render("note", message="; ".join(notes))) if notes else ""
    return HTMLResponse(str(done.body) + note, done.status)


@router.get("/fragments/inspect/walk", response_class=HTMLResponse, include_in_schema=False)
def inspect_walk(
    run: PageRunDep,
    service: InspectionDep,
    what_if: WhatIfDep,
    name: str = "",
    key: str = "",
    walk: Step = 0,
) -> Response:
    """The accumulation table with step k = ``walk`` lit, from the weights the page shows (with a
    truncation K, what each step no longer receives)."""
    whatif = what_if.fields()
    return _html(service, lambda: service.job(run, name, "walk", want=key, walk=walk, whatif=whatif))


@router.get("/fragments/inspect/gamma", response_class=HTMLResponse, include_in_schema=False)
def inspect_gamma(
    run: PageRunDep, service: InspectionDep, name: str = "", key: str = "", t: Step = 0, k: Step = 0
) -> Response:
    """gamma_t(k) across the hidden units (a click on the |gamma_t(k)| map); t = 0: gamma(k)."""
    return _html(service, lambda: service.job(run, name, "vector", want=key, t=t, k=k))


@router.get("/fragments/inspect/more", response_class=HTMLResponse, include_in_schema=False)
def inspect_more(
    run: PageRunDep,
    service: InspectionDep,
    what_if: WhatIfDep,
    name: str = "",
    key: str = "",
    part: str = "",
    walk: Step = 0,
) -> Response:
    """A part of the panel body drawn when it is opened, from the weights the page shows: the
    accumulation table (with step ``walk`` of its walk lit), the gradient check, the decay plot or
    the gradient estimates, under the what-if the panel holds."""
    kinds: dict[str, JobKind] = {"table": "table", "grad": "grad", "decay": "decay", "estimates": "estimates"}
    if part not in PARTS or part not in kinds:
        message = f"the panel has no part {part!r} to show (only {', '.join(PARTS)})"
        return HTMLResponse(render("error", message=message), 422)
    whatif = what_if.fields()
    return _html(service, lambda: service.job(run, name, kinds[part], want=key, walk=walk, whatif=whatif))
