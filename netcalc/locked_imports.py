"""Import targets in a lock file: a torch model's imported graph, guarded layer by layer.

``netcalc lock --import path/model.py:build`` records the target, the import options that shape
the graph (resolution or input shape, ``allow_unknown``), the totals per convention and the
imported graph itself (every layer's op and attributes). ``netcalc check --lock`` imports the
target again, in the child process of :mod:`netcalc.isolation` (the single way netcalc runs a
user's model code), and reports every change as a line naming the layer and the attribute
(``conv1: kernel 1 -> 3``), besides the counts that moved.

A lock file is untrusted input: a recorded target must be ``package.module:callable`` or a
``.py`` file's ``path:callable`` (so a lock cannot make netcalc run a file of any other kind), and
the recorded graph is read by the graph-spec loader, with every bound of :mod:`netcalc.limits`;
each malformed field is one SpecError naming the lock file and the field path. Running the target
runs its code, as the tests of the repository holding the lock do. This module imports no torch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import SpecError, safe_text
from .isolation import DEFAULT_TIMEOUT_S
from .report import QUANTITIES

DEFAULT_RESOLUTION = 224        # as `netcalc import --resolution`
UNSET = "(unset)"               # an attribute one side of a diff does not have
VOLATILE = ("notes",)           # spec fields that describe the import, not the graph


@dataclass(frozen=True)
class ImportOptions:
    """What ``netcalc import`` needs to make the same graph again."""
    resolution: Any = DEFAULT_RESOLUTION        # an int side or (h, w)
    allow_unknown: bool = False
    timeout: float = DEFAULT_TIMEOUT_S          # not recorded: a property of the machine
    verbose: bool = False
    # the whole input (1, C, ...) instead, or a tuple of such shapes (several inputs)
    input_shape: Optional[Tuple[Any, ...]] = None


def imported_spec(target: str, options: ImportOptions) -> Any:
    """The checked spec TARGET's module imports as, built and captured in a child process."""
    from .extras import require
    from .isolation import import_isolated

    require("torch", "import target", ("torch",))

    from .spec import plain_shapes

    shape = options.input_shape
    return import_isolated(target, None if shape else options.resolution, None,
                           options.allow_unknown, options.timeout, options.verbose,
                           plain_shapes(shape))


def graph_data(spec: Any) -> Dict[str, Any]:
    """The imported graph as the lock records it: the spec's data, less its notes."""
    return {key: value for key, value in spec.raw.items() if key not in VOLATILE}


def import_entry(target: str, conventions: Sequence[str], options: ImportOptions,
                 spec: Any = None) -> dict:
    """A lock's record of one import target (``spec``: its import, when already made)."""
    from .count import count
    from .lockfile import refuse_unreadable
    from .spec import plain_shapes

    spec = spec if spec is not None else imported_spec(target, options)
    counts = {}
    for convention in conventions:
        counts[convention] = count(spec, convention).totals()
        refuse_unreadable(target, counts[convention])
    resolution = options.resolution
    shape = {"input_shape": plain_shapes(options.input_shape)} if options.input_shape else {}
    return {"target": target,
            "resolution": list(resolution) if isinstance(resolution, tuple) else resolution,
            **shape, "allow_unknown": options.allow_unknown, "counts": counts,
            "graph": graph_data(spec)}


# -- reading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LockedImport:
    target: str                         # as recorded
    located: str                        # the target with its file found beside the lock
    options: ImportOptions
    counts: Dict[str, Dict[str, int]]   # convention -> totals
    graph: Dict[str, Any]               # the imported spec's data, less its notes


