"""The page's refusals: each message as an HTML note in the slot beside its field.

A page form that is refused raises `FormError` (app/web/forms.py reads the
forms); its messages go into the slots `err-<form>-<field>` of
templates/page.html. A refused control token on the page is a note beside the
controls (or the token field), not JSON. Every other error keeps the API's
JSON shape (app/http/errors.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.http import control
from app.http.errors import http_error, is_api
from app.http.schemas import FieldError
from app.web import views

#: The page's own words for a refused control token, and the slot each form shows them in.
PAGE_MISSING = "changing the run needs the control token: type it in the token field and press Use"
TOKEN_SLOTS = {"/fragments/token": "token-note", "/fragments/runs/visitors": "err-visitors"}


def token_slot(path: str) -> str:
    """Where the page shows a refused token: beside the control that sent it."""
    parts = path.strip("/").split("/")
    # one of My runs: /fragments/runs/{id}/label or /delete
    if len(parts) == 4 and parts[:2] == ["fragments", "runs"] and parts[3] in ("label", "delete"):
        return f"err-myrun-{parts[2]}"
    return TOKEN_SLOTS.get(path, "err-controls")


class FormError(Exception):
    """A page form refused: messages by field, for the slots of form `form_id`."""

    def __init__(
        self,
        form_id: str,
        fields: Sequence[str],
        errors: list[FieldError],
        status_code: int = 422,
    ) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.form_id, self.fields, self.errors = form_id, list(fields), errors
        self.status_code = status_code


async def _form_error(request: Request, exc: Exception) -> Response:
    """The page's refusal: each message into the slot beside its field."""
    assert isinstance(exc, FormError)
    notes = views.slots(exc.form_id, exc.fields, exc.errors)
    return views.swaps_response(request, {}, notes=notes, status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    """A 401 on the page as a note beside the controls; every other error as the API has it."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 401 or is_api(request):
        return await http_error(request, exc)
    detail = str(exc.detail)
    text = PAGE_MISSING if detail == control.MISSING else f"{detail}: type the right one and press Use"
    slot = token_slot(request.url.path)
    response = views.swaps_response(request, {}, notes=[(slot, text, "bad")], status_code=401)
    response.headers.update(dict(getattr(exc, "headers", None) or {}))
    return response


def install(app: FastAPI) -> None:
    """Register the page's handlers (after app/http/errors.py's, whose 401 this one refines)."""
    app.add_exception_handler(FormError, _form_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
