"""The lock-file format behind ``netcalc lock`` and ``netcalc check --lock``.

A lock file records, per spec and convention, the exact totals and per-stage counts at one
resolution, as JSON with one line per model and per stage, so that a git diff shows what moved.
It may also record import targets (a torch model's ``module:callable``) with their imported graph,
one line per layer (format 2, :mod:`netcalc.locked_imports`); a lock of specs only is written as
format 1, as before, and both formats are read.
Reading one is reading untrusted input (it may come from a pull request): the file is read by
:func:`netcalc.reading.read_lock_data` (bounded, strict JSON), may list at most
``MAX_LOCK_MODELS`` models and imports, and may name only spec files (``.yaml``, ``.yml``,
``.json``) or shipped models, so that it cannot make netcalc read, and quote in an error, an
arbitrary file. Every malformed field is a one-line SpecError.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .count import count
from .errors import ArgumentError, safe_text
from .report import QUANTITIES

Resolution = Union[int, Tuple[int, int]]
LOCK_FORMAT = 1             # a lock of specs
IMPORT_LOCK_FORMAT = 2      # a lock that also records import targets and their graphs


def lock_entry(spec: str, convention: str = "pycls", resolution: Optional[int] = None) -> dict:
    """The locked counts of one spec: totals and per-stage rows, exact ints."""
    report = count(spec, convention, resolution)
    refuse_unreadable(spec, report.totals())
    return {"spec": spec, "name": report.name, "convention": convention,
            "resolution": report.resolution, **report.totals(),
            "stages": report.breakdown("stage")}


def refuse_unreadable(spec: str, totals: Mapping[str, int]) -> None:
    """A lock holds only what ``check`` reads back: counts of at most MAX_INT_DIGITS digits
    (a stage's count is at most its total)."""
    from .errors import SpecError
    from .limits import MAX_INT_DIGITS

    for quantity, value in totals.items():
        if value >= 10 ** MAX_INT_DIGITS:
            raise SpecError(spec, quantity, f"a count of more than {MAX_INT_DIGITS} digits "
                                            "cannot be locked (check reads at most "
                                            f"{MAX_INT_DIGITS})")


def make_lock(specs: Sequence[str], conventions: Sequence[str] = ("pycls",),
              resolution: Optional[Resolution] = None, targets: Sequence[str] = (),
              options: Any = None) -> dict:
    """The lock of ``specs`` and of the import ``targets`` (imported with ``options``, an
    :class:`~netcalc.locked_imports.ImportOptions`; its resolution is ``resolution``)."""
    from .locked_imports import ImportOptions, import_entry

    options = options or ImportOptions()
    if resolution is not None:
        options = replace(options, resolution=resolution)
    models = [lock_entry(s, c, resolution) for s in specs for c in conventions]
    return _lock(models, [import_entry(t, conventions, options) for t in targets])


def _lock(models: List[dict], imports: List[dict]) -> dict:
    from . import __version__

    lock = {"netcalc_lock": IMPORT_LOCK_FORMAT if imports else LOCK_FORMAT,
            "netcalc_version": __version__, "models": models}
    return {**lock, "imports": imports} if imports else lock


def refresh_lock(lock_path: str, options: Any = None) -> dict:
    """The lock file with today's counts and imports (same specs, targets, conventions,
    resolutions and import options; ``options``: the time limit of the imports)."""
    from .locked_imports import ImportOptions, import_entry

    options = options or ImportOptions()
    locked = read_lock_file(lock_path)
    models = [{**lock_entry(m.path, m.convention, m.resolution), "spec": m.spec}
              for m in locked.models]
    imports = [{**import_entry(i.located, list(i.counts), replace(options, **_recorded(i))),
                "target": i.target} for i in locked.imports]
    return _lock(models, imports)


def _recorded(locked_import: Any) -> dict:
    """The import options a lock records (the time limit is the caller's)."""
    return {"resolution": locked_import.options.resolution,
            "allow_unknown": locked_import.options.allow_unknown,
            "input_shape": locked_import.options.input_shape}


def dump_lock(lock: Mapping) -> str:
    """JSON with one line per model header, per stage, per import header and per imported
    layer, so a git diff shows what moved."""
    models = [_dump_entry(model, "stages") for model in lock["models"]]
    top = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in lock.items()
           if key not in ("models", "imports")]
    top.append(_dump_list("models", models))
    if "imports" in lock:
        top.append(_dump_list("imports", [_dump_import(i) for i in lock["imports"]]))
    return refuse_oversized("{\n" + ",\n".join(top) + "\n}\n")


