"""The page's forms: parsed by the API's own request models, refused beside their fields.

`form_model(Model, "train")` is a dependency that reads a form, keeps the
fields the model knows, and validates them; a refusal raises `FormError`,
which app/web/errors.py answers with each message in the slot beside its field
(`err-train-learning_rate`, ...). `refusals("train")` does the same for a
`RunError` raised while acting on a valid form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.http.errors import human_errors, status_for
from app.http.schemas import FORM, FieldError
from app.training.states import RunError
from app.web.errors import FormError

M = TypeVar("M", bound=BaseModel)


def form_model(
    model: type[M], form_id: str, fields: Sequence[str] | None = None
) -> Callable[[Request], Awaitable[M]]:
    """A dependency giving `model` built from the request's form (only `fields`, if given)."""
    keep = tuple(fields or model.model_fields)

    async def parse(request: Request) -> M:
        form = await request.form()
        data = {k: v for k, v in form.items() if k in keep and isinstance(v, str)}
        try:
            return model.model_validate(data, strict=False, context=FORM)  # a form's values are text
        except ValidationError as exc:
            raise FormError(form_id, keep, human_errors(exc.errors())) from None

    return parse


@contextmanager
def refusals(form_id: str, fields: Sequence[str] = ()) -> Iterator[None]:
    """Turn a RunError into the form's refusal, beside its field (or in the form's slot)."""
    try:
        yield
    except RunError as exc:
        error = FieldError(field=exc.field or "body", message=exc.message)
        raise FormError(form_id, fields, [error], status_for(exc)) from None
