"""Budgets behind ``netcalc check --max-flops ...``: each count against an inclusive maximum."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Mapping, Optional

from .count import count

@dataclass(frozen=True)
class BudgetRow:
    spec: str
    name: str
    quantity: str
    value: int
    limit: int

    @property
    def over(self) -> int:
        return self.value - self.limit

    @property
    def ok(self) -> bool:
        return self.value <= self.limit


def check_budgets(specs: Iterable[str], limits: Mapping[str, int], convention: str = "pycls",
                  resolution: Optional[int] = None) -> List[BudgetRow]:
    """One row per spec and limited quantity (``limits``: quantity -> maximum, inclusive)."""
    rows = []
    for spec in specs:
        report = count(spec, convention, resolution)
        rows += [BudgetRow(spec, report.name, q, getattr(report, q), limit)
                 for q, limit in limits.items()]
    return rows
