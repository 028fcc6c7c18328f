"""Counting: a layer graph under a convention becomes a :class:`Report`."""
from __future__ import annotations

from typing import Any, Optional, Tuple

from . import caches
from .graph import LayerGraph
from .ops.registry import registry_version
from .report import Report
from .rules import Convention, get_convention
from .spec import SpecLike, expand_checked, load_spec

NO_COST = (0, 0, 0)


def count_graph(graph: LayerGraph, convention: Convention, reuse: bool = True) -> list:
    """(flops, params, acts) of every layer, in graph order.

    With ``reuse``, the costs of nodes of recorded block templates are memoised per convention
    (:func:`netcalc.caches.node_costs`, found by the identity of the objects replays share).
    Other nodes are counted afresh and not kept. Ops whose three rules are ``zero`` in this
    convention cost nothing to count.
    """
    table = convention.table()
    free = convention.free_ops()
    memo = caches.node_costs(convention, registry_version()) if reuse else {}
    out = []
    append = out.append
    for node in graph.layers:
        op = node[1]
        if op in free:
            append(NO_COST)
            continue
        ins, shape, attrs = node[3], node[4], node[5]
        hit = memo.get(id(ins))
        if hit is not None and hit[0] is ins and hit[1] is shape and hit[2] is attrs \
                and hit[3] == op:
            append(hit[4])
            continue
        flops, params, acts = table[op]
        costs = (flops(ins, shape, attrs), params(ins, shape, attrs), acts(ins, shape, attrs))
        if reuse and caches.is_template_input(ins):
            caches.keep_node_cost(memo, ins, (ins, shape, attrs, op, costs))
        append(costs)
    return out


def counted(graph: LayerGraph, convention: Convention) -> Tuple[tuple, tuple]:
    """(per-node costs, totals) of ``graph`` under ``convention``, memoised with the graph while
    the expansion cache holds it."""
    memo = caches.expansions.memo(graph)
    version = registry_version()
    hit = memo.get(convention.name) if memo is not None else None
    if hit is not None and hit[0] is convention and hit[1] == version:
        return hit[2], hit[3]
    costs = tuple(count_graph(graph, convention))
    totals = tuple(sum(column) for column in zip(*costs))
    if memo is not None:
        memo[convention.name] = (convention, version, costs, totals)
    return costs, totals


def count(spec: SpecLike, convention: str = "pycls", resolution: Optional[Any] = None) -> Report:
    """Exact flops, params and activations of a spec.

    ``spec`` is a path, a mapping, or a :class:`~netcalc.spec.Spec` from :func:`load_spec` (the
    fast path when counting repeatedly). ``resolution`` overrides the spec's input resolution:
    an int (square) or ``(h, w)``.
    """
    conv = get_convention(convention)
    spec = load_spec(spec)
    if resolution is not None:
        resolution = _check_resolution(spec, resolution)
    graph = expand_checked(spec, resolution, field_name="resolution")
    costs, totals = counted(graph, conv)
    return Report(spec, conv, graph, costs, totals)


def _check_resolution(spec: Any, resolution: Any) -> Any:
    from .spec import check_resolution

    if hasattr(resolution, "free_symbols"):       # a sympy expression: closed forms
        return resolution
    return check_resolution(resolution, spec.source, any_rank=True)
