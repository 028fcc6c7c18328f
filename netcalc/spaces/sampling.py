"""Sampling a design space inside a complexity regime, exactly counted and reproducible.

Members are drawn from the space's own distribution -- uniform over the members of an AnyNet-kind
space (:mod:`.chain`), the per-parameter distributions for a RegNet-kind space -- in fixed-size
batches from one seeded numpy Generator, counted exactly (:mod:`.costs`), and kept when inside
the regime (inclusive bounds) and below the space's caps. The first ``n`` kept, in draw order,
are the sample: the same seed gives the same sample, and a larger ``n`` extends it.

The regime is :mod:`.regime`, the candidate generators of each kind :mod:`.candidates`, the
messages for regimes that cannot be filled and the re-count of emitted records
:mod:`.diagnostics`. With ``compatible_only``, incompatible (w, b, g) are not in an AnyNet-kind
space, so they are never drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..errors import SpecError
from ..limits import DEFAULT_MAX_CANDIDATES, MAX_SAMPLE, MAX_VERIFY
from ..report import QUANTITIES
from .candidates import ANYNET_BATCH, BEYOND_INT64, REGNET_BATCH, Batch, candidates_of
from .diagnostics import Seen, check_reachable, hopeless, projected, too_few, verify_record
from .progress import Progress
from .regime import Regime
from .schema import Space


@dataclass
class Sample:
    """The kept members. With a ``sink`` (streaming), ``records`` holds only the first
    ``verify`` records; ``kept`` and ``totals`` always cover every kept member."""

    space: Space
    regime: Regime
    seed: int
    convention: str
    records: List[Dict[str, Any]] = field(default_factory=list)
    candidates: int = 0          # draws examined up to (and including) the n-th kept one
    invalid: int = 0             # draws the space's constraints rejected (RegNet stage rules)
    kept: int = 0
    _totals: List[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def totals(self) -> np.ndarray:
        """(3, kept) exact totals of every kept member (24 bytes each, records or not)."""
        if not self._totals:
            return np.zeros((3, 0), dtype=np.int64)
        return np.concatenate(self._totals, axis=1)


def sample(space: Space, n: int, regime: Optional[Regime] = None, seed: int = 0,
           convention: str = "pycls", compatible_only: bool = False,
           max_candidates: Optional[int] = None, verify: int = 1,
           progress: bool = False, sink: Optional[Callable[[Dict[str, Any]], None]] = None
           ) -> Sample:
    """The first ``n`` members (in draw order of ``seed``) inside ``regime``.

    ``verify`` re-counts that many of the kept models with :func:`netcalc.count` (the slow,
    plain path) and fails loudly on any difference: a guard that the tables and the counting
    API cannot drift apart. Every emitted spec is one that ``count`` accepts (checked for each,
    cheaply, by the space's limits). With ``sink``, each record is handed to it as soon as it is
    kept and not held (memory stays bounded for any ``n``).
    """
    space, n, seed, verify, limit = _checked_arguments(space, n, seed, verify, max_candidates,
                                                       regime)
    regime = regime or Regime.of(space)
    check_reachable(space, convention, regime)
    candidates = candidates_of(space, convention, compatible_only)
    rng = np.random.default_rng(seed)
    batch_size = ANYNET_BATCH if space.kind == "anynet" else REGNET_BATCH
    result = Sample(space, regime, seed, convention)
    seen = Seen()
    with Progress(n, f"sampling {space.name}", enabled=progress) as bar:
        while result.kept < n:
            if result.candidates >= limit:
                raise too_few(space, regime, result, n, seen)
            if hopeless(result, n, limit):
                raise projected(space, regime, result, n, limit)
            batch = candidates.draw(rng, min(batch_size, limit - result.candidates))
            _keep(candidates, batch, regime, result, n, sink, verify)
            seen.update(batch)
            bar.update(result.kept, result.candidates)
    return result


def _checked_arguments(space: Any, n: Any, seed: Any, verify: Any, max_candidates: Any,
                       regime: Any) -> Tuple[Space, int, int, int, int]:
    from ..arguments import checked_int
    from ..errors import ArgumentError

    if not isinstance(space, Space):
        raise ArgumentError("", "space", f"expected a Space (from spaces.load_space), got "
                                         f"{type(space).__name__}")
    if regime is not None and not isinstance(regime, Regime):
        raise ArgumentError("", "regime", f"expected a Regime (Regime.of(space, flops=(lo, hi))), "
                                          f"got {type(regime).__name__}")
    n = checked_int(n, "n", 1, MAX_SAMPLE)
    seed = checked_int(seed, "seed", 0, 2 ** 128 - 1)
    verify = checked_int(verify, "verify", 0, MAX_VERIFY)
    limit = DEFAULT_MAX_CANDIDATES[space.kind] if max_candidates is None else \
        checked_int(max_candidates, "max_candidates", 1, 10 ** 10)
    return space, n, seed, verify, limit


def _select(candidates: Any, batch: Batch, regime: Regime) -> np.ndarray:
    """Fill ``batch.totals`` and return the in-regime mask.

    Tabulated candidates are counted quantity by quantity: flops for every draw (its range is
    reported when a regime is empty), the other quantities only for draws still inside.
    """
    if batch.totals is not None:
        return batch.valid & regime.contains(batch.totals)
    m = len(batch.valid)
    batch.totals = np.zeros((3, m), dtype=np.int64)
    alive = np.flatnonzero(batch.valid)
    bounded = [q for q in QUANTITIES if q in regime.quantities]
    order = ["flops"] + [q for q in bounded if q != "flops"] + \
        [q for q in QUANTITIES if q != "flops" and q not in bounded]
    for quantity in order:
        i = QUANTITIES.index(quantity)
        batch.totals[i, alive] = candidates.quantity(batch, i, alive)
        alive = alive[regime.contains_one(quantity, batch.totals[i, alive])]
    inside = np.zeros(m, dtype=bool)
    inside[alive] = True
    return inside


def _keep(candidates: Any, batch: Batch, regime: Regime, result: Sample, n: int,
          sink: Optional[Callable[[Dict[str, Any]], None]], verify: int) -> None:
    inside = _select(candidates, batch, regime)
    positions = np.flatnonzero(inside)[: n - result.kept]
    if result.kept + len(positions) >= n:   # stop counting at the n-th kept draw
        examined = int(positions[-1]) + 1
    else:
        examined = batch.totals.shape[1]
    result.candidates += examined
    result.invalid += int((~batch.valid[:examined]).sum())
    if positions.size and (batch.totals[:, positions] >= BEYOND_INT64).any():
        raise SpecError(result.space.source, "regime", "a member inside the regime has a count "
                                                       "of 2^62 or more, beyond exact 64-bit "
                                                       "sampling; give upper bounds below that")
    result._totals.append(batch.totals[:, positions].copy())
    for k in positions.tolist():
        record = candidates.record(batch, k)
        record["spec"]["name"] = f"{result.space.name}-{result.kept}"
        record.update({q: int(batch.totals[i, k]) for i, q in enumerate(QUANTITIES)})
        if result.kept < verify:
            verify_record(record, result.convention)
        result.kept += 1
        if sink is None:
            result.records.append(record)
        else:
            sink(record)
            if len(result.records) < verify:
                result.records.append(record)
