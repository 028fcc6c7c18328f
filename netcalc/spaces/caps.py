"""Caps: upper bounds on params or acts, absolute or relative to the flops cap (RegNet paper)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..errors import ArgumentError
from ..fields import Fields, describe
from ..quantity import parse_quantity


@dataclass(frozen=True)
class Cap:
    """An upper bound on one quantity: ``max`` and/or a rule in the flops cap F (in GF).

    ``(M + M_per_GF * F + M_per_sqrt_GF * sqrt(F)) * 1e6``, the form of the RegNet paper's
    ``params < 3 + 5.5F`` and ``acts < 6.5 sqrt(F)``. Members must stay strictly below.
    """

    quantity: str
    max: Optional[int] = None
    M: float = 0.0
    M_per_GF: float = 0.0
    M_per_sqrt_GF: float = 0.0

    @property
    def relative(self) -> bool:
        return bool(self.M or self.M_per_GF or self.M_per_sqrt_GF)

    def limit(self, flops_cap: Optional[int]) -> Optional[float]:
        """The bound for a regime whose flops upper end is ``flops_cap`` (None: no rule part)."""
        limits = [] if self.max is None else [float(self.max)]
        if self.relative and flops_cap is not None:
            gf = flops_cap / 1e9
            limits.append((self.M + self.M_per_GF * gf + self.M_per_sqrt_GF * math.sqrt(gf)) * 1e6)
        return min(limits) if limits else None

    def describe(self) -> str:
        parts = []
        if self.relative:
            terms = [f"{self.M:g}"] if self.M else []
            terms += [f"{self.M_per_GF:g}*F"] if self.M_per_GF else []
            terms += [f"{self.M_per_sqrt_GF:g}*sqrt(F)"] if self.M_per_sqrt_GF else []
            parts.append(f"{self.quantity} < ({' + '.join(terms)}) M (F = flops cap in GF)")
        if self.max is not None:
            parts.append(f"{self.quantity} < {self.max}")
        return "; ".join(parts)


def parse_cap(fields: Fields, quantity: str) -> Cap:
    raw_max = fields.raw.get("max")
    maximum = None
    if raw_max is not None:
        if isinstance(raw_max, bool) or not isinstance(raw_max, (int, str)):
            raise fields.error("max", f"expected a quantity like 400M, got {describe(raw_max)}")
        try:
            maximum = parse_quantity(str(raw_max))
        except ArgumentError as exc:
            raise fields.error("max", exc.message) from None
    cap = Cap(quantity, maximum,
              fields.float("M", 0.0, lo=0.0, hi=1e9),
              fields.float("M_per_GF", 0.0, lo=0.0, hi=1e9),
              fields.float("M_per_sqrt_GF", 0.0, lo=0.0, hi=1e9))
    fields.finish(allowed_extra=("max",))
    if cap.max is None and not cap.relative:
        raise fields.error("", "needs max or one of M, M_per_GF, M_per_sqrt_GF")
    return cap
