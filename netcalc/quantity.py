"""Exact parsing of command-line quantities: 400M, 1.6G, 360M:400M, plain integers.

A tiny restricted grammar (digits, one decimal point, one SI suffix): nothing is evaluated.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Optional, Tuple

from .errors import ArgumentError

SUFFIXES = {"": 1, "k": 10 ** 3, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}
# ASCII digits only: Python's \d (and int()) also take Arabic-Indic, fullwidth and other digits
_QUANTITY = re.compile(r"^[ ]*([0-9]{1,30}(?:\.[0-9]{1,30})?|\.[0-9]{1,30})[ ]*([kKMGT]?)[ ]*$",
                       re.ASCII)


def parse_quantity(text: str, option: str = "") -> int:
    """'1.6G' -> 1600000000 exactly; a fraction of a unit left over is an error."""
    match = _QUANTITY.match(str(text))
    if not match:
        raise ArgumentError("", option, f"{str(text)[:40]!r} is not a quantity like 400M, 1.6G "
                                        "or 12000")
    try:
        value = Decimal(match.group(1)) * SUFFIXES[match.group(2)]
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        raise ArgumentError("", option, f"{text!r} is not a number") from None
    if value != value.to_integral_value():
        raise ArgumentError("", option, f"{text!r} is not a whole number of units")
    return int(value)


def parse_range(text: str, option: str = "") -> Tuple[Optional[int], Optional[int]]:
    """'360M:400M' -> (360000000, 400000000); either side may be empty (open)."""
    if ":" not in str(text):
        raise ArgumentError("", option, f"{str(text)[:40]!r} is not a range like 360M:400M")
    lo_text, hi_text = str(text).split(":", 1)
    lo = parse_quantity(lo_text, option) if lo_text.strip() else None
    hi = parse_quantity(hi_text, option) if hi_text.strip() else None
    if lo is not None and hi is not None and lo > hi:
        raise ArgumentError("", option, f"{text!r}: lower bound above upper bound")
    return lo, hi
