"""How the Inspect panel writes numbers: rounded on the page, exact in hover titles.

fmt(value)    4 significant digits; "∞", "−∞" or "not a number" when not finite
exact(value)  7 significant digits, as every hover title gives it (tests parse these)
sci(value)    a power of ten as the page names a tolerance: 1e-6
Cell          one number on the page: its text, its exact title, a CSS class
Num, num      one number of a Learn step: its text and its full value (a <data value>)
adding(parts) numbers written so that the parts shown add up, digit for digit, to the sum shown
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

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


@dataclass(frozen=True)
class Num:
    """One number of a Learn step: shown rounded, its full float in ``value`` (tests read it)."""

    text: str
    value: str  # repr of the float: every digit there is


def num(value: float, spec: str = ".4g") -> Num:
    """A number as a Learn step writes it."""
    return Num(fmt(float(value), spec), repr(float(value)))


MORE_DECIMALS = 8  # tried past about four significant digits before the sum is written as shown


def adding(parts: Sequence[float], total: float) -> tuple[Num, ...]:
    """``parts`` and ``total`` written with one number of decimals, the fewest (from about four
    significant digits of the largest) at which the parts as shown add up to the total as shown.

    A vector component that a sum of vectors holds is the sum of the components, so written
    this way "receives + computes = holds" can be checked by hand on the page. Where rounding
    in the last bit keeps any number of decimals from adding up, the total is written as the sum
    of the parts as written (off by less than one in its last digit); ``value`` is always exact."""
    values = [*parts, total]
    if not all(math.isfinite(v) for v in values):
        return tuple(num(v) for v in values)
    largest = max(abs(v) for v in values) or 1.0
    first = max(0, 3 - math.floor(math.log10(largest)))

    def written(decimals: int) -> list[Decimal]:
        quantum = Decimal(1).scaleb(-decimals)
        return [Decimal(repr(v)).quantize(quantum) for v in values]

    for decimals in range(first, first + MORE_DECIMALS + 1):
        shown = written(decimals)
        if sum(shown[:-1], Decimal(0)) == shown[-1]:
            break
    else:
        decimals = first + 3
        shown = written(decimals)
        shown[-1] = sum(shown[:-1], Decimal(0))
    return tuple(Num(f"{d:.{decimals}f}", repr(float(v))) for d, v in zip(shown, values, strict=True))