def read_import(fields: Any, lock_path: str) -> LockedImport:
    """One entry of a lock's ``imports``; every malformed field is a SpecError naming it."""
    from .spec import check_input_shapes, check_resolution, frozen_shapes

    target, located = locked_target(fields.str("target", max_len=4096), fields, lock_path)
    resolution = check_resolution(fields.value("resolution"), fields.source,
                                  fields.sub_path("resolution"))
    shape = fields.value("input_shape", None)
    if shape is not None:
        check_input_shapes(shape, fields.source, fields.sub_path("input_shape"))
    options = ImportOptions(resolution, fields.bool("allow_unknown", False),
                            input_shape=frozen_shapes(shape))
    counts = _read_counts(fields.mapping("counts"))
    graph = _read_graph(fields)
    fields.finish()
    return LockedImport(target, located, options, counts, graph)


def locked_target(target: str, fields: Any, lock_path: str) -> Tuple[str, str]:
    """(the target as recorded, as run): a module's callable or a ``.py`` file's, the file
    looked up beside the lock first."""
    from .isolation import split_target
    from .lockfile import locate_beside

    if not target.isprintable():
        raise fields.error("target", "must be one line of printable text")
    try:
        where, attr = split_target(target)
    except SpecError as exc:
        raise fields.error("target", exc.message) from None
    if where.endswith(".py"):
        return target, f"{locate_beside(where, lock_path)}:{attr}"
    if not all(part.isidentifier() for part in where.split(".")):
        raise fields.error("target", "a lock file names package.module:callable or "
                                     "path/to/file.py:callable targets only")
    return target, target


def _read_counts(fields: Any) -> Dict[str, Dict[str, int]]:
    from .rules import CONVENTIONS

    if not fields.raw:
        raise fields.error("", "expected the counts of at least one convention")
    counts = {}
    for convention in list(fields.raw):
        if convention not in CONVENTIONS:
            raise fields.error(str(convention)[:40], f"not a convention (one of "
                                                     f"{', '.join(CONVENTIONS)})")
        totals = fields.mapping(convention)
        counts[convention] = {q: totals.int(q, lo=0) for q in QUANTITIES}
        totals.finish()
    return counts


def _read_graph(fields: Any) -> Dict[str, Any]:
    """The recorded graph, read by the graph-spec loader (its bounds, its field checks)."""
    from .spec import parse_spec

    graph = fields.mapping("graph")
    if graph.raw.get("family") != "graph":
        raise graph.error("family", "an imported graph is a spec of family graph")
    try:
        parse_spec(graph.raw, fields.source)
    except SpecError as exc:
        raise SpecError(fields.source, f"{graph.path}.{exc.field}" if exc.field else graph.path,
                        exc.message) from None
    for i, layer in enumerate(graph.raw["layers"]):     # the diff pairs layers by name
        if not isinstance(layer.get("name"), str):
            raise SpecError(fields.source, f"{graph.path}.layers[{i}].name",
                            "is required in a locked graph (netcalc import names every layer)")
    return graph.raw


# -- comparing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerChange:
    """One difference between a locked graph and today's import of its target."""
    target: str
    layer: str          # a layer's name; "" for a field of the graph itself (in_channels)
    field: str          # "added", "removed", "position", or the changed attribute
    locked: Any
    now: Any

    def __str__(self) -> str:
        where = f"{safe_text(self.layer)}: " if self.layer else ""
        if self.field == "added":
            return f"{where}added ({_shown(self.now)})"
        if self.field == "removed":
            return f"{where}removed (was {_shown(self.locked)})"
        return f"{where}{safe_text(self.field)} {_shown(self.locked)} -> {_shown(self.now)}"


def _shown(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value)
    return safe_text(text, 200)


def graph_changes(target: str, locked: Dict[str, Any], now: Dict[str, Any]) -> List[LayerChange]:
    """Every difference of two graphs: their own fields, then layers removed, added, changed
    (op first, then each attribute), and the first layer whose place in the order moved."""
    changes = _field_changes(target, "", locked, now, skip=("layers",))
    old = {layer["name"]: layer for layer in locked["layers"]}
    new = {layer["name"]: layer for layer in now["layers"]}
    changes += [LayerChange(target, name, "removed", layer["op"], None)
                for name, layer in old.items() if name not in new]
    for name, layer in new.items():
        if name not in old:
            changes.append(LayerChange(target, name, "added", None, layer["op"]))
        else:
            changes += _field_changes(target, name, old[name], layer, skip=("name",))
    return changes + _order_change(target, list(old), list(new))


