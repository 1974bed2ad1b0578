"""What truncation and clipping cost one name, as view models: beside the map, and side by side.

    truncation_view(report, whatif)   the K in force, the cells it drops and how far the
                                      truncated dJ/dW_h is from the full one (beside the map,
                                      templates/partials/inspect/cards.html)
    estimates_view(report, whatif)    three estimates of dJ/dW_h as masks on the T x T map: full,
                                      truncated at K, clipped at c, each with its cosine and
                                      norm ratio to the full gradient (a part drawn on demand,
                                      templates/partials/inspect/estimates.html)

The numbers are rnn_core.estimates' (read off the full trace: no pass of their own). The
truncated gradient keeps the band t - K < k <= t (docs/ARCHITECTURE.md "The model"); clipping
scales the whole gradient by min(1, c / |g|), so it keeps the direction (cosine 1) and changes
only the length (ratio min(1, c / |g|)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.inspect.charts import MAX_DECADES, GammaMap, triangle_map
from app.inspect.numbers import Cell, cell, fmt
from app.inspect.whatif import WhatIf
from app.web.svg import log_range
from rnn_core.estimates import (
    clip_scale,
    cosine_and_ratio,
    dropped_count,
    dropped_mask,
    truncation_cosine_and_ratio,
)
from rnn_core.inspect_report import InspectReport
from rnn_core.optim import global_norm

MINI_MAP = 150.0  # about the pixels each small map's grid takes
Kind = Literal["full", "truncated", "clipped"]


def measure(value: float) -> Cell:
    """A cosine or a ratio: 4 significant digits, "–" where it is undefined (a zero gradient)."""
    c = cell(value)
    return c if np.isfinite(value) else Cell("–", "undefined: the full gradient is zero")


@dataclass(frozen=True)
class TruncView:
    """The truncation in force for this name and what it costs dJ/dW_h (Eq. 5.2 summed over k)."""

    K: int
    source: str  # "run" (the run's config.truncation) or "what-if"
    T: int
    dropped: int  # cells k <= t - K
    cells: int  # T (T + 1) / 2
    cosine: Cell  # cos(dJ^K/dW_h, dJ/dW_h)
    ratio: Cell  # |dJ^K/dW_h| / |dJ/dW_h|


def truncation_view(r: InspectReport, w: WhatIf) -> TruncView | None:
    """None while no K is in force (the run trains full BPTT and no what-if K was asked)."""
    K = w.K
    if K is None:
        return None
    cosine, ratio = truncation_cosine_and_ratio(r.trace, K)
    return TruncView(
        K=K,
        source="what-if" if w.asked_K is not None else "run",
        T=r.T,
        dropped=dropped_count(r.T, K),
        cells=r.T * (r.T + 1) // 2,
        cosine=measure(cosine),
        ratio=measure(ratio),
    )


@dataclass(frozen=True)
class EstimateView:
    """One estimate of dJ/dW_h: the cells it keeps (a mask on the map) and how close it is."""

    kind: Kind
    map: GammaMap
    kept: int  # cells of the triangle it keeps
    cells: int
    cosine: Cell  # to the full dJ/dW_h
    ratio: Cell
    active: bool  # it differs from the full gradient (a K < T; a clip below |g|)


@dataclass(frozen=True)
class EstimatesView:
    estimates: tuple[EstimateView, ...]  # full, truncated, clipped
    K: str  # the K in force, "" for none
    K_source: str  # "run", "what-if" or ""
    clip: str  # the clip norm in force, "" for none
    clip_source: str
    g_norm: Cell  # |g|: the global norm of this name's full gradient (every parameter)
    scale: Cell  # min(1, c / |g|)
    clip_value: str  # the run's element-wise clip ("" when off): said, not drawn


def estimates_view(r: InspectReport, w: WhatIf) -> EstimatesView:
    """Full, truncated at the K in force and clipped at the norm in force, side by side."""
    tr, T = r.trace, r.T
    full = tr.grads["W_h"]
    norms = r.gamma_norms
    span = log_range(norms[np.tril_indices(T)], MAX_DECADES)  # one colour scale for the three
    cells = T * (T + 1) // 2
    K, clip = w.K, w.clip
    dropped = dropped_mask(T, K)
    scale = clip_scale(tr.grads, clip)
    cos_k, ratio_k = truncation_cosine_and_ratio(tr, K)
    cos_c, ratio_c = cosine_and_ratio(full * scale, full)
    cos_f, ratio_f = cosine_and_ratio(full, full)

    def mini(values: np.ndarray, label: str, mask: np.ndarray | None = None) -> GammaMap:
        return triangle_map(values, "", label, fit=MINI_MAP, span=span, dropped=mask)

    estimates = (
        EstimateView("full", mini(norms, "|γₜ⁽ᵏ⁾|"), cells, cells, measure(cos_f), measure(ratio_f), False),
        EstimateView(
            "truncated",
            mini(norms, "|γₜ⁽ᵏ⁾| kept", dropped if K is not None else None),
            cells - dropped_count(T, K),
            cells,
            measure(cos_k),
            measure(ratio_k),
            K is not None and K < T,
        ),
        EstimateView(
            "clipped",
            mini(norms * scale, "|γₜ⁽ᵏ⁾| × scale"),
            cells,
            cells,
            measure(cos_c),
            measure(ratio_c),
            scale < 1.0,
        ),
    )
    return EstimatesView(
        estimates=estimates,
        K="" if K is None else str(K),
        K_source="what-if" if w.asked_K is not None else "run" if K is not None else "",
        clip="" if clip is None else f"{clip:g}",
        clip_source="what-if" if w.asked_clip is not None else "run" if clip is not None else "",
        g_norm=cell(global_norm(tr.grads)),
        scale=Cell(fmt(scale), f"{scale:.6e}"),
        clip_value="" if w.clip_value is None else f"{w.clip_value:g}",
    )
