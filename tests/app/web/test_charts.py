"""The server-drawn loss chart (app/web/charts.py, templates/charts/loss.svg): data, hover values, scales."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from app.web import charts


def history(n: int, every: int = 10) -> list[dict]:
    """A loss history falling from ln 27 like a real run, with a validation loss every `every`."""
    out = []
    for step in range(1, n + 1):
        point = {"step": step, "train_loss": 1.5 + 1.8 * math.exp(-step / 200)}
        if step % every == 0:
            point["val_loss"] = point["train_loss"] + 0.1
        out.append(point)
    return out


def test_an_empty_history_says_what_to_do() -> None:
    svg = charts.loss_chart_svg([], "linear", math.log(27))
    assert svg.startswith("<svg") and 'data-points="0"' in svg and "press Start" in svg


def test_the_chart_holds_both_series_thinned_and_smoothed() -> None:
    svg = charts.loss_chart_svg(history(1000), "linear", math.log(27))
    assert 'data-points="1000"' in svg and 'data-val-points="100"' in svg
    assert 'data-last-step="1000"' in svg
    for css in ("train-raw", "train-ema", "val-raw", "val-ema", "uniform"):
        assert f'class="{css}"' in svg, css
    raw = re.search(r'class="train-raw" points="([^"]+)"', svg)
    assert raw and len(raw.group(1).split()) <= charts.MAX_DRAWN_POINTS + 1


def test_hover_titles_carry_exact_values() -> None:
    svg = charts.loss_chart_svg(history(400), "log", math.log(27))
    titles = re.findall(r"<rect [^>]*><title>(step [^<]+)</title>", svg)
    assert len(titles) == charts.HOVER_BANDS
    step, loss = re.match(r"step ([\d,]+): train J ([\d.]+)", titles[-1]).groups()  # type: ignore[union-attr]
    expected = 1.5 + 1.8 * math.exp(-int(step.replace(",", "")) / 200)
    assert float(loss) == pytest.approx(expected, abs=1e-4)
    assert 'data-scale="log"' in svg


def test_log_and_linear_charts_place_the_same_losses_differently() -> None:
    linear = charts.loss_chart(history(400), "linear", math.log(27))
    log = charts.loss_chart(history(400), "log", math.log(27))
    for chart in (linear, log):
        values = [float(t.text) for t in chart.y_ticks]
        assert len(values) >= 3 and len({round(b - a, 9) for a, b in itertools.pairwise(values)}) == 1
    linear_gaps = [a.at - b.at for a, b in itertools.pairwise(linear.y_ticks)]
    log_gaps = [a.at - b.at for a, b in itertools.pairwise(log.y_ticks)]
    # Equal steps in value are equal steps on the page, but shrink up a log axis.
    assert linear_gaps == pytest.approx([linear_gaps[0]] * len(linear_gaps), abs=0.2)
    assert all(g1 > g2 for g1, g2 in itertools.pairwise(log_gaps))
    train = next(line for line in log.lines if line.css == "train-raw")
    ys = [float(p.split(",")[1]) for p in train.points.split()]
    assert all(log.frame.top <= y <= log.frame.bottom for y in ys)  # every point inside the plot


def test_the_smoothing_is_not_pulled_to_zero() -> None:
    assert charts.ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])


def test_the_uniform_line_is_drawn_only_inside_the_axis() -> None:
    inside = charts.loss_chart(history(100), "linear", 3.0)  # the losses run from 3.29 down to 2.59
    assert inside.uniform is not None and inside.uniform.value == "3.0000"
    assert charts.loss_chart(history(100), "linear", 50.0).uniform is not None  # the axis grows up to it
    assert charts.loss_chart(history(100), "linear", 2.0).uniform is None  # but not down to it
    assert charts.loss_chart(history(100), "linear", None).uniform is None
