"""Every cache of netcalc, owned here, with one reset: :func:`clear`.

Counting the same networks again is the common case (a sweep, a sampler, the tests of a repo
that pins its counts), so four things are kept between calls, each bounded (docs/limits.md):

* **expansions** -- (spec, resolution) -> layer graph, the most recently used kept. Specs are
  frozen, so counting one spec under several conventions expands it once. Each graph carries a
  memo of what was counted from it (totals per convention), dropped with the graph: nothing
  derived from an expansion outlives it.
* **block templates** -- a block built once from an input shape, replayed for later blocks of
  the same key and shape (:meth:`netcalc.graph.GraphBuilder.cached_block`).
* **node costs** -- per convention, the costs of the nodes of recorded templates. A template's
  replays share its nodes' ``in_shapes``, shape and attrs objects, so a node is found by the
  identity of its ``in_shapes`` (hashing shapes and attrs by value on every node would cost
  more than counting them); an entry holds those objects, so an identity is never reused while
  its entry lives. Rebuilt when an op is registered (the registry version changes).
* **memoised constructors** -- functions decorated with :func:`memoised` (attrs that families
  build over and over, RegNet's generated widths, closed forms).

Nothing else in the package keeps state between calls; no memo lives on a convention or a spec.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Hashable, List, Optional, Tuple

from .limits import MAX_EXPANSIONS, MAX_MEMO_ENTRIES, MAX_TEMPLATES


class ExpansionCache:
    """key -> graph, keeping the ``maxsize`` most recently used, each graph with a memo dict."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._graphs: Dict[Hashable, Any] = {}
        self._memos: Dict[int, Tuple[Any, dict]] = {}      # id(graph) -> (graph, memo)

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The graph cached under ``key``, or ``build()``'s, cached."""
        graph = self._graphs.pop(key, None)     # re-inserted below: most recent last
        if graph is None:
            graph = build()
            if len(self._graphs) >= self.maxsize:
                self._memos.pop(id(self._graphs.pop(next(iter(self._graphs)))), None)
            self._memos[id(graph)] = (graph, {})
        self._graphs[key] = graph
        return graph

    def memo(self, graph: Any) -> Optional[dict]:
        """The memo of ``graph`` while the cache holds it, else None."""
        entry = self._memos.get(id(graph))
        return entry[1] if entry is not None and entry[0] is graph else None

    def clear(self) -> None:
        self._graphs.clear()
        self._memos.clear()


expansions = ExpansionCache(MAX_EXPANSIONS)


# -- block templates -------------------------------------------------------------------------------
_templates: Dict[Hashable, Any] = {}
# id(in_shapes) -> in_shapes of every node of a recorded template: the nodes whose costs
# node_costs keeps (see the module docstring)
_template_inputs: Dict[int, Any] = {}


def template(key: Hashable) -> Any:
    """The template recorded under ``key``, or None."""
    return _templates.get(key)


def record_template(key: Hashable, recorded: Any, nodes: Tuple[tuple, ...] = ()) -> None:
    """Keep ``recorded`` under ``key``; ``nodes`` (template node tuples, in_shapes at index 4)
    become nodes whose costs are memoised."""
    if len(_templates) >= MAX_TEMPLATES:
        _clear_templates()
    _templates[key] = recorded
    _template_inputs.update((id(node[4]), node[4]) for node in nodes)


def is_template_input(in_shapes: Any) -> bool:
    """Whether ``in_shapes`` is (the very object of) a recorded template node's."""
    return _template_inputs.get(id(in_shapes)) is in_shapes


def _clear_templates() -> None:
    _templates.clear()
    _template_inputs.clear()


# -- node costs ------------------------------------------------------------------------------------
# convention -> (registry version, memo); keyed by the Convention itself, not its name: a
# convention derived under the same name (a test breaking one rule) has costs of its own
_node_costs: Dict[Any, Tuple[int, dict]] = {}


def node_costs(convention: Any, version: int) -> dict:
    """The node-cost memo of ``convention`` (empty again when the registry ``version`` moved);
    bounded by :func:`keep_node_cost`."""
    entry = _node_costs.get(convention)
    if entry is None or entry[0] != version:
        entry = _node_costs[convention] = (version, {})
    return entry[1]


def keep_node_cost(memo: dict, in_shapes: Any, entry: tuple) -> None:
    if len(memo) >= MAX_MEMO_ENTRIES:
        memo.clear()
    memo[id(in_shapes)] = entry


# -- memoised constructors -------------------------------------------------------------------------
_memoised: List[Any] = []


def memoised(maxsize: int) -> Callable[[Callable], Callable]:
    """``functools.lru_cache(maxsize)``, registered so that :func:`clear` empties it."""
    def decorate(function: Callable) -> Callable:
        cached = functools.lru_cache(maxsize=maxsize)(function)
        _memoised.append(cached)
        return cached
    return decorate


def clear() -> None:
    """Forget everything every cache holds (benchmarks measure cold paths; tests check that
    counts do not depend on warm caches)."""
    expansions.clear()
    _clear_templates()
    _node_costs.clear()
    for cached in _memoised:
        cached.cache_clear()
