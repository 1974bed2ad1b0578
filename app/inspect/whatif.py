"""What the Inspect panel is asked to imagine: a truncation K, a clip norm, a deliberate bug.

The panel reads one name under the run's weights. Its what-if bar
(templates/partials/inspect/whatif.html) asks, for that name only and never for the run:

    k_trunc   a truncation K (docs/ARCHITECTURE.md "The model": J(t) keeps k = t-K+1 .. t);
              empty: the run's own config.truncation (None: full BPTT)
    clip      a global clip norm c (empty: the run's own config.clip_norm; None: off)
    bug       one of rnn_core.broken.BUGS, a broken copy of the backward pass; empty: none

``parse_whatif`` checks the three as the query sends them (strings) and refuses a bad one
in words (WhatIfError, a 422 beside the bar); the accepted values travel on in the panel's
hidden state (#whatif-state), so every later request of the panel reads the same ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnn_core.broken import BUGS

MAX_WHATIF_K = 10_000  # any K >= T is full BPTT; a name has at most 41 steps
MAX_WHATIF_CLIP = 1e4  # as TrainConfig.clip_norm


class WhatIfError(ValueError):
    """A what-if value the panel cannot use, said in words; ``field`` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WhatIf:
    """The run's own truncation and clipping, what the student asked instead, and a bug."""

    run_K: int | None = None  # the run's config.truncation
    asked_K: int | None = None  # the what-if K (None: the run's)
    run_clip: float | None = None  # the run's config.clip_norm
    asked_clip: float | None = None
    clip_value: float | None = None  # the run's element-wise clip (said, not drawn)
    bug: str = ""  # a key of rnn_core.broken.BUGS, or "" for the real backward pass

    @property
    def K(self) -> int | None:
        """The truncation in force for this name: the what-if K, else the run's."""
        return self.asked_K if self.asked_K is not None else self.run_K

    @property
    def clip(self) -> float | None:
        """The clip norm in force: the what-if one, else the run's."""
        return self.asked_clip if self.asked_clip is not None else self.run_clip


NO_WHATIF = WhatIf()


def parse_k(raw: str) -> int | None:
    """A what-if K: empty for the run's own, else a whole number from 1 to MAX_WHATIF_K."""
    text = raw.strip()
    if not text:
        return None
    message = (
        f"what-if K must be a whole number from 1 to {MAX_WHATIF_K} (the steps each J(t) reaches "
        f"back; empty: the run's own), not {text[:20]!r}"
    )
    if not text.isdecimal() or len(text) > 6:
        raise WhatIfError("k_trunc", message)
    K = int(text)
    if not 1 <= K <= MAX_WHATIF_K:
        raise WhatIfError("k_trunc", message)
    return K


def parse_clip(raw: str) -> float | None:
    """A what-if clip norm: empty for the run's own, else a number above 0, at most MAX_WHATIF_CLIP."""
    text = raw.strip()
    if not text:
        return None
    message = f"what-if clip norm must be a number above 0 and at most {MAX_WHATIF_CLIP:g}, not {text[:20]!r}"
    try:
        c = float(text)
    except ValueError:
        raise WhatIfError("clip", message) from None
    if not (math.isfinite(c) and 0 < c <= MAX_WHATIF_CLIP):
        raise WhatIfError("clip", message)
    return c


def parse_bug(raw: str) -> str:
    """A bug of rnn_core.broken.BUGS, or "" for none."""
    bug = raw.strip()
    if bug and bug not in BUGS:
        raise WhatIfError("bug", f"no such bug {bug[:30]!r}: pick one of {', '.join(BUGS)} (or none)")
    return bug


def parse_whatif(k_trunc: str = "", clip: str = "", bug: str = "", config: object | None = None) -> WhatIf:
    """The what-if of a request, with the run's truncation and clipping read off ``config``
    (a TrainConfig, or anything without them: full BPTT, no clipping)."""
    return WhatIf(
        run_K=getattr(config, "truncation", None),
        asked_K=parse_k(k_trunc),
        run_clip=getattr(config, "clip_norm", None),
        asked_clip=parse_clip(clip),
        clip_value=getattr(config, "clip_value", None),
        bug=parse_bug(bug),
    )


@dataclass(frozen=True)
class WhatIfView:
    """The what-if bar: the run's settings, the fields as accepted, the bug picked."""

    run_K: str  # "5", or "" for full BPTT
    K: str  # the K in force, or ""
    K_source: str  # "what-if", "run" or "" (none)
    k_field: str  # the what-if K as accepted ("" when the run's is used)
    run_clip: str  # "" when the run does not clip by norm
    clip: str
    clip_field: str
    clip_value: str  # the run's element-wise clip, "" when off
    bug: str
    bugs: tuple[str, ...]  # rnn_core.broken.BUGS, in order


def whatif_view(w: WhatIf) -> WhatIfView:
    """The bar's state, as the template writes it."""
    source = "what-if" if w.asked_K is not None else "run" if w.run_K is not None else ""
    return WhatIfView(
        run_K=_text(w.run_K),
        K=_text(w.K),
        K_source=source,
        k_field=_text(w.asked_K),
        run_clip=_text(w.run_clip),
        clip=_text(w.clip),
        clip_field=_text(w.asked_clip),
        clip_value=_text(w.clip_value),
        bug=w.bug,
        bugs=tuple(BUGS),
    )


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
