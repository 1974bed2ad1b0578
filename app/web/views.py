"""Rendering the page and its fragments: one template (templates/page.html), its blocks.

A fragment is a block of page.html rendered alone (jinja2-fragments). Answers
to the page's requests and messages on its event stream are lists of
`<hx-partial>` envelopes (templates/partials/swaps.html), each naming the
element it replaces, so one answer can update several places: the controls,
the numbers, the chart, and the message beside a field.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from pydantic import BaseModel

from app.http.schemas import FieldError, GenerateRequest, TrainRequest
from app.training.presets import PRESETS
from app.training.proxy import RunProxy
from app.training.registry import MAX_LABEL
from app.training.service import GeneratedName, TrainingService
from app.training.states import allows
from app.web import charts, templating
from app.web.grad_chart import grad_chart_svg
from rnn_core.activations import activation_names
from rnn_core.optim import OPTIMIZERS

PAGE = "page.html"
SWAPS = "partials/swaps.html"


#: The blocks of the Train panel that live updates replace.
LIVE_BLOCKS = ("controls", "stats", "chart", "samples")
#: The id of the element each block renders (the target of its swap).
TARGETS = {
    "train_form": "train-form",
    "dataset_select": "train-dataset",
    "my_runs": "my-runs",
    "rows": "runs-rows",
    "compare_live": "compare-live",
}

#: While a run trains, its chart is redrawn at most this often, however many pages stream
#: it (the version changes every step); otherwise it is redrawn whenever the version moves.
CHART_MAX_AGE = 0.5
_chart_cache: dict[tuple[int, str], tuple[Markup, int, float]] = {}


def chart_svg(run: RunProxy, scale: str) -> Markup:
    """The loss chart of `run` at `scale` ("grad": the gradient-norm chart under it), shared by
    every stream and request that wants it."""
    key, now = (id(run), scale), time.monotonic()
    cached = _chart_cache.get(key)
    if cached is not None:
        svg, version, drawn_at = cached
        if version == run.version or (run.state == "running" and now - drawn_at < CHART_MAX_AGE):
            return svg
    if len(_chart_cache) > 8:
        _chart_cache.clear()
    history = run.history()
    drawn = (
        grad_chart_svg(history)
        if scale == "grad"
        else charts.loss_chart_svg(history, scale, run.uniform_loss)
    )
    svg = Markup(drawn)
    _chart_cache[key] = (svg, run.version, now)
    return svg


def form_values(
    model: type[TrainRequest] | type[GenerateRequest], given: Mapping[str, str]
) -> dict[str, str]:
    """Defaults of `model` as form text, overridden by `given`."""
    values = {k: "" if f.default is None else str(f.default) for k, f in model.model_fields.items()}
    values.update(given)
    return values


def form_limits(model: type[BaseModel]) -> dict[str, dict[str, str]]:
    """Each field's bounds as HTML input attributes (min, max, maxlength), read off `model`'s schema."""
    names = {"minimum": "min", "maximum": "max", "maxLength": "maxlength"}
    out = {}
    for name, prop in model.model_json_schema()["properties"].items():
        merged = {k: v for part in (prop, *prop.get("anyOf", ())) for k, v in part.items()}
        out[name] = {
            names[k]: f"{v:g}" if isinstance(v, float) else str(v) for k, v in merged.items() if k in names
        }
    return out


def _plain(value: float) -> str:
    """512.0 as "512", 0.5 as "0.5"."""
    return str(int(value)) if float(value).is_integer() else repr(value)


LIMITS = {"train": form_limits(TrainRequest), "generate": form_limits(GenerateRequest), "label": MAX_LABEL}


def form_text(value: object) -> str:
    """A configuration value as the form holds it: none is empty, a bool is true or false."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def config_values(run: RunProxy) -> dict[str, str]:
    """The training form filled with the run's own configuration."""
    config = run.config.to_dict()
    values = {k: form_text(v) for k, v in config.items()}
    values["dataset"] = run.dataset.source
    return values


