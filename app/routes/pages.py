"""The page itself: GET / renders templates/page.html, its forms filled from the query string."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import ServiceDep
from app.inspect.views import shell_view
from app.web import templating, urlstate, views

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, service: ServiceDep) -> Response:
    """The Train and Generate panels (and Inspect), configured by the URL."""
    query = request.query_params
    context = views.page_context(
        service, urlstate.scale_of(query), urlstate.train_values(query), urlstate.gen_values(query)
    )
    context["inspect_shell"] = shell_view()
    return templating.templates.TemplateResponse(request, views.PAGE, context)
