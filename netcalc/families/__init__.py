"""Network families: each turns its frozen config into a layer graph, and never counts.

A family module defines a frozen config dataclass, ``parse(fields) -> config`` and
``expand(spec, builder)``, and registers itself with :func:`register`. Adding a family is one
module plus one entry in :data:`FAMILY_MODULES`; nothing else changes. Family modules are
imported on first use, so counting a RegNet loads neither the graph nor the mobile families.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from ..graph import GraphBuilder, LayerGraph


@dataclass(frozen=True)
class Family:
    name: str
    parse: Callable[[Any], Any]                 # Fields -> frozen config
    expand: Callable[[Any, GraphBuilder], None]  # (Spec, builder) -> appends layers
    default_resolution: int = 224
    has_head: bool = True                       # whether num_classes applies
    # config -> input resolution when the spec names none (EfficientNet scales it per variant)
    resolution_of: Optional[Callable[[Any], int]] = None
    # config -> notes every report of such a spec carries (e.g. how a scaling relates to the paper)
    notes: Optional[Callable[[Any], Tuple[str, ...]]] = None


# family name -> module (in this package) that registers it
FAMILY_MODULES: Dict[str, str] = {
    "anynet": "anynet", "regnet": "regnet", "graph": "graph",
    "efficientnet": "efficientnet", "rexnet": "rexnet",
}
FAMILIES: Dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    """The registered family ``name`` (a key of FAMILY_MODULES), importing its module once."""
    if name not in FAMILIES:
        importlib.import_module(f".{FAMILY_MODULES[name]}", __name__)
    return FAMILIES[name]


class ExpansionCache:
    """(spec, resolution) -> layer graph, keeping the ``maxsize`` most recently used.

    Specs are frozen, so counting one spec under several conventions or many times (sampling,
    tests of other repos) expands it once per resolution. Each cached graph carries a memo of
    what was computed from it (its counts per convention, see :mod:`netcalc.count`), dropped
    with the graph: nothing derived from an expansion outlives it.
    """

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._graphs: Dict[Tuple[Any, Any], LayerGraph] = {}
        self._memos: Dict[int, Tuple[LayerGraph, dict]] = {}   # id(graph) -> (graph, memo)

    def __call__(self, spec: Any, resolution: Any) -> LayerGraph:
        key = (spec, resolution)
        graph = self._graphs.pop(key, None)     # re-inserted below: most recent last
        if graph is None:
            builder = GraphBuilder(spec.name, spec.in_channels, resolution)
            get_family(spec.family).expand(spec, builder)
            graph = builder.build()
            if len(self._graphs) >= self.maxsize:
                self._memos.pop(id(self._graphs.pop(next(iter(self._graphs)))), None)
            self._memos[id(graph)] = (graph, {})
        self._graphs[key] = graph
        return graph

    def memo(self, graph: LayerGraph) -> Optional[dict]:
        """The memo of ``graph`` while the cache holds it, else None."""
        entry = self._memos.get(id(graph))
        return entry[1] if entry is not None and entry[0] is graph else None

    def cache_clear(self) -> None:
        self._graphs.clear()
        self._memos.clear()


_expand_cached = ExpansionCache(maxsize=256)


def expand(spec: Any, resolution: Any = None) -> LayerGraph:
    """The layer graph of ``spec`` at ``resolution`` (default: the spec's own), cached."""
    return _expand_cached(spec, spec.resolution if resolution is None else resolution)

