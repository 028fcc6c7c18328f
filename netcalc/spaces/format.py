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
import re
from dataclasses import dataclass
from decimal import Decimal
from difflib import get_close_matches
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import SpecError
from ..fields import Fields, describe
from ..families import anynet
from ..quantity import parse_quantity
from ..report import QUANTITIES
from ..spec import MAX_CHANNELS, MAX_RESOLUTION, read_spec_file
from ..zoo import SPACES_DIR

BUILTIN_DIR = SPACES_DIR        # the shipped spaces, package data (the repository's specs/spaces)
KINDS = ("anynet", "regnet")
ANYNET_DIMS = ("depth", "width", "bot_mul", "group_w")
REGNET_PARAMS = ("depth", "w0", "wa", "wm", "bot_mul", "group_w")
RELATIONS = ("shared", "non_decreasing", "increasing")
MAX_DOMAIN = 1_000_000          # values of one dimension
MAX_STAGE_CHOICES = 4_000_000   # anynet kind: d x w x b x g choices of one stage
MAX_STAGES = 16
MAX_EXTENDS = 8
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


# -- domains ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Domain:
    """Values of one dimension, ascending, with their sampling probabilities."""

    name: str
    values: Tuple[Any, ...]
    weights: Tuple[float, ...]
    distribution: str = "uniform"

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Bounds:
    """What a dimension may hold: integers or reals, and the range the network families accept."""

    integer: bool
    lo: float
    hi: float
    lo_open: bool = False     # wm > 1


DIM_BOUNDS = {
    "depth": Bounds(True, 1, anynet.MAX_STAGE_DEPTH),
    "width": Bounds(True, 1, MAX_CHANNELS),
    "group_w": Bounds(True, 1, MAX_CHANNELS),
    "bot_mul": Bounds(False, 1 / 64, 64.0),
    "w0": Bounds(True, 1, MAX_CHANNELS),
    "wa": Bounds(False, 0.0, float(MAX_CHANNELS)),
    "wm": Bounds(False, 1.0, 64.0, lo_open=True),
}


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


def list_fields(fields: Fields, key: str, items: Sequence[Any]) -> Fields:
    """The entries of a list as a Fields view whose keys are indices (paths like ``range[1]``)."""
    return Fields(dict(enumerate(items)), fields.source, fields.sub_path(key))


def _number(fields: Fields, key: Any, value: Any, bounds: Bounds) -> Decimal:
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


