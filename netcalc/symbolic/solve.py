"""Budgets solved: the largest resolution, width or phi whose counts stay within given limits.

Every count is non-decreasing in each of these variables: a layer's cost is a non-negative
constant times a product of its channel counts and spatial sides, sides are non-decreasing
functions of r (floors of (r + c)/m, at least 1 wherever the network is accepted), and the
families' rounding rules (round_filters, ceil of repeats, half-to-even widths) are
non-decreasing in width and phi. So "within budget" holds on an initial segment and a binary
search finds its end exactly: the largest value within, and the next value, over.

- ``r`` is searched over the integers with the closed form's exact integer evaluation, then both
  answers are recounted concretely (:func:`netcalc.count`) and must agree.
- ``width`` and ``phi`` are spec fields (``width_mult``, ``phi``) taking floats. Counts are step
  functions of them (see docs/closed_forms.md), so the search runs over the floats themselves,
  in order, until the two answers are adjacent floats: the largest representable value within
  budget and the smallest above. Each is counted concretely through the family's own code.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from ..count import count
from ..errors import SpecError
from ..limits import MAX_RESOLUTION
from ..report import QUANTITIES
from ..spec import Spec, SpecLike, expand_checked, load_spec, parse_spec

Counts = Dict[str, int]


@dataclass(frozen=True)
class Budget:
    """Upper limits on some of flops, params, acts (inclusive)."""

    limits: Mapping[str, int]

    def fits(self, counts: Mapping[str, int]) -> bool:
        return all(counts[q] <= limit for q, limit in self.limits.items())

    def __str__(self) -> str:
        return ", ".join(f"{q} <= {limit:,}" for q, limit in self.limits.items())


@dataclass(frozen=True)
class Point:
    """A value of the variable and the concrete counts there (None: the spec refuses it)."""

    value: Any
    counts: Optional[Counts]


@dataclass(frozen=True)
class Solution:
    spec: Spec
    convention: str
    variable: str
    budget: Budget
    within: Optional[Point]         # the largest value within budget
    over: Optional[Point]           # the smallest value above it (over budget or refused)
    step: str = ""                  # what changes between the two (width/phi)
    notes: Sequence[str] = field(default_factory=tuple)


# -- resolution ----------------------------------------------------------------------------------
def solve_resolution(spec: SpecLike, budget: Budget, convention: str = "pycls",
                     multiple_of: int = 1) -> Solution:
    """The largest r (a multiple of ``multiple_of``) within budget, from the closed form."""
    from .closed_form import count_symbolic

    form = count_symbolic(spec, convention)
    totals = {q: form.total(q) for q in budget.limits}
    hi = _largest_side(form.spec)       # the smallest is in form.min_resolution already
    start = -(-form.min_resolution // multiple_of) * multiple_of
    values: Sequence[int] = range(start, hi + 1, multiple_of)
    if form.conditions:
        values = [r for r in values if form.accepts(r)]
    first_over = _first_true(len(values), lambda i: not budget.fits(
        {q: form.evaluate(e, values[i]) for q, e in totals.items()}))
    within = _verified(form, values[first_over - 1]) if first_over > 0 else None
    over = _verified(form, values[first_over]) if first_over < len(values) else None
    end = (f"the end of the spec's resolution_range, {hi}" if hi < MAX_RESOLUTION
           else f"netcalc's limit {MAX_RESOLUTION}")
    notes = [] if over else [f"every r up to {end} fits"]
    return Solution(form.spec, convention, "r", budget, within, over, notes=tuple(notes))


def _largest_side(spec: Spec) -> int:
    """The largest side r an imported spec holds for on every axis (its ``resolution_range``,
    where the model branches on its size), else netcalc's limit."""
    ranges = getattr(getattr(spec, "config", None), "resolution_range", None) or ()
    return min([MAX_RESOLUTION] + [high for _, (_low, high) in ranges if high is not None])


def _verified(form: Any, r: int) -> Point:
    """The concrete count at r, which must equal the closed form's value there."""
    counts = count(form.spec, form.convention, r).totals()
    closed = {q: form.evaluate(form.total(q), r) for q in QUANTITIES}
    if closed != counts:
        raise AssertionError(f"{form.name}: closed form {closed} != concrete count {counts} "
                             f"at r = {r}")
    return Point(r, counts)


