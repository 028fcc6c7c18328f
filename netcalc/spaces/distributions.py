"""Per-dimension domains of a design space and the sampling distributions over their grids.

A domain is ``{values: [...]}`` or ``{range: [lo, hi], step: s, distribution: ...}``; the
distributions reproduce pycls's samplers (uniform, log_uniform, power2_or_log_uniform) as
probabilities over the grid, so a space is sampled exactly as pycls samples it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, List, Tuple

from ..fields import Fields
from ..limits import MAX_CHANNELS, MAX_DOMAIN
from .bounds import (DIM_BOUNDS, Bounds, as_value, checked_number,
                     list_fields)


@dataclass(frozen=True)
class Domain:
    """Values of one dimension, ascending, with their sampling probabilities."""

    name: str
    values: Tuple[Any, ...]
    weights: Tuple[float, ...]
    distribution: str = "uniform"

    def __len__(self) -> int:
        return len(self.values)

def _grid(lo: Decimal, hi: Decimal, step: Decimal) -> List[Decimal]:
    return [lo + i * step for i in range(int((hi - lo) // step) + 1)]


def _uniform(lo: Decimal, hi: Decimal, step: Decimal) -> Tuple[List[Decimal], List[float]]:
    values = _grid(lo, hi, step)
    return values, [1.0 / len(values)] * len(values)


def _log_uniform(lo: Decimal, hi: Decimal, step: Decimal) -> Tuple[List[Decimal], List[float]]:
    """pycls's rand.log_uniform as a distribution over the grid.

    pycls draws f log-uniformly on (lo - q*, hi] with q* = min(q, lo/2) and returns ceil(f/q)*q,
    so the grid value v carries the log-length of (max(v - q, lo - q*), v].
    """
    values = _grid(lo, hi, step)
    floor = float(lo - min(step, lo / 2))
    total = math.log(float(hi)) - math.log(floor)
    weights = [(math.log(float(v)) - math.log(max(float(v - step), floor))) / total
               for v in values]
    return values, weights


def _power2_or_log_uniform(lo: Decimal, hi: Decimal, step: Decimal
                           ) -> Tuple[List[Decimal], List[float]]:
    """pycls's rand.power2_or_log_uniform: a power of two below q, else log-uniform from q up."""
    exponents = range(int(round(math.log2(lo))), int(round(math.log2(hi))) + 1)
    powers = [Decimal(2) ** e for e in exponents]
    small = [p for p in powers if p < step]
    values: List[Decimal] = list(small)
    weights = [1.0 / len(powers)] * len(small)
    if len(small) < len(powers):
        big, big_w = _log_uniform(max(lo, step), hi, min(hi, step))
        share = (len(powers) - len(small)) / len(powers)
        values += big
        weights += [w * share for w in big_w]
    return values, weights


def _is_power_of_two(value: Decimal) -> bool:
    exponent = math.log2(value)
    return exponent == round(exponent) and Decimal(2) ** int(round(exponent)) == value


Distribution = Callable[[Decimal, Decimal, Decimal], Tuple[List[Decimal], List[float]]]
DISTRIBUTIONS: Dict[str, Distribution] = {
    "uniform": _uniform,
    "log_uniform": _log_uniform,
    "power2_or_log_uniform": _power2_or_log_uniform,
}


def parse_domain(fields: Fields, name: str) -> Domain:
    """``{values: [...]}`` or ``{range: [lo, hi], step: s, distribution: ...}``."""
    bounds = DIM_BOUNDS[name]
    distribution = fields.str("distribution", "uniform", choices=list(DISTRIBUTIONS))
    if fields.has("values") == fields.has("range"):
        raise fields.error("", "give either values: [...] or range: [lo, hi] (with step)")
    if fields.has("values"):
        raw = fields.list("values", min_len=1, max_len=MAX_DOMAIN)
        numbers = [checked_number(fields, f"values[{i}]", v, bounds) for i, v in enumerate(raw)]
        if len(set(numbers)) != len(numbers):
            raise fields.error("values", "lists a value twice")
        if distribution != "uniform":
            raise fields.error("distribution", f"{distribution} needs range: [lo, hi] and step")
        numbers.sort()
        weights = [1.0 / len(numbers)] * len(numbers)
    else:
        lo_raw, hi_raw = fields.list("range", min_len=2, max_len=2)
        ends = list_fields(fields, "range", [lo_raw, hi_raw])
        lo = checked_number(ends, 0, lo_raw, bounds)
        hi = checked_number(ends, 1, hi_raw, bounds)
        if lo > hi:
            raise fields.error("range", f"lower end {lo_raw} is above upper end {hi_raw}")
        step = checked_number(fields, "step", fields.raw.get("step", 1),
                       Bounds(bounds.integer, 0.0, float(MAX_CHANNELS), lo_open=True))
        if (hi - lo) / step >= MAX_DOMAIN:
            raise fields.error("step", f"gives more than {MAX_DOMAIN} values")
        if distribution != "uniform" and (lo % step or hi % step or lo <= 0):
            raise fields.error("range", f"{distribution} (pycls semantics) needs positive ends "
                                        f"that are multiples of step {step}")
        if distribution == "power2_or_log_uniform" and not all(
                _is_power_of_two(v) for v in (lo, hi, step)):
            raise fields.error("range", "power2_or_log_uniform needs powers of two for both ends "
                                        "and step (pycls semantics)")
        numbers, weights = DISTRIBUTIONS[distribution](lo, hi, step)
    fields.finish(allowed_extra=("step",))
    values = tuple(as_value(n, bounds.integer) for n in numbers)
    return Domain(name, values, tuple(weights), distribution)


def fixed_domain(name: str, value: Any) -> Domain:
    return Domain(name, (value,), (1.0,))