def parse_domain(fields: Fields, name: str) -> Domain:
    """``{values: [...]}`` or ``{range: [lo, hi], step: s, distribution: ...}``."""
    bounds = DIM_BOUNDS[name]
    distribution = fields.str("distribution", "uniform", choices=list(DISTRIBUTIONS))
    if fields.has("values") == fields.has("range"):
        raise fields.error("", "give either values: [...] or range: [lo, hi] (with step)")
    if fields.has("values"):
        raw = fields.list("values", min_len=1, max_len=MAX_DOMAIN)
        numbers = [_number(fields, f"values[{i}]", v, bounds) for i, v in enumerate(raw)]
        if len(set(numbers)) != len(numbers):
            raise fields.error("values", "lists a value twice")
        if distribution != "uniform":
            raise fields.error("distribution", f"{distribution} needs range: [lo, hi] and step")
        numbers.sort()
        weights = [1.0 / len(numbers)] * len(numbers)
    else:
        lo_raw, hi_raw = fields.list("range", min_len=2, max_len=2)
        ends = list_fields(fields, "range", [lo_raw, hi_raw])
        lo = _number(ends, 0, lo_raw, bounds)
        hi = _number(ends, 1, hi_raw, bounds)
        if lo > hi:
            raise fields.error("range", f"lower end {lo_raw} is above upper end {hi_raw}")
        step = _number(fields, "step", fields.raw.get("step", 1),
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


# -- fixed parts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    """The parts every member shares: stem, block type, head, resolution (spec fields)."""

    stem_type: str = "simple"
    stem_w: int = 32
    block_type: str = "res_bottleneck"
    se_r: float = 0.0
    head_w: int = 0
    resolution: int = 224
    num_classes: int = 1000
    in_channels: int = 3
    q: int = 8

    def spec_fields(self, family: str) -> Dict[str, Any]:
        """The fields of a spec of ``family`` that carry these parts (what `netcalc count` reads)."""
        out: Dict[str, Any] = {
            "family": family, "resolution": self.resolution, "in_channels": self.in_channels,
            "num_classes": self.num_classes, "stem": self.stem_type, "stem_w": self.stem_w,
            "block": self.block_type}
        if self.se_r:
            out["se_r"] = self.se_r
        if self.head_w:
            out["head_w"] = self.head_w
        if family == "regnet":
            out["q"] = self.q
        return out


def parse_network(fields: Fields, kind: str) -> Network:
    common = anynet.parse_common(fields, "simple", 32)
    network = Network(
        resolution=fields.int("resolution", 224, lo=1, hi=MAX_RESOLUTION),
        num_classes=fields.int("num_classes", 1000, lo=1, hi=1_000_000),
        in_channels=fields.int("in_channels", 3, lo=1, hi=MAX_CHANNELS),
        q=fields.int("q", 8, lo=1, hi=1024) if kind == "regnet" else 8,
        **common)
    fields.finish()
    return network


# -- caps -----------------------------------------------------------------------------------------
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
        except SpecError as exc:
            raise fields.error("max", exc.message) from None
    cap = Cap(quantity, maximum,
              fields.float("M", 0.0, lo=0.0, hi=1e9),
              fields.float("M_per_GF", 0.0, lo=0.0, hi=1e9),
              fields.float("M_per_sqrt_GF", 0.0, lo=0.0, hi=1e9))
    fields.finish(allowed_extra=("max",))
    if cap.max is None and not cap.relative:
        raise fields.error("", "needs max or one of M, M_per_GF, M_per_sqrt_GF")
    return cap


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
            hint = get_close_matches(str(key), names, n=1)
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


# -- finding and reading space files ------------------------------------------------------------
def shipped_names() -> List[str]:
    if not os.path.isdir(BUILTIN_DIR):
        return []
    return sorted(os.path.splitext(f)[0] for f in os.listdir(BUILTIN_DIR) if f.endswith(".yaml"))


def resolve(name_or_path: str, beside: Optional[str] = None) -> str:
    """A space file: an existing path, a file beside ``beside``, or a shipped name."""
    if os.path.isfile(name_or_path):
        return name_or_path
    if beside is not None:
        for candidate in (name_or_path, name_or_path + ".yaml"):
            path = os.path.join(os.path.dirname(beside), candidate)
            if os.path.isfile(path):
                return path
    if _NAME.match(name_or_path):
        path = os.path.join(BUILTIN_DIR, name_or_path + ".yaml")
        if os.path.isfile(path):
            return path
    known = ", ".join(shipped_names()) or "none installed"
    raise SpecError(name_or_path[:100], "", f"no such space file or shipped space (shipped: {known})")


def _merge(parent: Any, child: Any) -> Any:
    if isinstance(parent, dict) and isinstance(child, dict):
        merged = dict(parent)
        for key, value in child.items():
            merged[key] = _merge(parent[key], value) if key in parent else value
        return merged
    return child


def read_space_data(path: str, chain: Tuple[str, ...] = ()) -> Any:
    """The raw mapping of a space file with its ``extends`` chain merged in."""
    data = read_spec_file(path)
    if not isinstance(data, dict):
        raise SpecError(path, "", f"expected a mapping, got {describe(data)}")
    if "extends" not in data:
        return data
    parent_name = data["extends"]
    if not isinstance(parent_name, str) or not parent_name:
        raise SpecError(path, "extends", f"expected a space name or file, got {describe(parent_name)}")
    if len(chain) >= MAX_EXTENDS:
        raise SpecError(path, "extends", f"chain longer than {MAX_EXTENDS} files")
    parent_path = resolve(parent_name, beside=path)
    if os.path.realpath(parent_path) in chain + (os.path.realpath(path),):
        raise SpecError(path, "extends", f"{parent_name!r} extends this file again (a cycle)")
    parent = read_space_data(parent_path, chain + (os.path.realpath(path),))
    parent = {k: v for k, v in parent.items() if k not in ("name", "description", "table1")}
    child = {k: v for k, v in data.items() if k != "extends"}
    return _merge(parent, child)


def load_space(name_or_path: Any) -> Space:
    """A validated :class:`Space` from a shipped name, a file path or a mapping."""
    if isinstance(name_or_path, Space):
        return name_or_path
    if isinstance(name_or_path, dict):
        return parse_space(name_or_path, "<dict>")
    path = resolve(os.fspath(name_or_path))
    return parse_space(read_space_data(path), path)