def _first_true(n: int, predicate: Callable[[int], bool]) -> int:
    """The smallest i in [0, n) with predicate(i), or n; predicate is monotone."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# -- width and phi: spec fields taking floats ------------------------------------------------------
SCALING_FIELDS = {"width": "width_mult", "phi": "phi"}
DEFAULT_START = {"width_mult": 1.0, "phi": 0.0}     # where a spec that does not name them is


class FieldSearch:
    """Counts of a spec with one float field changed, through the family's own parsing."""

    def __init__(self, spec: Spec, key: str, convention: str):
        self.spec, self.key, self.convention = spec, key, convention
        self._memo: Dict[float, Optional[Spec]] = {}
        raw = spec.raw if spec.raw is not None else {}
        self.start = float(raw.get(key, DEFAULT_START[key]))
        if key not in raw:
            try:   # the family's own parser says whether this spec can take the field
                parse_spec({**raw, key: self.start}, spec.source)
            except SpecError as exc:
                raise SpecError(spec.source, key, f"cannot be solved for in this spec "
                                                  f"({exc.field}: {exc.message})") from None

    def parse(self, value: float) -> Optional[Spec]:
        """The spec with the field set to ``value``, or None where the family refuses it."""
        try:
            return parse_spec({**(self.spec.raw or {}), self.key: value}, self.spec.source)
        except SpecError:
            return None

    def spec_at(self, value: float) -> Optional[Spec]:
        """:meth:`parse`, remembered (searches come back to the same values)."""
        if value not in self._memo:
            self._memo[value] = self.parse(value)
        return self._memo[value]

    def point(self, value: float) -> Point:
        spec = self.spec_at(value)
        return Point(value, None if spec is None else count(spec, self.convention).totals())


def solve_field(spec: SpecLike, budget: Budget, convention: str, key: str) -> Solution:
    """The largest float value of spec field ``key`` within budget, and the next float above."""
    search = FieldSearch(load_spec(spec), key, convention)

    def refused(value: float) -> bool:
        return search.spec_at(value) is None

    def over(value: float) -> bool:
        counts = search.point(value).counts
        return counts is None or not budget.fits(counts)

    lo, hi = _bracket(search.start, over, refused)
    if lo is None:
        return Solution(search.spec, convention, key, budget, None, search.point(hi),
                        notes=(f"nothing fits: {key} = {hi!r} is over budget and no smaller value "
                               f"is accepted by the spec or within budget",))
    if hi is None:
        return Solution(search.spec, convention, key, budget, search.point(lo), None,
                        notes=(f"{key} = {lo!r} still fits; no larger value was tried",))
    lo, hi = _adjacent_floats(lo, hi, over)
    return Solution(search.spec, convention, key, budget, search.point(lo), search.point(hi),
                    step=describe_step(search.spec_at(lo), search.spec_at(hi)))


def _bracket(start: float, over: Callable[[float], bool], refused: Callable[[float], bool],
             tries: int = 12):
    """(lo within, hi over) around ``start`` by doubling steps; None where there is none.

    Going down, a refused value (below the field's range) is not "over": the search moves to the
    smallest accepted value instead, which decides whether anything fits.
    """
    step = 0.125
    if not over(start):
        lo = start
        for _ in range(tries):
            if over(start + step):
                return lo, start + step
            lo, step = start + step, step * 2
        return lo, None
    hi = start
    for _ in range(tries):
        lo = start - step
        if refused(lo):
            lo = _adjacent_floats(lo, hi, lambda v: not refused(v))[1]
            return (None, lo) if over(lo) else (lo, hi)
        if not over(lo):
            return lo, hi
        hi, step = lo, step * 2
    return None, hi


def float_key(x: float) -> int:
    """An order-preserving map of floats to integers: adjacent floats, adjacent integers."""
    (bits,) = struct.unpack("<Q", struct.pack("<d", x))
    return -(bits & ~(1 << 63)) if bits >> 63 else bits


def float_of(key: int) -> float:
    bits = key if key >= 0 else (-key) | (1 << 63)
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _adjacent_floats(lo: float, hi: float, over: Callable[[float], bool]):
    """Bisect over the floats between lo (within) and hi (over) until they are neighbours."""
    lo_key, hi_key = float_key(lo), float_key(hi)
    while hi_key - lo_key > 1:
        mid = (lo_key + hi_key) // 2
        if over(float_of(mid)):
            hi_key = mid
        else:
            lo_key = mid
    return float_of(lo_key), float_of(hi_key)


def describe_step(below: Optional[Spec], above: Optional[Spec], most: int = 4) -> str:
    """What differs between two expansions: resolution, number of layers, conv/FC widths."""
    if below is None or above is None:
        return "the spec is refused above this value"
    a, b = expand_checked(below, None), expand_checked(above, None)
    changes = []
    if a.resolution != b.resolution:
        changes.append(f"resolution {a.resolution} -> {b.resolution}")
    if len(a.layers) != len(b.layers):
        changes.append(f"{len(a.layers)} -> {len(b.layers)} layers")
    widths_a = {l.name: l.shape[1] for l in a.layers if l.op in ("conv", "linear")}
    widened = [f"{l.name} {widths_a[l.name]} -> {l.shape[1]}" for l in b.layers
               if widths_a.get(l.name, l.shape[1]) != l.shape[1]]
    changes += widened[:most] + ([f"{len(widened) - most} more"] if len(widened) > most else [])
    return "; ".join(changes) or "no change in the graph"


def solve(spec: SpecLike, budget: Budget, variable: str = "r", convention: str = "pycls",
          multiple_of: int = 1) -> Solution:
    """The largest value of ``variable`` (``r``, ``width`` or ``phi``) within ``budget``."""
    if variable == "r":
        return solve_resolution(spec, budget, convention, multiple_of)
    return solve_field(spec, budget, convention, SCALING_FIELDS[variable])
