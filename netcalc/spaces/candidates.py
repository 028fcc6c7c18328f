"""Candidate generators of each space kind: draws from the space's own distribution, counted
exactly in batches.

* AnyNet kind: chains of (d, w, b, g) drawn uniformly over the members (:mod:`.chain`), counted
  with per-stage tables of first-block and later-block costs (numpy gathers, :mod:`.costs`).
* RegNet kind: (d, w0, wa, wm, b, g) drawn from the per-parameter distributions, the network
  generated with netcalc's RegNet rules and counted in Python ints.

Incompatible (w, b, g) draws of an AnyNet-kind space (w*b not a multiple of g) are members of the
space as the paper counts it; like pycls, the generator turns them into networks with
:func:`netcalc.families.regnet.adjust_compatibility`, and the emitted spec is that network.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ArgumentError, SpecError
from ..families import regnet
from ..limits import MAX_CHANNELS, MAX_TABLE
from .chain import ChainSampler, Layout
from .costs import INT64_HEADROOM, CostModel, check_headroom
from .schema import ANYNET_DIMS, Space

ANYNET_BATCH = 16384
REGNET_BATCH = 1024
# RegNet draws are counted exactly in Python ints; a total at or above 2^62 is stored as this
# marker, which every upper bound below it rejects and which is refused if it would be emitted
BEYOND_INT64 = INT64_HEADROOM


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


def candidates_of(space: Space, convention: str, compatible_only: bool) -> Any:
    """The kind's candidate generator; its errors name the space file."""
    try:
        return CANDIDATES[space.kind](space, convention, compatible_only)
    except SpecError as exc:
        if exc.source or isinstance(exc, ArgumentError):
            raise
        raise SpecError(space.source, exc.field, exc.message) from None
