"""Torch modules to graph specs: capture with torch.export, map every ATen call, check.

``from_torch(module, resolution)`` captures the module in eval mode with torch.export
(:mod:`netcalc.torch.capture`: h and w dynamic, on fake tensors, so a 100 GFLOP model imports in
seconds and allocates no activation), turns each ATen call into graph-spec nodes through the table
the op registry generates (each op's ``aten`` facet, :mod:`netcalc.ops.aten`), and checks the
result at two resolutions: the spec's shape of every node equals the captured one there, and its
parameters equal the module's.

Layer names are the qualified names of the modules the calls run in (``layer1.0.conv1``; a call
in a module with submodules, like a block's residual add, is ``layer1.0.add``), so a per-layer
diff points at the user's code. Calls that compute no tensor data (sizes, asserts, arithmetic on
parameters only) leave no node; a module called several times shares its parameters, which the
spec counts once (``shares``).
"""
from __future__ import annotations

import contextlib
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import torch
from torch import fx, nn

from ..errors import ArgumentError, SpecError, exception_line
from ..ops import all_ops
from ..ops.aten import (BUFFER, CONSTANT, CONSTANT_FACTORIES, DATA, PARAM, Alias, AtenCall, Node,
                        NotModelled, Parts, Tensor, aten_table, lookup, same_size)
from ..spec import Spec, check_resolution, load_spec
from .capture import SYMBOLIC_TIMEOUT, Captured, ExportFailure, capture, paired_value

Resolution = Union[int, Tuple[int, int]]
HW = Tuple[int, int]
STAND_IN = "identity"       # what --allow-unknown records an unsupported op as
KINDS = {"PARAMETER": PARAM, "BUFFER": BUFFER, "CONSTANT_TENSOR": CONSTANT, "USER_INPUT": DATA}


class ImportFailure(SpecError):
    """The module cannot become a spec (not capturable, unsupported ops, a failed check)."""


class RunFailure(ImportFailure):
    """The module does not run on the input (the resolution, or its own code)."""


class ConverterBug(ImportFailure):
    """A converter failed on a call it should read: a bug in netcalc, not an unsupported op."""


@dataclass
class Unknown:
    """One unsupported call: what it is, which graph node, which module it ran in."""

    op: str
    node: str
    module_path: str
    reason: str = ""

    def describe(self) -> str:
        where = f" in module {self.module_path}" if self.module_path else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.op}{why} at node {self.node}{where}"


@dataclass
class Imported:
    """The spec data and what the checks need: the captured shape behind each spec node (sizes
    as :class:`~netcalc.ops.aten.Dim` where they follow the input) and the resolutions to check
    them at."""

    data: Dict[str, Any]
    shapes: Dict[str, Tuple[Any, ...]]                 # spec node name -> captured shape
    checks: List[Tuple[HW, Callable[[Any], int]]] = field(default_factory=list)
    node_params: Dict[str, int] = field(default_factory=dict)
    unused_params: Dict[str, int] = field(default_factory=dict)
    shared_params: Dict[str, int] = field(default_factory=dict)     # spec node -> numel shared
    uncounted_params: Dict[str, int] = field(default_factory=dict)  # of --allow-unknown stand-ins
    numel: int = 0                                                  # the module's parameters
    unknown: List[Unknown] = field(default_factory=list)
    how: str = ""                                                   # how sizes were captured


# -- inputs ---------------------------------------------------------------------------------------------
def _hw(resolution: Resolution) -> HW:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, tuple, list)):
        raise SpecError("", "resolution", f"{resolution!r} is not an int or (h, w)")
    if not isinstance(resolution, int) and len(resolution) != 2:
        raise SpecError("", "resolution", f"{list(resolution)!r}: netcalc imports 2-d models, "
                                          "whose resolution is N or (h, w)")
    h, w = (resolution, resolution) if isinstance(resolution, int) else resolution
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (h, w)):
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


