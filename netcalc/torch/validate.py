"""Trace the real module and compare every count with netcalc's, per layer and in total.

A *measure* is one tool's count of one quantity: fvcore's ``FlopCountAnalysis``,
``ActivationCountAnalysis`` and ``parameter_count``, torch's ``FlopCounterMode``, or the plain
``numel`` of the parameters. Each convention that a tool can check names the measure behind each
quantity (:data:`SOURCES`). The pycls convention has no tracing tool: it is checked through its
exact identities with fvcore (``../../docs/conventions.md``), not here.

Measures run once per built module, however many conventions are compared against them, so
checking fvcore and torch together costs two fvcore traces and one eager forward.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from ..count import count
from ..errors import ArgumentError, SpecError, safe_text
from ..graph import LayerGraph
from ..limits import MAX_MISMATCH_ROWS, MAX_MODULE_BYTES, check_module_memory
from ..report import QUANTITIES
from ..spec import SpecLike, format_resolution, load_spec
from .builder import GraphModule, build, example_input, module_name

# convention -> quantity -> measure (a key of MEASURES)
SOURCES: Dict[str, Dict[str, str]] = {
    "fvcore": {"flops": "fvcore.flops", "params": "fvcore.params", "acts": "fvcore.acts"},
    # FlopCounterMode reports no activations; netcalc's torch acts are fvcore's definition.
    "torch": {"flops": "torch.flops", "params": "torch.numel", "acts": "fvcore.acts"},
}
TOOL_NAMES = {
    "fvcore.flops": "fvcore FlopCountAnalysis",
    "fvcore.acts": "fvcore ActivationCountAnalysis",
    "fvcore.params": "fvcore parameter_count",
    "torch.flops": "torch FlopCounterMode",
    "torch.numel": "sum of p.numel()",
}
DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class Measured:
    """One tool's count of one quantity: per qualified module name, in total, and skipped ops."""

    by_module: Mapping[str, int]
    total: int
    unsupported: Mapping[str, int] = field(default_factory=dict)

    def per_layer(self, layers: int) -> Tuple[int, ...]:
        """The counts of a :class:`GraphModule`'s layer modules, in graph order."""
        return tuple(int(self.by_module.get(module_name(i), 0)) for i in range(layers))


# -- measures: (module, inputs) -> Measured; module in eval() mode, under torch.no_grad() ----------
@contextlib.contextmanager
def logger_at(name: str, level: int) -> Iterator[None]:
    """The logger ``name`` at ``level`` inside the block (a tool's per-op chatter silenced)."""
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)


@contextlib.contextmanager
def quiet_fvcore() -> Iterator[None]:
    """fvcore logs one warning per skipped op and module; the summary says it once instead."""
    with logger_at("fvcore", logging.ERROR):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # fvcore scripts a few functions at import; torch 2.x deprecates torch.jit.
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated",
                                    category=DeprecationWarning)
            yield


def _fvcore_analysis(cls_name: str) -> Callable[[nn.Module, tuple], Measured]:
    def run(module: nn.Module, inputs: tuple) -> Measured:
        with quiet_fvcore():
            import fvcore.nn

            analysis = getattr(fvcore.nn, cls_name)(module, inputs)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            by_module = dict(analysis.by_module())
            unsupported = dict(sorted(analysis.unsupported_ops().items()))
        return Measured(by_module, int(by_module[""]), unsupported)
    return run


def _fvcore_params(module: nn.Module, inputs: tuple) -> Measured:
    with quiet_fvcore():
        from fvcore.nn import parameter_count

    counts = dict(parameter_count(module))
    return Measured(counts, int(counts.get("", 0)))


def _torch_flops(module: nn.Module, inputs: tuple) -> Measured:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        module(*inputs)
    root = type(module).__name__ + "."       # FlopCounterMode names modules "<RootClass>.<name>"
    by_module = {name[len(root):]: int(sum(ops.values()))
                 for name, ops in counter.get_flop_counts().items() if name.startswith(root)}
    return Measured(by_module, int(counter.get_total_flops()))


