"""``netcalc import TARGET``: find the user's callable, call it, and get a torch module back.

TARGET is ``package.module:callable`` or ``path/to/file.py:callable``. Importing it executes the
user's own code, as importing any Python module does. Every way that can go wrong (not
importable, not callable, needs arguments, raises, returns something else, never finishes) is a
one-line :class:`~netcalc.SpecError` naming TARGET.

This runs in the child process of :mod:`netcalc.isolation` (``netcalc import``), so that the
user's code cannot end, hang or print into netcalc itself; a time limit is that process's.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Callable

from ..errors import SpecError, exception_line
from ..isolation import FIELD, split_target

MISMATCHED_BUILD = ("torchvision's compiled ops do not load next to this torch: torch and "
                    "torchvision must come from the same build (both CPU or both the same CUDA "
                    "wheels, of matching versions)")


def _one_line(exc: BaseException) -> str:
    """The user's exception in one line, with the cure when it is torchvision's ops failing to
    load beside another build of torch."""
    line = exception_line(exc)
    return f"{line} ({MISMATCHED_BUILD})" if "operator torchvision::" in line else line


def _import_file(path: str, target: str) -> Any:
    if not os.path.isfile(path):
        raise SpecError(target, FIELD, f"{path}: no such file")
    name = "_netcalc_import_" + "".join(c if c.isalnum() else "_" for c in
                                        os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(target, FIELD, f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))   # its sibling imports work
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_callable(target: str) -> Callable[[], Any]:
    """The callable TARGET names (its module is imported: the user's code runs)."""
    where, attr = split_target(target)
    try:
        if where.endswith(".py") or os.sep in where or "/" in where:
            module = _import_file(where, target)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())     # like `python -m`: local packages import
            module = importlib.import_module(where)
    except SpecError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- the user's code: one line
        raise SpecError(target, FIELD, f"importing {where} raised {_one_line(exc)}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SpecError(target, FIELD, f"{where} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(target, FIELD, f"{attr} is a {type(obj).__name__}, not a callable "
                                       "that returns a module")
    return obj


def build_module(factory: Callable[[], Any], target: str) -> Any:
    """``factory()`` as a torch module: built on the meta device when it allows (no weights are
    allocated or initialised), else on the CPU. A factory that needs arguments, raises, or
    returns something else is an error."""
    import torch
    from torch import nn

    try:
        with torch.device("meta"):
            module = factory()
    except (Exception, SystemExit):  # noqa: BLE001 -- retried on the CPU, errors reported there
        try:
            module = factory()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 -- the user's code: one line
            raise SpecError(target, FIELD, f"calling it with no arguments raised "
                                           f"{_one_line(exc)}") from None
    if not isinstance(module, nn.Module):
        raise SpecError(target, FIELD, f"returned a {type(module).__name__}, not a "
                                       "torch.nn.Module")
    return module


def import_target(target: str, resolution: Any = 224, name: Any = None,
                  allow_unknown: bool = False, inputs: Any = None,
                  symbolic_timeout: Any = None) -> Any:
    """The checked :class:`~netcalc.Spec` of the module TARGET builds, named ``name`` or after
    the module's class (in this process: :func:`netcalc.isolation.import_isolated` runs it in a
    child)."""
    from .importer import SYMBOLIC_TIMEOUT, from_torch

    module = build_module(load_callable(target), target)
    bound = SYMBOLIC_TIMEOUT if symbolic_timeout is None else symbolic_timeout
    return from_torch(module, resolution, name, allow_unknown, source=target, inputs=inputs,
                      symbolic_timeout=bound)
