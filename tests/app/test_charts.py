"""The server-drawn loss chart (app/web/charts.py): its data, hover values and scales."""

from __future__ import annotations

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


def test_log_and_linear_axes_place_values_differently() -> None:
    linear = charts.Axis(1.0, 100.0, 0.0, 100.0)
    log = charts.Axis(1.0, 100.0, 0.0, 100.0, log=True)
    assert linear(10.0) == pytest.approx(100 * 9 / 99)
    assert log(10.0) == pytest.approx(50.0)


def test_helpers() -> None:
    assert charts.nice_ticks(0, 1000, 5) == [0, 200, 400, 600, 800, 1000]
    assert charts.nice_ticks(1.6, 3.4, 4) == [2.0, 2.5, 3.0]
    assert charts.ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])  # no pull to 0
    points = [(float(i), 1.0) for i in range(1001)]
    thinned = charts.thin(points, 100)
    assert len(thinned) <= 101 and thinned[-1] == points[-1]
    assert charts.color_scale(["#000000", "#ffffff"])(0.5) == "#808080"