def _numel(module: nn.Module, inputs: tuple) -> Measured:
    by_module = {name: sum(p.numel() for p in child.parameters())
                 for name, child in module.named_children()}
    if isinstance(module, GraphModule):
        by_module.update((module_name(i), sum(p.numel() for p in layer.parameters()))
                         for i, layer in enumerate(module.layers))
    return Measured(by_module, sum(p.numel() for p in module.parameters()))


MEASURES: Dict[str, Callable[[nn.Module, tuple], Measured]] = {
    "fvcore.flops": _fvcore_analysis("FlopCountAnalysis"),
    "fvcore.acts": _fvcore_analysis("ActivationCountAnalysis"),
    "fvcore.params": _fvcore_params,
    "torch.flops": _torch_flops,
    "torch.numel": _numel,
}


def run_measures(module: nn.Module, inputs: tuple, names: Sequence[str]) -> Dict[str, Measured]:
    """Each named measure once, with the module in eval() mode (restored afterwards)."""
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return {name: MEASURES[name](module, inputs) for name in dict.fromkeys(names)}
    finally:
        module.train(training)


def resolve_device(device: str) -> str:
    """``auto``: ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is an error."""
    if device not in DEVICES:
        raise ArgumentError("", "device", f"{device!r} is not one of {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ArgumentError("", "device", "cuda asked for, but torch.cuda.is_available() is False")
    return device


def measure(graph: LayerGraph, names: Sequence[str], device: str = "cpu") -> Dict[str, Measured]:
    """Build ``graph`` on ``device`` and run each named measure of :data:`MEASURES` once."""
    module = build(graph, device=device, init=False)
    return run_measures(module, (example_input(graph, device),), names)


# -- comparison -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mismatch:
    layer: str          # a layer name, or "total"
    op: str
    quantity: str
    netcalc: int
    measured: int

    @property
    def diff(self) -> int:
        return self.measured - self.netcalc


@dataclass(frozen=True)
class Validation:
    """netcalc's counts of one spec in one convention against the tools' counts of its module."""

    name: str
    spec: str
    convention: str
    resolution: int
    device: str
    netcalc: Dict[str, int]             # totals per quantity
    measured: Dict[str, int]            # the tools' own totals
    mismatches: Tuple[Mismatch, ...]    # per layer, then totals
    unsupported: Mapping[str, int]      # ops the flops tool skipped (0 flops), with counts
    layers: int

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def tools(self) -> Dict[str, str]:
        return {q: TOOL_NAMES[SOURCES[self.convention][q]] for q in QUANTITIES}

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name, "spec": self.spec, "convention": self.convention,
            "resolution": self.resolution, "device": self.device, "ok": self.ok,
            "layers": self.layers, "tools": self.tools,
            "totals": {q: {"netcalc": self.netcalc[q], "measured": self.measured[q],
                           "diff": self.measured[q] - self.netcalc[q]} for q in QUANTITIES},
            "mismatches": [{"layer": m.layer, "op": m.op, "quantity": m.quantity,
                            "netcalc": m.netcalc, "measured": m.measured, "diff": m.diff}
                           for m in self.mismatches],
            "unsupported_ops": dict(self.unsupported),
        }


def check_convention(convention: str) -> None:
    if convention not in SOURCES:
        raise ArgumentError("", "convention", f"{convention!r} cannot be traced; validate "
                                              f"checks {' or '.join(SOURCES)}")


def compare(report: Any, measured: Mapping[str, Measured], device: str) -> Validation:
    """Per-layer and total differences between a :class:`~netcalc.report.Report` and measures."""
    sources = SOURCES[report.convention.name]
    mismatches: List[Mismatch] = []
    for q_index, quantity in enumerate(QUANTITIES):
        per_layer = measured[sources[quantity]].per_layer(len(report.graph.layers))
        for layer, cost, actual in zip(report.graph.layers, report.costs, per_layer):
            if cost[q_index] != actual:
                mismatches.append(Mismatch(layer.name, layer.op, quantity, cost[q_index], actual))
    totals = {q: measured[sources[q]].total for q in QUANTITIES}
    mismatches += [Mismatch("total", "", q, getattr(report, q), totals[q])
                   for q in QUANTITIES if getattr(report, q) != totals[q]]
    return Validation(report.name, report.spec.source, report.convention.name, report.resolution,
                      device, report.totals(), totals, tuple(mismatches),
                      measured[sources["flops"]].unsupported, len(report.graph.layers))