def live_context(run: RunProxy, scale: str) -> dict[str, Any]:
    """What the live blocks (controls, stats, chart, samples) need."""
    status = run.status()
    return {
        "status": status,
        "allowed": allows(status["state"]),
        "chart": chart_svg(run, scale),
        "grad_chart": chart_svg(run, "grad"),
        "scale": scale,
        "samples": list(run.samples),
        "stream_url": f"/fragments/stream?scale={scale}"
        + ("" if run.run_id == "default" else f"&run={run.run_id}"),
        "run": {"id": run.run_id, "label": run.meta.label, "default": run.run_id == "default"},
    }


def page_context(
    service: TrainingService,
    run: RunProxy,
    scale: str,
    train_form: Mapping[str, str],
    gen_form: Mapping[str, str],
) -> dict[str, Any]:
    """Everything page.html needs, for the page of `run`."""
    return {
        **live_context(run, scale),
        "train_form": {**config_values(run), **train_form},
        "gen_form": form_values(GenerateRequest, gen_form),
        "generated": None,
        "datasets": dataset_choices(service, run),
        "choices": {"activation": activation_names(), "optimizer": tuple(OPTIMIZERS)},
        "limits": LIMITS,
        "control_locked": service.settings.control_token is not None,
        "presets": list(PRESETS.values()),
    }


def dataset_choices(service: TrainingService, run: RunProxy) -> dict[str, Any]:
    """The data sets the training form offers."""
    uploaded = run.uploaded.summary() if run.uploaded else None
    bundled = service.bundled.summary() if service.bundled else None
    return {"bundled": bundled, "uploaded": uploaded}


def _name_view(n: GeneratedName) -> dict[str, Any]:
    """A generated name as the page shows it."""
    steps = len(n.name) + (1 if n.ended else 0)
    return {**asdict(n), "steps": steps, "p_char": round(math.exp(n.log_prob_per_char), 4)}


def generated_context(
    names: Sequence[GeneratedName], best: GeneratedName, step: int, temperature: float
) -> dict[str, Any]:
    """The Generate panel's result."""
    return {
        "generated": {
            "names": [_name_view(n) for n in names],
            "greedy": _name_view(best),
            "step": step,
            "temperature": f"{temperature:g}",
        }
    }


def render(block: str, context: Mapping[str, Any]) -> Markup:
    """One block of page.html, rendered alone."""
    return templating.render(PAGE, block, context)


def swaps_html(
    context: Mapping[str, Any],
    blocks: Iterable[str] = (),
    notes: Iterable[tuple[str, str, str]] = (),
    template: str = PAGE,
) -> str:
    """`<hx-partial>` envelopes: blocks (of `template`) replacing their elements, notes filling slots."""
    swaps = [(TARGETS.get(name, name), templating.render(template, name, context)) for name in blocks]
    return templating.env.get_template(SWAPS).render(swaps=swaps, notes=list(notes))


def slots(
    form_id: str, fields: Iterable[str], errors: Sequence[FieldError] = ()
) -> list[tuple[str, str, str]]:
    """(slot id, message, kind) for every field of a form: its error, or empty."""
    by_field = {e.field: e.message for e in errors}
    out = [(f"err-{form_id}-{f}", by_field.pop(f, ""), "bad") for f in fields]
    if by_field:  # errors about no field of the form go to its general slot
        message = "; ".join(f"{k} {v}" if k != "body" else v for k, v in by_field.items())
        out.append((f"err-{form_id}", message, "bad"))
    else:
        out.append((f"err-{form_id}", "", "bad"))
    return out


def swaps_response(
    request: Request,
    context: Mapping[str, Any],
    blocks: Iterable[str] = (),
    notes: Iterable[tuple[str, str, str]] = (),
    status_code: int = 200,
    url: str | None = None,
) -> HTMLResponse:
    """An answer to the page: partial swaps, and the new URL when the configuration changed."""
    headers = {"HX-Replace-Url": url} if url else None
    html = swaps_html(context, blocks, notes)
    return HTMLResponse(html, status_code=status_code, headers=headers)
