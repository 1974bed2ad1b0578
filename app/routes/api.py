"""The JSON API (docs/ARCHITECTURE.md "The web API"), on the default run.

Handlers are plain functions: FastAPI runs them in its thread pool, so waiting
for the run's lock (at most one training step) never blocks the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.deps import ControlDep, RunDep, ServiceDep
from app.http.limits import Upload, accepts
from app.http.schemas import (
    ConfigPatch,
    DatasetOut,
    ErrorOut,
    GenerateRequest,
    GenerateResponse,
    NameOut,
    StatusOut,
    TrainRequest,
)

REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        400: "the body cannot be read (not UTF-8 text, or a broken multipart form)",
        401: "the control token is missing or wrong",
        409: "not possible in the run's current state",
        413: "the body is too large",
        415: "the body must be JSON",
        422: "a value is refused",
    }.items()
}


def require_json(request: Request) -> None:
    """Refuse a body that is not declared as JSON (415) before reading it."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise HTTPException(415, "send the body as JSON (Content-Type: application/json)")


router = APIRouter(prefix="/api", tags=["api"], responses=REFUSALS)
control = [ControlDep]
json_control = [ControlDep, Depends(require_json)]


@router.get("/status")
def status(run: RunDep) -> StatusOut:
    """The run now: state, step, epoch, losses (nats/char), speed, configuration."""
    return StatusOut.model_validate(run.status())


@router.post("/train/start", dependencies=json_control)
def start(body: TrainRequest, service: ServiceDep) -> StatusOut:
    """Start a new run with this configuration (the old one is replaced)."""
    service.start(body.to_config(), body.dataset)
    return StatusOut.model_validate(service.get().status())


@router.post("/train/pause", dependencies=control)
def pause(run: RunDep) -> StatusOut:
    """Stop training after the current step; the run is saved."""
    run.pause()
    return StatusOut.model_validate(run.status())


@router.post("/train/resume", dependencies=control)
def resume(run: RunDep) -> StatusOut:
    """Train again from where the run stopped."""
    run.resume()
    return StatusOut.model_validate(run.status())


@router.post("/train/step", dependencies=control)
def step(run: RunDep) -> StatusOut:
    """Take exactly one training step (the run must not be running)."""
    run.step()
    return StatusOut.model_validate(run.status())


@router.post("/train/reset", dependencies=control)
def reset(service: ServiceDep) -> StatusOut:
    """Fresh weights, step 0, same configuration; not training."""
    service.reset()
    return StatusOut.model_validate(service.get().status())


@router.patch("/train/config", dependencies=json_control)
def configure(body: ConfigPatch, run: RunDep) -> StatusOut:
    """Change the learning rate (or the step budget) of the run, even while it trains."""
    run.configure(**body.changes())
    return StatusOut.model_validate(run.status())


@router.post("/generate", dependencies=[Depends(require_json)])
def generate(body: GenerateRequest, service: ServiceDep) -> GenerateResponse:
    """Names written by the current weights, each with its log-probability and novelty."""
    names, best, at = service.generate(body.count, body.temperature, body.prefix, body.max_length, body.seed)
    return GenerateResponse(
        names=[NameOut.model_validate(n, from_attributes=True) for n in names],
        greedy=NameOut.model_validate(best, from_attributes=True),
        step=at,
    )


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "a .npz file"}},
)
def download_checkpoint(run: RunDep) -> Response:
    """The run as a checkpoint file: weights, optimizer state, step, loss history."""
    data, at = run.checkpoint_file()
    name = f"bptt-lab-step-{at}.npz"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="application/octet-stream", headers=headers)


@router.post("/checkpoint", dependencies=control)
@accepts(Upload.CHECKPOINT)
async def upload_checkpoint(
    file: Annotated[UploadFile, File(description="a checkpoint .npz")], service: ServiceDep
) -> StatusOut:
    """Continue from an uploaded checkpoint; a bad file is refused and the run kept."""
    data = await file.read()
    await run_in_threadpool(service.load_checkpoint, data)
    return StatusOut.model_validate(service.get().status())


@router.post("/dataset", dependencies=control)
@accepts(Upload.NAMES)
async def upload_dataset(
    file: Annotated[UploadFile, File(description="a names file, one per line")],
    service: ServiceDep,
) -> DatasetOut:
    """Check and keep a names file; the next start may train on it (dataset: "uploaded")."""
    data = await file.read()
    dataset = await run_in_threadpool(service.upload_names, data, file.filename or "names.txt")
    return DatasetOut.model_validate(dataset.summary())
