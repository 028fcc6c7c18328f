"""Closed forms: a spec's flops, params and activations as exact functions of the resolution r.

There is no second cost model here. The spec is expanded by its family at the sympy symbol
``r`` (:data:`~netcalc.symbolic.sides.R`) exactly as a concrete count expands it at 224, every
side is rewritten in its canonical form (an identity, see :mod:`netcalc.symbolic.sides`), and
the convention's own rules (:func:`netcalc.count.count_graph`) count the result. A closed form
evaluated at any resolution the network accepts is therefore the concrete count there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import sympy

from ..caches import memoised
from ..count import count_graph
from ..errors import GraphError, SpecError
from ..graph import LayerGraph
from ..limits import MAX_PERIOD
from ..ops import get_op
from ..report import QUANTITIES, Report
from ..rules import get_convention
from ..spec import Spec, SpecLike, expand_checked, load_spec
from .sides import AXES, H, R, W, Side, axis_value


@dataclass(frozen=True)
class ClosedForm:
    """The counts of one spec under one convention, in ``r`` (or in ``h`` and ``w``).

    ``report`` is an ordinary :class:`~netcalc.report.Report` whose totals and breakdowns are
    sympy expressions; ``sides`` are the distinct floor parts (``ceiling(r/2)``...) they use.
    With ``axes == "hw"`` the input is ``h`` x ``w``, resolutions are ``(h, w)`` pairs and
    ``min_resolution`` is the smallest ``(h, w)``.
    """

    report: Report
    sides: Tuple[Side, ...]
    min_resolution: Any
    conditions: Tuple[Any, ...] = ()    # extra shape conditions (rare; hand-written graphs)
    axes: str = "r"

    @property
    def name(self) -> str:
        return self.report.name

    @property
    def spec(self) -> Spec:
        return self.report.spec

    @property
    def convention(self) -> str:
        return self.report.convention.name

    @property
    def total_stride(self) -> int:
        """The polynomial form is exact when this divides r (lcm of every side's divisor)."""
        return math.lcm(*(s.m for s in self.sides)) if self.sides else 1

    def total(self, quantity: str) -> Any:
        return _expanded(getattr(self.report, quantity))

    def rows(self, by: str) -> List[Dict[str, Any]]:
        """Breakdown rows as in :meth:`Report.breakdown`, quantities as expanded expressions."""
        return [{k: (_expanded(v) if k in QUANTITIES else v) for k, v in row.items()}
                for row in self.report.breakdown(by)]

    def polynomial(self, expr: Any) -> Any:
        """``expr`` when ``total_stride`` divides ``r``: each side becomes ``r/m + q``."""
        return sympy.expand(sympy.sympify(expr).xreplace(
            {s.atom: s.symbol / s.m for s in self.sides}))

    def evaluate(self, expr: Any, r: Any) -> int:
        """``expr`` at the resolution ``r`` (``(h, w)`` for axes hw), in exact integer arithmetic."""
        return evaluator(sympy.sympify(expr), self.sides)(r)

    def _values(self, r: Any) -> Dict[Any, Any]:
        return {AXES[a]: sympy.Integer(axis_value(r, a)) for a in self._axis_names}

    @property
    def _axis_names(self) -> Tuple[str, ...]:
        return ("h", "w") if self.axes == "hw" else ("r",)

    def accepts(self, r: Any) -> bool:
        minimum = self.min_resolution
        fits = (r >= minimum if self.axes == "r"
                else r[0] >= minimum[0] and r[1] >= minimum[1])
        return fits and all(bool(c.xreplace(self._values(r))) for c in self.conditions)

    @property
    def domain(self) -> str:
        minimum = (self.min_resolution,) if self.axes == "r" else self.min_resolution
        bounds = [f"{a} >= {m}" for a, m in zip(self._axis_names, minimum)]
        return " and ".join(bounds + [condition_words(c) for c in self.conditions])




def condition_words(condition: Any) -> str:
    """A shape condition in words: ``r a multiple of 8`` for ``Eq(8*floor(r/8), r)``;
    ``(floor(h/16), floor(w/16)) != (48, 48)`` for sizes of which one must differ.

    Where both sides are linear in one input side and its floors and ceilings, their
    difference repeats with the period M of those floors: the condition is a set of residues
    of the side modulo M, read off one period exactly. Anything else is written as the
    equation ``lhs = rhs``."""
    if not isinstance(condition, sympy.Eq):      # some sizes differ: Or of Ne
        parts = condition.args if isinstance(condition, sympy.Or) else (condition,)
        pairs = [(p.lhs, p.rhs) if p.lhs.free_symbols else (p.rhs, p.lhs) for p in parts]
        if len(pairs) == 1:
            return f"{pairs[0][0]} != {pairs[0][1]}"
        return (f"({', '.join(str(x) for x, _ in pairs)}) != "
                f"({', '.join(str(y) for _, y in pairs)})")
    residues = _residues(condition)
    if residues is None:
        return f"{condition.lhs} = {condition.rhs}"
    symbol, period, held = residues
    if held == [0]:
        return f"{symbol} a multiple of {period}"
    listed = ", ".join(map(str, held[:-1])) + f" or {held[-1]}" if len(held) > 1 else str(held[0])
    return f"{symbol} mod {period} is {listed}"


def _period(atom: Any) -> int:
    """The period in the input side of ``floor(arg)``: the denominators of ``arg`` times the
    periods of the floors nested in it (``floor(floor(r/2)/2)`` repeats every 4)."""
    period = 1
    for term, coefficient in atom.args[0].as_coefficients_dict().items():
        period = math.lcm(period, int(sympy.Rational(coefficient).q))
    inner = 1
    for nested in atom.args[0].atoms(sympy.floor, sympy.ceiling):
        inner = math.lcm(inner, _period(nested))
    return period * inner


def _residues(condition: Any) -> Optional[Tuple[Any, int, List[int]]]:
    symbols = condition.free_symbols
    if len(symbols) != 1:
        return None
    symbol = next(iter(symbols))
    difference = condition.lhs - condition.rhs
    atoms = difference.atoms(sympy.floor, sympy.ceiling)
    linear = sympy.Poly(difference, symbol, *atoms) if atoms else None
    if linear is None or linear.total_degree() > 1:
        return None
    period = 1
    for atom in atoms:
        period = math.lcm(period, _period(atom))
    if period > MAX_PERIOD:
        return None
    shift = difference.subs(symbol, symbol + period) - difference
    if any(shift.subs(symbol, v) != 0 for v in range(4)):  # not periodic: rare equalities
        return None
    held = [v for v in range(period) if difference.subs(symbol, v) == 0]
    return (symbol, period, held) if held else None


@memoised(maxsize=512)
def evaluator(expr: Any, sides: Tuple[Side, ...]) -> Callable[[int], int]:
    """A fast exact evaluator of a polynomial in the sides' atoms.

    Counts are sums of integer constants times products of sides, so the coefficients are
    integers and the evaluation needs no sympy and no floats.
    """
    names = sympy.symbols(f"_s0:{len(sides)}")
    poly = sympy.Poly(expr.xreplace({s.atom: n for s, n in zip(sides, names)}), *names)
    terms = []
    for monom, coeff in poly.terms():
        if not coeff.is_Integer:
            raise ValueError(f"not a closed form of counts (coefficient {coeff}): {expr}")
        terms.append((int(coeff), monom))

    def at(r: int) -> int:
        values = [s.atom_at(r) for s in sides]
        return sum(c * math.prod(v ** e for v, e in zip(values, monom)) for c, monom in terms)
    return at


def count_symbolic(spec: SpecLike, convention: str = "pycls", axes: str = "r") -> ClosedForm:
    """The closed form of a spec (path, mapping or Spec) under a convention, in ``r`` (a square
    input) or, with ``axes="hw"``, in the height ``h`` and width ``w``."""
    if axes not in ("r", "hw"):
        raise SpecError("", "--symbolic", f"{axes!r} is not r or hw")
    return _closed_form(load_spec(spec), convention, axes)


@memoised(maxsize=256)
def _closed_form(spec: Spec, convention: str, axes: str = "r") -> ClosedForm:
    conv = get_convention(convention)
    resolution = (H, W) if axes == "hw" else R
    try:
        graph, canonical = canonical_graph(expand_checked(spec, resolution,
                                                          field_name="resolution"))
        costs = [tuple(canonical.cost(c, node) for c in cost)
                 for node, cost in zip(graph.layers, _symbolic_costs(spec, graph, conv))]
    except OutsideClosedForms as exc:
        raise SpecError(spec.source, f"layer {exc.layer}",
                        f"{exc.op}: closed forms cover sizes floor((r + c)/m) + q and their "
                        "products, and a size of this layer is neither (a size scaled up by a "
                        "transposed conv or an upsample, then strided; TF 'same' padding of a "
                        "window shorter than its stride; a reshape that splits a spatial side); "
                        "count it at concrete resolutions") \
            from None
    report, sides = Report(spec, conv, graph, costs), canonical.sides
    distinct = tuple(sorted({s.key: Side(s.m, s.c, 0, s.axis) for s in sides}.values()))

    # an imported spec holds from its resolution_range's first side on (the model branches)
    ranges = dict(getattr(getattr(spec, "config", None), "resolution_range", None) or ())

    def smallest(axis: str) -> int:
        lows = [low for name, (low, _high) in ranges.items() if axis in ("r", name)]
        return max([1] + lows + [s.min_resolution() for s in sides if s.axis == axis])
    min_res = (smallest("h"), smallest("w")) if axes == "hw" else smallest("r")
    return ClosedForm(report, distinct, min_res, shape_conditions(graph), axes)


def _symbolic_costs(spec: Spec, graph: LayerGraph, convention: Any) -> Any:
    """The graph's costs as expressions; a rule with no closed form (fvcore's rounded einsum)
    is an error naming its layer."""
    try:
        return count_graph(graph, convention)
    except GraphError:
        for node in graph.layers:
            try:
                for rule in convention.table()[node.op]:
                    rule(node.in_shapes, node.shape, node.attrs)
            except GraphError as exc:
                raise SpecError(spec.source, f"layer {node.name}.{exc.attr}",
                                f"{node.op} in the {convention.name} convention: {exc}") from None
        raise


class _Canonical:
    """Sizes in canonical form (:class:`Side`), one memo for a graph's shapes and its costs:
    the sides a closed form is a polynomial in."""

    def __init__(self) -> None:
        self.memo: Dict[Any, Side] = {}

    def size(self, size: Any) -> Any:
        if not isinstance(size, sympy.Basic) or size.is_Integer:
            return int(size)
        if size not in self.memo:
            try:
                self.memo[size] = Side.of(size)
            except ValueError:
                if isinstance(size, sympy.floor):
                    # a reshape's -1: the floor of (features / known dims), whole when expanded
                    whole = sympy.expand(size.args[0])
                    if whole.is_integer:
                        return self.size(whole)
                if not size.args or isinstance(size, sympy.floor):
                    raise
                # a polynomial in sides (a flattened map's features): canonical part by part
                return size.func(*(self.size(arg) for arg in size.args))
        return self.memo[size].expr

    def node(self, node: Any) -> Any:
        try:
            return node._replace(in_shapes=tuple(tuple(map(self.size, s)) for s in node.in_shapes),
                                 shape=tuple(map(self.size, node.shape)))
        except ValueError:
            raise OutsideClosedForms(node.name, node.op) from None

    def cost(self, cost: Any, node: Any) -> Any:
        """A cost with the floors and ceilings of sides a rule takes (an upsample's ``ceil(n /
        m) - floor(n / m)``: 1 where it resizes) written as sides themselves."""
        if not isinstance(cost, sympy.Basic):
            return cost
        known = {side.atom for side in self.memo.values()}
        if cost.atoms(sympy.floor, sympy.ceiling) <= known:    # a polynomial in sides already
            return cost
        try:
            return cost.replace(lambda e: isinstance(e, (sympy.floor, sympy.ceiling)), self.size)
        except ValueError:
            raise OutsideClosedForms(node.name, node.op) from None

    @property
    def sides(self) -> List[Side]:
        return list(self.memo.values())


def canonical_graph(graph: LayerGraph) -> Tuple[LayerGraph, _Canonical]:
    """The same graph with every side in canonical form, and the canonical form it used (for
    the graph's costs, :meth:`_Canonical.cost`)."""
    canonical = _Canonical()
    return graph._replace(layers=tuple(map(canonical.node, graph.layers))), canonical


class OutsideClosedForms(ValueError):
    """A node with a size that is no polynomial in canonical sides."""

    def __init__(self, layer: str, op: str):
        super().__init__(layer)
        self.layer, self.op = layer, op


# -- shapes that must agree ------------------------------------------------------------------------
def shape_conditions(graph: LayerGraph) -> Tuple[Any, ...]:
    """What the closed forms assume: sizes each op's ``conditions`` requires equal, where they
    differ as functions of r (never for the shipped families; possible in hand-written graphs),
    and, for an op the model skips where its sizes agree (``exceptions``), that some differ."""
    found = []
    for node in graph.layers:
        op = get_op(node.op)
        for x, y in op.conditions(node.in_shapes, node.shape, node.attrs):
            if sympy.expand(x - y) == 0:        # equal once multiplied out: no condition
                continue
            condition = sympy.Eq(x, y)
            if condition is not sympy.true and condition not in found:
                found.append(condition)
        # an op the model skips where its sizes agree: the closed form assumes one differs
        # (where all are constants, its rule counts exactly and assumes nothing)
        pairs = op.exceptions(node.in_shapes, node.shape, node.attrs)
        condition = sympy.Or(*(sympy.Ne(x, y) for x, y in pairs)) if pairs else sympy.true
        if condition not in (sympy.true, sympy.false) and condition not in found:
            found.append(condition)
    return tuple(found)


def _expanded(value: Any) -> Any:
    return sympy.expand(sympy.sympify(value))
