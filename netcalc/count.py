"""Counting: a layer graph under a convention becomes a :class:`Report`."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from .graph import LayerGraph
from .ops.registry import registry_version
from .report import Report
from .rules import Convention, get_convention
from .spec import SpecLike, expand_checked, load_spec

MAX_COUNTED = 256
# (id(graph), id(convention)) -> (graph, convention, registry version, costs, totals). Graphs
# come from the expansion cache, so a repeated count of one spec finds its costs here; the
# entry holds the graph itself, so its id cannot be reused while the entry lives, and a graph
# expanded afresh (expansion cache cleared) is a new object and is counted afresh.
_COUNTED: Dict[Tuple[int, int], tuple] = {}


def count_graph(graph: LayerGraph, convention: Convention) -> list:
    """(flops, params, acts) of every layer, in graph order."""
    table = convention.table()
    out = []
    for node in graph.layers:
        flops, params, acts = table[node.op]
        ins, shape, attrs = node.in_shapes, node.shape, node.attrs
        out.append((flops(ins, shape, attrs), params(ins, shape, attrs), acts(ins, shape, attrs)))
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


def _check_resolution(spec: Any, resolution: Any) -> Any:
    from .spec import check_resolution

    if hasattr(resolution, "free_symbols"):       # a sympy expression: closed forms
        return resolution
    return check_resolution(resolution, spec.source)
