"""Torch modules to graph specs: trace once, map every fx node through one table, check.

``from_torch(module, resolution)`` traces the module symbolically with torch.fx in eval mode,
runs the traced graph on fake tensors (shapes only: a 100 GFLOP model imports in a second and
allocates no activations) at the asked resolution and at a second "probe" resolution, turns each
fx node into graph-spec nodes through :mod:`netcalc.torch.op_table`, and checks the result:
the spec's shape of every node equals the traced one, and its parameters equal the module's.

Layer names are the module's qualified names (``layer1.0.conv1``) for module calls and fx node
names (``add_3``, ``cat_1``) for function calls, so a per-layer diff points at the user's code.
"""
from __future__ import annotations

import contextlib
import logging
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

import torch
from torch import fx, nn

from ..errors import SpecError
from ..spec import Spec, load_spec
from . import op_table
from .op_table import VALUE, Alias, Call, Op, Parts, Shape, Unsupported

Resolution = Union[int, Tuple[int, int]]
PROBE_STEP = (32, 64)       # the probe resolution: (h + 32, w + 64), distinct changes per side
STAND_IN = "identity"       # what --allow-unknown records an unsupported op as


class ImportFailure(SpecError):
    """The module cannot become a spec (untraceable, unsupported ops, a failed check)."""


class RunFailure(ImportFailure):
    """The traced module does not run on the input (the resolution, or its own code)."""


@dataclass
class Unknown:
    """One unsupported call: what it is, which fx node, which module it came from."""

    op: str
    node: str
    module_path: str
    reason: str = ""

    def describe(self) -> str:
        where = f" in module {self.module_path}" if self.module_path else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.op}{why} at fx node {self.node}{where}"


@dataclass
class Imported:
    """The spec data and what the checks need: the traced shape behind each spec node."""

    data: Dict[str, Any]
    shapes: Dict[str, Tuple[int, ...]]                # spec node name -> traced shape
    node_params: Dict[str, int] = field(default_factory=dict)
    unused_params: Dict[str, int] = field(default_factory=dict)
    reused_params: Dict[str, int] = field(default_factory=dict)    # counted again per call
    uncounted_params: Dict[str, int] = field(default_factory=dict)  # of --allow-unknown stand-ins
    numel: int = 0                                                 # the module's parameters
    unknown: List[Unknown] = field(default_factory=list)


# -- tracing ----------------------------------------------------------------------------------------
def _hw(resolution: Resolution) -> Tuple[int, int]:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, tuple, list)):
        raise SpecError("", "resolution", f"{resolution!r} is not an int or (h, w)")
    h, w = (resolution, resolution) if isinstance(resolution, int) else resolution
    if not all(isinstance(v, int) and v >= 1 for v in (h, w)):
        raise SpecError("", "resolution", f"{resolution!r}: sides must be positive ints")
    return int(h), int(w)


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """``module`` in eval mode inside, its own train/eval state (per submodule) after."""
    states = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in states:
            m.training = training


def trace(module: nn.Module, source: str) -> fx.GraphModule:
    """The fx graph of ``module`` (in eval mode: the caller's)."""
    try:
        return fx.GraphModule(module, fx.Tracer().trace(module))
    except Exception as exc:  # noqa: BLE001 -- every tracing failure is the same user message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailure(source, "", f"torch.fx cannot trace {type(module).__name__}: {first} "
                            "(Python control flow that depends on tensor values cannot be "
                            "traced symbolically; move it out of forward, or import a "
                            "submodule that traces)") from None


def _summary(value: Any) -> Any:
    """What is kept of one traced value: a tensor's :class:`Shape`, or the plain value (sizes
    stay tuples of ints, never Shapes)."""
    if isinstance(value, torch.Tensor):
        return Shape(int(d) for d in value.shape)
    if isinstance(value, torch.Size):
        return tuple(int(d) for d in value)
    if isinstance(value, (list, tuple)):
        return [_summary(v) for v in value]
    return value


class _ShapeRecorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.shapes: Dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        self.shapes[n] = _summary(result)
        return result


