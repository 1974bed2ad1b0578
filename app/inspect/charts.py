"""The Inspect panel's charts as view models: positions, colours and title numbers, no markup.

Each builder turns an InspectReport into a dataclass the matching template under
templates/charts/ draws (the templates hold the SVG, the htmx attributes and the
words of every `<title>`). Heatmap colours are computed here, with the colour maps
of app/web/svg.py: a log scale for |gamma_t(k)|, a diverging one for signed
vectors. Lines and text take their colours from static/inspect.css.

The step k the accumulation table's walk has lit is drawn over three of these
charts by the layers of app/inspect/walk.py, in the charts' own coordinates.

    triangle_map     a (T, T) lower-triangular map of positive values, log colours
    gamma_map        |gamma_t(k)| = |dJ(t)/dh(k)|, row t, column k (Eq. 6.2)
    accumulated_map  gamma(k) = dJ/dh(k) = sum_t gamma_t(k), T x D_h (an embedded image)

The signed vectors and the dJ/dW_h(k) bars are in app/inspect/bars.py.

The decay plot, |gamma_t(k)| / |gamma_t(t)| against t - k, is in app/inspect/decay.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.inspect.numbers import exact, fmt
from app.web.svg import (
    DIVERGING,
    SEQUENTIAL,
    ColourLegend,
    log_fractions,
    log_legend,
    log_range,
    png_data_uri,
    signed_fractions,
    signed_legend,
)
from rnn_core.inspect_report import InspectReport

DROPPED_FILL = "#d5d8de"  # a cell truncation drops: grey, whatever its value
MAX_DECADES = 14  # the log colour scale spans at most this many powers of ten
PLOT_WIDTH = 380.0  # pixels across the unit and step axes of the bars and the gamma(k) map


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


# ----------------------------------------------------------- the T x T map
@dataclass(frozen=True)
class MapCell:
    t: int
    k: int
    x: float
    y: float
    fill: str
    value: str  # the drawn value (|gamma_t(k)| on the panel's map), exact
    text: str  # the same, rounded (the cell's accessible name)
    css: str  # "own" (k = t) or "sent"; "blank" where a Learn map has not filled it yet;
    # "sent dropped" where truncation drops the cell (k <= t - K)


@dataclass(frozen=True)
class GammaMap:
    width: float
    height: float
    size: float  # of a cell
    centre_x: float  # the middle of the grid, where the axis titles sit
    centre_y: float
    columns: tuple[Label, ...]  # k above the grid
    rows: tuple[Label, ...]  # t left of it
    cells: tuple[MapCell, ...]  # the lower triangle k <= t
    legend: ColourLegend
    url: str  # where a click asks for gamma_t(k); "" for a map that is only looked at (Learn)
    T: int
    selected: tuple[int, int]  # the cell that holds the map's one tab stop (roving tabindex)

    @property
    def grid(self) -> tuple[tuple[MapCell, ...], ...]:
        """The cells row by row: row t holds k = 1..t."""
        return tuple(self.cells[t * (t - 1) // 2 : t * (t + 1) // 2] for t in range(1, self.T + 1))


def triangle_map(
    norms: np.ndarray,
    url: str,
    label: str,
    *,
    fit: float = 260.0,
    filled: np.ndarray | None = None,
    selected: tuple[int, int] | None = None,
    span: tuple[int, int] | None = None,
    dropped: np.ndarray | None = None,
) -> GammaMap:
    """A lower-triangular (T, T) map of positive values, row t, column k <= t, log colours.

    ``fit``: about the pixels the grid may take; ``filled``: a (T, T) mask of the cells drawn
    (the others are blank, for a map that fills in step by step); ``span``: the log colour
    scale's (lo, hi) when several maps share one (Compare), else this map's own range;
    ``dropped``: a (T, T) mask of the cells truncation drops, drawn grey (class "dropped")."""
    T = norms.shape[0]
    size = min(22.0, max(9.0, fit / T))  # pixels: the map shrinks only to fit its card
    left, top = 36.0, 26.0
    grid = size * T
    shown_mask = np.tril(np.ones((T, T), dtype=bool)) if filled is None else filled
    lo, hi = span or log_range(norms[np.tril_indices(T)], MAX_DECADES)  # one scale while a map fills in
    fills = SEQUENTIAL.colours(log_fractions(norms, lo, hi))
    if dropped is not None:
        fills = np.where(dropped, DROPPED_FILL, fills)
    gone = np.zeros((T, T), dtype=bool) if dropped is None else dropped
    every = 1 if size >= 13 else 2
    shown = axis_labels(T, every)
    rows_t, cols_k = np.tril_indices(T)  # row by row, k = 1..t: the order the grid reads
    xs = [round(left + k * size, 2) for k in range(T)]
    ys = [round(top + t * size, 2) for t in range(T)]
    cells = tuple(
        MapCell(
            t + 1,
            k + 1,
            xs[k],
            ys[t],
            fill if on else "#ffffff",
            exact(v),
            fmt(v),
            ("own" if k == t else "sent dropped" if off else "sent") if on else "blank",
        )
        for t, k, v, fill, on, off in zip(
            rows_t.tolist(),
            cols_k.tolist(),
            norms[rows_t, cols_k].tolist(),
            fills[rows_t, cols_k].tolist(),
            shown_mask[rows_t, cols_k].tolist(),
            gone[rows_t, cols_k].tolist(),
            strict=True,
        )
    )
    return GammaMap(
        width=round(left + grid + 8, 2),
        height=round(top + grid + 46, 2),
        size=round(size, 2),
        centre_x=round(left + grid / 2, 1),
        centre_y=round(top + grid / 2, 1),
        columns=tuple(Label(round(left + (i + 0.5) * size, 1), top - 4, str(i + 1)) for i in shown),
        rows=tuple(Label(left - 4, round(top + (i + 0.5) * size + 3.5, 1), str(i + 1)) for i in shown),
        cells=cells,
        legend=log_legend(lo, hi, left, top + grid + 22, min(grid, 260.0), label),
        url=url,
        T=T,
        selected=selected if selected and 1 <= selected[1] <= selected[0] <= T else (T, T),
    )


def axis_labels(T: int, every: int) -> list[int]:
    """The 0-based steps labelled on an axis of T: every ``every``-th and the last (which takes
    the place of the one before it when they would touch)."""
    shown = list(range(0, T, every))
    if shown[-1] != T - 1:
        if T - 1 - shown[-1] < every and len(shown) > 1:
            shown[-1] = T - 1
        else:
            shown.append(T - 1)
    return shown


def gamma_map(
    report: InspectReport,
    url: str,
    selected: tuple[int, int] | None = None,
    span: tuple[int, int] | None = None,
    *,
    dropped: np.ndarray | None = None,
    norms: np.ndarray | None = None,
) -> GammaMap:
    """|gamma_t(k)| for k <= t: row t (the loss J(t)), column k (the state h(k)), log colours.

    ``dropped``: the cells a truncation K drops (k <= t - K), drawn grey; ``norms``: other
    |gamma_t(k)| to draw (a broken backward pass's) instead of the report's."""
    values = report.gamma_norms if norms is None else norms
    label = "|γₜ⁽ᵏ⁾|, log scale"
    return triangle_map(values, url, label, selected=selected, span=span, dropped=dropped)


def shared_span(reports: list[InspectReport]) -> tuple[int, int]:
    """One log colour scale over the T x T maps of several reports (Compare's side by side)."""
    values = np.concatenate([r.gamma_norms[np.tril_indices(r.T)] for r in reports])
    return log_range(values, MAX_DECADES)


# ------------------------------------------------------- the T x D_h map
@dataclass(frozen=True)
class MapRow:
    k: int
    y: float
    label: str  # the step number, or "" where labels would crowd
    label_y: float
    norm: str  # |gamma(k)|, exact
    norm_text: str  # the same, rounded
    top_unit: int  # the unit with the largest |gamma(k)[i]|, 1-based
    top_value: str  # gamma(k)[top_unit], exact


@dataclass(frozen=True)
class AccumulatedMap:
    width: float
    height: float
    left: float
    top: float
    plot_width: float
    plot_height: float
    row_height: float
    units: int  # D_h
    image: str  # the T x D_h colours, one pixel a cell, as a data: URI
    rows: tuple[MapRow, ...]
    legend: ColourLegend
    url: str


def accumulated_map(report: InspectReport, url: str) -> AccumulatedMap:
    """gamma(k) = dJ/dh(k) (row k, column: hidden unit i), diverging colours around 0.

    The cells are the pixels of an embedded image (D_h may be in the hundreds);
    each row is a hover and click target carrying |gamma(k)| and its largest entry."""
    acc = report.trace.accumulated
    T, D_h = acc.shape
    row_h = min(14.0, max(6.0, 260.0 / T))
    left, top = 30.0, 14.0
    limit = float(np.abs(acc).max()) or 1.0
    every = math.ceil(11.0 / row_h)  # a label per row while they fit
    rows = []
    for k in range(1, T + 1):
        y = top + (k - 1) * row_h
        i = int(np.argmax(np.abs(acc[k - 1])))
        rows.append(
            MapRow(
                k=k,
                y=round(y, 2),
                label=str(k) if (k - 1) % every == 0 or k == T else "",
                label_y=round(y + row_h / 2 + 3.5, 2),
                norm=exact(float(report.accumulated_norms[k - 1])),
                norm_text=fmt(float(report.accumulated_norms[k - 1])),
                top_unit=i + 1,
                top_value=exact(float(acc[k - 1, i])),
            )
        )
    return AccumulatedMap(
        width=left + PLOT_WIDTH + 6,
        height=round(top + row_h * T + 40, 2),
        left=left,
        top=top,
        plot_width=PLOT_WIDTH,
        plot_height=round(row_h * T, 2),
        row_height=round(row_h, 2),
        units=D_h,
        image=png_data_uri(DIVERGING.pixels(signed_fractions(acc, limit))),
        rows=tuple(rows),
        legend=signed_legend(
            limit, left, top + row_h * T + 20, min(PLOT_WIDTH, 220.0), "γ(k)[i] = ∂J/∂h(k)[i]"
        ),
        url=url,
    )
