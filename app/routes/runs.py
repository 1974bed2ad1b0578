"""Runs as a resource: create (fresh or forked), list, rename, delete, and a run's history.

    POST   /api/runs               a config (TrainConfig's fields), "from_run", "label" -> 201
    GET    /api/runs               every run at a glance
    PATCH  /api/runs/{run_id}      {"label"}
    DELETE /api/runs/{run_id}      204 (the default run: 409)
    GET    /api/runs/{run_id}/history[?format=csv]

The rest of a run's routes are app/routes/api.py's, under /api/runs/{run_id}.
A visitor is known by a cookie the server sets on their first creation (their
address when there is none), so that their runs count against their quota.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from app.deps import PathRunControlDep, PathRunDep, ServiceDep, SettingsDep
from app.http.runs_auth import is_teacher
from app.http.schemas import (
    CreatedOut,
    HistoryOut,
    LabelPatch,
    RunCreate,
    RunOut,
    RunsOut,
    StatusOut,
    VisitorRuns,
)
from app.routes.api import REFUSALS, require_json
from app.training import registry
from app.training.proxy import RunProxy
from app.training.states import RunState

router = APIRouter(prefix="/api/runs", tags=["runs"], responses={**REFUSALS, 429: REFUSALS[409]})
VISITOR_COOKIE = "bptt_visitor"


def visitor_of(request: Request) -> tuple[str, bool]:
    """Who is asking: their cookie's id (and False), or a new id to set (and True)."""
    known = request.cookies.get(VISITOR_COOKIE)
    if known and len(known) <= 64 and known.isascii() and known.replace("-", "").replace("_", "").isalnum():
        return known, False
    return secrets.token_urlsafe(12), True


def run_out(run: RunProxy) -> RunOut:
    """A run at a glance."""
    status = run.status()
    best = [p["val_loss"] for p in run.history() if isinstance(p.get("val_loss"), float)]
    return RunOut(
        id=run.run_id,
        label=run.meta.label or ("the class's run" if run.run_id == "default" else ""),
        url=f"/runs/{run.run_id}",
        state=status["state"],
        step=status["step"],
        train_loss=status["train_loss"],
        val_loss=status["val_loss"],
        best_val_loss=min((v for v in best if math.isfinite(v)), default=None),
        config=status["config"],
        created=run.meta.created,
    )


@router.post("", status_code=201, dependencies=[Depends(require_json)])
def create(body: RunCreate, request: Request, service: ServiceDep, settings: SettingsDep) -> JSONResponse:
    """A new run, training at once: fresh, or forked from another run's weights (`from_run`).

    No token is needed (unless the teacher closed visitor runs); the teacher's, if sent,
    makes the run the teacher's, counted against no visitor's quota.
    """
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    teacher = scheme.lower() == "bearer" and is_teacher(settings, given.strip())
    if not settings.visitor_runs and not teacher:
        raise HTTPException(403, "the teacher has closed visitor runs for now: watch the class's run")
    visitor, new_visitor = visitor_of(request)
    source = None
    if body.from_run is not None:
        if body.from_run not in service.runs:
            raise HTTPException(422, f"from_run: there is no run {body.from_run!r} to fork")
        source = service.get(body.from_run)
    config_fields = body.model_fields_set - {"from_run", "label", "dataset"}
    created = registry.create(
        service,
        body.to_config(),
        body.dataset,
        label=body.label,
        from_run=source,
        changed=frozenset(config_fields),
        owner=None if teacher else visitor,
    )
    run = created.run
    out = CreatedOut(
        id=run.run_id,
        token=created.token,
        url=f"/runs/{run.run_id}",
        status=StatusOut.model_validate(run.status()),
    )
    response = JSONResponse(out.model_dump(mode="json"), status_code=201)
    if new_visitor:
        response.set_cookie(VISITOR_COOKIE, visitor, max_age=30 * 24 * 3600, httponly=True, samesite="lax")
    return response


def require_teacher(request: Request, settings: SettingsDep) -> None:
    """Only the teacher's token may do this (401 otherwise)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if settings.control_token is None or not (
        scheme.lower() == "bearer" and is_teacher(settings, given.strip())
    ):
        raise HTTPException(401, "only the teacher's token (BPTT_LAB_CONTROL_TOKEN) may do this")


@router.post("/pause-all", dependencies=[Depends(require_teacher)])
def pause_all(service: ServiceDep) -> RunsOut:
    """The teacher pauses every running run."""
    for run in service.listing():
        if run.state is RunState.RUNNING:
            run.pause()
    return RunsOut(runs=[run_out(run) for run in service.listing()])


@router.patch("/visitors", dependencies=[Depends(require_teacher), Depends(require_json)])
def visitors(body: VisitorRuns, settings: SettingsDep) -> VisitorRuns:
    """The teacher closes (or opens again) the creation of runs by visitors."""
    settings.visitor_runs = body.open
    return VisitorRuns(open=settings.visitor_runs)


@router.get("")
def listing(service: ServiceDep) -> RunsOut:
    """Every run of the server: label, state, step, losses, best validation loss, configuration."""
    return RunsOut(runs=[run_out(run) for run in service.listing()])


@router.patch("/{run_id}", dependencies=[PathRunControlDep, Depends(require_json)])
def rename(body: LabelPatch, run: PathRunDep) -> RunOut:
    """Give the run a new label."""
    registry.rename(run, body.label)
    return run_out(run)


@router.delete("/{run_id}", status_code=204, dependencies=[PathRunControlDep])
def delete(run: PathRunDep, service: ServiceDep) -> Response:
    """Delete the run: its weights, checkpoint and history go (the default run cannot)."""
    registry.delete(service, run)
    return Response(status_code=204)


@router.get("/{run_id}/history", response_model=HistoryOut, responses={200: {"content": {"text/csv": {}}}})
def history(run: PathRunDep, format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response:
    """The run's loss history: step, train_loss, val_loss (nats per character), as JSON or CSV."""
    points = run.history()
    if format == "json":
        out_points = HistoryOut.model_validate({"history": points})
        return JSONResponse(out_points.model_dump(mode="json", exclude_none=True))
    out = io.StringIO()
    fields = ["step", "train_loss", "val_loss", "grad_norm", "clipped"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(points)
    name = f"bptt-lab-{run.run_id}-history.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)
