"""Sampling a design space inside a complexity regime, exactly counted and reproducible.

Members are drawn from the space's own distribution -- uniform over the members of an AnyNet-kind
space (:mod:`.chain`), the per-parameter distributions for a RegNet-kind space -- in fixed-size
batches from one seeded numpy Generator, counted exactly (:mod:`.costs`), and kept when inside
the regime (inclusive bounds) and below the space's caps. The first ``n`` kept, in draw order,
are the sample: the same seed gives the same sample, and a larger ``n`` extends it.

Incompatible (w, b, g) draws of an AnyNet-kind space (w*b not a multiple of g) are members of the
space as the paper counts it; like pycls, the sampler turns them into networks with
:func:`netcalc.families.regnet.adjust_compatibility`, and the emitted spec is that network.
With ``compatible_only`` such members are not in the space, so they are never drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ArgumentError, SpecError
from ..families import regnet
from ..limits import DEFAULT_MAX_CANDIDATES, MAX_CHANNELS, MAX_SAMPLE, MAX_TABLE, MAX_VERIFY
from .chain import ChainSampler, Layout
from .costs import INT64_HEADROOM, CostModel, check_headroom
from ..report import QUANTITIES
from .schema import ANYNET_DIMS, Space
from .progress import Progress

ANYNET_BATCH = 16384
REGNET_BATCH = 1024
Range = Tuple[Optional[int], Optional[int]]
# RegNet draws are counted exactly in Python ints; a total at or above 2^62 is stored as this
# marker, which every upper bound below it rejects and which is refused if it would be emitted
BEYOND_INT64 = INT64_HEADROOM


# -- the regime -----------------------------------------------------------------------------------
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


# -- candidates of each kind ----------------------------------------------------------------------
@dataclass
class Batch:
    totals: Optional[np.ndarray]   # (3, m) int64; None until counted (see _select)
    valid: np.ndarray              # (m,) draws the space's constraints keep (RegNet stages)
    payload: Any                   # what quantity() and record() need


class AnyNetCandidates:
    """Draws chains of (d, w, b, g) and counts them with per-stage tables (numpy gathers)."""

    def __init__(self, space: Space, convention: str, compatible_only: bool):
        self.space = space
        self.values = [np.array(space.domain(d).values) for d in ANYNET_DIMS]
        layout = Layout.of(ANYNET_DIMS, space.relation)
        weights = _outer([np.array(space.domain(d).weights) for d in ANYNET_DIMS])
        triples, self.adjusted, compatible = compatibility(space)
        mask = np.ones_like(weights, dtype=bool)
        if compatible_only or space.compatible:
            mask &= compatible[None, :, :, :]
        if not (weights * mask).any():
            raise SpecError(space.source, "domains", "no (depth, width, bot_mul, group_w) of a "
                                                     "stage is allowed: the space has no members")
        try:
            self.sampler = ChainSampler(weights * mask, layout, space.num_stages,
                                        separable=bool(mask.all()))
        except ValueError as exc:
            raise SpecError(space.source, "constraints", f"the space has no members: {exc}") \
                from None
        self._tables(space, convention, triples)

    def _tables(self, space: Space, convention: str, triples: np.ndarray) -> None:
        """Per stage: first-block costs per (template, previous width) and later-block costs
        per template, where a template is a distinct (w, b, g) after pycls's adjustment; one
        flat vector per quantity, so a gather fetches one number per candidate and part."""
        model = CostModel(space.network, space.strides, convention)
        unique, template_of = np.unique(triples.reshape(-1, 3), axis=0, return_inverse=True)
        self.template_of = template_of.ravel()          # by (w, b, g) combination index
        keys = [(int(w), float(b), int(g)) for w, b, g in unique]
        widths = np.unique(unique[:, 0]).astype(np.int64)
        cells = len(keys) * len(widths) * space.num_stages
        if cells > MAX_TABLE:
            raise SpecError(space.source, "domains",
                            f"{len(keys):,} distinct (width, bot_mul, group_w) x {len(widths):,} "
                            f"input widths x {space.num_stages} stages is {cells:,} table cells, "
                            f"more than the sampler tabulates ({MAX_TABLE:,}: about 10 s and "
                            "0.2 GB); narrow the width, bot_mul or group_w domains")
        self.width_index = np.searchsorted(widths, unique[:, 0].astype(np.int64))
        first, rest, self.n_in = [], [], []
        for stage in range(space.num_stages):
            w_in = np.array([space.network.stem_w]) if stage == 0 else widths
            first.append(model.first_block_table(stage, w_in, keys))    # (3, T, n_in)
            rest.append(model.rest_block_table(stage, keys))             # (3, T)
            self.n_in.append(len(w_in))
        head = model.head_table(space.num_stages, widths.tolist())      # (3, n_widths)
        check_headroom(first + rest + [head], int(self.values[0].max()), space.num_stages)
        # one contiguous vector per quantity and part: a gather fetches one number per candidate
        self.first = [[np.ascontiguousarray(t[q].ravel()) for t in first] for q in range(3)]
        self.rest = [[np.ascontiguousarray(t[q]) for t in rest] for q in range(3)]
        self.head = [np.ascontiguousarray(head[q]) for q in range(3)]
        self.stem = [int(v) for v in model.stem]
        _, n_b, n_g = self.adjusted.shape[:3]
        self.combo_strides = (n_b * n_g, n_g)

    def draw(self, rng: np.random.Generator, m: int) -> Batch:
        picks = self.sampler.draw(rng, m)                       # (m, stages, 4) domain indices
        depth = self.values[0][picks[..., 0]]
        combo = picks[..., 1] * self.combo_strides[0] + picks[..., 2] * self.combo_strides[1] \
            + picks[..., 3]
        template = self.template_of[combo]
        first_rows = [np.zeros(m, dtype=np.int64)]
        for stage in range(self.space.num_stages - 1):
            first_rows.append(self.width_index[template[:, stage]])
        first_rows = [template[:, s] * self.n_in[s] + prev for s, prev in enumerate(first_rows)]
        last_width = self.width_index[template[:, -1]]
        return Batch(None, np.ones(m, dtype=bool), (picks, depth, template, first_rows, last_width))

    def quantity(self, batch: Batch, q: int, rows: np.ndarray) -> np.ndarray:
        """Exact totals of quantity ``q`` for the candidates ``rows`` of a batch."""
        _, depth, template, first_rows, last_width = batch.payload
        total = self.head[q][last_width[rows]] + self.stem[q]
        for stage in range(self.space.num_stages):
            total += self.first[q][stage][first_rows[stage][rows]]
            total += (depth[rows, stage] - 1) * self.rest[q][stage][template[rows, stage]]
        return total

    def record(self, batch: Batch, k: int) -> Dict[str, Any]:
        picks = batch.payload[0][k]
        member = {d: [_plain(self.values[j][picks[s, j]]) for s in range(len(picks))]
                  for j, d in enumerate(ANYNET_DIMS)}
        stages = []
        for s, (di, wi, bi, gi) in enumerate(picks.tolist()):
            width, group_w = self.adjusted[wi, bi, gi]
            stages.append({"depth": member["depth"][s], "width": int(width),
                           "stride": self.space.strides[s], "bot_mul": member["bot_mul"][s],
                           "group_w": int(group_w)})
        spec = {"name": "", **self.space.network.spec_fields("anynet"), "stages": stages}
        return {"spec": spec, "member": member}


class RegNetCandidates:
    """Draws (d, w0, wa, wm, b, g), generates the network with netcalc's RegNet rules, counts it."""

    PARAMS = ("depth", "w0", "wa", "wm", "bot_mul", "group_w")

    def __init__(self, space: Space, convention: str, compatible_only: bool):
        if compatible_only:
            raise ArgumentError("", "compatible_only", "applies to anynet-kind spaces (per-stage "
                                                       "width, bot_mul, group_w); RegNet networks "
                                                       "are always adjusted to be compatible")
        self.space = space
        self.model = CostModel(space.network, space.strides, convention)
        self.domains = [space.domain(p) for p in self.PARAMS]

    def draw(self, rng: np.random.Generator, m: int) -> Batch:
        picks = [rng.choice(len(d.values), size=m, p=np.array(d.weights) / sum(d.weights))
                 if len(d.values) > 1 else np.zeros(m, dtype=np.int64) for d in self.domains]
        params = [[d.values[i] for i in idx.tolist()] for d, idx in zip(self.domains, picks)]
        totals = np.zeros((3, m), dtype=np.int64)
        valid = np.zeros(m, dtype=bool)
        for k, values in enumerate(zip(*params)):
            stages = self.network_stages(*values)
            if stages is not None:
                valid[k] = True
                totals[:, k] = [min(int(v), BEYOND_INT64) for v in self.model.network_costs(stages)]
        return Batch(totals, valid, list(zip(*params)))

    def network_stages(self, depth: int, w0: int, wa: float, wm: float, bot_mul: float,
                       group_w: int) -> Optional[List[Any]]:
        """The generated stages, or None when the space's constraints reject the draw."""
        space, net = self.space, self.space.network
        config = regnet.RegNetConfig(depth=depth, w0=w0, wa=wa, wm=wm, group_w=group_w,
                                     bot_mul=bot_mul, q=net.q, stride=space.strides[0],
                                     stem_type=net.stem_type, stem_w=net.stem_w,
                                     block_type=net.block_type, se_r=net.se_r, head_w=net.head_w)
        # the rule aims at max exponent + 1 stages and gives at most that many: most draws that
        # the constraints reject are rejected here, before the widths are generated
        aimed = max(regnet.block_exponents(w0, wa, wm, depth)) + 1
        lo, hi = space.stage_count or (1, aimed)
        if aimed < lo or (space.no_skipped and aimed > hi):
            return None
        stages = regnet.stages(config)
        if not lo <= len(stages) <= hi or (space.no_skipped and len(stages) != aimed):
            return None
        if max(s.width for s in stages) > MAX_CHANNELS:
            return None
        return stages

    def record(self, batch: Batch, k: int) -> Dict[str, Any]:
        values = dict(zip(self.PARAMS, (_plain(v) for v in batch.payload[k])))
        spec = {"name": "", **self.space.network.spec_fields("regnet"), **values,
                "stride": self.space.strides[0]}
        return {"spec": spec}


