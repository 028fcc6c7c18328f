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

from .. import caches
from ..graph import GraphBuilder, LayerGraph, fit_rank


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


def expand(spec: Any, resolution: Any = None) -> LayerGraph:
    """The layer graph of ``spec`` at ``resolution`` (default: the spec's own), cached
    (:data:`netcalc.caches.expansions`)."""
    resolution = spec.resolution if resolution is None else fit_rank(resolution, spec.resolution)
    return caches.expansions.get((spec, resolution), lambda: _build(spec, resolution))


def _build(spec: Any, resolution: Any) -> LayerGraph:
    builder = GraphBuilder(spec.name, spec.in_channels, resolution)
    get_family(spec.family).expand(spec, builder)
    return builder.build()