def propagate(gm: fx.GraphModule, in_channels: int, hw: Tuple[int, int]) -> Dict[fx.Node, Any]:
    """Every node's output shape (or value) for a (1, C, h, w) input, on fake tensors."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    param = next(gm.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    recorder = _ShapeRecorder(gm)
    with torch.no_grad(), FakeTensorMode(allow_non_fake_inputs=True):
        recorder.run(torch.empty(1, in_channels, *hw, device=device))
    return recorder.shapes


# -- conversion -------------------------------------------------------------------------------------
def _module_path(node: fx.Node) -> str:
    """The qualified name of the module a node is (call_module) or runs inside (functions)."""
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


def _labels(node: fx.Node) -> Tuple[str, str]:
    """(stage, block) for ``--by stage|block``: the first one and two components of the module
    the node runs in (``layer1``, ``layer1.0`` for ``layer1.0.conv1`` and for the add of that
    block); a top-level module is its own stage; functions of the root's forward are "top"."""
    path = _module_path(node)
    container = path.rpartition(".")[0] if node.op == "call_module" else path
    parts = container.split(".") if container else [path or "top"]
    return parts[0], ".".join(parts[:2])


class _Converter:
    """Walks the fx graph once, emitting spec nodes; collects unsupported calls instead of
    stopping at the first, so the error lists all of them."""

    def __init__(self, gm: fx.GraphModule, shapes: Mapping[fx.Node, Any],
                 probe: Optional[Mapping[fx.Node, Any]], allow_unknown: bool):
        self.gm = gm
        self.shapes = shapes
        self.probe = probe
        self.allow_unknown = allow_unknown
        self.names: Dict[fx.Node, str] = {}           # tensor-valued fx node -> spec value name
        self.parts: Dict[fx.Node, Parts] = {}
        self.layers: List[Dict[str, Any]] = []
        self.traced: Dict[str, Tuple[int, ...]] = {}
        self.node_params: Dict[str, int] = {}
        self.used_params: Set[int] = set()
        self.reused_params: Counter = Counter()
        self.uncounted_params: Dict[str, int] = {}    # of the stand-ins for unknown modules
        self.unknown: List[Unknown] = []
        self.poisoned: Set[fx.Node] = set()           # unsupported, and what fails for it
        self.fixed: List[str] = []
        self.taken: Set[str] = {"input"}
        self.previous = "input"
        self.labels: Tuple[str, str] = ("", "")
        self.params = dict(gm.named_parameters(remove_duplicate=False))

    # - helpers -
    def shape_of(self, node: Any) -> Any:
        return self.shapes.get(node) if isinstance(node, fx.Node) else node

    def probe_of(self, node: Any) -> Any:
        return None if self.probe is None else self.probe.get(node)

    def is_param(self, node: Any) -> bool:
        return isinstance(node, fx.Node) and node.op == "get_attr" and node.target in self.params

    def _unique(self, name: str) -> str:
        name = "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "node"
        base, k = name, 1
        while name in self.taken:
            k += 1
            name = f"{base}-{k}"
        self.taken.add(name)
        return name

    def _value_name(self, node: Any) -> str:
        if isinstance(node, fx.Node) and node in self.names:
            return self.names[node]
        what = (f"the constant tensor {node.target}" if isinstance(node, fx.Node)
                and node.op == "get_attr" else f"{node!r}")
        raise Unsupported(f"operand {what} is not a value netcalc tracks")

    # - emitting -
    def _emit(self, node: fx.Node, op: Op, name: str, inputs: List[str], params: int) -> None:
        entry: Dict[str, Any] = {"name": name, "op": op.op}
        labels = _labels(node)
        if labels != self.labels:
            entry["stage"], entry["block"] = labels
            self.labels = labels
        if len(inputs) > 1 or op.op == "concat":
            entry["inputs"] = inputs
        elif inputs[0] != self.previous:
            entry["input"] = inputs[0]
        entry.update(op.attrs)
        self.layers.append(entry)
        self.previous = name
        if params:
            self.node_params[name] = params

    def _params_of(self, node: fx.Node, module: Optional[nn.Module]) -> int:
        """The numel of the parameters one spec node stands for (its module's, or the
        get_attr parameters the function call reads), marked as used."""
        if module is not None:
            tensors = list(module.parameters())
        else:
            tensors = [self.params[a.target] for a in node.all_input_nodes if self.is_param(a)]
        again = sum(t.numel() for t in tensors if id(t) in self.used_params)
        if again:       # a module called twice: the spec counts its parameters at each call
            self.reused_params[_module_path(node) or node.name] += again
        self.used_params.update(id(t) for t in tensors)
        return sum(t.numel() for t in tensors)

    def convert_node(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            if self.names:
                raise ImportFailure("", "", "forward takes more than one input; netcalc "
                                    "imports models of one image tensor")
            self.names[node] = "input"
            self.traced["input"] = tuple(self.shapes[node])
            return
        if node.op in ("output", "get_attr"):
            return
        module = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        if node.op == "call_function" and node.target is operator.getitem \
                and node.args[0] in self.parts:
            return self._part(node)
        entry = op_table.lookup(node, module)
        try:
            if entry is None:
                raise Unsupported("")
            call = Call(node, module, op_table.bind(entry, node), self.shape_of, self.probe_of,
                        self.is_param, lambda why: self.fixed.append(f"{node.name}: {why}"))
            try:
                result = entry.convert(call)
            except (TypeError, ValueError, KeyError, IndexError) as exc:
                raise Unsupported(f"arguments it cannot read ({_first_line(exc)})") from None
            self._apply(node, module, result)
        except Unsupported as exc:
            if not self.allow_unknown and entry is not None and any(
                    a in self.poisoned for a in node.all_input_nodes):
                self.poisoned.add(node)     # fails only because an input is unsupported
                self.names[node] = "input"
                return
            self._unsupported(node, module, str(exc))

    def _apply(self, node: fx.Node, module: Optional[nn.Module], result: Any) -> None:
        if result is VALUE:
            if isinstance(self.shapes.get(node), Shape):
                raise Unsupported("returns a tensor")
            return
        if isinstance(result, Alias):
            self.names[node] = self._value_name(result.source)
            return
        if isinstance(result, Parts):
            self.parts[node] = result
            return
        ops = result if isinstance(result, list) else [result]
        base = str(node.target) if node.op == "call_module" else node.name
        inputs = [self._value_name(v) for v in (ops[0].inputs or [node.args[0]])]
        params = self._params_of(node, module)
        for i, op in enumerate(ops):      # chained ops (a slice per sliced dim): the last is named
            name = self._unique(base if i == len(ops) - 1 else f"{base}-part{i + 1}")
            self._emit(node, op, name, inputs, params if i == 0 else 0)
            inputs = [name]
        self.names[node] = inputs[0]
        self.traced[inputs[0]] = tuple(self.shapes[node])

    def _part(self, node: fx.Node) -> None:
        parts = self.parts[node.args[0]]
        start, stop = parts.bounds[node.args[1]]
        name = self._unique(node.name)
        self._emit(node, Op("slice", {"dim": parts.dim, "start": start, "stop": stop}), name,
                   [self._value_name(parts.source)], 0)
        self.names[node] = name
        self.traced[name] = tuple(self.shapes[node])

    def _unsupported(self, node: fx.Node, module: Optional[nn.Module], reason: str) -> None:
        unknown = Unknown(op_table.describe(node, module), node.name, _module_path(node), reason)
        self.unknown.append(unknown)
        self.poisoned.add(node)
        if not self.allow_unknown:
            self.names[node] = "input"      # keep walking to find every other unsupported op
            return
        shape = self.shapes.get(node)
        source = next((a for a in node.all_input_nodes if a in self.names
                       and self.shapes.get(a) == shape), None)
        if source is None:
            raise ImportFailure("", "", f"{unknown.describe()}: has no mapping, and its output "
                                "shape differs from its inputs', so no free stand-in fits")
        name = self._unique(str(node.target) if module is not None else node.name)
        uncounted = self._params_of(node, module)
        if uncounted:
            self.uncounted_params[name] = uncounted
            unknown.reason += f"{'; ' if unknown.reason else ''}{uncounted:,} parameters " \
                              "not counted"
        self._emit(node, Op(STAND_IN), name, [self.names[source]], 0)
        self.names[node] = name
        self.traced[name] = tuple(shape)


def _unused_params(module: nn.Module, used: Set[int]) -> Dict[str, int]:
    """Parameters the eval forward never reads (GoogLeNet's aux heads), by top module."""
    unused: Counter = Counter()
    for name, param in module.named_parameters():
        if id(param) not in used:
            unused[name.split(".")[0]] += param.numel()
    return dict(unused)


def _in_channels(module: nn.Module) -> int:
    """The input channels when not given: the first conv's (an image model), else 3."""
    first = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    return first.in_channels if first is not None else 3


def convert(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
            allow_unknown: bool = False, source: str = "",
            in_channels: Optional[int] = None) -> Imported:
    """The graph-spec data of ``module`` (unchecked; :func:`from_torch` checks it)."""
    source = source or type(module).__name__
    hw = _hw(resolution)
    in_channels = in_channels or _in_channels(module)
    with eval_mode(module):
        gm = trace(module, source)
        shapes, probe, probe_error = _run(gm, in_channels, hw, source)
    converter = _Converter(gm, shapes, probe, allow_unknown)
    for node in gm.graph.nodes:
        try:
            converter.convert_node(node)
        except ImportFailure as exc:
            raise ImportFailure(source, exc.field, exc.message) from None
    if converter.unknown and not allow_unknown:
        raise ImportFailure(source, "", _unsupported_message(converter.unknown))
    data: Dict[str, Any] = {
        "family": "graph", "name": name or type(module).__name__,
        "resolution": hw[0] if hw[0] == hw[1] else list(hw), "in_channels": in_channels,
        "layers": converter.layers,
    }
    unused = _unused_params(module, converter.used_params)
    notes = _notes(converter, unused, hw)
    if probe_error:
        notes.append(f"fits only {hw[0]}x{hw[1]}: the module does not run at {probe_error}")
    if notes:
        data["notes"] = notes
    return Imported(data, converter.traced, converter.node_params, unused,
                    dict(converter.reused_params), converter.uncounted_params,
                    sum(p.numel() for p in module.parameters()), converter.unknown)


def quiet_torch() -> Any:
    """FakeTensor logs every failing op at ERROR; a refused size is reported once instead."""
    from .validate import logger_at

    return logger_at("torch._subclasses.fake_tensor", logging.CRITICAL)


def _run(gm: fx.GraphModule, in_channels: int, hw: Tuple[int, int],
         source: str) -> Tuple[Dict[fx.Node, Any], Optional[Dict[fx.Node, Any]], str]:
    """Shapes at the asked resolution, and at the probe resolution (None, and why, where the
    model refuses it: then its reshapes are marked as fitting one resolution only)."""
    try:
        shapes = propagate(gm, in_channels, hw)
    except Exception as exc:  # noqa: BLE001 -- the model's own refusal of this input size
        raise RunFailure(source, "resolution", f"the module does not run on a (1, "
                         f"{in_channels}, {hw[0]}, {hw[1]}) input: {_first_line(exc)}") from None
    probe_hw = (hw[0] + PROBE_STEP[0], hw[1] + PROBE_STEP[1])
    probe_error = ""
    try:
        with quiet_torch():
            probe = propagate(gm, in_channels, probe_hw)
    except Exception as exc:  # noqa: BLE001 -- a model fixed to one size
        probe, probe_error = None, f"{probe_hw[0]}x{probe_hw[1]}: {_first_line(exc)}"
    return shapes, probe, probe_error


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unsupported_message(unknown: Sequence[Unknown]) -> str:
    counts = Counter(u.op for u in unknown)
    listed = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())
    return (f"no netcalc op for {unknown[0].describe()}; unsupported ops in the whole model: "
            f"{listed} (--allow-unknown records them as free '{STAND_IN}' ops)")