def refuse_oversized(text: str) -> str:
    """A lock holds only what ``check`` reads back: at most MAX_FILE_BYTES (an imported graph
    of tens of thousands of layers could be more)."""
    from .errors import SpecError
    from .limits import MAX_FILE_BYTES

    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise SpecError("", "lock", f"would be {size:,} bytes; check reads lock files of at most "
                                    f"{MAX_FILE_BYTES:,} bytes (lock fewer models or targets "
                                    "per file)")
    return text


def _dump_list(key: str, entries: List[str]) -> str:
    return f'  "{key}": [\n' + ",\n".join(entries) + "\n  ]" if entries else f'  "{key}": []'


def _dump_entry(entry: Mapping, rows_key: str, indent: str = "    ", close: str = "}") -> str:
    """``{...head..., "rows_key": [`` then one line per row, then ``]`` and ``close``."""
    head = json.dumps({k: v for k, v in entry.items() if k != rows_key})[:-1]
    rows = ",\n".join(f"{indent}  {json.dumps(row)}" for row in entry.get(rows_key, []))
    return f'{indent}{head}, "{rows_key}": [\n{rows}\n{indent}]{close}'


def _dump_import(entry: Mapping) -> str:
    head = json.dumps({k: v for k, v in entry.items() if k != "graph"})[:-1]
    graph = _dump_entry(entry["graph"], "layers", close="}}").lstrip()
    return f'    {head}, "graph": {graph}'


@dataclass(frozen=True)
class LockedModel:
    spec: str               # as recorded
    path: str               # where it is found now
    convention: str
    resolution: int
    counts: Dict[str, int]
    stages: Dict[str, Dict[str, int]]


@dataclass(frozen=True)
class LockFile:
    models: List[LockedModel]
    imports: List[Any]      # netcalc.locked_imports.LockedImport


def read_lock(path: str) -> List[LockedModel]:
    """The spec models of a lock file; a malformed file is a SpecError naming the field."""
    return read_lock_file(path).models


def read_lock_file(path: str) -> LockFile:
    """The models and import targets of a lock file (format 1 or 2); a malformed file is a
    SpecError naming the field."""
    from .fields import Fields
    from .limits import MAX_LOCK_MODELS, MAX_RESOLUTION
    from .locked_imports import read_import
    from .reading import read_lock_data  # hostile lock files
    from .rules import CONVENTIONS

    fields = Fields(read_lock_data(path), path)
    version = fields.int("netcalc_lock")
    if version not in (LOCK_FORMAT, IMPORT_LOCK_FORMAT):
        raise fields.error("netcalc_lock", f"format {version} is not {LOCK_FORMAT} or "
                                           f"{IMPORT_LOCK_FORMAT} (a newer netcalc wrote it?)")
    fields.str("netcalc_version", "")
    with_imports = version == IMPORT_LOCK_FORMAT
    if fields.has("imports") and not with_imports:
        raise fields.error("imports", f"import targets need netcalc_lock {IMPORT_LOCK_FORMAT}")
    models = [_read_model(f, path, CONVENTIONS, MAX_RESOLUTION)
              for f in fields.items("models", min_len=0 if with_imports else 1,
                                    max_len=MAX_LOCK_MODELS)]
    imports = [read_import(f, path) for f in fields.items("imports", min_len=1,
                                                          max_len=MAX_LOCK_MODELS)] \
        if with_imports else []
    fields.finish()
    return LockFile(models, imports)


