"""Complexity checks for other repositories' tests and CI (``../docs/testing_and_ci.md``).

    from netcalc.testing import (assert_budget, assert_complexity, assert_lock,
                                 assert_matches_fvcore)

    assert_complexity("specs/regnetx_800mf.yaml", flops=799_700_712, params="7.26M", rel=1e-3)
    assert_budget("specs/regnetx_800mf.yaml", flops="800M", params="7.5M")   # at most
    assert_complexity(my_module, flops=810_028_128, convention="fvcore", resolution=224)
    assert_matches_fvcore("specs/my_net.yaml")       # the real module, traced, layer by layer
    assert_lock("netcalc.lock")                     # no count changed since `netcalc lock`

Checking a spec imports neither torch nor fvcore: it is the analytic count. Checking an
``nn.Module`` traces it with fvcore (or torch's FlopCounterMode) and needs the torch extra.
Every failure message names the quantity, the expected and actual values and the difference.

Also here: the lock-file format behind ``netcalc lock`` / ``netcalc check --lock`` and the
budget check behind ``netcalc check --max-flops``, and (when pytest is running) a
``netcalc_lock`` fixture that can rewrite a lock with ``pytest --netcalc-update-lock``.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .count import count
from .errors import SpecError
from .quantity import parse_quantity
from .report import QUANTITIES

Expected = Union[int, str, None]
MODULE_CONVENTIONS = ("fvcore", "torch")


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
        return _module_counts(spec_or_module, convention or "fvcore", resolution, inputs,
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
    from .torch.validate import render_table, validate_spec

    validation = validate_spec(spec, convention, resolution, device)
    if not validation.ok:
        raise AssertionError("netcalc and the traced module disagree:\n"
                             + render_table([validation]))
    return validation


def _is_module(obj: Any) -> bool:
    """Whether ``obj`` is a torch module, without importing torch (a module implies torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _module_counts(module: Any, convention: str, resolution: Optional[int], inputs: Any,
                   in_channels: int) -> Tuple[str, Dict[str, int]]:
    import torch

    from .torch.validate import SOURCES, run_measures

    if convention not in MODULE_CONVENTIONS:
        raise ValueError(f"a module is measured by tracing, in the {' or '.join(SOURCES)} "
                         f"convention; {convention!r} is for specs")
    if inputs is None:
        side = resolution or 224
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        inputs = torch.zeros(1, in_channels, side, side, device=device)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    sources = SOURCES[convention]
    measured = run_measures(module, inputs, [sources[q] for q in QUANTITIES])
    shape = "x".join(str(s) for s in inputs[0].shape)
    return (f"{type(module).__name__} ({convention} convention, input {shape})",
            {q: measured[sources[q]].total for q in QUANTITIES})


# -- budgets: netcalc check --max-flops ... -------------------------------------------------------
@dataclass(frozen=True)
class BudgetRow:
    spec: str
    name: str
    quantity: str
    value: int
    limit: int

    @property
    def over(self) -> int:
        return self.value - self.limit

    @property
    def ok(self) -> bool:
        return self.value <= self.limit


def check_budgets(specs: Iterable[str], limits: Mapping[str, int], convention: str = "pycls",
                  resolution: Optional[int] = None) -> List[BudgetRow]:
    """One row per spec and limited quantity (``limits``: quantity -> maximum, inclusive)."""
    rows = []
    for spec in specs:
        report = count(spec, convention, resolution)
        rows += [BudgetRow(spec, report.name, q, getattr(report, q), limit)
                 for q, limit in limits.items()]
    return rows


# -- lock files: netcalc lock / netcalc check --lock ----------------------------------------------
LOCK_FORMAT = 1


def lock_entry(spec: str, convention: str = "pycls", resolution: Optional[int] = None) -> dict:
    """The locked counts of one spec: totals and per-stage rows, exact ints."""
    report = count(spec, convention, resolution)
    return {"spec": spec, "name": report.name, "convention": convention,
            "resolution": report.resolution, **report.totals(),
            "stages": report.breakdown("stage")}


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
    from .rules import CONVENTIONS
    from .spec import MAX_FILE_BYTES, MAX_RESOLUTION

    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise SpecError(path, "", f"lock file larger than {MAX_FILE_BYTES} bytes")
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise SpecError(path, "", f"cannot read lock file: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise SpecError(path, "", f"not a JSON lock file ({str(exc)[:80]})") from None
    fields = Fields(data, path)
    version = fields.int("netcalc_lock")
    if version != LOCK_FORMAT:
        raise fields.error("netcalc_lock", f"format {version} is not {LOCK_FORMAT}")
    fields.str("netcalc_version", "")
    models = [_read_model(f, path, CONVENTIONS, MAX_RESOLUTION)
              for f in fields.items("models", min_len=1)]
    fields.finish()
    return models


def _read_model(f: Any, lock_path: str, conventions: Any, max_resolution: int) -> LockedModel:
    spec = f.str("spec", max_len=4096)
    f.str("name", "", max_len=1000)
    convention = f.str("convention", choices=list(conventions))
    from .spec import check_resolution

    resolution = check_resolution(f.value("resolution"), f.source, f.sub_path("resolution"))
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
    models = read_lock(lock_path)
    if specs:
        wanted = {os.path.normpath(s) for s in specs}
        known = {os.path.normpath(m.spec) for m in models}
        missing = [LockChange(s, "", 0, "missing", "", 0, 0) for s in specs
                   if os.path.normpath(s) not in known]
        models = [m for m in models if os.path.normpath(m.spec) in wanted]
    else:
        missing = []
    return missing + [c for m in models for c in _model_changes(m)]


def _model_changes(model: LockedModel) -> List[LockChange]:
    report = count(model.path, model.convention, model.resolution)
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

    missing = [c.spec for c in changes if c.where == "missing"]
    rows = [[c.spec, c.convention, c.resolution, c.where, c.quantity, f"{c.locked:,}",
             f"{c.now:,}", f"{c.diff:+,}"] for c in changes if c.where != "missing"]
    parts = [f"not in the lock file: {s} (run netcalc lock again)" for s in missing]
    if rows:
        parts.append(tabulate(rows, headers=["spec", "convention", "px", "where", "quantity",
                                             "locked", "now", "diff"],
                              colalign=("left",) * 5 + ("right",) * 3))
    return "\n".join(parts)


def assert_lock(lock_path: str, specs: Sequence[str] = ()) -> None:
    """Assert that no count recorded in ``lock_path`` has changed (the diff is the message)."""
    changes = lock_changes(lock_path, specs)
    if changes:
        raise AssertionError(f"counts changed since {lock_path} was written:\n"
                             + render_lock_changes(changes))


# -- pytest: a fixture and an option, defined only when pytest is running ------------------------
if "pytest" in sys.modules:
    import pytest

    def pytest_addoption(parser: Any) -> None:
        parser.addoption("--netcalc-update-lock", action="store_true", default=False,
                         help="rewrite netcalc lock files checked with the netcalc_lock fixture")

    class LockFixture:
        """``netcalc_lock.check(path, specs)``: assert the lock, or rewrite it when asked."""

        def __init__(self, update: bool):
            self.update = update

        def check(self, lock_path: str, specs: Sequence[str] = ()) -> None:
            if self.update:
                text = dump_lock(refresh_lock(lock_path))
                with open(lock_path, "w", encoding="utf-8") as handle:
                    handle.write(text)
                return
            assert_lock(lock_path, specs)

    @pytest.fixture
    def netcalc_lock(request: Any) -> LockFixture:
        """Use with ``pytest_plugins = ["netcalc.testing"]`` (or import the fixture)."""
        return LockFixture(bool(request.config.getoption("--netcalc-update-lock", default=False)))
