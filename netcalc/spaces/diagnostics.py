"""What the sampler says when a regime cannot be filled, and its check of what it emits.

A regime no member can reach is refused before anything is drawn; one that is (nearly) empty
is reported with the range of flops the draws had, or as soon as the rate so far projects past
the draw limit; and every kept record up to ``verify`` is re-counted with the plain counting
API, so that the sampler's tables and :func:`netcalc.count` cannot drift apart.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from ..errors import SpecError
from ..report import QUANTITIES
from .candidates import Batch
from .costs import CostModel
from .regime import Regime
from .schema import Space

if TYPE_CHECKING:          # sampling imports this module: the type only, for annotations
    from .sampling import Sample


def check_reachable(space: Space, convention: str, regime: Regime) -> None:
    """Refuse at once a regime that no member can reach: every member has the stem, so an
    upper bound below the stem's own count is empty before anything is drawn (or tabulated)."""
    stem = [int(v) for v in CostModel(space.network, space.strides, convention).stem]
    for i, quantity in enumerate(QUANTITIES):
        for q, (_, hi) in regime.bounds:
            if q == quantity and hi is not None and hi < stem[i]:
                raise SpecError(space.source, "regime",
                                f"the regime is empty: every member of {space.name} has at least "
                                f"{stem[i]:,} {quantity} (its stem alone), above the upper "
                                f"bound {hi:,}")


class Seen:
    """Range of flops over all valid draws, for the message when a regime is (nearly) empty."""

    def __init__(self) -> None:
        self.lo: Optional[int] = None
        self.hi: Optional[int] = None

    def update(self, batch: Batch) -> None:
        flops = batch.totals[0][batch.valid]
        if flops.size:
            lo, hi = int(flops.min()), int(flops.max())
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)


def hopeless(result: Sample, n: int, limit: int) -> bool:
    """After a tenth of the allowed draws, whether the rate seen so far needs more than twice
    the limit for ``n`` members: say so now rather than after the whole search."""
    return (result.candidates >= limit // 10 and result.kept > 0
            and result.candidates * n / result.kept > 2 * limit)


def projected(space: Space, regime: Regime, result: Sample, n: int, limit: int) -> SpecError:
    need = int(result.candidates * n / result.kept)
    return SpecError("", "regime", f"{result.kept} of {n} members of {space.name} satisfied "
                                   f"{regime.describe()} in the first {result.candidates:,} draws "
                                   f"(fraction ~{result.kept / result.candidates:.2g}): {n} need "
                                   f"about {need:,} draws, over the limit of {limit:,}; raise "
                                   "`max_candidates` or widen the regime")


def too_few(space: Space, regime: Regime, result: Sample, n: int, seen: Seen) -> SpecError:
    found = result.kept
    span = f"; flops of the draws ranged {seen.lo}..{seen.hi}" if seen.lo is not None else ""
    if found == 0:
        message = (f"no member of {space.name} satisfied {regime.describe()} in "
                   f"{result.candidates} draws: the regime is empty or nearly so{span}")
    else:
        message = (f"only {found} of {n} members of {space.name} satisfied {regime.describe()} in "
                   f"{result.candidates} draws (fraction ~{found / result.candidates:.2g}); widen "
                   f"the regime or raise `max_candidates`{span}")
    return SpecError("", "regime", message)


def verify_record(record: Dict[str, Any], convention: str) -> None:
    """Re-count one kept record with :func:`netcalc.count` (the plain path) before it is
    emitted: the tables and the counting API must never drift apart."""
    from ..count import count

    report = count(record["spec"], convention=convention)
    plain = (report.flops, report.params, report.acts)
    sampled = tuple(record[q] for q in QUANTITIES)
    if plain != sampled:
        raise RuntimeError(f"internal error: sampled counts {sampled} differ from "
                           f"netcalc.count {plain} for {record['spec']}")
