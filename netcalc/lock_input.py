"""Reading lock files safely: bounded and non-blocking, no content echoed, bounded work.

A lock file is input like a spec (it may come from a pull request): it is read with
:func:`netcalc.spec.read_bounded`, parsed as strict JSON (no duplicate keys), may list at most
:data:`MAX_LOCK_MODELS` models, and may name only spec files (``.yaml``, ``.yml``, ``.json``) or shipped models,
so that it cannot make netcalc read, and quote in an error, an arbitrary file.
"""
from __future__ import annotations

import json
import os
from typing import Any, List, Sequence

from .errors import ArgumentError, SpecError
from .limits import MAX_FILE_BYTES, MAX_LOCK_MODELS
from .spec import expect_mapping, json_load, read_bounded

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def read_lock_data(path: str) -> dict:
    """The top-level mapping of a lock file."""
    text = read_bounded(path, MAX_FILE_BYTES, "lock")
    try:
        data = json_load(text, path, what="lock file")
    except RecursionError:
        raise SpecError(path, "", "nesting too deep") from None
    return expect_mapping(data, path, "lock")


def lock_spec_path(spec: str, fields: Any) -> str:
    """A spec path recorded in a lock: only spec files or shipped models' names, never an
    arbitrary file."""
    from .zoo import is_bare_name, shipped_specs

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
    from .count import count

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
