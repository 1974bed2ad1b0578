"""Refusals in words a person understands: JSON under /api, HTML fragments for the page.

Pydantic's validation errors are turned into one short sentence per field
("learning_rate must be at most 10 (got 50)"). Under /api every 4xx has the
`ErrorOut` shape; elsewhere the page gets each message as a fragment swapped
into the slot beside its field (templates/page.html, block `field_errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.http import control
from app.http.schemas import ErrorOut, FieldError
from app.training.run import RunError
from app.web import views

_TEMPLATES: dict[str, str] = {
    "missing": "is required",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be greater than {gt}",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "must hold only the letters a-z",
    "literal_error": "must be one of {expected}",
    "extra_forbidden": "is not a field this request knows",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: FastAPI's 400 for a body it cannot decode, and what we say instead.
UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_SAID = "the body cannot be read: send UTF-8 text (JSON, or a multipart form for uploads)"
#: The page's own words for a refused control token, and the slot each form shows them in.
PAGE_MISSING = "changing the run needs the control token: type it in the token field and press Use"
TOKEN_SLOTS = {"/fragments/token": "token-note"}


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


def field_name(loc: Sequence[Any]) -> str:
    """The field a pydantic error location points at ("body" for the body as a whole)."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) if parts else "body"


def _plain(value: Any) -> Any:
    """10.0 shown as 10, other values as they are."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 32 else text[:29] + "..."


def human_errors(errors: Sequence[dict[str, Any]]) -> list[FieldError]:
    """One plain sentence per pydantic error."""
    out = []
    for err in errors:
        kind, ctx = err.get("type", ""), err.get("ctx") or {}
        field = field_name(err.get("loc", ()))
        if kind == "json_invalid":
            field, text = "body", f"is not valid JSON ({ctx.get('error', 'parse error')})"
        elif kind in _TEMPLATES:
            text = _TEMPLATES[kind].format(**{k: _plain(v) for k, v in ctx.items()})
            if kind not in ("missing", "extra_forbidden") and "input" in err:
                text += f" (got {_shown(err['input'])})"
        else:
            text = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        out.append(FieldError(field=field, message=text))
    return out


def error_body(detail: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    """The JSON of an API refusal."""
    return ErrorOut(detail=detail, errors=errors or []).model_dump()


def summary(errors: list[FieldError]) -> str:
    """All field messages in one line."""
    return "; ".join(f"{e.field} {e.message}" for e in errors) or "invalid request"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 with one sentence per field."""
    assert isinstance(exc, RequestValidationError)
    errors = human_errors(exc.errors())
    return JSONResponse(error_body(summary(errors), errors), status_code=422)


async def _run_error(request: Request, exc: Exception) -> Response:
    """The run refused an action: 409 (not now) or 422 (not this value)."""
    assert isinstance(exc, RunError)
    field = [FieldError(field=exc.field, message=exc.message)] if exc.field else []
    return JSONResponse(error_body(exc.message, field), status_code=exc.status_code)


async def _form_error(request: Request, exc: Exception) -> Response:
    """The page's refusal: each message into the slot beside its field."""
    assert isinstance(exc, FormError)
    notes = views.slots(exc.form_id, exc.fields, exc.errors)
    return views.swaps_response(request, {}, notes=notes, status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's errors (401, 404, 405, 413, ...) in the API's shape; a 401 on the page as a note."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    detail = str(exc.detail) if exc.status_code != 404 or _is_api(request) else "no such page"
    if exc.status_code == 401 and not _is_api(request):
        return _refused_on_page(request, detail, headers)
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request, headers.get("Allow", "")))
    if exc.status_code == 400 and detail == UNREADABLE_BODY:
        detail = UNREADABLE_SAID
    return JSONResponse(error_body(detail), exc.status_code, headers=headers or None)


def _refused_on_page(request: Request, detail: str, headers: dict[str, str]) -> Response:
    """A refused control token, shown beside the controls (or the token field)."""
    text = PAGE_MISSING if detail == control.MISSING else f"{detail}: type the right one and press Use"
    slot = TOKEN_SLOTS.get(request.url.path, "err-controls")
    response = views.swaps_response(request, {}, notes=[(slot, text, "bad")], status_code=401)
    response.headers.update(headers)
    return response


def allowed_methods(request: Request, allow: str) -> list[str]:
    """Every method this path answers, for a 405's Allow header.

    The router names the methods of the first route at the path (`allow`); when
    several routes share it (GET and POST /api/checkpoint), the schema knows them all.
    """
    methods = {m.strip().upper() for m in allow.split(",") if m.strip()}
    documented = request.app.openapi().get("paths", {}).get(request.url.path, {})
    methods |= {m.upper() for m in documented if m in HTTP_METHODS}
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that keep refusals human (the page's own come from views)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RunError, _run_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(FormError, _form_error)
