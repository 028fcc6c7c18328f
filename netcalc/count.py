"""Counting: a layer graph under a convention becomes a :class:`Report`."""
from __future__ import annotations

from typing import Any, Optional

from .graph import LayerGraph
from .report import Report
from .rules import Convention, get_convention
from .spec import SpecLike, expand_checked, load_spec


def count_graph(graph: LayerGraph, convention: Convention) -> list:
    """(flops, params, acts) of every layer, in graph order."""
    table = convention.table()
    out = []
    for node in graph.layers:
        flops, params, acts = table[node.op]
        ins, shape, attrs = node.in_shapes, node.shape, node.attrs
        out.append((flops(ins, shape, attrs), params(ins, shape, attrs), acts(ins, shape, attrs)))
    return out


def count(spec: SpecLike, convention: str = "pycls", resolution: Optional[Any] = None) -> Report:
    """Exact flops, params and activations of a spec.

    ``spec`` is a path, a mapping, or a :class:`~netcalc.spec.Spec` from :func:`load_spec` (the
    fast path when counting repeatedly). ``resolution`` overrides the spec's input resolution.
    """
    conv = get_convention(convention)
    spec = load_spec(spec)
    if resolution is not None:
        _check_resolution(spec, resolution)
    graph = expand_checked(spec, resolution, field_name="resolution")
    return Report(spec, conv, graph, count_graph(graph, conv))


def _check_resolution(spec: Any, resolution: Any) -> None:
    from .errors import SpecError
    from .spec import MAX_RESOLUTION

    if isinstance(resolution, bool) or (isinstance(resolution, int)
                                        and not 1 <= resolution <= MAX_RESOLUTION):
        raise SpecError(spec.source, "resolution",
                        f"{resolution!r} is outside 1..{MAX_RESOLUTION}")
