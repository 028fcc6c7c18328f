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
from typing import Any, Callable, Dict, List, Tuple

import sympy

from ..caches import memoised
from ..count import count_graph
from ..errors import SpecError
from ..graph import LayerGraph
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
        return " and ".join(bounds + [str(c) for c in self.conditions])


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
    graph, sides = canonical_graph(expand_checked(spec, resolution, field_name="resolution"))
    report = Report(spec, conv, graph, count_graph(graph, conv))
    distinct = tuple(sorted({s.key: Side(s.m, s.c, 0, s.axis) for s in sides}.values()))

    def smallest(axis: str) -> int:
        return max([1] + [s.min_resolution() for s in sides if s.axis == axis])
    min_res = (smallest("h"), smallest("w")) if axes == "hw" else smallest("r")
    return ClosedForm(report, distinct, min_res, shape_conditions(graph), axes)


def canonical_graph(graph: LayerGraph) -> Tuple[LayerGraph, List[Side]]:
    """The same graph with every side in canonical form, and the sides it uses."""
    memo: Dict[Any, Side] = {}

    def canonical(size: Any) -> Any:
        if not isinstance(size, sympy.Basic) or size.is_Integer:
            return int(size)
        if size not in memo:
            try:
                memo[size] = Side.of(size)
            except ValueError:
                if not size.args or isinstance(size, sympy.floor):
                    raise
                # a polynomial in sides (a flattened map's features): canonical part by part
                return size.func(*(canonical(arg) for arg in size.args))
        return memo[size].expr

    def shape(dims: tuple) -> tuple:
        return tuple(canonical(d) for d in dims)

    layers = tuple(node._replace(in_shapes=tuple(shape(s) for s in node.in_shapes),
                                 shape=shape(node.shape)) for node in graph.layers)
    return graph._replace(layers=layers), list(memo.values())


# -- shapes that must agree ------------------------------------------------------------------------
def shape_conditions(graph: LayerGraph) -> Tuple[Any, ...]:
    """What the closed forms assume: sizes each op's ``conditions`` requires equal, where they
    differ as functions of r (never for the shipped families; possible in hand-written graphs)."""
    found = []
    for node in graph.layers:
        for x, y in get_op(node.op).conditions(node.in_shapes, node.shape, node.attrs):
            condition = sympy.Eq(x, y)
            if condition is not sympy.true and condition not in found:
                found.append(condition)
    return tuple(found)


def _expanded(value: Any) -> Any:
    return sympy.expand(sympy.sympify(value))