def _notes(converter: _Converter, unused: Mapping[str, int], hw: Tuple[int, int]) -> List[str]:
    notes = [f"free stand-in ({STAND_IN}) for unsupported {u.describe()}"
             for u in converter.unknown]
    notes += [f"parameters not used by the eval forward (not counted): {path} ({n:,})"
              for path, n in unused.items()]
    notes += [f"parameters counted at each of several calls: {path} (+{n:,})"
              for path, n in converter.reused_params.items()]
    notes += [f"fits only {hw[0]}x{hw[1]}: {why}" for why in converter.fixed]
    return notes


# -- checks -----------------------------------------------------------------------------------------
def check(imported: Imported, spec: Spec, source: str) -> None:
    """The spec's shape of every node equals the traced shape, and its params equal what the
    module's parameters say; any difference is an error (a bug in a mapping or an op)."""
    import netcalc

    report = netcalc.count(spec, "torch")
    params_index = 1
    for layer, cost in zip(report.graph.layers, report.costs):
        traced = imported.shapes.get(layer.name)
        shape = tuple(getattr(layer, "shape", ()) or ())
        if traced is not None and shape != tuple(traced):
            raise ImportFailure(source, layer.name, f"netcalc infers shape {list(shape)} for "
                                f"{layer.op}, torch traced {list(traced)}")
        expected = imported.node_params.get(layer.name, 0)
        if cost[params_index] != expected:
            raise ImportFailure(source, layer.name, f"netcalc counts {cost[params_index]:,} "
                                f"params for {layer.op}, the module has {expected:,}")
    expected = (imported.numel - sum(imported.unused_params.values())
                - sum(imported.uncounted_params.values()) + sum(imported.reused_params.values()))
    if report.params != expected:
        raise ImportFailure(source, "params", f"the spec counts {report.params:,}, the module "
                            f"has {imported.numel:,} (less {imported.unused_params} unused and "
                            f"{imported.uncounted_params} in stand-ins, plus "
                            f"{imported.reused_params} counted again)")


