"""SVG for the Inspect panel: the gamma maps, the gradient bars and the decay plot.

Every drawn number carries its exact value in a `<title>` (hover), so a person
can read it and a test can parse it. Colours of the heatmaps are computed here
(a log scale for |gamma_t(k)|, a diverging one for signed vectors); lines and
text take their colours from static/inspect.css.

    gamma_heatmap_svg      |gamma_t(k)| = |dJ(t)/dh(k)|, row t, column k (Eq. 6.2)
    accumulated_svg        gamma(k) = dJ/dh(k) = sum_t gamma_t(k), T x D_h (an embedded image)
    vector_svg             one vector across the hidden units (gamma_t(k) on a click)
    dW_h_bars_svg          |dJ/dW_h(k)| per step (Eq. 5.2)
    decay_svg              |gamma_t(k)| / |gamma_t(t)| against t - k, log axis
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Sequence
from html import escape

import numpy as np

from app.web.charts import color_scale, fmt_tick
from rnn_core.inspect_report import Decay, InspectReport

LOG_STOPS = ("#f4f8fb", "#c9dff0", "#7fb3d8", "#3b7fb8", "#17457e", "#0a1f44")  # small -> large
DIVERGING_STOPS = ("#2b5d9c", "#8fb4d9", "#f5f5f2", "#e0967a", "#a8322d")  # -max -> 0 -> +max
LEVELS = 256  # colours are quantised to this many steps
MAX_DECADES = 14  # the log colour scale spans at most this many powers of ten
DECAY_FLOOR = 1e-16  # ratios below this are drawn on the floor of the decay plot
PLOT_WIDTH = 380.0  # pixels across the unit and step axes of the bars and the gamma(k) map


def _palette(stops: Sequence[str]) -> np.ndarray:
    """LEVELS colours, as an array of '#rrggbb' strings, indexable by a quantised value."""
    at = color_scale(stops)
    return np.array([at(i / (LEVELS - 1)) for i in range(LEVELS)])


def _rgb(colours: np.ndarray) -> np.ndarray:
    """'#rrggbb' strings as an (n, 3) uint8 array."""
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.uint8)


LOG_COLOURS = _palette(LOG_STOPS)
DIVERGING_COLOURS = _palette(DIVERGING_STOPS)
DIVERGING_RGB = _rgb(DIVERGING_COLOURS)


def num(value: float) -> str:
    """A value as written in titles: 7 significant digits."""
    return f"{value:.6e}"


# ------------------------------------------------------------------- scales
def log_range(values: np.ndarray) -> tuple[int, int]:
    """Whole decades (lo, hi) covering the positive values, at most MAX_DECADES apart."""
    positive = values[values > 0]
    if positive.size == 0:
        return -1, 0
    hi = math.ceil(math.log10(positive.max()))
    lo = math.floor(math.log10(positive.min()))
    return max(lo, hi - MAX_DECADES), max(hi, lo + 1)


def log_colours(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """'#rrggbb' for each value on a log10 scale from 10^lo to 10^hi (zero: the lowest)."""
    with np.errstate(divide="ignore"):
        scaled = (np.log10(np.maximum(values, 10.0**lo)) - lo) / (hi - lo)
    return LOG_COLOURS[np.clip(scaled * (LEVELS - 1) + 0.5, 0, LEVELS - 1).astype(int)]


def _signed_levels(values: np.ndarray, limit: float) -> np.ndarray:
    scaled = (values / (limit or 1.0) + 1.0) / 2.0
    return np.clip(scaled * (LEVELS - 1) + 0.5, 0, LEVELS - 1).astype(int)


def signed_colours(values: np.ndarray, limit: float) -> np.ndarray:
    """'#rrggbb' for each value on a linear scale from -limit (blue) to +limit (red)."""
    return DIVERGING_COLOURS[_signed_levels(values, limit)]


def signed_rgb(values: np.ndarray, limit: float) -> np.ndarray:
    """The same colours as an (..., 3) uint8 array (for the embedded image)."""
    return DIVERGING_RGB[_signed_levels(values, limit)]


def _svg(css: str, width: float, height: float, label: str, testid: str = "") -> str:
    hook = f' data-testid="{testid}"' if testid else ""
    return (
        f'<svg class="{css}" width="{width:g}" height="{height:g}" viewBox="0 0 {width:g} {height:g}" '
        'role="img" '
        f'aria-label="{escape(label)}"{hook}>'
    )


def _colour_bar(
    colours: np.ndarray, x: float, y: float, width: float, label: str, ticks: list[tuple[float, str]]
) -> str:
    """A horizontal bar of ``colours`` with text ticks at fractions of its width."""
    n = 40
    step = width / n
    parts = [f'<g class="legend" transform="translate({x:g},{y:g})">']
    for i in range(n):
        colour = colours[round(i / (n - 1) * (LEVELS - 1))]
        parts.append(f'<rect x="{i * step:.2f}" y="0" width="{step + 0.3:.2f}" height="8" fill="{colour}"/>')
    for frac, text in ticks:
        xx = frac * width
        parts.append(
            f'<line class="tick-mark" x1="{xx:.1f}" x2="{xx:.1f}" y1="8" y2="11"/>'
            f'<text class="tick" x="{xx:.1f}" y="20" text-anchor="middle">{text}</text>'
        )
    parts.append(f'<text class="legend-label" x="0" y="-3">{escape(label)}</text></g>')
    return "".join(parts)


def log_legend(lo: int, hi: int, x: float, y: float, width: float, label: str) -> str:
    """The log colour scale from 10^lo to 10^hi, ticks at whole decades."""
    every = max(1, math.ceil((hi - lo) / 6))
    ticks = [((e - lo) / (hi - lo), f"1e{e}") for e in range(lo, hi + 1, every)]
    return _colour_bar(LOG_COLOURS, x, y, width, label, ticks)


def signed_legend(limit: float, x: float, y: float, width: float, label: str) -> str:
    """The diverging colour scale from -limit through 0 to +limit."""
    ticks = [(0.0, f"-{limit:.2g}"), (0.5, "0"), (1.0, f"+{limit:.2g}")]
    return _colour_bar(DIVERGING_COLOURS, x, y, width, label, ticks)


# ----------------------------------------------------------- the T x T map
def gamma_heatmap_svg(report: InspectReport, vector_url: str) -> str:
    """|gamma_t(k)| for k <= t: row t (the loss J(t)), column k (the state h(k)), log colours.

    A click on a cell asks ``vector_url?t=..&k=..`` (htmx) for that gamma_t(k) across
    the hidden units, sending the inspected name and weights from ``#inspect-state``."""
    T, norms = report.T, report.gamma_norms
    cell = min(26.0, max(13.0, 300.0 / T))  # pixels: the map shrinks only to fit its card
    left, top = 36.0, 26.0
    grid = cell * T
    width, height = left + grid + 8, top + grid + 46
    lower = norms[np.tril_indices(T)]
    lo, hi = log_range(lower)
    colours = log_colours(norms, lo, hi)
    parts = [
        _svg("inspect-chart gamma-map", width, height, "|gamma_t(k)| heatmap", "gamma-heatmap"),
        f'<text class="axis-title" x="{left + grid / 2:g}" y="9" text-anchor="middle">'
        "column k: the state h(k)</text>",
        f'<text class="axis-title" transform="rotate(-90)" x="{-(top + grid / 2):g}" y="9" '
        'text-anchor="middle">row t: the loss J(t)</text>',
    ]
    label_every = 1 if T <= 20 else 2
    for i in range(T):
        if i % label_every == 0 or i == T - 1:
            c = left + (i + 0.5) * cell
            r = top + (i + 0.5) * cell
            parts.append(
                f'<text class="tick" x="{c:.1f}" y="{top - 4:g}" text-anchor="middle">'
                f"{i + 1}</text>"
                f'<text class="tick" x="{left - 4:g}" y="{r + 3.5:.1f}" text-anchor="end">'
                f"{i + 1}</text>"
            )
    url = escape(vector_url)
    parts.append(
        '<g class="cells" hx-include:inherited="#inspect-state" '
        'hx-target:inherited="#gamma-vector" hx-swap:inherited="outerHTML" '
        'hx-sync:inherited="#inspect-result:replace">'
    )
    for t in range(1, T + 1):
        y = top + (t - 1) * cell
        for k in range(1, t + 1):
            value = norms[t - 1, k - 1]
            kind = "own" if k == t else "sent"
            parts.append(
                f'<rect class="g-cell {kind}" data-t="{t}" data-k="{k}" '
                f'x="{left + (k - 1) * cell:g}" y="{y:g}" width="{cell:g}" height="{cell:g}" '
                f'fill="{colours[t - 1, k - 1]}" hx-get="{url}?t={t}&amp;k={k}">'
                f"<title>|γ_{t}({k})| = |∂J({t})/∂h({k})| = {num(value)}</title></rect>"
            )
    parts.append("</g>")
    parts.append(log_legend(lo, hi, left, top + grid + 22, min(grid, 260.0), "|γ_t(k)|, log scale"))
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------- the T x D_h map
def png_data_uri(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a data: URI holding a PNG (no filter, deflate)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(rgb, dtype=np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            chunk(b"IDAT", zlib.compress(raw, 6)),
            chunk(b"IEND", b""),
        ]
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def accumulated_svg(report: InspectReport, vector_url: str) -> str:
    """gamma(k) = dJ/dh(k) (row k, column: hidden unit i), diverging colours around 0.

    The T x D_h cells are one pixel each of an embedded image (D_h may be in the
    hundreds); each row is a hover target whose title gives |gamma(k)| and its
    largest entry, and a click shows gamma(k) unit by unit with every exact value."""
    acc = report.trace.accumulated
    T, D_h = acc.shape
    cw = PLOT_WIDTH / D_h  # one image pixel per unit, stretched
    ch = min(14.0, max(6.0, 260.0 / T))
    left, top = 30.0, 14.0
    plot_w = cw * D_h
    width, height = left + plot_w + 6, top + ch * T + 40
    limit = float(np.abs(acc).max()) or 1.0
    image = png_data_uri(signed_rgb(acc, limit))
    url = escape(vector_url)
    parts = [
        _svg("inspect-chart accumulated-map", width, height, "accumulated gamma(k) heatmap"),
        f'<text class="axis-title" x="{left:g}" y="10">hidden unit i = 1 … {D_h}</text>',
        f'<image x="{left:g}" y="{top:g}" width="{plot_w:g}" height="{ch * T:g}" '
        f'preserveAspectRatio="none" href="{image}"/>',
        '<g class="acc-rows" hx-include:inherited="#inspect-state" '
        'hx-target:inherited="#gamma-vector" hx-swap:inherited="outerHTML" '
        'hx-sync:inherited="#inspect-result:replace">',
    ]
    norms = report.accumulated_norms
    every = math.ceil(11.0 / ch)  # a label per row while they fit
    for k in range(1, T + 1):
        y = top + (k - 1) * ch
        row = acc[k - 1]
        i = int(np.argmax(np.abs(row)))
        label = k if (k - 1) % every == 0 or k == T else ""
        parts.append(
            f'<g class="acc-row" data-k="{k}"><text class="tick" x="{left - 4:g}" '
            f'y="{y + ch / 2 + 3.5:g}" text-anchor="end">{label}</text>'
            f'<rect class="acc-hit" data-k="{k}" x="{left:g}" y="{y:g}" width="{plot_w:g}" '
            f'height="{ch:g}" hx-get="{url}?t=0&amp;k={k}">'
            f"<title>γ({k}) = ∂J/∂h({k}): |γ({k})| = {num(norms[k - 1])}, largest entry "
            f"γ({k})[{i + 1}] = {num(row[i])}. Click for every unit.</title></rect></g>"
        )
    parts.append("</g>")
    parts.append(signed_legend(limit, left, top + ch * T + 20, min(plot_w, 220.0), "γ(k)[i] = ∂J/∂h(k)[i]"))
    parts.append("</svg>")
    return "".join(parts)


def vector_svg(values: np.ndarray, label: str, symbol: str) -> str:
    """One vector across the hidden units as signed bars, each with its value in a title."""
    D_h = values.size
    bw = (PLOT_WIDTH + 26.0) / D_h
    mid, half = 40.0, 34.0
    left = 4.0
    width, height = left + bw * D_h + 4, 2 * mid
    limit = float(np.abs(values).max()) or 1.0
    colours = signed_colours(values, limit)
    parts = [
        _svg("inspect-chart vector", width, height, label),
        f'<line class="zero" x1="{left:g}" x2="{width - 4:g}" y1="{mid:g}" y2="{mid:g}"/>',
    ]
    for i, v in enumerate(values):
        size = abs(v) / limit * half
        y = mid - size if v > 0 else mid
        parts.append(
            f'<rect x="{left + i * bw:g}" y="{y:.2f}" width="{bw * 0.9:.2f}" '
            f'height="{max(size, 0.3):.2f}" fill="{colours[i]}">'
            f"<title>{escape(symbol)}[{i + 1}] = {num(v)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------ dJ/dW_h(k)
def dW_h_bars_svg(report: InspectReport) -> str:
    """|dJ/dW_h(k)| for k = 1..T (Eq. 5.2): what each step adds to dJ/dW_h."""
    values = report.dW_h_norms
    T = values.size
    bw = PLOT_WIDTH / T
    every = math.ceil(16.0 / bw)  # a step number under each bar while they fit
    left, top, plot = 30.0, 8.0, 70.0
    width, height = left + bw * T + 6, top + plot + 18
    limit = float(values.max()) or 1.0
    parts = [
        _svg("inspect-chart dwh-bars", width, height, "|dJ/dW_h(k)| per step"),
        f'<text class="tick" x="{left - 4:g}" y="{top + 4:g}" text-anchor="end">'
        f"{fmt_tick(float(f'{limit:.2g}'))}</text>",
        f'<text class="tick" x="{left - 4:g}" y="{top + plot:g}" text-anchor="end">0</text>',
    ]
    for k in range(1, T + 1):
        v = values[k - 1]
        size = v / limit * plot
        x = left + (k - 1) * bw
        parts.append(
            f'<g class="dwh-bar" data-k="{k}"><rect x="{x + 1:g}" y="{top + plot - size:.2f}" '
            f'width="{bw - 2:g}" height="{max(size, 0.5):.2f}">'
            f"<title>|∂J/∂W_h({k})| = {num(v)} (Eq. 5.2)</title></rect>"
            f'<text class="tick" x="{x + bw / 2:g}" y="{height - 3:g}" text-anchor="middle">'
            f"{k if (k - 1) % every == 0 or k == T else ''}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------ decay plot
def _decay_axis(decays: Sequence[Decay]) -> tuple[int, int]:
    """Decades of the y axis: from the smallest finite median (or the floor) up to >= 1."""
    values = np.concatenate([d.median for d in decays])
    values = values[np.isfinite(values) & (values > 0)]
    lo = math.floor(math.log10(max(values.min(), DECAY_FLOOR))) if values.size else -4
    hi = max(0, math.ceil(math.log10(values.max()))) if values.size else 0
    return min(lo, hi - 1), hi


def decay_svg(report: InspectReport) -> str:
    """The median over t of |gamma_t(k)| / |gamma_t(t)| against t - k, one line per activation.

    The model's own activation is drawn solid with each t faint behind it and its
    bound (max sigma' |W_h|_2)^(t - k) dashed; the other activations are dashed."""
    decays = report.decays
    T = report.T
    left, right, top, bottom = 44.0, 10.0, 30.0, 30.0
    width, height = 460.0, 250.0
    lo, hi = _decay_axis(decays)
    x_span = max(T - 1, 1)

    def px(d: float) -> float:
        return left + d / x_span * (width - left - right)

    def py(v: float) -> float:
        e = math.log10(max(v, 10.0**lo))
        return top + (hi - min(e, hi)) / (hi - lo) * (height - top - bottom)

    parts = [
        _svg("inspect-chart decay", width, height, "gamma decay by distance", "gamma-decay"),
        f'<rect class="frame" x="{left:g}" y="{top:g}" width="{width - left - right:g}" '
        f'height="{height - top - bottom:g}"/>',
    ]
    every = max(1, math.ceil((hi - lo) / 7))
    for e in range(lo, hi + 1, every):
        y = py(10.0**e)
        parts.append(
            f'<line class="grid" x1="{left:g}" x2="{width - right:g}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 4:g}" y="{y + 3.5:.1f}" text-anchor="end">1e{e}</text>'
        )
    x_every = max(1, math.ceil(x_span / 10))
    for d in range(0, T, x_every):
        parts.append(
            f'<text class="tick" x="{px(d):.1f}" y="{height - bottom + 13:g}" text-anchor="middle">{d}</text>'
        )
    parts.append(
        f'<text class="axis-title" x="{width - right:g}" y="{height - 3:g}" text-anchor="end">'
        "distance t − k</text>"
    )
    own = decays[0]
    faint = []
    for t in range(2, T + 1):
        pts = " ".join(f"{px(d):.1f},{py(own.ratios[t - 1, d]):.1f}" for d in range(t))
        faint.append(f'<polyline class="decay-each" points="{pts}"/>')
    parts.append('<g class="decay-each-t">' + "".join(faint) + "</g>")
    rate = own.rate_bound
    bound = " ".join(f"{px(d):.1f},{py(min(rate**d, 10.0**hi)):.1f}" for d in range(T))
    parts.append(
        f'<polyline class="decay-bound" points="{bound}"><title>bound ({own.max_slope:g} × '
        f"‖W_h‖₂ = {rate:.4g})^(t−k)</title></polyline>"
    )
    for n, dec in enumerate(decays):
        css = f"decay-line act-{n}"
        pts = [(d, dec.median[d]) for d in range(T) if np.isfinite(dec.median[d])]
        coords = " ".join(f"{px(d):.1f},{py(v):.1f}" for d, v in pts)
        parts.append(f'<g class="{css}" data-activation="{dec.activation}">')
        parts.append(f'<polyline points="{coords}"/>')
        for d, v in pts:
            parts.append(
                f'<circle cx="{px(d):.1f}" cy="{py(v):.1f}" r="2.6" data-d="{d}">'
                f"<title>{dec.activation}, t − k = {d}: median |γ_t(k)|/|γ_t(t)| = {num(v)} "
                f"(mean {num(dec.mean[d])})</title></circle>"
            )
        parts.append("</g>")
    parts.append(_decay_legend(decays, left, 9.0))
    parts.append("</svg>")
    return "".join(parts)


def _decay_legend(decays: Sequence[Decay], x: float, y: float) -> str:
    """Two rows above the plot: the activations, then the bound."""
    out = [f'<g class="legend" transform="translate({x:g},{y:g})">']
    xx = 0.0
    for n, dec in enumerate(decays):
        text = dec.activation + (" (this model)" if n == 0 else "")
        out.append(
            f'<g class="decay-line act-{n}"><line x1="{xx:g}" x2="{xx + 18:g}" y1="-3" y2="-3"/></g>'
            f'<text class="legend-label" x="{xx + 22:g}" y="0">{text}</text>'
        )
        xx += 36 + 6 * len(text)  # about 6 px a character at the legend's size
    own = decays[0]
    out.append(
        '<line class="decay-bound" x1="0" x2="18" y1="10" y2="10"/>'
        f'<text class="legend-label" x="22" y="13">bound for {own.activation}: '
        f"({own.max_slope:g} × ‖W_h‖₂)^(t−k) = {own.rate_bound:.3g}^(t−k)</text></g>"
    )
    return "".join(out)
