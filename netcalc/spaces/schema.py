"""The declarative design-space format: per-stage domains, constraints, fixed parts, caps.

A space file is YAML (or JSON) read with the same safe loader as specs and parsed through
:class:`netcalc.fields.Fields`, so every error names the file and the field path
(``specs/spaces/x.yaml: domains.width.step: ...``). Two kinds exist:

- ``anynet``: each of ``stages`` stages draws (depth, width, bot_mul, group_w) from per-stage
  domains; ``constraints`` tie dimensions across stages (shared, non_decreasing, increasing) and
  may keep only compatible (w, b, g) triples. AnyNetX_A ... AnyNetX_E are such spaces.
- ``regnet``: the quantized linear parametrisation draws (depth, w0, wa, wm, bot_mul, group_w);
  the network follows from :mod:`netcalc.families.regnet`. ``constraints`` may demand a stage
  count and no skipped exponent (pycls's sweep); ``caps`` bound params/acts by the flops cap.

``extends: NAME`` starts from another space (a shipped name or a file beside this one); mappings
merge key by key, anything else is replaced; ``name``, ``description`` and ``table1`` are never
inherited. See ``docs/design_spaces.md`` for every field.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

from ..errors import SpecError
from ..families import anynet
from ..fields import Fields, closest, describe
from ..limits import MAX_CHAIN_CELLS, MAX_STAGES, MAX_STAGE_CHOICES, MAX_TOTAL_DEPTH
from .bounds import list_fields
from ..report import QUANTITIES
from .caps import Cap, parse_cap
from .distributions import Domain, fixed_domain, parse_domain
from .network import Network, parse_network

KINDS = ("anynet", "regnet")
ANYNET_DIMS = ("depth", "width", "bot_mul", "group_w")
REGNET_PARAMS = ("depth", "w0", "wa", "wm", "bot_mul", "group_w")
RELATIONS = ("shared", "non_decreasing", "increasing")
# exact sizes and sampling tables hold Python ints per (stage, choice): ~2 s and ~0.6 GB at this


# -- the published row, for `netcalc space --all` -------------------------------------------------
@dataclass(frozen=True)
class Table1Row:
    restriction: str
    formula: str          # as printed, shown verbatim (never evaluated)
    figure: float         # the printed (rounded) size


def parse_table1(fields: Fields) -> Table1Row:
    row = Table1Row(fields.str("restriction", max_len=200), fields.str("formula", max_len=200),
                    fields.float("figure", lo=1.0, hi=1e300))
    fields.finish()
    return row


# -- the space ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Space:
    name: str
    kind: str
    source: str
    network: Network
    domains: Tuple[Domain, ...]
    description: str = ""
    num_stages: int = 4                        # anynet
    strides: Tuple[int, ...] = (2, 2, 2, 2)    # anynet: per stage; regnet: (stride,)
    relations: Tuple[Tuple[str, str], ...] = ()  # anynet: (dim, relation)
    compatible: bool = False                   # anynet: only (w, b, g) that pycls leaves as is
    stage_count: Optional[Tuple[int, int]] = None  # regnet: allowed number of stages
    no_skipped: bool = False                   # regnet: stages == max exponent + 1
    caps: Tuple[Cap, ...] = ()
    table1: Optional[Table1Row] = None

    def domain(self, name: str) -> Domain:
        return next(d for d in self.domains if d.name == name)

    def relation(self, dim: str) -> str:
        return dict(self.relations).get(dim, "free")

    @property
    def needs_compatibility(self) -> bool:
        """Whether the block type ties (w, b, g): the X block's grouped conv needs g | w*b."""
        return self.network.block_type == "res_bottleneck"


def parse_space(data: Any, source: str) -> Space:
    fields = Fields(data, source)
    kind = fields.str("kind", choices=list(KINDS))
    name = fields.str("name", os.path.splitext(os.path.basename(source))[0])
    description = fields.str("description", "", max_len=10_000)
    network = parse_network(fields.mapping("network"), kind) if fields.has("network") else Network()
    caps: Tuple[Cap, ...] = ()
    if fields.has("caps"):
        section = fields.mapping("caps")
        caps = tuple(parse_cap(section.mapping(q), q) for q in QUANTITIES if section.has(q))
        section.finish()
    table1 = parse_table1(fields.mapping("table1")) if fields.has("table1") else None
    common = dict(name=name, kind=kind, source=source, network=network, description=description,
                  caps=caps, table1=table1)
    space = (_parse_anynet if kind == "anynet" else _parse_regnet)(fields, common)
    fields.finish()
    return space