def import_checked(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
                   allow_unknown: bool = False, source: str = "",
                   in_channels: Optional[int] = None) -> Tuple[Spec, Imported]:
    """:func:`from_torch`, also returning what the import saw (traced shapes, parameters per
    node, parameters the eval forward never uses)."""
    source = source or name or type(module).__name__
    imported = convert(module, resolution, name, allow_unknown, source, in_channels)
    try:
        spec = load_spec(imported.data)
    except SpecError as exc:
        raise ImportFailure(source, exc.field, f"the imported spec does not load: "
                                               f"{exc.message}") from None
    check(imported, spec, source)
    return spec, imported


def from_torch(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
               allow_unknown: bool = False, source: str = "",
               in_channels: Optional[int] = None) -> Spec:
    """The graph spec of a torch module, checked against its traced shapes and parameters.

    ``resolution``: the input size it is traced at, 224 or (h, w). Raises
    :class:`ImportFailure` (a :class:`~netcalc.SpecError`) naming every unsupported op (unless
    ``allow_unknown``: then they are free identity ops listed in the spec's notes), or the first
    node whose shape or parameter count netcalc gets differently from torch.
    """
    return import_checked(module, resolution, name, allow_unknown, source, in_channels)[0]


def traced_totals(module: nn.Module, resolution: Resolution) -> Dict[str, int]:
    """What the tools count on the real module (CPU, eval): fvcore's flops and activations,
    FlopCounterMode's flops, and the numel of its parameters."""
    from .validate import run_measures

    measured = run_measures(module, (torch.randn(1, _in_channels(module), *_hw(resolution)),),
                            ["fvcore.flops", "fvcore.acts", "torch.flops", "torch.numel"])
    return {name: measured[name].total for name in measured}


