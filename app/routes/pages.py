"""The pages: / and /runs/{id} (templates/page.html, its forms filled from the query), and /runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import PathRunDep, ServiceDep
from app.inspect.views import shell_view
from app.routes.runs import VISITOR_COOKIE
from app.training.proxy import RunProxy
from app.training.service import TrainingService
from app.web import templating, urlstate, views
from app.web.runs import my_runs, run_rows

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, service: ServiceDep) -> Response:
    """The class's run: the Train and Generate panels (and Inspect), configured by the URL."""
    return _page(request, service, service.get())


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, service: ServiceDep, run: PathRunDep) -> Response:
    """The same page, scoped to one run: every request it makes names that run."""
    return _page(request, service, run)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, service: ServiceDep) -> Response:
    """Every run at a glance (templates/runs.html)."""
    context = {
        "rows": run_rows(service),
        "control_locked": service.settings.control_token is not None,
        "visitor_runs": service.settings.visitor_runs,
    }
    return templating.templates.TemplateResponse(request, "runs.html", context)


def _page(request: Request, service: TrainingService, run: RunProxy) -> Response:
    query = request.query_params
    context = views.page_context(
        service, run, urlstate.scale_of(query), urlstate.train_values(query), urlstate.gen_values(query)
    )
    context["inspect_shell"] = shell_view()
    context["my_runs"] = my_runs(service, request.cookies.get(VISITOR_COOKIE))
    return templating.templates.TemplateResponse(request, views.PAGE, context)
