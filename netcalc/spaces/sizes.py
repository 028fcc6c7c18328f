"""Exact design-space sizes, the Table 1 chain, and distinct networks of RegNet grids.

AnyNet-kind sizes come from :func:`netcalc.spaces.chain.chain_size` (dynamic programming over the
stages, exact Python integers). For the published chain the DP reduces to closed forms that the
tests state: A = (16*128*3*6)^4; B = 3*(16*128*6)^4; C = 18*(16*128)^4; D = 18*16^4*C(131,4);
E = 18*C(19,4)*C(131,4). The paper's D and E divide by 4! once per ordered dimension, which
counts the strictly ordered 4-tuples of distinct values (~n^4/4!) but not the tuples with ties:
the exact number of non-decreasing 4-tuples of n values is C(n+3, 4).

RegNet-kind sizes are grid sizes (the product of the parameter domains). Different parameters
often give the same network; :func:`distinct_networks` counts the distinct ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import ArgumentError, SpecError
from ..limits import MAX_DISTINCT_WIDTHS, MAX_DOMAIN
from .distributions import Domain
from .loading import load_space
from .schema import ANYNET_DIMS, Space

# distinct networks: widths generated in Python (~1 us each), keeps `space --distinct` < ~40 s
TABLE1_CHAIN = ("anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnet")


def compatible_mask(space: Space) -> Any:
    """(|w|, |b|, |g|) bool: the triples pycls's adjustment leaves unchanged."""
    from .candidates import compatibility

    return compatibility(space)[2]


def space_size(space: Space, compatible_only: bool = False) -> int:
    """The exact number of members (grid points for a RegNet-kind space)."""
    if space.kind == "regnet":
        if compatible_only:
            raise ArgumentError(space.source, "compatible_only",
                                "applies to anynet-kind spaces (per-stage width, bot_mul, "
                                "group_w)")
        return math.prod(len(d) for d in space.domains)
    import numpy as np

    from .chain import Layout, chain_size

    shape = tuple(len(space.domain(d)) for d in ANYNET_DIMS)
    mask = np.ones(shape, dtype=np.int64)
    if (compatible_only or space.compatible) and space.needs_compatibility:
        mask *= compatible_mask(space)[None, :, :, :]
    return chain_size(mask, Layout.of(ANYNET_DIMS, space.relation), space.num_stages)


def paper_formula(space: Space) -> Fraction:
    """The paper's way of sizing an AnyNet-kind space: n^stages per free dimension, n per shared
    one, and n^stages / stages! per ordered one."""
    k = space.num_stages
    value = Fraction(1)
    for dim in ANYNET_DIMS:
        n = len(space.domain(dim))
        relation = space.relation(dim)
        value *= n if relation == "shared" else Fraction(n ** k, math.factorial(k)) \
            if relation in ("non_decreasing", "increasing") else n ** k
    return value


def ordering_notes(space: Space) -> List[str]:
    """One line per ordered dimension: exact tuples versus the n^k/k! approximation."""
    k = space.num_stages
    notes = []
    for dim in ANYNET_DIMS:
        relation = space.relation(dim)
        if relation not in ("non_decreasing", "increasing"):
            continue
        n = len(space.domain(dim))
        exact = math.comb(n + k - 1, k) if relation == "non_decreasing" else math.comb(n, k)
        formula = "C(n+k-1,k)" if relation == "non_decreasing" else "C(n,k)"
        approx = Fraction(n ** k, math.factorial(k))
        notes.append(f"{dim}: {relation} {k}-tuples of {n} values: {formula} = {exact:,} vs "
                     f"{n}^{k}/{k}! = {float(approx):,.2f} (x{float(exact / approx):.4f})")
    return notes


@dataclass(frozen=True)
class SizeReport:
    name: str
    source: str
    kind: str
    size: int
    compatible_size: Optional[int]
    formula_value: Optional[Fraction]
    notes: Tuple[str, ...]

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"name": self.name, "space": self.source, "kind": self.kind,
                               "size": self.size}
        if self.compatible_size is not None:
            out["compatible_size"] = self.compatible_size
        if self.formula_value is not None:
            out["paper_formula"] = _exact_text(self.formula_value)
        out["notes"] = list(self.notes)
        return out