def _read_model(f: Any, lock_path: str, conventions: Any, max_resolution: int) -> LockedModel:
    from .spec import check_resolution

    spec = lock_spec_path(f.str("spec", max_len=4096), f)
    f.str("name", "", max_len=1000)
    convention = f.str("convention", choices=list(conventions))
    resolution = check_resolution(f.value("resolution"), f.source, f.sub_path("resolution"),
                                  any_rank=True)
    counts = {q: f.int(q, lo=0) for q in QUANTITIES}
    stages = {}
    for stage in f.items("stages", default=[]):
        stages[stage.str("name", max_len=1000)] = {q: stage.int(q, lo=0) for q in QUANTITIES}
        stage.finish()
    f.finish()
    return LockedModel(spec, locate_beside(spec, lock_path), convention, resolution, counts,
                       stages)


def locate_beside(spec: str, lock_path: str) -> str:
    """A recorded path, relative to the lock file's folder if it is there, else as given."""
    beside_lock = os.path.join(os.path.dirname(os.path.abspath(lock_path)), spec)
    return beside_lock if not os.path.isabs(spec) and os.path.exists(beside_lock) else spec


SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def lock_spec_path(spec: str, fields: Any) -> str:
    """A spec path recorded in a lock: only spec files or shipped models' names, never an
    arbitrary file."""
    from .shipped import is_bare_name, shipped_specs

    if "\0" in spec or not (spec.lower().endswith(SPEC_SUFFIXES)
                            or (is_bare_name(spec) and spec in shipped_specs())):
        raise fields.error("spec", "a lock file names spec files (.yaml, .yml, .json) or "
                                   "shipped models only")
    return spec


def count_key(path: str, convention: str, resolution: int) -> tuple:
    """Models of a lock that are the same count (a spec named many times is counted once)."""
    return os.path.realpath(path), convention, resolution


def memoized_count() -> Any:
    """``count(path, convention, resolution)`` that counts each distinct model once."""
    reports: dict = {}

    def counted(path: str, convention: str, resolution: int) -> Any:
        key = count_key(path, convention, resolution)
        if key not in reports:
            reports[key] = count(path, convention, resolution)
        return reports[key]

    return counted


def checked_lock_arguments(lock_path: Any, specs: Any) -> tuple:
    """The arguments of ``lock_changes``/``assert_lock``: a path and a sequence of paths."""
    if not isinstance(lock_path, (str, os.PathLike)):
        raise ArgumentError("", "lock_path", f"expected a path, got {type(lock_path).__name__}")
    if isinstance(specs, (str, bytes, os.PathLike)) or not isinstance(specs, (list, tuple)):
        raise ArgumentError("", "specs", f"expected a list of spec paths, got "
                                         f"{type(specs).__name__} (wrap one path in a list)")
    for i, spec in enumerate(specs):
        if not isinstance(spec, (str, os.PathLike)):
            raise ArgumentError("", f"specs[{i}]", f"expected a path, got {type(spec).__name__}")
    return tuple(os.fspath(s) for s in specs)


def distinct_models(models: Sequence[Any]) -> List[Any]:
    """The models of a lock once each: entries repeating the same spec, convention, resolution
    and counts have the same changes, so comparing them again is work without information."""
    seen: dict = {}
    for model in models:
        key = (count_key(model.path, model.convention, model.resolution),
               json.dumps(model.counts, sort_keys=True), json.dumps(model.stages, sort_keys=True))
        seen.setdefault(key, model)
    return list(seen.values())


@dataclass(frozen=True)
class LockChange:
    spec: str
    convention: str
    resolution: int
    where: str          # "total", a stage name, or "missing" (a spec not in the lock)
    quantity: str
    locked: int
    now: int

    @property
    def diff(self) -> int:
        return self.now - self.locked