CANDIDATES = {"anynet": AnyNetCandidates, "regnet": RegNetCandidates}


def _outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    out = vectors[0]
    for v in vectors[1:]:
        out = np.multiply.outer(out, v)
    return out


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers (JSON-ready)."""
    return value.item() if hasattr(value, "item") else value


def compatibility(space: Space) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every (w, b, g) of the domains: the network's triple, (w', g'), and compatibility.

    Compatible means pycls's adjust_block_compatibility leaves the triple as it is, which is
    exactly "g divides w*b" (and so g <= w*b) for the integer bottleneck widths of AnyNetX.
    """
    widths, bots, groups = (space.domain(d).values for d in ("width", "bot_mul", "group_w"))
    grid = [(w, b, g) for w in widths for b in bots for g in groups]
    if space.needs_compatibility:
        new_w, new_g = regnet.adjust_compatibility(*map(list, zip(*grid)))
    else:
        new_w, new_g = [w for w, _, _ in grid], [g for _, _, g in grid]
    shape = (len(widths), len(bots), len(groups))
    triples = np.array([(w2, b, g2) for (_, b, _), w2, g2 in zip(grid, new_w, new_g)],
                       dtype=np.float64).reshape(shape + (3,))
    adjusted = np.array(list(zip(new_w, new_g)), dtype=np.int64).reshape(shape + (2,))
    compatible = np.array([(w, g) == (w2, g2) for (w, _, g), w2, g2 in zip(grid, new_w, new_g)],
                          dtype=bool).reshape(shape)
    return triples, adjusted, compatible


