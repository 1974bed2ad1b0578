"""The gradient-norm chart (app/web/grad_chart.py) and the best point of the loss chart."""

from __future__ import annotations

import itertools
import math
import re

from app.web.charts import loss_chart, loss_chart_svg
from app.web.grad_chart import grad_chart, grad_chart_svg, norm_points


def history(n: int = 40) -> list[dict[str, object]]:
    points: list[dict[str, object]] = []
    for step in range(1, n + 1):
        norm = 10.0 ** (step / 10)  # 1.26 ... 1e4: four decades
        points.append({"step": step, "train_loss": 3.0 - step / n, "grad_norm": norm, "clipped": norm > 100})
        if step % 10 == 0:
            points[-1]["val_loss"] = {10: 2.9, 20: 2.4, 30: 2.6, 40: 2.5}[step]
    return points


def test_the_norm_is_drawn_on_a_log_axis_with_a_mark_where_clipping_acted() -> None:
    points, clipped = norm_points([*history(), {"step": 41, "grad_norm": math.inf}, {"step": 42}])
    assert len(points) == 40 and clipped == [float(s) for s in range(21, 41)]
    chart = grad_chart(history())
    assert chart.points == 40 and chart.clipped == 20 and len(chart.clip_marks) == 20
    assert chart.y_ticks[0].text == "1e0" and chart.y_ticks[-1].text == "1e4"
    ys = [float(p.split(",")[1]) for p in chart.line.split()]
    steps = [b - a for a, b in itertools.pairwise(ys)]
    assert max(steps) - min(steps) < 0.2  # a geometric series is a straight line on a log axis
    svg = grad_chart_svg(history())
    assert 'data-clipped="20"' in svg and svg.count('class="clip-mark"') == 20


def test_no_norms_yet_says_so() -> None:
    svg = grad_chart_svg([{"step": 1, "train_loss": 2.0}])
    assert 'data-points="0"' in svg and "no steps yet" in svg


def test_the_loss_chart_rings_the_lowest_validation_loss() -> None:
    chart = loss_chart(history())
    assert chart.best_text == "2.4000 at step 20"
    svg = loss_chart_svg(history())
    title = re.search(r'data-testid="best-point"><title>([^<]+)</title>', svg)
    assert title and title.group(1) == "best validation J 2.4000 at step 20"
