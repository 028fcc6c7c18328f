"""The complexity regime a sample is drawn inside: inclusive bounds per quantity, plus the
space's caps (strict upper limits that depend on the flops bound)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from ..errors import ArgumentError
from ..report import QUANTITIES
from .schema import Space

Range = Tuple[Optional[int], Optional[int]]


@dataclass(frozen=True)
class Regime:
    """Inclusive bounds per quantity plus the space's caps (strict upper limits)."""

    bounds: Tuple[Tuple[str, Range], ...] = ()
    caps: Tuple[Tuple[str, float], ...] = ()

    @classmethod
    def of(cls, space: Space, flops: Range = (None, None), params: Range = (None, None),
           acts: Range = (None, None)) -> "Regime":
        bounds = tuple((q, _checked_range(r, q)) for q, r in zip(QUANTITIES, (flops, params, acts))
                       if r is not None and tuple(r) != (None, None))
        limits = ((cap.quantity, cap.limit(flops[1])) for cap in space.caps)
        return cls(bounds, tuple((q, lim) for q, lim in limits if lim is not None))

    @property
    def quantities(self) -> Tuple[str, ...]:
        return tuple(q for q, _ in self.bounds) + tuple(q for q, _ in self.caps)

    def contains_one(self, quantity: str, values: np.ndarray) -> np.ndarray:
        """Which of ``values`` (exact totals of one quantity) satisfy the regime's rules for it."""
        ok = np.ones(values.shape, dtype=bool)
        for q, (lo, hi) in self.bounds:
            if q == quantity:
                ok &= (values >= lo) if lo is not None else True
                ok &= (values <= hi) if hi is not None else True
        for q, limit in self.caps:
            if q == quantity:
                ok &= values < limit
        return ok

    def contains(self, totals: np.ndarray) -> np.ndarray:
        """(3, m) exact totals -> (m,) bool."""
        ok = np.ones(totals.shape[1], dtype=bool)
        for i, quantity in enumerate(QUANTITIES):
            ok &= self.contains_one(quantity, totals[i])
        return ok

    def describe(self) -> str:
        parts = [f"{lo if lo is not None else ''}<={q}<={hi if hi is not None else ''}"
                 for q, (lo, hi) in self.bounds]
        parts += [f"{q}<{limit:.6g}" for q, limit in self.caps]
        return ", ".join(parts) or "everything"


def _checked_range(bounds: Any, quantity: str) -> Range:
    """(lo, hi) of non-negative ints (None: open), lo <= hi."""
    from ..arguments import checked_int

    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise ArgumentError("", quantity, f"expected (lo, hi) with None for an open end, got "
                                          f"{type(bounds).__name__}")
    lo, hi = (None if v is None else checked_int(v, quantity, 0) for v in bounds)
    if lo is not None and hi is not None and lo > hi:
        raise ArgumentError("", quantity, f"lower end {lo:,} is above upper end {hi:,}")
    return lo, hi