def imported_totals(spec: Spec, resolution: Optional[Resolution] = None) -> Dict[str, int]:
    """The same four counts from the spec alone (no torch needed for these)."""
    import netcalc

    fvcore, by_torch = netcalc.count(spec, "fvcore", resolution), netcalc.count(
        spec, "torch", resolution)
    return {"fvcore.flops": fvcore.flops, "fvcore.acts": fvcore.acts,
            "torch.flops": by_torch.flops, "torch.numel": by_torch.params}


# -- a module against its committed spec --------------------------------------------------------
def layer_diff(expected: Any, actual: Any, convention: str = "fvcore") -> List[str]:
    """Per-layer differences of two specs (a committed spec and a fresh import): layers only
    in one, a changed op or shape, and changed counts. Empty when they count the same."""
    import netcalc

    old, new = netcalc.count(expected, convention), netcalc.count(actual, convention)
    rows = {layer.name: (layer, cost) for layer, cost in zip(old.graph.layers, old.costs)}
    fresh = {layer.name: (layer, cost) for layer, cost in zip(new.graph.layers, new.costs)}
    lines = [f"- {name} ({rows[name][0].op}): only in the spec" for name in rows
             if name not in fresh]
    for name, (layer, cost) in fresh.items():
        if name not in rows:
            lines.append(f"+ {name} ({layer.op}): only in the module")
            continue
        was, was_cost = rows[name]
        if (was.op, tuple(was.shape)) != (layer.op, tuple(layer.shape)):
            lines.append(f"~ {name}: {was.op} {list(was.shape)} -> {layer.op} "
                         f"{list(layer.shape)}")
        lines += [f"~ {name} ({layer.op}) {q}: {a:,} -> {b:,} ({b - a:+,})"
                  for q, a, b in zip(("flops", "params", "acts"), was_cost, cost) if a != b]
    return lines


def assert_imports_as(module: nn.Module, spec: Any, convention: str = "fvcore") -> None:
    """Fail with a per-layer diff when ``module`` no longer imports as the committed ``spec``
    (same resolution, same name): the guard of a repository that checks its imported spec in."""
    committed = load_spec(spec)
    fresh = from_torch(module, committed.resolution, committed.name)
    lines = layer_diff(committed, fresh, convention)
    if lines:
        raise AssertionError(f"{committed.name} no longer imports as {committed.source} "
                             f"({convention} convention; re-run netcalc import if the change is "
                             "meant):\n" + "\n".join(lines))
