"""Refusals in words a person understands, with the status code each kind of error maps to.

Pydantic's validation errors are turned into one short sentence per field
("learning_rate must be at most 10 (got 50)"). Every 4xx of the API has the
`ErrorOut` shape. A run's refusals (app/training/states.py) carry no status:
`status_for` maps them here, at the HTTP edge. The page's own refusals (HTML
notes beside its fields) are app/web/errors.py's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.http.schemas import ErrorOut, FieldError
from app.training.registry import QuotaError
from app.training.states import NoSuchRunError, NotNowError, RefusedError, RunError

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
#: The status code of each kind of refusal a run gives.
RUN_ERROR_STATUS: dict[type[RunError], int] = {
    NoSuchRunError: 404,
    QuotaError: 429,
    NotNowError: 409,
    RefusedError: 422,
}


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


def human_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
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


def is_api(request: Request) -> bool:
    """Whether the request is one of the JSON API's (under /api)."""
    return request.url.path.startswith("/api")


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 with one sentence per field."""
    assert isinstance(exc, RequestValidationError)
    errors = human_errors(exc.errors())
    return JSONResponse(error_body(summary(errors), errors), status_code=422)


def status_for(exc: RunError) -> int:
    """The HTTP status of a run's refusal: 404 (no such run), 409 (not now), 422 (not this value)."""
    return next((RUN_ERROR_STATUS[kind] for kind in type(exc).__mro__ if kind in RUN_ERROR_STATUS), 409)


async def _run_error(request: Request, exc: Exception) -> Response:
    """The run refused an action, as JSON naming the field at fault."""
    assert isinstance(exc, RunError)
    field = [FieldError(field=exc.field, message=exc.message)] if exc.field else []
    return JSONResponse(error_body(exc.message, field), status_code=status_for(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's errors (401, 404, 405, 413, ...) in the API's shape."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    detail = str(exc.detail) if exc.status_code != 404 or is_api(request) else "no such page"
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request, headers.get("Allow", "")))
    if exc.status_code == 400 and detail == UNREADABLE_BODY:
        detail = UNREADABLE_SAID
    return JSONResponse(error_body(detail), exc.status_code, headers=headers or None)


def allowed_methods(request: Request, allow: str) -> list[str]:
    """Every method this path answers, for a 405's Allow header.

    The router names the methods of the first route at the path (`allow`); when
    several routes share it (GET and POST /api/checkpoint), the schema knows them all.
    """
    methods = {m.strip().upper() for m in allow.split(",") if m.strip()}
    path = request.url.path
    paths = request.app.openapi().get("paths", {})
    # A path the schema names itself (/api/runs/pause-all) is not also an instance of a template.
    matching = [paths[path]] if path in paths else [d for tpl, d in paths.items() if path_matches(tpl, path)]
    for documented in matching:
        methods |= {m.upper() for m in documented if m in HTTP_METHODS}
    return sorted(methods)


def path_matches(template: str, path: str) -> bool:
    """Whether `path` is an instance of the schema's `template` (/api/runs/{run_id}/status)."""
    parts = [re.escape(part) for part in re.split(r"\{[^}/]+\}", template)]
    return re.fullmatch("[^/]+".join(parts), path) is not None


def install(app: FastAPI) -> None:
    """Register the handlers that keep the API's refusals human (the page's: app/web/errors.py)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RunError, _run_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
