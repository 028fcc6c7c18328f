"""The lock-file format behind ``netcalc lock`` and ``netcalc check --lock``.

A lock file records, per spec and convention, the exact totals and per-stage counts at one
resolution, as JSON with one line per model and per stage, so that a git diff shows what moved.
Reading one is reading untrusted input (it may come from a pull request): the file is read by
:func:`netcalc.reading.read_lock_data` (bounded, strict JSON), may list at most
``MAX_LOCK_MODELS`` models, and may name only spec files (``.yaml``, ``.yml``, ``.json``) or shipped
models, so that it cannot make netcalc read, and quote in an error, an arbitrary file. Every
malformed field is a one-line SpecError.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .count import count
from .errors import ArgumentError, safe_text
from .report import QUANTITIES

LOCK_FORMAT = 1


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
              resolution: Optional[int] = None) -> dict:
    from . import __version__

    return {"netcalc_lock": LOCK_FORMAT, "netcalc_version": __version__,
            "models": [lock_entry(s, c, resolution) for s in specs for c in conventions]}


def refresh_lock(lock_path: str) -> dict:
    """The lock file's models with today's counts (same specs, conventions, resolutions)."""
    from . import __version__

    models = []
    for m in read_lock(lock_path):
        entry = lock_entry(m.path, m.convention, m.resolution)
        models.append({**entry, "spec": m.spec})
    return {"netcalc_lock": LOCK_FORMAT, "netcalc_version": __version__, "models": models}


def dump_lock(lock: Mapping) -> str:
    """JSON with one line per model header and per stage, so a git diff shows what moved."""
    models = []
    for model in lock["models"]:
        head = json.dumps({k: v for k, v in model.items() if k != "stages"})[:-1]
        stages = ",\n".join(f"      {json.dumps(row)}" for row in model.get("stages", []))
        models.append(f'    {head}, "stages": [\n{stages}\n    ]}}')
    top = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}"
                     for key, value in lock.items() if key != "models")
    return f'{{\n{top},\n  "models": [\n' + ",\n".join(models) + "\n  ]\n}\n"


@dataclass(frozen=True)
class LockedModel:
    spec: str               # as recorded
    path: str               # where it is found now
    convention: str
    resolution: int
    counts: Dict[str, int]
    stages: Dict[str, Dict[str, int]]


def read_lock(path: str) -> List[LockedModel]:
    """The models of a lock file; a malformed file is a SpecError naming the field."""
    from .fields import Fields
    from .limits import MAX_LOCK_MODELS, MAX_RESOLUTION
    from .reading import read_lock_data  # hostile lock files
    from .rules import CONVENTIONS

    fields = Fields(read_lock_data(path), path)
    version = fields.int("netcalc_lock")
    if version != LOCK_FORMAT:
        raise fields.error("netcalc_lock", f"format {version} is not {LOCK_FORMAT}")
    fields.str("netcalc_version", "")
    models = [_read_model(f, path, CONVENTIONS, MAX_RESOLUTION)
              for f in fields.items("models", min_len=1, max_len=MAX_LOCK_MODELS)]
    fields.finish()
    return models


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
    return LockedModel(spec, _locate(spec, lock_path), convention, resolution, counts, stages)


def _locate(spec: str, lock_path: str) -> str:
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
    """Every count that differs from the lock: totals first, then the stages that moved.

    ``specs`` restricts the check to those specs; one that the lock does not hold is a change.
    """
    specs = checked_lock_arguments(lock_path, specs)
    models = read_lock(lock_path)
    if specs:
        wanted = {os.path.normpath(s) for s in specs}
        known = {os.path.normpath(m.spec) for m in models}
        missing = [LockChange(s, "", 0, "missing", "", 0, 0) for s in specs
                   if os.path.normpath(s) not in known]
        models = [m for m in models if os.path.normpath(m.spec) in wanted]
    else:
        missing = []
    counted = memoized_count()      # a spec listed many times is counted once
    return missing + [c for m in distinct_models(models) for c in _model_changes(m, counted)]


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


def render_lock_changes(changes: Sequence[LockChange]) -> str:
    from tabulate import tabulate

    missing = [safe_text(c.spec) for c in changes if c.where == "missing"]
    rows = [[safe_text(c.spec), c.convention, c.resolution, safe_text(c.where), c.quantity,
             f"{c.locked:,}",
             f"{c.now:,}", f"{c.diff:+,}"] for c in changes if c.where != "missing"]
    parts = [f"not in the lock file: {s} (run netcalc lock again)" for s in missing]
    if rows:
        parts.append(tabulate(rows, headers=["spec", "convention", "px", "where", "quantity",
                                             "locked", "now", "diff"],
                              colalign=("left",) * 5 + ("right",) * 3))
    return "\n".join(parts)
