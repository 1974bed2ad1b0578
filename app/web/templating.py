"""The one Jinja environment of the app: templates/, its filters, and the `ui` macros.

Every page, fragment and Inspect view renders through `templates` (a
jinja2-fragments `Jinja2Blocks`, so a block of a template can be rendered
alone as the fragment htmx swaps in).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2_fragments import render_block
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"

templates = Jinja2Blocks(directory=str(TEMPLATES_DIR))
env = templates.env
env.filters["nats"] = lambda v: "–" if v is None else f"{v:.4f}"
env.filters["thousands"] = lambda v: f"{v:,.0f}"
env.filters["exact"] = lambda v: "not measured yet" if v is None else repr(v)
env.globals["ui"] = env.get_template("partials/ui.html").module


def render(template: str, block: str, context: Mapping[str, Any]) -> Markup:
    """One block of `template`, rendered alone."""
    return Markup(render_block(env, template, block, dict(context)))


#: The scripts set-up puts in static/vendor (from npm); without them the page never goes live.
VENDOR_SCRIPTS = ("vendor/htmx.min.js", "vendor/hx-sse.min.js")
SETUP_HINT = "run ./scripts/setup.sh (it installs htmx from npm), then restart the server"


def missing_scripts(static_dir: Path = STATIC_DIR) -> list[str]:
    """The vendored scripts that are not in place, as paths under static/."""
    return [f"static/{name}" for name in VENDOR_SCRIPTS if not (static_dir / name).is_file()]


def note_missing_scripts(missing: list[str]) -> None:
    """Have every page say which scripts are missing (base.html shows it at the top)."""
    env.globals["missing_scripts"] = missing
    env.globals["setup_hint"] = SETUP_HINT
