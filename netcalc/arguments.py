"""Type and range checks for the arguments of netcalc's public Python functions.

The command line checks its options with click; these give the Python API the same guarantees
(a bad argument is an :class:`~netcalc.errors.ArgumentError` naming the parameter, never a bare
TypeError from deep inside, a silent default, or a NaN result).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

from .errors import ArgumentError


def checked_int(value: Any, name: str, lo: Optional[int] = None, hi: Optional[int] = None) -> int:
    """An int (bool excluded; numpy ints accepted) within [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError("", name, f"expected an integer, got {_kind(value)}")
    value = int(value)
    _in_range(value, name, lo, hi)
    return value


def checked_number(value: Any, name: str, lo: Optional[float] = None,
                   hi: Optional[float] = None, lo_open: bool = False) -> float:
    """A finite real number within [lo, hi] ((lo, hi] with ``lo_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentError("", name, f"expected a number, got {_kind(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ArgumentError("", name, f"expected a finite number, got {value}")
    if lo_open and lo is not None and value <= lo:
        raise ArgumentError("", name, f"{value:g} must be above {lo:g}")
    _in_range(value, name, lo, hi)
    return value


def _in_range(value: Any, name: str, lo: Any, hi: Any) -> None:
    if lo is not None and value < lo:
        raise ArgumentError("", name, f"{_number(value)} is below the minimum {_number(lo)}")
    if hi is not None and value > hi:
        raise ArgumentError("", name, f"{_number(value)} is above the maximum {_number(hi)}")


def _number(value: Any) -> str:
    """An int as written (one too long to show, or to convert to a float, by its size); a
    float in its shortest form."""
    if isinstance(value, int):
        if abs(value) < 10 ** 18:
            return str(value)
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"{'a negative' if value < 0 else 'an'} integer of about {digits} digits"
    return f"{value:g}"


def _kind(value: Any) -> str:
    text = repr(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {shown}"
