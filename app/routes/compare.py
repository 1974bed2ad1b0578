"""Runs compared: GET /compare?runs=a,b,c (up to four of the server's runs) and its event stream.

The comparison lives in the address. The page (templates/compare.html) follows the
runs over one stream, /fragments/compare/stream?runs=..., which redraws the chart
and the table at most once a second however busy the runs are. An address that
names no run, more than four, or one that does not exist gets the page with a
sentence saying so (404 for a missing run, 422 for too many).

Under the chart, one name is traced under each run's weights of now
(app/inspect/compare.py), on the page and from /fragments/compare/inspect?runs=..&name=..,
which puts the name in the address (HX-Replace-Url); a name that cannot be
inspected is a 422 whose sentence goes beside the name field.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from app.deps import HubDep, ServiceDep
from app.inspect.compare import CompareInspect, Look, compare_inspect
from app.inspect.names import InspectNameError, clean_name
from app.inspect.service import get_inspection
from app.training.service import TrainingService
from app.web import templating, views
from app.web.compare import MAX_COMPARED, compare_chart, compared_runs
from app.web.runs import label_of
from rnn_core.inspect_report import InspectReport, build_report

router = APIRouter(include_in_schema=False)

PAGE = "compare.html"
REDRAW_PERIOD = 1.0  # seconds between two redraws on one stream
#: Sent with a traced name: the name field's refusal slot, emptied.
CLEARED_ERROR = '<span id="compare-name-error" class="field-error" role="alert" hx-swap-oob="true"></span>'


def run_ids(runs: str, service: TrainingService) -> list[str]:
    """The ids the address names, in order, each once; HTTPException saying what is wrong."""
    ids = list(dict.fromkeys(part.strip() for part in runs.split(",") if part.strip()))
    if not ids:
        raise HTTPException(422, "name the runs to compare: /compare?runs=a,b (their ids, from /runs)")
    if len(ids) > MAX_COMPARED:
        raise HTTPException(422, f"at most {MAX_COMPARED} runs side by side ({len(ids)} were named)")
    missing = [i for i in ids if i not in service.runs]
    if missing:
        raise HTTPException(404, f"there is no run {missing[0]!r} (deleted?): pick runs on /runs")
    return ids


def stream_ids(service: ServiceDep, runs: str = "") -> list[str]:
    """The stream's runs, checked before the stream starts (a refusal is a plain 4xx)."""
    return run_ids(runs, service)


def compare_context(service: TrainingService, ids: list[str]) -> dict[str, Any]:
    """The runs, their chart and their table."""
    proxies = [service.get(i) for i in ids]
    histories = [run.history() for run in proxies]
    pairs = zip(proxies, histories, strict=True)
    runs = compared_runs([(run.run_id, label_of(run), dict(run.status()), h) for run, h in pairs])
    chart = compare_chart(runs, histories)
    return {
        "ids": ",".join(ids),
        "runs": runs,
        "chart_svg": templating.render("charts/compare.svg", "chart", {"chart": chart}),
        "most": MAX_COMPARED,
    }


def inspected(service: TrainingService, ids: list[str], name: str) -> CompareInspect:
    """``name`` traced under each run's weights of now; InspectNameError if no run can spell it.

    An empty name takes the default one of the first run (the one the Inspect panel opens on)."""
    proxies = [service.get(i) for i in ids]
    runs = compared_runs([(p.run_id, label_of(p), dict(p.status()), []) for p in proxies])
    name = name.strip() or get_inspection().default_name(proxies[0])
    traced: list[tuple[Look, int, InspectReport | None, str]] = []
    refusals = []
    for proxy, run in zip(proxies, runs, strict=True):
        look = Look(run.id, run.name, run.colour, run.dash, run.marker)
        snap = proxy.snapshot()
        try:
            clean = clean_name(name, snap.vocab)
        except InspectNameError as exc:
            refusals.append(str(exc))
            traced.append((look, snap.step, None, f"this run cannot trace it: {exc}"))
            continue
        m = snap.model
        traced.append((look, snap.step, build_report(m, snap.vocab, clean, compare=(m.activation,)), ""))
    if len(refusals) == len(proxies):
        raise InspectNameError(refusals[0])
    return compare_inspect(name, traced)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, service: ServiceDep) -> Response:
    """Up to four runs side by side: ?runs=a,b (or ?runs=a&runs=b, as /runs's ticks send them)."""
    runs = ",".join(request.query_params.getlist("runs"))
    try:
        context = compare_context(service, run_ids(runs, service))
        context["preset"] = request.query_params.get("preset", "")
        ids = context["ids"].split(",")
        try:
            context["inspected"] = inspected(service, ids, request.query_params.get("name", ""))
        except InspectNameError:  # a shared address with a name these runs cannot spell: the default
            context["inspected"] = inspected(service, ids, "")
    except HTTPException as exc:
        context = {"problem": exc.detail, "most": MAX_COMPARED}
        return templating.templates.TemplateResponse(request, PAGE, context, status_code=exc.status_code)
    return templating.templates.TemplateResponse(request, PAGE, context)


@router.get("/fragments/compare/inspect", response_class=HTMLResponse)
def compare_inspect_fragment(
    request: Request, service: ServiceDep, runs: str = "", name: str = ""
) -> Response:
    """The name traced under each run, or the refusal of the name beside its field."""
    ids = run_ids(runs, service)
    try:
        context = {"inspected": inspected(service, ids, name)}
    except InspectNameError as exc:
        headers = {"HX-Retarget": "#compare-name-error", "HX-Reswap": "innerHTML"}
        return HTMLResponse(str(exc), 422, headers=headers)
    html = templating.render(PAGE, "compare_inspect", context) + CLEARED_ERROR
    return HTMLResponse(
        html, headers={"HX-Replace-Url": compare_url(request, name=context["inspected"].name)}
    )


def compare_url(request: Request, **changes: str) -> str:
    """The compare page's address the request came from, with ``changes`` in its query."""
    params = dict(QueryParams(urlsplit(request.headers.get("hx-current-url") or "").query))
    params.setdefault("runs", request.query_params.get("runs", ""))
    return "/compare?" + urlencode({**params, **changes})


@router.get("/fragments/compare/stream", response_class=EventSourceResponse)
async def compare_stream(
    hub: HubDep, service: ServiceDep, ids: Annotated[list[str], Depends(stream_ids)]
) -> AsyncIterable[ServerSentEvent]:
    """The chart and the table, redrawn as the compared runs move."""
    with hub.subscribe(runs=frozenset(ids)) as subscription:
        yield ServerSentEvent(raw_data=await run_in_threadpool(_live_html, service, ids), id=str(hub.last_id))
        drawn = time.monotonic()
        async for event in subscription:
            wait = REDRAW_PERIOD - (time.monotonic() - drawn)
            if wait > 0:
                await asyncio.sleep(wait)
            subscription.drain()
            if any(i not in service.runs for i in ids):
                return  # a run was deleted: the page keeps what it shows
            drawn = time.monotonic()
            html = await run_in_threadpool(_live_html, service, ids)
            yield ServerSentEvent(raw_data=html, id=str(event.id))


def _live_html(service: TrainingService, ids: list[str]) -> str:
    return views.swaps_html(compare_context(service, ids), ("compare_live",), template=PAGE)