def size_report(space: Space, compatible_only: bool = False) -> SizeReport:
    anynet = space.kind == "anynet"
    size = space_size(space, compatible_only)
    compatible = space_size(space, True) if anynet and space.needs_compatibility else None
    notes = list(ordering_notes(space)) if anynet else _regnet_notes(space)
    if anynet and space.needs_compatibility:
        notes.append("compatible = pycls's adjust_block_compatibility leaves (w, b, g) as is, "
                     "i.e. g divides w*b (hence g <= w*b); other members are adjusted when built")
    return SizeReport(space.name, space.source, space.kind,
                      size, compatible, paper_formula(space) if anynet else None, tuple(notes))


def _regnet_notes(space: Space) -> List[str]:
    grid = " x ".join(f"{len(d)} {d.name}" for d in space.domains)
    notes = [f"grid points: {grid}"]
    if space.stage_count or space.no_skipped:
        notes.append("stage-count constraints are applied when sampling (their share of the grid "
                     "is estimated by `netcalc sample --stats`), not in this grid size")
    return notes


def _exact_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else \
        f"{value.numerator}/{value.denominator} (~{float(value):.6g})"


# -- Table 1 ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table1Line:
    name: str
    restriction: str
    printed: str
    figure: float
    formula_value: Optional[Fraction]
    exact: int
    compatible: Optional[int]
    note: str

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "restriction": self.restriction, "printed": self.printed,
                "printed_figure": self.figure,
                "paper_formula": _exact_text(self.formula_value) if self.formula_value else None,
                "size": self.exact, "compatible_size": self.compatible,
                "ratio_to_printed": self.exact / self.figure, "note": self.note}


def table1(names: Sequence[str] = TABLE1_CHAIN, distinct: bool = False) -> List[Table1Line]:
    """The Table 1 chain with exact counts and why each differs from the printed figure."""
    lines = []
    for name in names:
        space = load_space(name)
        if space.table1 is None:
            raise SpecError(space.source, "table1", "missing: not a row of the Table 1 chain")
        report = size_report(space)
        row = space.table1
        if space.kind == "anynet":
            note = _anynet_note(space, report)
        else:
            note = _regnet_table_note(space, report, distinct)
        lines.append(Table1Line(space.name, row.restriction, row.formula, row.figure,
                                report.formula_value, report.size, report.compatible_size, note))
    return lines


def _anynet_note(space: Space, report: SizeReport) -> str:
    formula = report.formula_value
    printed = space.table1.figure
    if formula is not None and formula == report.size:
        return (f"the printed formula is exact ({report.size:.4g}); the printed "
                f"{printed:.2g} rounds it to two digits")
    ordered = "; ".join(ordering_notes(space))
    return (f"the printed formula divides by {space.num_stages}! per ordered dimension "
            f"({float(formula):.4g}), which misses tuples with equal neighbours: {ordered}; "
            f"exact/formula = {float(report.size / formula):.4f}")


def _regnet_table_note(space: Space, report: SizeReport, distinct: bool) -> str:
    levels = ", ".join(f"{len(d)} {d.name}" for d in space.domains)
    note = (f"the printed ~64^4*6*3 counts about 64 levels per continuous parameter; this grid "
            f"has {levels}")
    if distinct:
        counted = distinct_networks(space)
        note += (f"; {counted.distinct:,} distinct (d, w0, wa, wm) networks of "
                 f"{counted.points:,} parameter points ({counted.distinct * counted.bg:,} with "
                 f"b and g)")
    else:
        note += "; `netcalc space regnet --distinct` counts the distinct networks"
    return note


# -- distinct networks of a RegNet grid ---------------------------------------------------------
@dataclass(frozen=True)
class DistinctCount:
    points: int            # (d, w0, wa, wm) grid points
    distinct: int          # distinct networks (per-block widths) among them
    bg: int                # |b| * |g|: each network comes with every (b, g)
    by_depth: Tuple[Tuple[int, int], ...]

    def to_dict(self) -> Dict[str, Any]:
        return {"grid_points": self.points, "distinct": self.distinct,
                "grid_points_with_bg": self.points * self.bg,
                "distinct_with_bg": self.distinct * self.bg,
                "by_depth": [{"depth": d, "distinct": n} for d, n in self.by_depth]}