def validate_conventions(spec: SpecLike, conventions: Sequence[str] = ("fvcore",),
                         resolution: Optional[int] = None, device: str = "cpu",
                         max_memory: int = MAX_MODULE_BYTES) -> List[Validation]:
    """Validate one spec in several conventions against one built module (one set of traces).

    The module's memory is estimated from the counts first (:func:`netcalc.limits.module_memory`)
    and a module above ``max_memory`` bytes is refused before anything is built.
    """
    for convention in conventions:
        check_convention(convention)
    device = resolve_device(device)
    spec = load_spec(spec)
    reports = [count(spec, c, resolution) for c in conventions]
    check_module_memory(reports[0], max_memory)
    names = [SOURCES[c][q] for c in conventions for q in QUANTITIES]
    try:
        measured = measure(reports[0].graph, names, device)
    except SpecError as exc:      # from the builder, which knows layers but not files
        raise SpecError(exc.source or spec.source, exc.field, exc.message) from None
    return [compare(report, measured, device) for report in reports]


def validate_spec(spec: SpecLike, convention: str = "fvcore", resolution: Optional[int] = None,
                  device: str = "cpu", max_memory: int = MAX_MODULE_BYTES) -> Validation:
    """netcalc's counts of ``spec`` against fvcore's (or torch's) counts of its real module."""
    return validate_conventions(spec, (convention,), resolution, device, max_memory)[0]


# -- rendering ------------------------------------------------------------------------------------


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def unsupported_summary(validation: Validation) -> str:
    """One line naming the ops the flops tool skipped (they cost 0 in every convention)."""
    if not validation.unsupported:
        return ""
    ops = ", ".join(f"{op} x{n}" for op, n in validation.unsupported.items())
    return f"{validation.tools['flops']} skipped (0 flops, as the convention assumes): {ops}"


def render_table(validations: Sequence[Validation]) -> str:
    from tabulate import tabulate

    blocks = []
    for v in validations:
        verdict = ("identical" if v.ok else f"MISMATCH ({len(v.mismatches)} counts differ)")
        lines = [f"{safe_text(v.name)}  ({safe_text(v.spec)}; {v.convention} convention; "
                 f"{format_resolution(v.resolution)} px; "
                 f"{v.device}): {verdict}, {v.layers} layers"]
        totals = [[q, f"{v.netcalc[q]:,}", f"{v.measured[q]:,}",
                   _signed(v.measured[q] - v.netcalc[q]), v.tools[q]] for q in QUANTITIES]
        lines.append(tabulate(totals, colalign=("left", "right", "right", "right", "left"),
                              headers=["total", "netcalc", "measured", "diff", "measured by"]))
        layer_rows = [m for m in v.mismatches if m.layer != "total"]
        if layer_rows:
            rows = [[safe_text(m.layer), m.op, m.quantity, f"{m.netcalc:,}", f"{m.measured:,}",
                     _signed(m.diff)] for m in layer_rows[:MAX_MISMATCH_ROWS]]
            lines.append(tabulate(rows, headers=["layer", "op", "quantity", "netcalc", "measured",
                                                 "diff"],
                                  colalign=("left", "left", "left", "right", "right", "right")))
            if len(layer_rows) > MAX_MISMATCH_ROWS:
                lines.append(f"... and {len(layer_rows) - MAX_MISMATCH_ROWS} more layers "
                             "(--format json lists all)")
        summary = unsupported_summary(v)
        if summary:
            lines.append(summary)
        blocks.append("\n".join(lines))
    if len(validations) > 1:
        bad = sum(not v.ok for v in validations)
        blocks.append(f"{len(validations)} validated: {len(validations) - bad} identical, "
                      f"{bad} mismatched")
    return "\n\n".join(blocks)


def render_json(validations: Sequence[Validation]) -> str:
    import json

    return "\n".join(json.dumps(v.to_dict()) for v in validations)


RENDERERS = {"table": render_table, "json": render_json}
