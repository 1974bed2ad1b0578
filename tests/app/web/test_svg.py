"""The drawing helpers of app/web/svg.py, and the SVG templates' own escaping."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest

from app.web import svg, templating


def test_log_and_linear_axes_place_values_differently() -> None:
    linear = svg.Axis(1.0, 100.0, 0.0, 100.0)
    log = svg.Axis(1.0, 100.0, 0.0, 100.0, log=True)
    assert linear(10.0) == pytest.approx(100 * 9 / 99)
    assert log(10.0) == pytest.approx(50.0)


def test_ticks() -> None:
    assert svg.nice_ticks(0, 1000, 5) == [0, 200, 400, 600, 800, 1000]
    assert svg.nice_ticks(1.6, 3.4, 4) == [2.0, 2.5, 3.0]
    assert svg.fmt_tick(12000.0) == "12,000" and svg.fmt_tick(0.0123) == "0.0123"
    assert svg.decades(-4, 0, 7) == [-4, -3, -2, -1, 0]
    assert svg.decades(-14, 0, 7) == [-14, -12, -10, -8, -6, -4, -2, 0]


def test_polylines() -> None:
    points = [(float(i), 1.0) for i in range(1001)]
    thinned = svg.thin(points, 100)
    assert len(thinned) <= 101 and thinned[-1] == points[-1]
    assert svg.points_attr([(1.04, 2.0), (3.0, 4.26)]) == "1.0,2.0 3.0,4.3"


def test_colour_maps() -> None:
    assert svg.color_scale(["#000000", "#ffffff"])(0.5) == "#808080"
    ends = svg.DIVERGING.colours(np.array([0.0, 1.0]))
    assert list(ends) == [svg.DIVERGING.hex[0], svg.DIVERGING.hex[-1]]
    middle = svg.DIVERGING.pixels(svg.signed_fractions(np.array([0.0]), 5.0))
    assert middle.shape == (1, 3) and middle.min() > 200  # zero is the pale middle of the map
    assert svg.log_range(np.array([0.0, 3e-3, 20.0]), 14) == (-3, 2)
    assert svg.log_range(np.array([1e-30, 1.0]), 14) == (-14, 0)  # at most 14 decades apart
    np.testing.assert_allclose(svg.log_fractions(np.array([0.0, 1e-3, 10.0]), -3, 1), [0.0, 0.0, 1.0])


def test_colour_legends_tick_their_scale() -> None:
    legend = svg.log_legend(-3, 1, 10.0, 20.0, 200.0, "|x|")
    assert [t.text for t in legend.ticks] == ["1e-3", "1e-2", "1e-1", "1e0", "1e1"]
    assert legend.ticks[0].x == 0 and legend.ticks[-1].x == 200.0
    assert len(legend.swatches) == svg.LEGEND_SWATCHES
    assert [t.text for t in svg.signed_legend(0.5, 0, 0, 100.0, "x").ticks] == ["-0.5", "0", "+0.5"]


def test_png_data_uri_holds_the_pixels() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    uri = svg.png_data_uri(rgb)
    assert uri.startswith("data:image/png;base64,")
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (3, 2)
    idat = png.index(b"IDAT")
    (length,) = struct.unpack(">I", png[idat - 4 : idat])
    raw = zlib.decompress(png[idat + 4 : idat + 4 + length])
    rows = [raw[i * 10 + 1 : (i + 1) * 10] for i in range(2)]  # a filter byte, then 3 RGB pixels
    assert b"".join(rows) == rgb.tobytes()


def test_chart_templates_escape_what_they_draw() -> None:
    """The environment autoescapes .html only; the .svg templates turn it on themselves."""
    parts = templating.env.get_template("charts/parts.svg").module
    legend = svg.colour_legend(svg.SEQUENTIAL, 0, 0, 100.0, "<script>&", [(0.0, "<b>")])
    drawn = str(parts.legend(legend))
    assert "<script>" not in drawn and "&lt;script&gt;&amp;" in drawn and "&lt;b&gt;" in drawn