def _field_changes(target: str, layer: str, locked: Dict[str, Any], now: Dict[str, Any],
                   skip: Sequence[str]) -> List[LayerChange]:
    keys = [k for k in dict.fromkeys(["op", *locked, *now]) if k not in skip]
    return [LayerChange(target, layer, key, locked.get(key, UNSET), now.get(key, UNSET))
            for key in keys if locked.get(key, UNSET) != now.get(key, UNSET)]


def _order_change(target: str, locked: List[str], now: List[str]) -> List[LayerChange]:
    """The first of the layers in both graphs that is not where it was (a graph's layer order
    is its data flow where a layer names no inputs)."""
    kept = set(locked) & set(now)
    before = [name for name in locked if name in kept]
    after = [name for name in now if name in kept]
    for was, name in zip(before, after):
        if was != name:
            return [LayerChange(target, name, "position", before.index(name) + 1,
                                after.index(name) + 1)]
    return []


def import_differences(locked: LockedImport, options: Optional[ImportOptions] = None,
                       module: Any = None) -> Tuple[list, List[LayerChange]]:
    """(count changes, layer changes) of a locked import against today's import of its target
    (or of ``module``, imported in this process)."""
    spec = _fresh_spec(locked, options or locked.options, module)
    return _count_changes(locked, spec), graph_changes(locked.target, locked.graph,
                                                       graph_data(spec))


def _fresh_spec(locked: LockedImport, options: ImportOptions, module: Any) -> Any:
    run = replace(locked.options, timeout=options.timeout, verbose=options.verbose)
    if module is None:
        return imported_spec(locked.located, run)
    from .spec import plain_shapes
    from .torch.importer import from_torch

    shape = run.input_shape
    return from_torch(module, None if shape else run.resolution,
                      allow_unknown=run.allow_unknown, source=locked.target,
                      inputs=plain_shapes(shape))


def _count_changes(locked: LockedImport, spec: Any) -> list:
    from .count import count
    from .lockfile import LockChange

    changes = []
    for convention, totals in locked.counts.items():
        now = count(spec, convention).totals()
        changes += [LockChange(locked.target, convention, locked.options.resolution, "total", q,
                               totals[q], now[q]) for q in QUANTITIES if totals[q] != now[q]]
    return changes


def render_layer_changes(changes: Sequence[LayerChange]) -> str:
    """The layer changes, grouped under their target."""
    lines: List[str] = []
    for target in dict.fromkeys(c.target for c in changes):
        mine = [c for c in changes if c.target == target]
        lines.append(f"{safe_text(target)}: {len(mine)} change{'s' * (len(mine) != 1)} in "
                     "the imported graph")
        lines += [f"  {change}" for change in mine]
    return "\n".join(lines)


def find_imports(lock_path: str, target: Optional[str]) -> List[LockedImport]:
    """The lock's entries of ``target`` (``None``: its one import target). A target the lock
    does not hold is an AssertionError, as any change of a locked model is."""
    from .errors import ArgumentError
    from .lockfile import read_lock_file

    imports = read_lock_file(lock_path).imports
    recorded = ", ".join(safe_text(i.target) for i in imports)
    found = imports if target is None else [
        i for i in imports if os.path.normpath(i.target) == os.path.normpath(target)]
    if not found:
        raise AssertionError(f"{safe_text(target or 'the module')} is not an import target of "
                             f"{safe_text(lock_path)} (it records: {recorded or 'none'}); run "
                             "netcalc lock --import again")
    if len(found) > 1 and target is None:
        raise ArgumentError("", "target", f"{safe_text(lock_path)} records {len(found)} import "
                                          f"targets ({recorded}): name one")
    return found
