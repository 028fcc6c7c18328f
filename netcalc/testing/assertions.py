"""Assertions for other repositories' tests: counts, budgets, traced modules, lock files.

Checking a spec imports neither torch nor fvcore: it is the analytic count. Checking an
``nn.Module`` traces it with fvcore (or torch's FlopCounterMode) and needs the torch extra, as
does checking an import target against a lock (it is imported again).
Every failure message names the quantity, the expected and actual values and the difference.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..count import count
from ..lockfile import checked_lock_arguments, lock_differences, render_lock_changes
from ..isolation import DEFAULT_TIMEOUT_S
from ..quantity import parse_quantity
from ..report import QUANTITIES

Expected = Union[int, str, None]


# -- comparing numbers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    quantity: str
    expected: int
    actual: int
    limit: str          # what was allowed, in words

    @property
    def diff(self) -> int:
        return self.actual - self.expected

    def __str__(self) -> str:
        percent = f" ({100 * self.diff / self.expected:+.4g}%)" if self.expected else ""
        return (f"{self.quantity}: expected {self.expected:,}, actual {self.actual:,}, "
                f"difference {self.diff:+,}{percent}; {self.limit}")


def _as_count(value: Expected, quantity: str) -> Optional[int]:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        return parse_quantity(value, quantity)
    raise TypeError(f"{quantity}= takes an int or a quantity string like '400M', "
                    f"not {type(value).__name__}")


def compare_counts(actual: Mapping[str, int], expected: Mapping[str, Expected],
                   rel: float = 0.0) -> List[Failure]:
    """The quantities whose actual count is further than ``rel`` (relative) from the expected."""
    if not 0 <= rel < 1:
        raise ValueError(f"rel must be in [0, 1), got {rel!r}")
    limit = "exact match required" if rel == 0 else f"allowed relative difference {rel:g}"
    failures = []
    for quantity in QUANTITIES:
        want = _as_count(expected.get(quantity), quantity)
        if want is not None and abs(actual[quantity] - want) > rel * abs(want):
            failures.append(Failure(quantity, want, actual[quantity], limit))
    return failures


# -- assert helpers -------------------------------------------------------------------------------
def assert_complexity(spec_or_module: Any, flops: Expected = None, params: Expected = None,
                      acts: Expected = None, convention: Optional[str] = None, rel: float = 0.0,
                      *, resolution: Optional[int] = None, inputs: Any = None,
                      in_channels: int = 3) -> Dict[str, int]:
    """Assert a spec's (analytic) or a module's (traced) counts; returns the actual counts.

    ``spec_or_module``: a spec path, mapping or :class:`~netcalc.Spec` (counted analytically, in
    ``convention``, default ``pycls``), or a ``torch.nn.Module`` (traced in ``convention``,
    ``fvcore`` by default or ``torch``, on ``inputs`` or a zero batch of 1 x ``in_channels`` x
    ``resolution`` x ``resolution``, default 224). Expected values are ints or quantities ("400M");
    ``rel`` is the relative tolerance (0: exact). Omitted quantities are not checked.
    """
    expected = {"flops": flops, "params": params, "acts": acts}
    what, actual = _counts(spec_or_module, convention, resolution, inputs, in_channels)
    failures = compare_counts(actual, expected, rel)
    if failures:
        raise AssertionError("\n  ".join([f"{what}: complexity differs from expected"]
                                         + [str(f) for f in failures]))
    return actual


def assert_budget(spec_or_module: Any, flops: Expected = None, params: Expected = None,
                  acts: Expected = None, convention: Optional[str] = None, *,
                  resolution: Optional[int] = None, inputs: Any = None,
                  in_channels: int = 3) -> Dict[str, int]:
    """Assert counts are at most the given maxima (inclusive), as ``assert_complexity`` takes them.

    The Python twin of ``netcalc check SPEC --max-flops X``; returns the actual counts.
    """
    limits = {"flops": flops, "params": params, "acts": acts}
    what, actual = _counts(spec_or_module, convention, resolution, inputs, in_channels)
    over = []
    for quantity in QUANTITIES:
        limit = _as_count(limits[quantity], quantity)
        if limit is not None and actual[quantity] > limit:
            excess = actual[quantity] - limit
            share = f" ({100 * excess / limit:+.4g}%)" if limit else ""
            over.append(f"{quantity}: at most {limit:,} allowed, actual {actual[quantity]:,}, "
                        f"over by {excess:,}{share}")
    if over:
        raise AssertionError("\n  ".join([f"{what}: over budget"] + over))
    return actual


def _counts(spec_or_module: Any, convention: Optional[str], resolution: Optional[int],
            inputs: Any, in_channels: int) -> Tuple[str, Dict[str, int]]:
    """(a description for messages, the counts) of a spec (analytic) or a module (traced)."""
    if _is_module(spec_or_module):
        from ..torch.module_counts import module_counts

        return module_counts(spec_or_module, convention or "fvcore", resolution, inputs,
                             in_channels)
    report = count(spec_or_module, convention or "pycls", resolution)
    return (f"{report.name} ({report.convention.name} convention, {report.resolution} px)",
            report.totals())


def assert_matches_fvcore(spec: Any, *, convention: str = "fvcore",
                          resolution: Optional[int] = None, device: str = "cpu") -> Any:
    """Build the spec's real module, trace it, and assert every layer's counts equal netcalc's.

    ``convention`` is ``fvcore`` (FlopCountAnalysis, ActivationCountAnalysis, parameter_count) or
    ``torch`` (FlopCounterMode). Returns the :class:`netcalc.torch.validate.Validation`.
    """
    from ..torch.validate import render_table, validate_spec

    validation = validate_spec(spec, convention, resolution, device)
    if not validation.ok:
        raise AssertionError("netcalc and the traced module disagree:\n"
                             + render_table([validation]))
    return validation


def _is_module(obj: Any) -> bool:
    """Whether ``obj`` is a torch module, without importing torch (a module implies torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def assert_lock(lock_path: str, specs: Sequence[str] = ()) -> None:
    """Assert that no count recorded in ``lock_path`` has changed, nor the graph of an import
    target it records (the diff is the message)."""
    changes = lock_differences(lock_path, specs)
    if changes:
        raise AssertionError(f"counts changed since {lock_path} was written:\n"
                             + render_lock_changes(changes.counts, changes.layers))


def assert_matches_lock(target_or_module: Any, lock_path: str, *, target: Optional[str] = None,
                        timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Assert that a torch model still imports as ``lock_path`` records it (``netcalc lock
    --import``): the same graph, layer by layer, and the same counts. The message names each
    changed layer and attribute (``conv1: kernel 1 -> 3``), then the counts that moved.

    ``target_or_module``: an import target as recorded (``models/net.py:build``), imported again
    in a child process within ``timeout`` seconds; or an ``nn.Module``, imported in this process
    and compared with the lock's import ``target`` (needed only when the lock records several).
    """
    from ..errors import ArgumentError
    from ..locked_imports import ImportOptions, find_imports, import_differences

    module = target_or_module if _is_module(target_or_module) else None
    if module is None and not isinstance(target_or_module, str):
        raise ArgumentError("", "target_or_module", f"expected an import target or a "
                                                    f"torch.nn.Module, got "
                                                    f"{type(target_or_module).__name__}")
    if target is not None and not isinstance(target, str):
        raise ArgumentError("", "target", f"expected an import target, got "
                                          f"{type(target).__name__}")
    checked_lock_arguments(lock_path, ())
    counts: list = []
    layers: list = []
    for locked in find_imports(lock_path, target if module is not None else target_or_module):
        moved, changed = import_differences(locked, ImportOptions(timeout=timeout), module)
        counts += moved
        layers += changed
    if counts or layers:
        raise AssertionError(f"{locked.target} no longer imports as {lock_path} records it (run "
                             "netcalc lock again if the change is meant):\n"
                             + render_lock_changes(counts, layers))