def with_steps(space: Space, steps: Dict[str, Any]) -> Space:
    """The same RegNet grid with other steps (ranges kept); None keeps a step.

    ``steps`` maps depth, w0, wa, wm to a positive finite step; a w0 step must be a multiple of
    the space's q (the generation needs w0 % q == 0, so other w0 values are not members).
    """
    from dataclasses import replace
    from decimal import Decimal

    from ..arguments import checked_number
    from .bounds import DIM_BOUNDS, as_value
    from .distributions import DISTRIBUTIONS

    domains = []
    for d in space.domains:
        step = steps.get(d.name)
        if step is None:
            domains.append(d)
            continue
        name = f"{d.name}_step"
        step = checked_number(step, name, 0.0, lo_open=True)
        integer = DIM_BOUNDS[d.name].integer
        if integer and step != int(step):
            raise ArgumentError("", name, f"{step:g} must be a whole number ({d.name} is an "
                                          "integer)")
        if d.name == "w0" and int(step) % space.network.q:
            raise ArgumentError("", name, f"{step:g} is not a multiple of q = {space.network.q}: "
                                          "w0 values must be multiples of q")
        lo, hi, q = Decimal(repr(d.values[0])), Decimal(repr(d.values[-1])), Decimal(repr(step))
        if (hi - lo) / q >= MAX_DOMAIN:
            raise ArgumentError("", name, f"{step:g} gives more than {MAX_DOMAIN:,} values of "
                                          f"{d.name}")
        values, weights = DISTRIBUTIONS["uniform"](lo, hi, q)
        domains.append(Domain(d.name, tuple(as_value(v, integer) for v in values),
                              tuple(weights)))
    return replace(space, domains=tuple(domains))


def distinct_networks(space: Space, progress: bool = False) -> DistinctCount:
    """Count distinct networks generated by the (d, w0, wa, wm) grid.

    A network is fixed by its per-block widths (non-decreasing, so they determine the stages),
    and the widths of depth d are the first d widths of any larger depth. So each (w0, wa, wm)
    is generated once at the largest depth with :func:`netcalc.families.regnet.block_widths`,
    the sequences are sorted, and the number of distinct length-d prefixes is one plus the number
    of neighbours in sorted order that differ within the first d widths.
    """
    import numpy as np

    from ..families.regnet import block_widths
    from .progress import Progress

    if space.kind != "regnet":
        raise SpecError(space.source, "kind", "distinct networks are counted for regnet grids")
    depths = space.domain("depth").values
    d_max = max(depths)
    w0s, was, wms = (space.domain(p).values for p in ("w0", "wa", "wm"))
    rows = len(w0s) * len(was) * len(wms)
    if rows * d_max > MAX_DISTINCT_WIDTHS:
        raise ArgumentError(space.source, "distinct",
                            f"{rows:,} (w0, wa, wm) points at depth {d_max} are {rows * d_max:,} "
                            f"widths to generate, over the limit of {MAX_DISTINCT_WIDTHS:,} "
                            "(about a minute); use coarser `depth_step`, `w0_step`, `wa_step` "
                            "or `wm_step`")
    q = space.network.q
    seqs = np.empty((rows, d_max), dtype=np.int32)
    r = 0
    with Progress(len(w0s), f"generating {space.name}", enabled=progress, unit="w0 values",
                  extra_unit="networks") as bar:
        for i, w0 in enumerate(w0s):
            for wa in was:
                for wm in wms:
                    seqs[r] = block_widths(w0, wa, wm, d_max, q)
                    r += 1
            bar.update(i + 1, r)
    order = np.lexsort(seqs.T[::-1])
    seqs = seqs[order]
    differs = seqs[1:] != seqs[:-1]
    first_diff = np.where(differs.any(axis=1), differs.argmax(axis=1), d_max)
    by_depth = tuple((d, 1 + int((first_diff < d).sum())) for d in depths)
    bg = len(space.domain("bot_mul")) * len(space.domain("group_w"))
    return DistinctCount(rows * len(depths), sum(n for _, n in by_depth), bg, by_depth)