def lock_changes(lock_path: str, specs: Sequence[str] = ()) -> List[LockChange]:
    """Every count that differs from the lock: totals first, then the stages that moved (an
    import target is imported again; the layers that changed: :func:`lock_differences`).

    ``specs`` restricts the check to those specs; one that the lock does not hold is a change.
    """
    return lock_differences(lock_path, specs).counts


@dataclass(frozen=True)
class LockDifferences:
    counts: List[LockChange]
    layers: List[Any]       # netcalc.locked_imports.LayerChange, of the import targets

    def __len__(self) -> int:
        return len(self.counts) + len(self.layers)


def lock_differences(lock_path: str, specs: Sequence[str] = (),
                     options: Any = None) -> LockDifferences:
    """The counts that differ from the lock and, for every import target (imported again, with
    ``options``' time limit, an :class:`~netcalc.locked_imports.ImportOptions`), each layer
    that changed. ``specs`` restricts the check to those specs or targets; one that the lock
    does not hold is a change."""
    from .locked_imports import import_differences

    specs = checked_lock_arguments(lock_path, specs)
    models, imports, missing = _selected(read_lock_file(lock_path), specs)
    counted = memoized_count()      # a spec listed many times is counted once
    counts = missing + [c for m in distinct_models(models) for c in _model_changes(m, counted)]
    layers: List[Any] = []
    for locked in imports:
        moved, changed = import_differences(locked, options)
        counts += moved
        layers += changed
    return LockDifferences(counts, layers)


def _selected(locked: LockFile, specs: Sequence[str]) -> tuple:
    """(models, imports, missing changes) of a lock that ``specs`` names (all: none named)."""
    if not specs:
        return locked.models, locked.imports, []
    wanted = {os.path.normpath(s) for s in specs}
    known = {os.path.normpath(m.spec) for m in locked.models} | {
        os.path.normpath(i.target) for i in locked.imports}
    missing = [LockChange(s, "", 0, "missing", "", 0, 0) for s in specs
               if os.path.normpath(s) not in known]
    return ([m for m in locked.models if os.path.normpath(m.spec) in wanted],
            [i for i in locked.imports if os.path.normpath(i.target) in wanted], missing)


def _model_changes(model: LockedModel, counted: Any = count) -> List[LockChange]:
    report = counted(model.path, model.convention, model.resolution)
    now_stages = {row["name"]: row for row in report.breakdown("stage")}
    changes = [LockChange(model.spec, model.convention, model.resolution, "total", q,
                          model.counts[q], getattr(report, q))
               for q in QUANTITIES if model.counts[q] != getattr(report, q)]
    for stage in dict.fromkeys([*model.stages, *now_stages]):
        locked, now = model.stages.get(stage, {}), now_stages.get(stage, {})
        changes += [LockChange(model.spec, model.convention, model.resolution, stage, q,
                               locked.get(q, 0), now.get(q, 0))
                    for q in QUANTITIES if locked.get(q, 0) != now.get(q, 0)]
    return changes


def _px(resolution: Resolution) -> str:
    return "x".join(map(str, resolution)) if isinstance(resolution, tuple) else str(resolution)


def render_lock_changes(changes: Sequence[LockChange], layers: Sequence[Any] = ()) -> str:
    """The changes of a lock: each import's changed layers, then the table of counts."""
    from tabulate import tabulate

    from .locked_imports import render_layer_changes

    missing = [safe_text(c.spec) for c in changes if c.where == "missing"]
    rows = [[safe_text(c.spec), c.convention, _px(c.resolution), safe_text(c.where), c.quantity,
             f"{c.locked:,}",
             f"{c.now:,}", f"{c.diff:+,}"] for c in changes if c.where != "missing"]
    parts = [f"not in the lock file: {s} (run netcalc lock again)" for s in missing]
    if layers:
        parts.append(render_layer_changes(layers))
    if rows:
        parts.append(tabulate(rows, headers=["spec", "convention", "px", "where", "quantity",
                                             "locked", "now", "diff"],
                              colalign=("left",) * 5 + ("right",) * 3))
    return "\n".join(parts)