def _parse_domains(fields: Fields, names: Sequence[str], required: Sequence[str],
                   defaults: Dict[str, Any]) -> Tuple[Domain, ...]:
    section = fields.mapping("domains")
    for key in section.raw:
        if key not in names:
            hint = closest(str(key), names, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(names)})"
            raise section.error(str(key)[:40], f"unknown dimension{extra}")
    domains = []
    for name in names:
        if section.has(name):
            domains.append(parse_domain(section.mapping(name), name))
        elif name in required:
            raise section.error(name, "is required")
        else:
            domains.append(fixed_domain(name, defaults[name]))
    section.finish()
    return tuple(domains)


def _parse_anynet(fields: Fields, common: Dict[str, Any]) -> Space:
    num_stages = fields.int("stages", 4, lo=1, hi=MAX_STAGES)
    strides = _parse_strides(fields, num_stages)
    domains = _parse_domains(fields, ANYNET_DIMS, ("depth", "width"),
                             {"bot_mul": 1.0, "group_w": 1})
    choices = math.prod(len(d) for d in domains)
    if choices > MAX_STAGE_CHOICES:
        raise fields.error("domains", f"{choices:,} choices per stage (depth x width x bot_mul x "
                                      f"group_w); the limit is {MAX_STAGE_CHOICES:,}")
    if choices * num_stages > MAX_CHAIN_CELLS:
        raise fields.error("domains", f"{choices:,} choices per stage x {num_stages} stages is "
                                      f"{choices * num_stages:,} cells of exact counting, over the "
                                      f"limit of {MAX_CHAIN_CELLS:,}; narrow the domains or use "
                                      "fewer stages")
    most_blocks = num_stages * max(next(d for d in domains if d.name == "depth").values)
    if most_blocks > MAX_TOTAL_DEPTH:
        raise fields.error("domains.depth", f"members reach {most_blocks} blocks ({num_stages} "
                                            f"stages of depth up to {most_blocks // num_stages}); "
                                            f"a spec may have at most {MAX_TOTAL_DEPTH}, so "
                                            "such members could not be counted")
    relations, compatible = _parse_anynet_constraints(fields)
    return Space(domains=domains, num_stages=num_stages, strides=strides, relations=relations,
                 compatible=compatible, **common)


def _parse_strides(fields: Fields, num_stages: int) -> Tuple[int, ...]:
    raw = fields.raw.get("stride", 2)
    if isinstance(raw, list):
        holder = list_fields(fields, "stride",
                             fields.list("stride", min_len=num_stages, max_len=num_stages))
        return tuple(holder.int(i, lo=1, hi=64) for i in range(num_stages))
    return (fields.int("stride", 2, lo=1, hi=64),) * num_stages


def _parse_anynet_constraints(fields: Fields) -> Tuple[Tuple[Tuple[str, str], ...], bool]:
    if not fields.has("constraints"):
        return (), False
    section = fields.mapping("constraints")
    relations: Dict[str, str] = {}
    for relation in RELATIONS:
        dims = section.list(relation, [], max_len=len(ANYNET_DIMS))
        for i, dim in enumerate(dims):
            key = f"{relation}[{i}]"
            if dim not in ANYNET_DIMS:
                raise section.error(key, f"{describe(dim)} is not one of {', '.join(ANYNET_DIMS)}")
            if dim in relations:
                raise section.error(key, f"{dim} is already {relations[dim]}")
            relations[dim] = relation
    compatible = section.bool("compatible", False)
    section.finish()
    return tuple(sorted(relations.items(), key=lambda kv: ANYNET_DIMS.index(kv[0]))), compatible


def _parse_regnet(fields: Fields, common: Dict[str, Any]) -> Space:
    domains = _parse_domains(fields, REGNET_PARAMS, ("depth", "w0", "wa", "wm"),
                             {"bot_mul": 1.0, "group_w": 1})
    q = common["network"].q
    w0 = next(d for d in domains if d.name == "w0")
    bad = [v for v in w0.values if v % q]
    if bad:
        raise SpecError(common["source"], "domains.w0",
                        f"{bad[0]} is not a multiple of q = {q} (the generation needs w0 % q == 0)")
    stage_count, no_skipped = None, False
    if fields.has("constraints"):
        section = fields.mapping("constraints")
        if section.has("stages"):
            raw = section.raw["stages"]
            if isinstance(raw, list):
                holder = list_fields(section, "stages", section.list("stages", min_len=2, max_len=2))
                stage_count = (holder.int(0, lo=1, hi=1024), holder.int(1, lo=1, hi=1024))
                if stage_count[0] > stage_count[1]:
                    raise section.error("stages", "lower end above upper end")
            else:
                count = section.int("stages", lo=1, hi=1024)
                stage_count = (count, count)
        no_skipped = section.bool("no_skipped_stages", False)
        section.finish()
    return Space(domains=domains, strides=(fields.int("stride", 2, lo=1, hi=64),),
                 stage_count=stage_count, no_skipped=no_skipped, **common)
