"""The JSON API of one run (docs/ARCHITECTURE.md "The web API"): /api/... and /api/runs/{run_id}/...

The same handlers serve both: `/api/status` and the rest act on the default
run, `/api/runs/{run_id}/status` and the rest on the run named (404 naming an
unknown one). Changing the default run needs the teacher's token when one is
set; changing another run needs its own token or the teacher's.

Handlers are plain functions: FastAPI runs them in its thread pool, so waiting
for a worker's answer never blocks the event loop. (No `from __future__ import
annotations` here: the handlers' `Run` annotation is local to the function that
registers them, and FastAPI must see it evaluated.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.deps import ControlDep, PathRunControlDep, ServiceDep, get_path_run, get_run
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
from app.training.proxy import RunProxy

REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        400: "the body cannot be read (not UTF-8 text, or a broken multipart form)",
        401: "the control token (or the run's token) is missing or wrong",
        403: "the token is another run's",
        404: "there is no run with this id",
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


def add_run_routes(router: APIRouter, run_dep: Any, control: Any) -> None:
    """Register the routes of one run on `router`: the run comes from `run_dep`, control from `control`."""
    Run = Annotated[RunProxy, Depends(run_dep)]
    controlled = [control]
    json_controlled = [control, Depends(require_json)]

    @router.get("/status")
    def status(run: Run) -> StatusOut:
        """The run now: state, step, epoch, losses (nats/char), speed, configuration."""
        return StatusOut.model_validate(run.status())

    @router.post("/train/start", dependencies=json_controlled)
    def start(body: TrainRequest, run: Run, service: ServiceDep) -> StatusOut:
        """Start the run anew with this configuration (what it was is replaced)."""
        service.start(run, body.to_config(), body.dataset)
        return StatusOut.model_validate(run.status())

    @router.post("/train/pause", dependencies=controlled)
    def pause(run: Run) -> StatusOut:
        """Stop training after the current step; the run is saved."""
        run.pause()
        return StatusOut.model_validate(run.status())

    @router.post("/train/resume", dependencies=controlled)
    def resume(run: Run) -> StatusOut:
        """Train again from where the run stopped."""
        run.resume()
        return StatusOut.model_validate(run.status())

    @router.post("/train/step", dependencies=controlled)
    def step(run: Run) -> StatusOut:
        """Take exactly one training step (the run must not be running)."""
        run.step()
        return StatusOut.model_validate(run.status())

    @router.post("/train/reset", dependencies=controlled)
    def reset(run: Run) -> StatusOut:
        """Fresh weights, step 0, same configuration; not training."""
        run.reset()
        return StatusOut.model_validate(run.status())

    @router.patch("/train/config", dependencies=json_controlled)
    def configure(body: ConfigPatch, run: Run) -> StatusOut:
        """Change what may change while the run trains: learning rate, max steps, pace."""
        run.configure(**body.changes())
        return StatusOut.model_validate(run.status())

    @router.post("/generate", dependencies=[Depends(require_json)])
    def generate(body: GenerateRequest, run: Run, service: ServiceDep) -> GenerateResponse:
        """Names written by the current weights, each with its log-probability and novelty."""
        names, best, at = service.generate(
            run, body.count, body.temperature, body.prefix, body.max_length, body.seed
        )
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
    def download_checkpoint(run: Run) -> Response:
        """The run as a checkpoint file: weights, optimizer state, step, loss history."""
        data, at = run.checkpoint_file()
        name = f"bptt-lab-step-{at}.npz"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type="application/octet-stream", headers=headers)

    @router.post("/checkpoint", dependencies=controlled)
    @accepts(Upload.CHECKPOINT)
    async def upload_checkpoint(
        file: Annotated[UploadFile, File(description="a checkpoint .npz")], run: Run, service: ServiceDep
    ) -> StatusOut:
        """Continue from an uploaded checkpoint; a bad file is refused and the run kept."""
        data = await file.read()
        await run_in_threadpool(service.load_checkpoint, run, data)
        return StatusOut.model_validate(run.status())

    @router.post("/dataset", dependencies=controlled)
    @accepts(Upload.NAMES)
    async def upload_dataset(
        file: Annotated[UploadFile, File(description="a names file, one per line")],
        run: Run,
        service: ServiceDep,
    ) -> DatasetOut:
        """Check and keep a names file for the run; its next start may train on it ("uploaded")."""
        data = await file.read()
        dataset = await run_in_threadpool(service.upload_names, run, data, file.filename or "names.txt")
        return DatasetOut.model_validate(dataset.summary())


router = APIRouter(prefix="/api", tags=["api"], responses=REFUSALS)
add_run_routes(router, get_run, ControlDep)
run_router = APIRouter(prefix="/api/runs/{run_id}", tags=["runs"], responses=REFUSALS)
add_run_routes(run_router, get_path_run, PathRunControlDep)
