"""What each dimension of a design space may hold, and exact reading of its numbers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

from ..families import anynet
from ..fields import Fields, describe
from ..limits import MAX_CHANNELS, MAX_STAGE_DEPTH



@dataclass(frozen=True)
class Bounds:
    """What a dimension may hold: integers or reals, and the range the network families accept."""

    integer: bool
    lo: float
    hi: float
    lo_open: bool = False     # wm > 1


DIM_BOUNDS = {
    "depth": Bounds(True, 1, MAX_STAGE_DEPTH),
    "width": Bounds(True, 1, MAX_CHANNELS),
    "group_w": Bounds(True, 1, MAX_CHANNELS),
    "bot_mul": Bounds(False, 1 / 64, 64.0),
    "w0": Bounds(True, 1, MAX_CHANNELS),
    "wa": Bounds(False, 0.0, float(MAX_CHANNELS)),
    "wm": Bounds(False, 1.0, 64.0, lo_open=True),
}


def list_fields(fields: Fields, key: str, items: Sequence[Any]) -> Fields:
    """The entries of a list as a Fields view whose keys are indices (paths like ``range[1]``)."""
    return Fields(dict(enumerate(items)), fields.source, fields.sub_path(key))


def checked_number(fields: Fields, key: Any, value: Any, bounds: Bounds) -> Decimal:
    """A bounded number of a domain, as an exact Decimal (0.1 stays 0.1, not 0.1000000000000000055)."""
    if isinstance(value, float) and bounds.integer and value.is_integer() and abs(value) < 2 ** 53:
        value = int(value)
    kind = (int,) if bounds.integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        want = "an integer" if bounds.integer else "a number"
        raise fields.error(key, f"expected {want}, got {describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fields.error(key, f"expected a finite number, got {value}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    too_low = number <= Decimal(repr(bounds.lo)) if bounds.lo_open else number < Decimal(repr(bounds.lo))
    if too_low or number > Decimal(repr(bounds.hi)):
        sign = ">" if bounds.lo_open else ">="
        raise fields.error(key, f"{value} is outside the allowed range ({sign} {bounds.lo}, "
                                f"<= {bounds.hi})")
    return number


def as_value(number: Decimal, integer: bool) -> Any:
    return int(number) if integer else float(number)
