"""The page's own endpoints: HTML fragments that htmx swaps in, and the page's event stream.

Each answer is a set of `<hx-partial>` swaps (app/web/views.py): the blocks that
changed, and a note beside every field of the form that was sent (its error,
or nothing). Changes to the configuration come back with HX-Replace-Url, so the
address bar always holds a link that reproduces the view.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Iterable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams, UploadFile

from app.deps import HubDep, PageControlDep, PageRunDep, ServiceDep
from app.http.limits import Upload, accepts
from app.http.schemas import ConfigPatch, FieldError, GenerateRequest, TrainRequest
from app.training.proxy import RunProxy
from app.web import urlstate, views
from app.web.errors import FormError
from app.web.forms import form_model, refusals
from rnn_core.config import config_fields

router = APIRouter(prefix="/fragments", tags=["fragments"], include_in_schema=False)

TRAIN_FIELDS = tuple(TrainRequest.model_fields)
GEN_FIELDS = tuple(GenerateRequest.model_fields)
CHART_PERIOD = 1.0  # seconds between chart redraws on one stream
#: The blocks each kind of event changes (the chart also follows progress, at most every period).
BLOCKS_FOR = {"progress": ("stats",), "sample": ("samples",), "state": ("controls", "stats", "chart")}
ACTIONS = {
    "pause": RunProxy.pause,
    "resume": RunProxy.resume,
    "step": RunProxy.step,
    "reset": RunProxy.reset,
}
#: What a new run's weights (Start, Reset) change: the live blocks, and the names the old ones wrote.
NEW_WEIGHTS_BLOCKS = (*views.LIVE_BLOCKS, "generated")
TrainForm = Annotated[TrainRequest, Depends(form_model(TrainRequest, "train"))]
LIVE_FIELDS = tuple(s.name for s in config_fields() if s.live)  # the fields that change the running run
LiveForm = Annotated[ConfigPatch, Depends(form_model(ConfigPatch, "train", LIVE_FIELDS))]
GenerateForm = Annotated[GenerateRequest, Depends(form_model(GenerateRequest, "generate"))]


def current_query(request: Request) -> QueryParams:
    """The query string of the page that sent this request (htmx's HX-Current-URL)."""
    return QueryParams(urlsplit(request.headers.get("hx-current-url", "")).query)


def new_url(request: Request, changes: dict[str, str]) -> str:
    """The page's URL with `changes` in its query string."""
    return urlstate.merged_url(request.headers.get("hx-current-url"), changes)


def live(request: Request, run: RunProxy) -> dict[str, Any]:
    """The live blocks' context, with the chart scale the page shows."""
    return views.live_context(run, urlstate.scale_of(current_query(request)))


@router.post("/train/start", dependencies=[PageControlDep])
def start(request: Request, body: TrainForm, service: ServiceDep, run: PageRunDep) -> HTMLResponse:
    """Start a new run with the form's configuration."""
    with refusals("train", TRAIN_FIELDS):
        service.start(run, body.to_config(), body.dataset)
    notes = [*views.slots("train", TRAIN_FIELDS), *views.slots("generate", GEN_FIELDS)]
    url = new_url(request, urlstate.train_query(body))
    return views.swaps_response(request, live(request, run), NEW_WEIGHTS_BLOCKS, notes, url=url)


@router.post("/train/{action}", dependencies=[PageControlDep])
def act(
    request: Request,
    action: Literal["pause", "resume", "step", "reset"],
    service: ServiceDep,
    run: PageRunDep,
) -> HTMLResponse:
    """Pause, resume, take one step, or reset the run."""
    with refusals("controls"):
        ACTIONS[action](run)
    if action == "reset":  # the old weights' names and notes go with them
        notes = [("err-controls", "", "ok"), *views.slots("generate", GEN_FIELDS)]
        return views.swaps_response(request, live(request, run), NEW_WEIGHTS_BLOCKS, notes)
    return views.swaps_response(request, live(request, run), views.LIVE_BLOCKS)


def changed_field(request: Request) -> str:
    """Which live field sent the request (htmx names it in HX-Source: `<input id="train-...">`)."""
    source = request.headers.get("hx-source", "")
    return next((f for f in LIVE_FIELDS if source.endswith(f"train-{f}")), "learning_rate")


@router.patch("/train/config", dependencies=[PageControlDep])
def configure(request: Request, body: LiveForm, service: ServiceDep, run: PageRunDep) -> HTMLResponse:
    """Change the learning rate, or the step budget, of the run while it trains."""
    field = changed_field(request)
    value = getattr(body, field)
    optional = next(s.optional for s in config_fields() if s.name == field)
    if value is None and not optional:
        raise FormError("train", LIVE_FIELDS, [FieldError(field=field, message="is required")])
    with refusals("train", LIVE_FIELDS):
        run.configure(**{field: value})
    shown = "off" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:g}"
    note = (f"err-train-{field}", f"now {shown}", "ok")
    url = new_url(request, {field: "" if value is None else str(value)})
    context = live(request, run)
    return views.swaps_response(request, context, ("controls", "stats"), [note], url=url)


