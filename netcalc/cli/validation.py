"""``netcalc validate | check | lock``: counts proven against traces, and CI gates for other repos.

``validate`` imports torch and fvcore inside the command; ``check`` and ``lock`` are analytic and
import neither, except that an import target in a lock is imported again (torch, in a child
process: :mod:`netcalc.isolation`).
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any, Iterable, List, Optional, Sequence

import click

from ..errors import SpecError, safe_text
from ..extras import TRACED_CONVENTIONS
from ..isolation import DEFAULT_TIMEOUT_S, is_import_target
from ..rules import CONVENTIONS
from ..spec import check_input_shape, plain_shapes
from . import RESOLUTION, echo, main, with_progress
from .importing import InputShape, Seconds, input_shapes
from .outputs import output_path, wrote

IMPORTING = object()     # validate's first step: importing torch and fvcore


def _step_name(step: Any) -> str:
    return "importing torch and fvcore" if step is IMPORTING else f"tracing {step}"


def _torch_validation() -> Any:
    from ..extras import require

    require("torch", "validate")
    from ..torch import validate

    return validate


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu",
              show_default=True, help="Where the module runs; auto = cuda when torch sees a GPU.")
@click.option("--resolution", type=RESOLUTION, default=None,
              help="Input resolution: N or HxW (default: each spec's own).")
@click.option("--convention", type=click.Choice(TRACED_CONVENTIONS), default="fvcore",
              show_default=True,
              help="fvcore: fvcore's flop, activation and parameter counts; torch: "
                   "FlopCounterMode and numel (acts from fvcore). pycls cannot be traced.")
@click.option("--max-memory", default="5G", show_default=True, metavar="BYTES",
              help="Refuse a module whose estimated memory (float32 weights and layer outputs, "
                   "from the counts) is above this, e.g. 16G.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def validate(specs: Sequence[str], device: str, resolution: Optional[int], convention: str,
             max_memory: str, fmt: str) -> None:
    """Build each SPEC's real torch module, trace it, and diff every layer's counts.

    Flops, params and activations of every layer and in total, from netcalc and from the
    tools (docs/validation.md). Exit status 0 only if every count is identical, 1 otherwise.
    Ops the tool skips (adds, activations, pooling) are listed in one summary line.

    \b
    Examples:
      netcalc validate regnetx_800mf
      netcalc validate resnet50 my_net.yaml --convention torch --resolution 225
      netcalc validate efficientnet_b0 --device auto --format json
    """
    from ..count import count
    from ..limits import check_module_memory
    from ..quantity import parse_quantity

    limit = parse_quantity(max_memory, "--max-memory")
    for spec in specs:      # every module is known to fit before torch is imported
        check_module_memory(count(spec, "pycls", resolution), limit)
    results: List[Any] = []
    # the progress bar names the step: the torch import (10-30 s on a cold start), then each spec
    for step in with_progress([IMPORTING, *specs], "validate", min_items=1, show=_step_name):
        if step is IMPORTING:
            validation = _torch_validation()
            device = validation.resolve_device(device)
        else:
            results += validation.validate_conventions(step, (convention,), resolution, device,
                                                       limit)
    echo(validation.RENDERERS[fmt](results))
    if not all(r.ok for r in results):
        sys.exit(1)


# -- check: budgets and lock files ----------------------------------------------------------------
def _limits(max_flops: Optional[str], max_params: Optional[str], max_acts: Optional[str]) -> dict:
    from ..quantity import parse_quantity

    given = {"flops": (max_flops, "--max-flops"), "params": (max_params, "--max-params"),
             "acts": (max_acts, "--max-acts")}
    return {q: parse_quantity(text, option) for q, (text, option) in given.items()
            if text is not None}


def _budget_table(rows: Sequence[Any]) -> str:
    from tabulate import tabulate

    body = [[safe_text(r.name), safe_text(r.spec), r.quantity, f"{r.value:,}", f"{r.limit:,}",
             "ok" if r.ok else f"OVER by {r.over:,} ({100 * r.over / max(r.limit, 1):.2f}%)"]
            for r in rows]
    return tabulate(body, headers=["model", "spec", "quantity", "count", "max", "status"],
                    colalign=("left", "left", "left", "right", "right", "left"))


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("--max-flops", metavar="X", help="Flops budget, e.g. 400M or 1.6G (inclusive).")
@click.option("--max-params", metavar="X", help="Parameter budget, e.g. 6.5M.")
@click.option("--max-acts", metavar="X", help="Activation budget, e.g. 12M.")
@click.option("--lock", "lock_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Fail when any count differs from this lock file (from netcalc lock).")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
              show_default=True, help="Convention of the --max-* budgets.")
@click.option("--resolution", type=RESOLUTION, default=None,
              help="Resolution of the --max-* budgets (default: each spec's own).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--timeout", type=Seconds(), default=DEFAULT_TIMEOUT_S, show_default=True,
              help="Seconds allowed for importing each import target of the lock again, a hard "
                   "limit (0: no limit).")
@click.option("--verbose", is_flag=True,
              help="Show what an import target's code and torch print (on stderr).")
def check(specs: Sequence[str], max_flops: Optional[str], max_params: Optional[str],
          max_acts: Optional[str], lock_file: Optional[str], convention: str,
          resolution: Optional[int], fmt: str, timeout: float, verbose: bool) -> None:
    """CI gate: exit 1 when a SPEC is over budget or a count moved from the lock file.

    With --max-*, every SPEC must stay within the budgets (quantities take k, M, G, T).
    With --lock, every model of the lock file (or only the SPECs and TARGETs named) must have
    exactly the counts recorded there; the report shows each change, by total and by stage.
    An import target of the lock (netcalc lock --import) is imported again (torch needed, in a
    child process, within --timeout) and must give the same graph: each changed layer is shown
    with the attribute that changed (conv1: kernel 1 -> 3).

    \b
    Examples:
      netcalc check my_net.yaml --max-flops 400M --max-params 6.5M
      netcalc check my_nets/*.yaml --max-flops 1.6G --convention fvcore
      netcalc lock my_nets/*.yaml > netcalc.lock      # once, and commit it
      netcalc check --lock netcalc.lock              # in CI
      netcalc lock --import models/net.py:build -o netcalc.lock
      netcalc check --lock netcalc.lock --timeout 300
    """
    from ..budgets import check_budgets
    from ..lockfile import LockDifferences, lock_differences
    from ..locked_imports import ImportOptions

    limits = _limits(max_flops, max_params, max_acts)
    if not limits and lock_file is None:
        raise click.UsageError("give a budget (--max-flops/--max-params/--max-acts) or --lock FILE")
    if limits and not specs:
        raise click.UsageError("--max-* budgets need at least one SPEC")
    budget = check_budgets(specs, limits, convention, resolution) if limits else []
    changes = lock_differences(lock_file, specs, ImportOptions(timeout=timeout, verbose=verbose)) \
        if lock_file else LockDifferences([], [])
    ok = all(r.ok for r in budget) and not changes
    if fmt == "json":
        echo(json.dumps({"ok": ok, "budget": [_budget_dict(r) for r in budget],
                         "lock_changes": [_change_dict(c) for c in changes.counts],
                         "layer_changes": [_layer_dict(c) for c in changes.layers]}))
    else:
        echo(_check_text(budget, changes, lock_file))
    if not ok:
        sys.exit(1)


def _check_text(budget: Sequence[Any], changes: Any, lock_file: Optional[str]) -> str:
    from ..lockfile import render_lock_changes

    parts: List[str] = []
    if budget:
        over = sum(not r.ok for r in budget)
        parts.append(_budget_table(budget))
        parts.append(f"budget: {len(budget) - over} ok, {over} over" if over else "budget: ok")
    if lock_file:
        parts.append(f"lock {safe_text(lock_file)}: {len(changes)} "
                     f"change{'s' * (len(changes) != 1)}\n"
                     + render_lock_changes(changes.counts, changes.layers) if changes
                     else f"lock {safe_text(lock_file)}: unchanged")
    return "\n".join(parts)


def _budget_dict(row: Any) -> dict:
    return {"spec": row.spec, "name": row.name, "quantity": row.quantity, "count": row.value,
            "max": row.limit, "ok": row.ok}


def _change_dict(change: Any) -> dict:
    return {"spec": change.spec, "convention": change.convention,
            "resolution": change.resolution, "where": change.where,
            "quantity": change.quantity, "locked": change.locked, "now": change.now,
            "diff": change.diff}


def _layer_dict(change: Any) -> dict:
    return {"target": change.target, "layer": change.layer, "field": change.field,
            "locked": change.locked, "now": change.now}


@main.command()
@click.argument("specs", nargs=-1, metavar="[SPEC|TARGET]...")
@click.option("--import", "targets", multiple=True, metavar="TARGET",
              help="Also lock the torch model TARGET builds (package.module:callable or "
                   "path/to/file.py:callable; repeatable): its imported graph, layer by layer, "
                   "and its counts. Needs torch. A TARGET given as an argument is the same.")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), multiple=True,
              help="Convention(s) to record (repeatable; default pycls).")
@click.option("--resolution", type=RESOLUTION, default=None,
              help="Resolution to record (default: each spec's own; an import target is "
                   "captured at it, N or HxW, default 224).")
@click.option("--input-shape", "input_shape", type=InputShape(), multiple=True,
              metavar="1xCx...",
              help="Import targets: capture them on inputs of these whole shapes (repeatable, "
                   "one per input), as netcalc import --input-shape does (recorded: check "
                   "imports the same way).")
@click.option("--allow-unknown", is_flag=True,
              help="Import targets: record ops netcalc cannot count as free identity ops, as "
                   "netcalc import --allow-unknown does (recorded: check imports the same way).")
@click.option("--timeout", type=Seconds(), default=DEFAULT_TIMEOUT_S, show_default=True,
              help="Seconds allowed for importing each TARGET, a hard limit (0: no limit).")
@click.option("--verbose", is_flag=True,
              help="Show what a TARGET's code and torch print (on stderr).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write the lock file here instead of stdout.")
def lock(specs: Sequence[str], targets: Sequence[str], convention: Iterable[str],
         resolution: Optional[int], input_shape: Sequence[list], allow_unknown: bool,
         timeout: float, verbose: bool, out: Optional[str]) -> None:
    """Print a lock file of SPECs' and TARGETs' exact counts (JSON) for `netcalc check --lock`.

    Each model records its spec path (as given: run this where the lock file will live),
    convention, resolution, totals and per-stage counts, all exact integers. Each --import
    TARGET records the target, its import options, its totals and the imported graph (every
    layer's op and attributes), so that check can name the attribute that changed. Importing
    TARGET runs its code, in a child process, as netcalc import does.

    \b
    Examples:
      netcalc lock my_nets/*.yaml > netcalc.lock
      netcalc lock my_net.yaml --convention pycls --convention fvcore -o netcalc.lock
      netcalc lock models/net.py:build --resolution 192x256 -o netcalc.lock
      netcalc check --lock netcalc.lock
    """
    from ..lockfile import dump_lock, make_lock
    from ..locked_imports import ImportOptions

    targets = tuple(targets) + tuple(a for a in specs if is_import_target(a))
    specs = tuple(a for a in specs if not is_import_target(a))
    if not specs and not targets:
        raise click.UsageError("give at least one SPEC or --import TARGET")
    conventions = tuple(dict.fromkeys(convention)) or ("pycls",)
    options = ImportOptions(allow_unknown=allow_unknown, timeout=timeout, verbose=verbose)
    shapes = input_shapes(input_shape)
    if shapes is not None:
        if resolution is not None:
            raise click.UsageError("give --resolution or --input-shape, not both")
        options = replace(options, input_shape=shapes,
                          resolution=check_input_shape(plain_shapes(shapes))[0])
    text = dump_lock(make_lock(list(specs), conventions, resolution, targets, options))
    if out is None:
        echo(text, nl=False)
        return
    try:
        with open(output_path(out, "--out"), "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise SpecError(out, "--out", f"cannot write: {exc.strerror or exc}") from None
    wrote(out, _locked_what(specs, targets))


def _locked_what(specs: Sequence[str], targets: Sequence[str]) -> str:
    """``2 specs``, ``1 import target``, or both."""
    return ", ".join(f"{len(items)} {noun}{'s' * (len(items) != 1)}"
                     for items, noun in ((specs, "spec"), (targets, "import target")) if items)