def _in_channels(module: nn.Module, source: str) -> int:
    """The input channels when not given: the first conv's (an image model), else 3. A model
    whose first conv is 1-d or 3-d is refused: netcalc imports models of (N, C, H, W) images."""
    first = next((m for m in module.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    if first is None:
        return 3
    if len(first.kernel_size) != 2:
        raise ImportFailure(source, "", f"its first convolution is {len(first.kernel_size)}-d: "
                                        "netcalc imports 2-d image models of (N, C, H, W) input")
    return first.in_channels


# -- one pass over the captured graph ----------------------------------------------------------------------
def _module_path(node: fx.Node, modules: Dict[str, nn.Module]) -> str:
    """The qualified name of the innermost module the call ran in ("" for the root)."""
    stack = node.meta.get("nn_module_stack") or {}
    paths = [path for path, _ in stack.values() if path in modules]
    return paths[-1] if paths else ""


class _Converter:
    """Walks the captured graph once, emitting spec nodes; collects unsupported calls instead of
    stopping at the first, so the error lists all of them."""

    def __init__(self, captured: Captured, module: nn.Module, allow_unknown: bool):
        self.captured = captured
        self.allow_unknown = allow_unknown
        self.table = aten_table(all_ops())
        self.modules = dict(module.named_modules(remove_duplicate=False))
        self.leaves = {name for name, m in self.modules.items() if name and not any(m.children())}
        self.numel = {name: p.numel() for name, p in module.named_parameters(
            remove_duplicate=False)}
        self.values: Dict[fx.Node, Tensor] = {}        # tensor-valued node -> what it is
        self.parts: Dict[fx.Node, List[Optional[Tensor]]] = {}
        self.poisoned: Set[fx.Node] = set()             # unsupported, and what depends on it
        self.layers: List[Dict[str, Any]] = []
        self.shapes: Dict[str, Tuple[Any, ...]] = {}
        self.node_params: Dict[str, int] = {}
        self.owner: Dict[str, str] = {}                 # parameter name -> spec node using it
        self.shared: Dict[str, int] = {}
        self.uncounted: Dict[str, int] = {}
        self.unknown: List[Unknown] = []
        self.fixed: List[str] = []
        self.taken: Set[str] = {"input"}
        self.previous = "input"
        self.labels: Tuple[str, str] = ("", "")
        self.data_values: List[Tensor] = []             # for tensor_with, in graph order
        self.kinds = {spec.arg.name: (KINDS.get(spec.kind.name, CONSTANT), spec.target or "")
                      for spec in captured.program.graph_signature.input_specs}

    # - reading values -
    def describe(self, value: Any) -> Any:
        """An argument as the torch-free call holds it."""
        if isinstance(value, fx.Node):
            if value in self.values:
                return self.values[value]
            return self._scalar(value.meta.get("val"))
        if isinstance(value, (list, tuple)):
            return tuple(self.describe(v) for v in value)
        return self._scalar(value)

    def _scalar(self, value: Any) -> Any:
        if isinstance(value, torch.SymInt):
            return self.captured.sizes(value)
        if isinstance(value, (torch.SymFloat, torch.SymBool)):
            return float(value) if isinstance(value, torch.SymFloat) else bool(value)
        if isinstance(value, (torch.dtype, torch.device, torch.layout, torch.memory_format)):
            return str(value)
        return value

    def find_tensor(self, sizes: Sequence[Any]) -> Optional[Tensor]:
        """The first data tensor whose trailing dims are ``sizes`` at every resolution."""
        n = len(sizes)
        for tensor in self.data_values:
            if len(tensor.shape) >= n and all(map(same_size, tensor.shape[-n:], sizes)):
                return tensor
        return None

    def _tensor_outputs(self, node: fx.Node) -> List[Any]:
        val = node.meta.get("val")
        vals = val if isinstance(val, (list, tuple)) else [val]
        return [v for v in vals if isinstance(v, torch.Tensor)]

    # - naming -
    def _unique(self, name: str) -> str:
        name = "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "node"
        base, k = name, 1
        while name in self.taken:
            k += 1
            name = f"{base}-{k}"
        self.taken.add(name)
        return name

    def _labels(self, path: str) -> Tuple[str, str]:
        """(stage, block) for ``--by stage|block``: the first one and two components of the module
        holding the call (a leaf module's parent: ``layer1.0`` for ``layer1.0.conv1``)."""
        container = path.rpartition(".")[0] if path in self.leaves else path
        parts = container.split(".") if container else [path or "top"]
        return parts[0], ".".join(parts[:2])

    # - the walk -
    def convert_node(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            return self._placeholder(node)
        if node.op != "call_function":
            return
        if node.target is operator.getitem and node.args[0] in self.parts:
            return self._part(node)
        if node.target is operator.getitem and node.args[0] in self.poisoned:
            self.poisoned.add(node)     # a part of an unsupported call's outputs
            return
        outputs = self._tensor_outputs(node)
        if not outputs:
            return                      # sizes, asserts, arithmetic on sizes: no tensor data
        name = getattr(getattr(node.target, "overloadpacket", None), "__name__", None)
        namespace = getattr(node.target, "namespace", "")
        operands = [a for a in node.all_input_nodes if a in self.values or a in self.poisoned]
        if name in CONSTANT_FACTORIES and namespace == "aten":
            return self._constant(node, [], outputs)
        if not any(a in self.poisoned or self.values[a].is_data for a in operands):
            return self._constant(node, operands, outputs)
        entry = lookup(self.table, name) if namespace == "aten" and name else None
        if any(a in self.poisoned for a in operands) and not self.allow_unknown:
            self.poisoned.add(node)     # fails only because an input is unsupported
            if entry is None:
                self._unsupported(node, "")
            return
        if entry is None:
            return self._unsupported(node, "")
        call = self._call(node, name, outputs)
        try:
            result = entry[1](call)
        except NotModelled as exc:
            return self._unsupported(node, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a converter's own bug, reported as one
            raise ConverterBug("", "", f"internal error: netcalc's converter of aten.{name} (op "
                               f"{entry[0]}) failed on node {node.name}"
                               f"{self._where(node)}: {exception_line(exc)}; please report it "
                               "with the model") from None
        self._apply(node, entry[0], result, outputs)

    def _where(self, node: fx.Node) -> str:
        path = _module_path(node, self.modules)
        return f" in module {path}" if path else ""

    def _placeholder(self, node: fx.Node) -> None:
        kind, target = self.kinds.get(node.name, (CONSTANT, ""))
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            return
        shape = self.captured.shape(val)
        if kind == DATA:
            tensor = Tensor(shape, DATA, "input")
            self.shapes["input"] = shape
            self.data_values.append(tensor)
        else:
            tensor = Tensor(shape, kind, target)
        self.values[node] = tensor

    def _constant(self, node: fx.Node, operands: List[fx.Node], outputs: List[Any]) -> None:
        """A tensor computed without the input (a parameter reshaped, a position table): no
        node; a parameter stays that parameter (its numel counts once, where a node uses it)."""
        sources = [self.values[a] for a in operands]
        param = next((t for t in sources if t.is_param), None)
        kind, name = (PARAM, param.name) if param else (
            (BUFFER, "") if any(t.kind == BUFFER for t in sources) else (CONSTANT, ""))
        # the one parameter it is computed from (none kept from two: naflexvit's sum of a row
        # and a column embedding is no resize of either)
        learned = tuple(int(d) for d in param.learned_shape) if param and len(
            {t.name for t in sources if t.is_param}) == 1 else ()
        tensors = [Tensor(self.captured.shape(v), kind, name, learned) for v in outputs]
        if len(tensors) == 1 and not isinstance(node.meta.get("val"), (list, tuple)):
            self.values[node] = tensors[0]
        else:
            self.parts[node] = list(tensors)

    def _call(self, node: fx.Node, name: str, outputs: List[Any]) -> AtenCall:
        named = {key: self.describe(value) for key, value in _bound(node).items()}
        twin = self.captured.twins.get(node)
        if twin is not None:        # static exports: literals that differ follow the input
            theirs = _bound(twin)
            named = {key: paired_value(value, theirs.get(key)) for key, value in named.items()}
        return AtenCall(name, node.target._overloadname, self.describe(tuple(node.args)), named,
                        tuple(self.captured.shape(v) for v in outputs),
                        _module_path(node, self.modules), self.find_tensor)

    # - results -
    def _apply(self, node: fx.Node, op: str, result: Any, outputs: List[Any]) -> None:
        if isinstance(result, Parts):
            if len(result.outputs) != len(outputs):
                raise ConverterBug("", "", f"internal error: netcalc's converter of {node.target} "
                                   f"gave {len(result.outputs)} results for {len(outputs)} "
                                   "outputs; please report it with the model")
            self.parts[node] = [self._result(node, op, r, out) if r is not None else None
                                for r, out in zip(result.outputs, outputs)]
            return
        self.values[node] = self._result(node, op, result, outputs[0])

    def _result(self, node: fx.Node, op: str, result: Any, out: Any) -> Tensor:
        if isinstance(result, Alias):
            return result.source
        chain = result if isinstance(result, list) else [result]
        params = self._params(node)
        value: Optional[Tensor] = None
        for i, step in enumerate(chain):
            inputs = list(step.inputs) if step.inputs else [value or self._first_data(node)]
            last = i == len(chain) - 1
            value = self._emit(node, step, step.op or op, inputs, params if i == 0 else [],
                               self.captured.shape(out) if last else None)
        assert value is not None
        return value

    def _first_data(self, node: fx.Node) -> Tensor:
        return next(self.values[a] for a in node.all_input_nodes
                    if a in self.values and self.values[a].is_data)

    def _params(self, node: fx.Node) -> List[str]:
        """The names of the parameters a call reads (each once)."""
        names: List[str] = []
        for a in node.all_input_nodes:
            tensor = self.values.get(a)
            if tensor is not None and tensor.is_param and tensor.name not in names:
                names.append(tensor.name)
        return names

    def _emit(self, node: fx.Node, step: Node, op: str, inputs: List[Tensor], params: List[str],
              traced: Optional[Tuple[Any, ...]]) -> Tensor:
        path = _module_path(node, self.modules)
        packet = getattr(getattr(node.target, "overloadpacket", None), "__name__", node.name)
        packet = packet[:-1] if packet.endswith("_") and not packet.startswith("_") else packet
        base = path if path in self.leaves else (f"{path}.{packet}" if path else packet)
        name = self._unique(base)
        entry: Dict[str, Any] = {"name": name, "op": op}
        labels = self._labels(path)
        if labels != self.labels:
            entry["stage"], entry["block"] = labels
            self.labels = labels
        names = [t.name for t in inputs]
        if len(names) > 1 or op == "concat":
            entry["inputs"] = names
        elif names[0] != self.previous:
            entry["input"] = names[0]
        self._share(entry, name, params)
        entry.update(step.attrs)
        self.layers.append(entry)
        self.previous = name
        if step.fixed:
            self.fixed.append(f"{name}: {step.fixed}")
        shape = traced if traced is not None else ()
        if traced is not None:
            self.shapes[name] = traced
        tensor = Tensor(shape, DATA, name)
        if traced is not None:
            self.data_values.append(tensor)
        return tensor

    def _share(self, entry: Dict[str, Any], name: str, params: List[str]) -> None:
        """Parameters a node reads count at their first use; a later call of the same module
        reads them again, ``shares`` the first node's and counts none."""
        owners = {self.owner[p] for p in params if p in self.owner}
        if not owners:
            self.owner.update((p, name) for p in params)
            if params:
                self.node_params[name] = sum(self.numel[p] for p in params)
            return
        if len(owners) > 1 or any(p not in self.owner for p in params):
            raise ImportFailure("", name, f"reads parameters of several nodes "
                                f"({', '.join(sorted(owners))}) or some new and some already "
                                "counted: netcalc shares the parameters of one node only")
        entry["shares"] = owners.pop()
        self.shared[name] = sum(self.numel[p] for p in params)

    def _part(self, node: fx.Node) -> None:
        source, index = node.args
        value = self.parts[source][index]
        if value is None:
            if not node.users:
                return                  # an output nothing reads (max pooling's indices)
            if source in self.poisoned:
                self.poisoned.add(node)
            else:
                self._unsupported(source, f"output {index} is not modelled")
            return
        self.values[node] = value

    def _unsupported(self, node: fx.Node, reason: str) -> None:
        target = node.target
        name = getattr(getattr(target, "overloadpacket", None), "__name__", None)
        namespace = getattr(target, "namespace", "")
        op = f"{namespace}.{name}" if name else getattr(target, "__name__", str(target))
        unknown = Unknown(op, node.name, _module_path(node, self.modules), reason)
        self.unknown.append(unknown)
        if not self.allow_unknown:
            self.poisoned.add(node)      # keep walking to find every other unsupported op
            return
        outputs = self._tensor_outputs(node)
        traced = self.captured.shape(outputs[0]) if outputs else ()
        source = next((self.values[a] for a in node.all_input_nodes if a in self.values
                       and self.values[a].is_data and len(self.values[a].shape) == len(traced)
                       and all(map(same_size, self.values[a].shape, traced))), None)
        if source is None or len(outputs) != 1:
            raise ImportFailure("", "", f"{unknown.describe()}: has no mapping, and its output "
                                "shape differs from its inputs', so no free stand-in fits")
        params = self._params(node)
        uncounted = sum(self.numel[p] for p in params if p not in self.owner)
        tensor = self._emit(node, Node(), STAND_IN, [source], [], traced)
        if uncounted:
            self.uncounted[tensor.name] = uncounted
            unknown.reason += f"{'; ' if unknown.reason else ''}{uncounted:,} parameters " \
                              "not counted"
        self.owner.update((p, tensor.name) for p in params if p not in self.owner)
        self.values[node] = tensor


def _bound(node: fx.Node) -> Dict[str, Any]:
    """A call's arguments by schema name, schema defaults filled in."""
    named: Dict[str, Any] = {}
    for i, argument in enumerate(node.target._schema.arguments):
        if i < len(node.args) and not argument.kwarg_only:
            named[argument.name] = node.args[i]
        elif argument.name in node.kwargs:
            named[argument.name] = node.kwargs[argument.name]
        elif argument.has_default_value():
            named[argument.name] = argument.default_value
    return named


def _unused_params(module: nn.Module, used: Set[str]) -> Dict[str, int]:
    """Parameters the eval forward never reads (GoogLeNet's aux heads), by top module."""
    unused: Counter = Counter()
    for name, param in module.named_parameters():
        if name not in used:
            unused[name.split(".")[0]] += param.numel()
    return dict(unused)


def _capture(module: nn.Module, in_channels: int, hw: HW, source: str,
             symbolic_timeout: float) -> Captured:
    try:
        with eval_mode(module), torch.no_grad():
            return capture(module, in_channels, hw, symbolic_timeout)
    except ExportFailure as exc:
        raise RunFailure(source, "resolution", f"torch.export cannot capture it on a (1, "
                         f"{in_channels}, {hw[0]}, {hw[1]}) input: {exc}") from None


def convert(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
            allow_unknown: bool = False, source: str = "", in_channels: Optional[int] = None,
            symbolic_timeout: float = SYMBOLIC_TIMEOUT) -> Imported:
    """The graph-spec data of ``module`` (unchecked; :func:`from_torch` checks it)."""
    source = source or type(module).__name__
    hw = _hw(resolution)
    in_channels = in_channels or _in_channels(module, source)
    captured = _capture(module, in_channels, hw, source, symbolic_timeout)
    converter = _Converter(captured, module, allow_unknown)
    for node in captured.program.graph.nodes:
        try:
            converter.convert_node(node)
        except ImportFailure as exc:
            raise type(exc)(source, exc.field, exc.message) from None
    if converter.unknown and not allow_unknown:
        raise ImportFailure(source, "", _unsupported_message(converter.unknown))
    data: Dict[str, Any] = {
        "family": "graph", "name": name or type(module).__name__,
        "resolution": hw[0] if hw[0] == hw[1] else list(hw), "in_channels": in_channels,
        "layers": converter.layers,
    }
    unused = _unused_params(module, set(converter.owner))
    notes = [captured.note] + ([captured.fits_only] if captured.fits_only else []) \
        + _notes(converter, unused)
    data["notes"] = notes
    return Imported(data, converter.shapes, captured.checks, converter.node_params, unused,
                    converter.shared, converter.uncounted,
                    sum(p.numel() for p in module.parameters()), converter.unknown, captured.how)


def _unsupported_message(unknown: Sequence[Unknown]) -> str:
    counts = Counter(u.op for u in unknown)
    listed = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())
    return (f"no netcalc op for {unknown[0].describe()}; unsupported ops in the whole model: "
            f"{listed} (--allow-unknown records them as free '{STAND_IN}' ops)")


def _notes(converter: _Converter, unused: Dict[str, int]) -> List[str]:
    notes = [f"free stand-in ({STAND_IN}) for unsupported {u.describe()}"
             for u in converter.unknown]
    notes += [f"parameters not used by the eval forward (not counted): {path} ({n:,})"
              for path, n in unused.items()]
    notes += [f"fits only the traced resolution: {why}" for why in converter.fixed]
    return notes


# -- checks -----------------------------------------------------------------------------------------
def check(imported: Imported, spec: Spec, source: str) -> List[str]:
    """At each check resolution, the spec's shape of every node equals the captured shape there;
    its params equal the module's, node by node; any difference is an error (a bug in a
    converter or an op). Returns the notes of a spec that fits the first resolution only (the
    module's own sizes refuse the second: a view to constant sizes torch.export kept symbolic)."""
    import netcalc

    for first, (hw, evaluate) in enumerate(imported.checks):
        try:
            report = netcalc.count(spec, "torch", hw[0] if hw[0] == hw[1] else hw)
        except SpecError as exc:
            if first == 0:
                raise
            size = imported.checks[0][0]
            return [f"fits only {size[0]}x{size[1]}: at {hw[0]}x{hw[1]} {exc.message}"]
        for layer, cost in zip(report.graph.layers, report.costs):
            traced = imported.shapes.get(layer.name)
            shape = tuple(getattr(layer, "shape", ()) or ())
            if traced is not None and shape != tuple(evaluate(d) for d in traced):
                raise ImportFailure(source, layer.name, f"netcalc infers shape {list(shape)} for "
                                    f"{layer.op} at {hw[0]}x{hw[1]}, torch captured "
                                    f"{[evaluate(d) for d in traced]}")
            expected = imported.node_params.get(layer.name, 0)
            if first == 0 and cost[1] != expected:
                raise ImportFailure(source, layer.name, f"netcalc counts {cost[1]:,} params for "
                                    f"{layer.op}, the module has {expected:,}")
    expected = (imported.numel - sum(imported.unused_params.values())
                - sum(imported.uncounted_params.values()))
    total = netcalc.count(spec, "torch").params
    if total != expected:
        raise ImportFailure(source, "params", f"the spec counts {total:,}, the module has "
                            f"{imported.numel:,} (less {imported.unused_params} unused and "
                            f"{imported.uncounted_params} in stand-ins)")
    return []


def _fvcore_blind_spots(spec: Spec) -> List[str]:
    """Notes on convs padded 'same'/'valid' by name: fvcore 0.1.5 sees aten::_convolution_mode,
    which it has no handle for, so its count (and the fvcore convention) leaves them out."""
    import netcalc

    report = netcalc.count(spec, "torch")
    blind = [(layer.name, cost[0] // 2) for layer, cost in zip(report.graph.layers, report.costs)
             if getattr(layer.attrs, "string_padding", False)]
    if not blind:
        return []
    names = ", ".join(name for name, _ in blind[:5]) + (", ..." if len(blind) > 5 else "")
    return [f"the fvcore convention counts 0 flops for {len(blind)} conv(s) padded 'same' or "
            f"'valid' by name ({names}): fvcore 0.1.5 has no handle for "
            f"aten::_convolution_mode; it leaves out {sum(n for _, n in blind):,} flops at the "
            "spec's resolution (the torch convention counts them)"]


def import_checked(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
                   allow_unknown: bool = False, source: str = "",
                   in_channels: Optional[int] = None,
                   symbolic_timeout: float = SYMBOLIC_TIMEOUT) -> Tuple[Spec, Imported]:
    """:func:`from_torch`, also returning what the import saw (captured shapes, parameters per
    node, parameters the eval forward never uses). The arguments are checked before anything
    runs, and a ``sys.exit`` in the model's code while it is captured is an error, never the end
    of the caller's process."""
    if not isinstance(module, nn.Module):
        raise ArgumentError("", "module", f"expected a torch.nn.Module, got "
                                          f"{type(module).__name__}")
    resolution = check_resolution(resolution)     # 224 or (h, w), by name, before capturing
    source = source or name or type(module).__name__
    try:
        imported = convert(module, resolution, name, allow_unknown, source, in_channels,
                           symbolic_timeout)
    except SystemExit as exc:       # the model's own code, while it was captured
        raise SpecError(source, "", f"the module's code called sys.exit({exc.code!r}) while it "
                                    "was traced") from None
    spec = _load(imported.data, source)
    notes = _fvcore_blind_spots(spec) + check(imported, spec, source)
    if notes:       # a new dict: specs are cached by the data they were loaded from
        imported.data = {**imported.data, "notes": imported.data["notes"] + notes}
        spec = _load(imported.data, source)
    return spec, imported


def _load(data: Dict[str, Any], source: str) -> Spec:
    try:
        return load_spec(data)
    except SpecError as exc:
        raise ImportFailure(source, exc.field, f"the imported spec does not load: "
                                               f"{exc.message}") from None


def from_torch(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
               allow_unknown: bool = False, source: str = "",
               in_channels: Optional[int] = None,
               symbolic_timeout: float = SYMBOLIC_TIMEOUT) -> Spec:
    """The graph spec of a torch module, checked against its traced shapes and parameters.

    ``resolution``: the input size it is captured at, 224 or (h, w). ``symbolic_timeout``:
    seconds the export with dynamic h and w may take before static exports at two sizes replace
    it. Raises :class:`ImportFailure` (a :class:`~netcalc.SpecError`) naming every unsupported
    op (unless ``allow_unknown``: then they are free identity ops listed in the spec's notes), or
    the first node whose shape or parameter count netcalc gets differently from torch.
    """
    return import_checked(module, resolution, name, allow_unknown, source, in_channels,
                          symbolic_timeout)[0]


def traced_totals(module: nn.Module, resolution: Resolution) -> Dict[str, int]:
    """What the tools count on the real module (CPU, eval): fvcore's flops and activations,
    FlopCounterMode's flops, and the numel of its parameters."""
    from .validate import run_measures

    measured = run_measures(module, (torch.randn(1, _in_channels(module, ""), *_hw(resolution)),),
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