@router.post("/generate")
def generate(request: Request, body: GenerateForm, service: ServiceDep, run: PageRunDep) -> HTMLResponse:
    """Names from the current weights, with log-probabilities and novelty."""
    with refusals("generate", GEN_FIELDS):
        names, best, step = service.generate(
            run, body.count, body.temperature, body.prefix, body.max_length, body.seed
        )
    context = views.generated_context(names, best, step, body.temperature)
    url = new_url(request, urlstate.gen_query(body))
    notes = views.slots("generate", GEN_FIELDS)
    return views.swaps_response(request, context, ("generated",), notes, url=url)


@router.post("/token", dependencies=[PageControlDep])
def token(request: Request) -> HTMLResponse:
    """Check the control token the page now sends (a wrong one is refused beside the field)."""
    note = ("token-note", "accepted: this tab's controls now send it", "ok")
    return views.swaps_response(request, {}, notes=[note])


@router.get("/chart")
def chart(
    request: Request, service: ServiceDep, run: PageRunDep, scale: Literal["linear", "log"] = "linear"
) -> HTMLResponse:
    """The loss chart on a linear or log axis (and the stream that keeps it live)."""
    context = views.live_context(run, scale)
    url = new_url(request, {"scale": scale})
    return views.swaps_response(request, context, ("chart", "live"), url=url)


async def uploaded_bytes(request: Request, form_id: str) -> tuple[bytes, str]:
    """The bytes and name of the form's `file` (refused beside it when missing)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = FieldError(field="file", message="choose a file first")
        raise FormError(form_id, ("file",), [error])
    return await upload.read(), upload.filename


@router.post("/dataset", dependencies=[PageControlDep])
@accepts(Upload.NAMES)
async def dataset(request: Request, service: ServiceDep, run: PageRunDep) -> HTMLResponse:
    """Check and keep an uploaded names file; offer it in the data set menu."""
    data, filename = await uploaded_bytes(request, "dataset")
    with refusals("dataset", ("file",)):
        uploaded = await run_in_threadpool(service.upload_names, run, data, filename)
    context = {
        "datasets": views.dataset_choices(service, run),
        "train_form": {"dataset": "uploaded"},
    }
    note = ("err-dataset-file", f"{uploaded.filename}: {len(uploaded.names):,} names", "ok")
    return views.swaps_response(request, context, ("dataset_select",), [note])


@router.post("/checkpoint", dependencies=[PageControlDep])
@accepts(Upload.CHECKPOINT)
async def checkpoint(request: Request, service: ServiceDep, run: PageRunDep) -> HTMLResponse:
    """Continue from an uploaded checkpoint; a bad one is refused beside the file input."""
    data, _ = await uploaded_bytes(request, "checkpoint")
    with refusals("checkpoint", ("file",)):
        await run_in_threadpool(service.load_checkpoint, run, data)
    scale = urlstate.scale_of(current_query(request))
    context = views.page_context(service, run, scale, {}, {})
    note = ("err-checkpoint-file", f"loaded step {run.at_step:,}", "ok")
    blocks = (*views.LIVE_BLOCKS, "train_form")
    return views.swaps_response(request, context, blocks, [note])


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    hub: HubDep, run: PageRunDep, scale: Literal["linear", "log"] = "linear"
) -> AsyncIterable[ServerSentEvent]:
    """The page's live updates: HTML partials for the Train panel, as the run moves."""
    with hub.subscribe(runs=frozenset({run.run_id})) as subscription:
        first = _live_html(run, scale, views.LIVE_BLOCKS)
        yield ServerSentEvent(raw_data=first, id=str(hub.last_id))
        last_chart = time.monotonic()
        async for event in subscription:
            events = [event, *subscription.drain()]
            blocks = {b for e in events for b in BLOCKS_FOR[e.kind]}
            if "chart" in blocks or time.monotonic() - last_chart >= CHART_PERIOD:
                blocks.add("chart")
                last_chart = time.monotonic()
            ordered = [b for b in views.LIVE_BLOCKS if b in blocks]
            yield ServerSentEvent(raw_data=_live_html(run, scale, ordered), id=str(events[-1].id))
            if "chart" in blocks:
                yield ServerSentEvent(event="weights-changed", data={"step": run.at_step})


def _live_html(run: RunProxy, scale: str, blocks: Iterable[str]) -> str:
    """The partials that bring the page's live blocks up to date."""
    return views.swaps_html(views.live_context(run, scale), blocks)
