"""The runs as the pages list them: /runs's rows (with a sparkline each) and a visitor's own runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.training.proxy import RunProxy
from app.training.service import TrainingService

SPARK_WIDTH, SPARK_HEIGHT, SPARK_POINTS = 120, 28, 60


def run_rows(service: TrainingService) -> list[dict[str, Any]]:
    """Every run as a row of /runs: its numbers, a sparkline of its train loss, what differs."""
    default = service.default_config.to_dict()
    rows = []
    for run in service.listing():
        status = run.status()
        history = run.history()
        losses = [p["train_loss"] for p in history if isinstance(p.get("train_loss"), float)]
        vals = [
            p["val_loss"]
            for p in history
            if isinstance(p.get("val_loss"), float) and math.isfinite(p["val_loss"])
        ]
        differs = {k: v for k, v in status["config"].items() if default.get(k) != v}
        rows.append(
            {
                "id": run.run_id,
                "label": label_of(run),
                "status": status,
                "best_val_loss": min(vals) if vals else None,
                "spark": sparkline(losses[-SPARK_POINTS:]),
                "differs": ", ".join(f"{k} {v}" for k, v in differs.items()) or "the default configuration",
            }
        )
    return rows


def sparkline(values: Sequence[float]) -> dict[str, Any]:
    """The points of a small line of `values` (its box: SPARK_WIDTH x SPARK_HEIGHT)."""
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return {"points": "", "width": SPARK_WIDTH, "height": SPARK_HEIGHT, "last": None}
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or 1.0
    step = SPARK_WIDTH / (len(finite) - 1)
    points = " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - (v - lo) / span * (SPARK_HEIGHT - 4):.1f}"
        for i, v in enumerate(finite)
    )
    return {"points": points, "width": SPARK_WIDTH, "height": SPARK_HEIGHT, "last": finite[-1]}


def label_of(run: RunProxy) -> str:
    """What a run is called on the pages."""
    return run.meta.label or ("the class's run" if run.run_id == "default" else "(no label)")


def my_runs(service: TrainingService, visitor: str | None) -> list[dict[str, Any]]:
    """The runs this visitor made (their cookie), newest first: what "My runs" lists."""
    if not visitor:
        return []
    mine = [run for run in service.listing() if run.meta.owner == visitor]
    mine.sort(key=lambda run: run.meta.created, reverse=True)
    return [
        {
            "id": run.run_id,
            "label": run.meta.label,
            "shown": label_of(run),
            "state": run.status()["state"],
            "step": run.status()["step"],
        }
        for run in mine
    ]