# -- the sampler ----------------------------------------------------------------------------------
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
    _check_reachable(space, convention, regime)
    candidates = _candidates(space, convention, compatible_only)
    rng = np.random.default_rng(seed)
    batch_size = ANYNET_BATCH if space.kind == "anynet" else REGNET_BATCH
    result = Sample(space, regime, seed, convention)
    seen = _Seen()
    with Progress(n, f"sampling {space.name}", enabled=progress) as bar:
        while result.kept < n:
            if result.candidates >= limit:
                raise _too_few(space, regime, result, n, seen)
            if _hopeless(result, n, limit):
                raise _projected(space, regime, result, n, limit)
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


def _candidates(space: Space, convention: str, compatible_only: bool) -> Any:
    """The kind's candidate generator; its errors name the space file."""
    try:
        return CANDIDATES[space.kind](space, convention, compatible_only)
    except SpecError as exc:
        if exc.source or isinstance(exc, ArgumentError):
            raise
        raise SpecError(space.source, exc.field, exc.message) from None


def _check_reachable(space: Space, convention: str, regime: Regime) -> None:
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
            _verify(record, result.convention)
        result.kept += 1
        if sink is None:
            result.records.append(record)
        else:
            sink(record)
            if len(result.records) < verify:
                result.records.append(record)


class _Seen:
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


def _hopeless(result: Sample, n: int, limit: int) -> bool:
    """After a tenth of the allowed draws, whether the rate seen so far needs more than twice
    the limit for ``n`` members: say so now rather than after the whole search."""
    return (result.candidates >= limit // 10 and result.kept > 0
            and result.candidates * n / result.kept > 2 * limit)


def _projected(space: Space, regime: Regime, result: Sample, n: int, limit: int) -> SpecError:
    need = int(result.candidates * n / result.kept)
    return SpecError("", "regime", f"{result.kept} of {n} members of {space.name} satisfied "
                                   f"{regime.describe()} in the first {result.candidates:,} draws "
                                   f"(fraction ~{result.kept / result.candidates:.2g}): {n} need "
                                   f"about {need:,} draws, over the limit of {limit:,}; raise "
                                   "`max_candidates` or widen the regime")


def _too_few(space: Space, regime: Regime, result: Sample, n: int, seen: _Seen) -> SpecError:
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


def _verify(record: Dict[str, Any], convention: str) -> None:
    """Re-count one kept record with :func:`netcalc.count` (the plain path) before it is
    emitted: the tables and the counting API must never drift apart."""
    from ..count import count

    report = count(record["spec"], convention=convention)
    plain = (report.flops, report.params, report.acts)
    sampled = tuple(record[q] for q in QUANTITIES)
    if plain != sampled:
        raise RuntimeError(f"internal error: sampled counts {sampled} differ from "
                           f"netcalc.count {plain} for {record['spec']}")
