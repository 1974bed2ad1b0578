"""How the Inspect panel writes numbers: rounded on the page, exact in hover titles.

fmt(value)    4 significant digits; "∞", "−∞" or "not a number" when not finite
exact(value)  7 significant digits, as every hover title gives it (tests parse these)
sci(value)    a power of ten as the page names a tolerance: 1e-6
Cell          one number on the page: its text, its exact title, a CSS class
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NOT_FINITE = {math.inf: "∞", -math.inf: "−∞"}


def fmt(value: float, spec: str = ".4g") -> str:
    """A value as the page prints it: 4 significant digits; ∞ or "not a number" when not finite."""
    if math.isfinite(value):
        return format(value, spec)
    return NOT_FINITE.get(value, "not a number")


def exact(value: float) -> str:
    """A value as a hover title gives it: 7 significant digits."""
    return f"{value:.6e}" if math.isfinite(value) else fmt(value)


def sci(value: float) -> str:
    """A tolerance or step size in short scientific notation: 1e-6 (not 1e-06), 0.001."""
    text = f"{value:.2g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class Cell:
    """One number on the page: shown rounded, exact in its title, with a highlight class."""

    text: str
    title: str
    css: str = ""


def cell(value: float, css: str = "") -> Cell:
    """A formatted number."""
    return Cell(fmt(value), exact(value), css)
