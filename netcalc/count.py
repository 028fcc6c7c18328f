"""Counting: a layer graph under a convention becomes a :class:`Report`."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from .graph import LayerGraph
from .ops.registry import registry_version
from .report import Report
from .rules import Convention, get_convention
from .spec import SpecLike, expand_checked, load_spec

MAX_COUNTED = 256
MAX_MEMO = 65536
NO_COST = (0, 0, 0)
# (id(graph), id(convention)) -> (graph, convention, registry version, costs, totals). Graphs
# come from the expansion cache, so a repeated count of one spec finds its costs here; the
# entry holds the graph itself, so its id cannot be reused while the entry lives, and a graph
# expanded afresh (expansion cache cleared) is a new object and is counted afresh.
_COUNTED: Dict[Tuple[int, int], tuple] = {}


def count_graph(graph: LayerGraph, convention: Convention, reuse: bool = True) -> list:
    """(flops, params, acts) of every layer, in graph order.

    Nodes replayed from one block template share their shape and attrs objects, so with
    ``reuse`` their costs are looked up by identity (the memo holds the objects, so an id is
    never reused while its entry lives); ops whose three rules are ``zero`` in this convention
    cost nothing to count. Callers counting many one-off graphs pass ``reuse=False``.
    """
    table = convention.table()
    free = convention.free_ops()
    memo = convention.memo() if reuse else {}
    out = []
    append = out.append
    for node in graph.layers:
        op, ins, shape, attrs = node[1], node[3], node[4], node[5]
        if op in free:
            append(NO_COST)
            continue
        key = (op, id(ins), id(shape), id(attrs))
        hit = memo.get(key)
        if hit is not None and hit[0] is ins and hit[1] is shape and hit[2] is attrs:
            append(hit[3])
            continue
        flops, params, acts = table[op]
        costs = (flops(ins, shape, attrs), params(ins, shape, attrs), acts(ins, shape, attrs))
        if len(memo) >= MAX_MEMO:
            memo.clear()
        memo[key] = (ins, shape, attrs, costs)
        append(costs)
    return out


def counted(graph: LayerGraph, convention: Convention) -> Tuple[tuple, tuple]:
    """(per-node costs, totals) of ``graph`` under ``convention``, memoised per graph object."""
    key = (id(graph), id(convention))
    hit = _COUNTED.get(key)
    version = registry_version()
    if hit is not None and hit[0] is graph and hit[1] is convention and hit[2] == version:
        return hit[3], hit[4]
    costs = tuple(count_graph(graph, convention))
    totals = tuple(sum(column) for column in zip(*costs))
    if len(_COUNTED) >= MAX_COUNTED:
        _COUNTED.clear()
    _COUNTED[key] = (graph, convention, version, costs, totals)
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


def clear_caches() -> None:
    """Forget every expansion, block template and count (benchmarks measure cold paths)."""
    from . import graph
    from .families import _expand_cached
    from .rules import CONVENTIONS

    _expand_cached.cache_clear()
    graph._BLOCKS.clear()
    _COUNTED.clear()
    for convention in CONVENTIONS.values():
        convention.memo().clear()


def _check_resolution(spec: Any, resolution: Any) -> Any:
    from .spec import check_resolution

    if hasattr(resolution, "free_symbols"):       # a sympy expression: closed forms
        return resolution
    return check_resolution(resolution, spec.source)
