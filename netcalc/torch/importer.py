"""Torch modules to graph specs: capture with torch.export, map every ATen call, check.

``from_torch(module, resolution)`` captures the module in eval mode with torch.export
(:mod:`netcalc.torch.capture`: h and w dynamic, on fake tensors, so a 100 GFLOP model imports in
seconds and allocates no activation), turns each ATen call into graph-spec nodes through the table
the op registry generates (each op's ``aten`` facet, :mod:`netcalc.ops.aten`), and checks the
result at two resolutions: the spec's shape of every node equals the captured one there, and its
parameters equal the module's.

Layer names are the qualified names of the modules the calls run in (``layer1.0.conv1``; a call
in a module with submodules, like a block's residual add, is ``layer1.0.add``), so a per-layer
diff points at the user's code. Calls that compute no tensor data (sizes, asserts) leave no node;
a module called several times shares its parameters, which the spec counts once (``shares``).

A tensor computed without the input (from parameters, buffers and constants only: a frozen batch
norm's scale, a relative-position bias looked up in its table) is no node until a data op reads
it as data: then the importer writes the whole data-independent computation into the spec, a
``param`` or ``constant`` node per tensor it starts from and a node per op after them
(:meth:`_Converter.materialise`), so each reference counts those ops as it counts them when the
model runs, and each parameter counts once however it is reshaped or indexed.
"""
from __future__ import annotations

import contextlib
import math
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, TypeVar,
                    Union)

import torch
from torch import fx, nn

from ..errors import ArgumentError, NetcalcError, SpecError, exception_line
from ..families.graph import AXES
from ..graph import input_sides
from ..ops import all_ops
from ..ops.aten import (BUFFER, CONSTANT, CONSTANT_FACTORIES, DATA, DERIVED, PARAM, PREVIOUS,
                        REARRANGING, Alias, AtenCall, Converter, Node, NotModelled, Parts, Tensor,
                        aten_table, follows_input, lookup, same_size)
from ..ops.tokens import constant_node
from ..spec import (Spec, check_input_shapes, check_resolution, fits_only, fits_only_note,
                    load_spec)
from .constant_fold import costs_nothing, priced
from .capture import (GRAPH_DIFFERS, LOWEST_DYNAMIC_SIDE, ONE_SIZE, STATIC, SYMBOLIC,
                      SYMBOLIC_TIMEOUT, TOO_SLOW, Captured, ExportFailure, Extra, Extras, Sides,
                      capture, one_size, paired_value, probe_sizes, shown, skipped,
                      wide_static)

Resolution = Union[int, Tuple[int, int]]
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
    checks: List[Tuple[Sides, Callable[[Any], int]]] = field(default_factory=list)
    node_params: Dict[str, int] = field(default_factory=dict)
    unused_params: Dict[str, int] = field(default_factory=dict)
    shared_params: Dict[str, int] = field(default_factory=dict)     # spec node -> numel shared
    uncounted_params: Dict[str, int] = field(default_factory=dict)  # of --allow-unknown stand-ins
    numel: int = 0                                                  # the module's parameters
    unknown: List[Unknown] = field(default_factory=list)
    how: str = ""                                                   # how sizes were captured
    why: str = ""                                   # why not symbolically (Captured.why)
    branch_sizes: List[Sides] = field(default_factory=list)     # Captured.branch_sizes
    edges: List[Tuple[int, int, Sides]] = field(default_factory=list)  # Captured.edges
    absent: bool = False                                        # Captured.absent
    fixed: List[str] = field(default_factory=list)  # nodes holding the traced size's constants


# -- inputs ---------------------------------------------------------------------------------------------
def _sides(resolution: Resolution) -> Sides:
    """The input's spatial sides: (h, w) of N or (h, w); (l,) or (d, h, w) of a 1D signal's or
    a volume's resolution."""
    return tuple(input_sides(check_resolution(resolution, any_rank=True)))


def _resolution(sides: Sides) -> Any:
    """The resolution of ``sides`` as a spec writes it: N for a square image, else a list."""
    return sides[0] if len(sides) == 2 and sides[0] == sides[1] else list(sides)


def _counted_at(sides: Sides) -> Any:
    resolution = _resolution(sides)
    return tuple(resolution) if isinstance(resolution, list) else resolution


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


def _in_channels(module: nn.Module, source: str, axes: int = 2) -> int:
    """The input channels when not given: the first conv's, else 3. A first conv of another
    rank than the input's (a Conv1d, with the image resolution by default) is refused, with
    the option that gives the input's shape."""
    first = next((m for m in module.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    if first is None:
        return 3
    if len(first.kernel_size) != axes:
        raise ImportFailure(source, "", f"its first convolution is {len(first.kernel_size)}-d, "
                                        f"the input has {axes} spatial side(s): give the "
                                        "input's shape (--input-shape 1xCxL for a 1D signal, "
                                        "1xCxDxHxW for a volume; from_torch(inputs=...))")
    return first.in_channels


def _with_channels(given: Optional[int], module: nn.Module, source: str, axes: int,
                   attempt: Callable[[int], Any]) -> Tuple[int, Any, str]:
    """``attempt(channels)`` with the given input channels, else with the first conv's, then
    with 3 where the first conv's do not run (a space-to-depth stem: its first conv reads 4x4
    blocks of the image, 48 channels from 3). The error is the first guess's."""
    guesses = [given] if given else list(dict.fromkeys([_in_channels(module, source, axes), 3]))
    first_failure = None
    for channels in guesses:
        try:
            result = attempt(channels)
        except RunFailure as exc:
            first_failure = first_failure or exc
            continue
        note = "" if channels == guesses[0] else (
            f"captured on a (1, {channels}, {', '.join(AXES[axes])}) input: the first conv's "
            f"{guesses[0]} input channels did not run ({first_failure.message[:300]})")
        return channels, result, note
    raise first_failure


# -- one pass over the captured graph ----------------------------------------------------------------------
def _module_path(node: fx.Node, modules: Dict[str, nn.Module]) -> str:
    """The qualified name of the innermost module the call ran in ("" for the root)."""
    stack = node.meta.get("nn_module_stack") or {}
    paths = [path for path, _ in stack.values() if path in modules]
    return paths[-1] if paths else ""


def _keeps_elements(packet: str, shape: Sequence[Any], source: Tensor) -> bool:
    """Whether a rearranging call keeps its operand's elements: every one but ``expand``
    does; an expand only where it adds no element (sizes that follow the input: it adds)."""
    if packet != "expand":
        return True
    sizes = tuple(shape) + tuple(source.shape)
    return not any(map(follows_input, sizes)) and math.prod(map(int, shape)) == math.prod(
        map(int, source.shape))


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
        # a tensor computed without the input -> the node computing it (and which output)
        self.origins: Dict[Tensor, Tuple[fx.Node, Optional[int]]] = {}
        self.materialised: Dict[Tensor, Tensor] = {}    # ... -> the spec node written for it
        self.learned_from: Dict[Tensor, Tensor] = {}    # DERIVED -> the one parameter behind it
        self.derived: Dict[fx.Node, Any] = {}           # its data value(s) once written
        self.written: Set[str] = set()                  # parameters written as param nodes
        self.overrides: Dict[fx.Node, Tensor] = {}      # operands read as their spec nodes
        self.parts: Dict[fx.Node, List[Optional[Tensor]]] = {}
        self.poisoned: Set[fx.Node] = set()             # unsupported, and what depends on it
        self.layers: List[Dict[str, Any]] = []
        self.shapes: Dict[str, Tuple[Any, ...]] = {}
        self.node_params: Dict[str, int] = {}
        self.owner: Dict[str, str] = {}                 # parameter name -> spec node using it
        self.shared: Dict[str, int] = {}
        self.uncounted: Dict[str, int] = {}
        self.unknown: List[Unknown] = []
        self.fixed: List[Tuple[str, str]] = []      # (node, why it holds the traced constants)
        self.taken: Set[str] = {"input"}
        self.previous = "input"
        self.labels: Tuple[str, str] = ("", "")
        self.data_values: List[Tensor] = []             # for tensor_with, in graph order
        self.kinds = {spec.arg.name: (KINDS.get(spec.kind.name, CONSTANT), spec.target or "")
                      for spec in captured.program.graph_signature.input_specs}
        self.read_apart = _read_by_several_ops(captured.program.graph, self.kinds)

    # - reading values -
    def describe(self, value: Any) -> Any:
        """An argument as the torch-free call holds it."""
        if isinstance(value, fx.Node):
            if value in self.overrides:
                return self.overrides[value]
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
        if name in CONSTANT_FACTORIES and namespace == "aten" or _empty(self.captured, outputs):
            return self._constant(node, [], outputs)    # no data (an empty slice: none at all)
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
        try:
            self._run(node, name, entry, outputs)
        except NotModelled as exc:
            return self._unsupported(node, str(exc))

    def _run(self, node: fx.Node, name: str, entry: Tuple[str, Converter],
             outputs: List[Any]) -> None:
        """Convert one call with its op's converter and write its nodes; NotModelled passes."""
        call = self._call(node, name, outputs)
        try:
            result = entry[1](call)
        except (NotModelled, ImportFailure):
            raise
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
        if kind == DATA and self.data_values:
            tensor = self._further_input(node, shape)
        elif kind == DATA:
            tensor = Tensor(shape, DATA, "input")
            self.shapes["input"] = shape
            self.data_values.append(tensor)
        else:
            tensor = Tensor(shape, kind, target)
            self.origins[tensor] = (node, None)
        self.values[node] = tensor

    def _further_input(self, node: fx.Node, shape: Tuple[Any, ...]) -> Tensor:
        """An ``input`` node, named as the forward's argument, shaped after the network input
        (the first): its sides that follow the input are that input's dims."""
        step = constant_node(Tensor(shape, DATA, node.name), self.data_values[0], op="input")
        return self._emit(node, step, "input", [self.data_values[0]], [], shape)

    # - tensors computed without the input -
    def _constant(self, node: fx.Node, operands: List[fx.Node], outputs: List[Any]) -> None:
        """A tensor computed without the input: no node until a data op reads it as data
        (:meth:`materialise`). Through an op that only rearranges its elements, a parameter,
        buffer or constant stays that tensor (a reshaped parameter is the parameter, counted
        once); a factory's result is a constant; anything else computed is DERIVED."""
        sources = [self.values[a] for a in operands]
        several = isinstance(node.meta.get("val"), (list, tuple))
        shapes = [self.captured.shape(v) for v in outputs]
        packet = getattr(getattr(node.target, "overloadpacket", None), "__name__", "")
        # a product of a parameter (Gemma 4's one-hot positions @ table) is no resize of it, nor
        # a resize a reference prices (Qwen3-ViT's bilinear position grid: fvcore's 4 per
        # output element): both are written as their ops
        param = None if priced(packet, self.table, ("fvcore", "torch")) \
            else self._only_parameter(sources)
        if not sources:
            kinds = [(CONSTANT, node.name)] * len(shapes)
        elif (len(sources) == 1 and not several and packet in REARRANGING
              and sources[0].kind != DERIVED and _keeps_elements(packet, shapes[0], sources[0])):
            kinds = [(sources[0].kind, sources[0].name)]
        elif param is not None and not several and any(map(follows_input, shapes[0])):
            kinds = [(PARAM, param.name)]   # one parameter resized to the input (resampled)
        else:
            kinds = [(DERIVED, f"{node.name}.{i}" if several else node.name)
                     for i in range(len(shapes))]
        learned = tuple(int(d) for d in param.learned_shape) if param is not None else ()
        tensors = [Tensor(shape, kind, name, learned if kind == PARAM else ())
                   for shape, (kind, name) in zip(shapes, kinds)]
        for i, tensor in enumerate(tensors):
            self.origins.setdefault(tensor, (node, i if several else None))
            if tensor.kind == DERIVED and param is not None:
                self.learned_from[tensor] = param
        if len(tensors) == 1 and not several:
            self.values[node] = tensors[0]
        else:
            self.parts[node] = list(tensors)

    def _only_parameter(self, sources: Sequence[Tensor]) -> Optional[Tensor]:
        """The one parameter data-independent operands are computed from, through any ops (a
        position embedding sliced, reshaped and resized), if exactly one (none kept from two:
        naflexvit's sum of a row and a column embedding is no resize of either)."""
        params = {t.name: t for t in (self._parameter_behind(s) for s in sources) if t}
        return next(iter(params.values())) if len(params) == 1 else None

    def _parameter_behind(self, tensor: Tensor) -> Optional[Tensor]:
        """The parameter a tensor computed without the input comes from (None: none or
        several); a DERIVED tensor remembers it as ``learned_from``."""
        if tensor.is_param:
            return tensor
        return self.learned_from.get(tensor) if tensor.kind == DERIVED else None

    def materialise(self, tensor: Tensor, reader: fx.Node) -> Tensor:
        """The data tensor (spec node) standing for ``tensor`` where the call ``reader`` reads it
        as data: a parameter (or a view of one) is a ``param`` node, a buffer or constant a
        ``constant`` node, both placed after the network input; a DERIVED tensor is the ops that
        computed it, written from those. Each is written once, however many calls read it."""
        if tensor.is_data:
            return tensor
        if tensor in self.materialised:
            return self.materialised[tensor]
        anchor = self.find_tensor(())
        if anchor is None:
            raise NotModelled(f"a {tensor.kind} tensor read before any tensor computed from the "
                              "input")
        origin, index = self.origins[tensor]
        resized = tensor.is_param and origin.op == "call_function" and any(
            map(follows_input, tensor.shape))       # a parameter resized to the input: its ops
        if tensor.kind == DERIVED or resized:
            value = self._derived_or_constant(tensor, origin, index, anchor)
        else:
            step = (Node({"param_shape": [int(d) for d in tensor.shape]}, (anchor,), "param")
                    if tensor.is_param else
                    constant_node(tensor, self._sized_after(tensor, anchor)))
            place = origin if origin.op == "call_function" else reader
            value = self._emit(place, step, step.op, list(step.inputs),
                               [tensor.name] if tensor.is_param else [], tensor.shape)
        self.materialised[tensor] = value
        if tensor.is_param:
            self.written.add(tensor.name)
        return value

    def _derived_or_constant(self, tensor: Tensor, origin: fx.Node, index: Optional[int],
                             anchor: Tensor) -> Tensor:
        """The nodes computing ``tensor``; where netcalc lacks one of its ops, one ``constant``
        node, if that counts the same (:func:`~netcalc.torch.constant_fold.costs_nothing`),
        its sizes that follow the input read from an earlier tensor that has them all (else
        from ``anchor``)."""
        try:
            value = self._derived(origin)
        except NotModelled:
            if not costs_nothing(origin, self._kind, self.table):
                raise
            step = constant_node(tensor, self._sized_after(tensor, anchor))
            return self._emit(origin, step, step.op, list(step.inputs), [], tensor.shape)
        return value if index is None else value[index]

    def _sized_after(self, tensor: Tensor, anchor: Tensor) -> Tensor:
        """The earlier data tensor that has every size of ``tensor`` that follows the input
        (XCiT's ``arange(h)`` of the patch grid's height: the grid), else ``anchor``: the
        constant node written for ``tensor`` reads its sizes from it."""
        following = [size for size in tensor.shape if follows_input(size)]
        return next((t for t in self.data_values if all(
            any(same_size(d, size) for d in t.shape) for size in following)), anchor)

    def _kind(self, node: fx.Node) -> Optional[str]:
        value = self.values.get(node)
        return value.kind if value is not None else None

    def _derived(self, node: fx.Node) -> Any:
        """The data value(s) of the data-independent call ``node``, its nodes written: its
        first tensor operand and each DERIVED one written first (the converter writes any other
        it reads as data). Its classification stays in ``values``."""
        if node in self.derived:
            return self.derived[node]
        name = getattr(getattr(node.target, "overloadpacket", None), "__name__", None)
        entry = lookup(self.table, name) if name and node.target.namespace == "aten" else None
        if entry is None:
            raise NotModelled(f"computed by {node.target} from parameters, buffers or constants, "
                              "which has no netcalc op")
        operands = [a for a in node.all_input_nodes if a in self.values]
        written = {a: self.materialise(self.values[a], node) for i, a in enumerate(operands)
                   if i == 0 or (self.values[a].kind == DERIVED and name not in INDEXING)}
        saved = (self.overrides, self.values.get(node), self.parts.get(node))
        self.overrides = {**saved[0], **written}
        try:
            self._run(node, name, entry, self._tensor_outputs(node))
            value = self.values[node] if saved[2] is None else self.parts[node]
        finally:
            self.overrides = saved[0]
            for table, old in ((self.values, saved[1]), (self.parts, saved[2])):
                if old is not None:
                    table[node] = old
        self.derived[node] = value
        return value

    def _call(self, node: fx.Node, name: str, outputs: List[Any]) -> AtenCall:
        named = {key: self.describe(value) for key, value in _bound(node).items()}
        twins = self.captured.twins.get(node)
        if twins:                   # static exports: literals that differ follow the input
            theirs = [_bound(twin) for twin in twins]
            named = {key: paired_value(value, *(t.get(key) for t in theirs))
                     for key, value in named.items()}
        if self.read_apart:         # parameters several ops read: their param nodes, as data
            named = {key: self._apart_as_data(value, node) for key, value in named.items()}
        return AtenCall(name, node.target._overloadname, self.describe(tuple(node.args)), named,
                        tuple(self.captured.shape(v) for v in outputs),
                        _module_path(node, self.modules), self.find_tensor,
                        lambda tensor: self.materialise(tensor, node), self.data_values,
                        skipped=skipped(twins or []))

    def _apart_as_data(self, value: Any, reader: fx.Node) -> Any:
        """``value`` with each parameter that calls of several ops read (CaiT's class token: a
        cat and an add) replaced by its ``param`` node, so each op reads it as data and the
        parameter counts once."""
        if isinstance(value, tuple):
            return tuple(self._apart_as_data(v, reader) for v in value)
        if isinstance(value, Tensor) and value.is_param and value.name in self.read_apart:
            return self.materialise(value, reader)
        return value

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
            previous = value or self._first_data(node)
            inputs = [previous if t is PREVIOUS else t for t in step.inputs] or [previous]
            last = i == len(chain) - 1
            value = self._emit(node, step, step.op or op, inputs, params if i == 0 else [],
                               self.captured.shape(out) if last else None)
        assert value is not None
        return value

    def _first_data(self, node: fx.Node) -> Tensor:
        values = (self.overrides.get(a) or self.values.get(a) for a in node.all_input_nodes)
        return next(v for v in values if v is not None and v.is_data)

    def _params(self, node: fx.Node) -> List[str]:
        """The names of the parameters a call reads as its own (each once; not those written
        as ``param`` nodes it reads as data)."""
        names: List[str] = []
        for a in node.all_input_nodes:
            tensor = self.values.get(a)
            if a in self.overrides or tensor is None or not tensor.is_param:
                continue
            if tensor.name not in self.written and tensor.name not in names:
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
            self.fixed.append((name, step.fixed))
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


def _read_by_several_ops(graph: fx.Graph, kinds: Dict[str, Tuple[str, str]]) -> Set[str]:
    """The parameters that calls of more than one ATen op read, through views (CaiT's class
    token, joined to the tokens by a cat and updated by an add): a node of one op cannot share
    another op's parameters, so the import writes each of them as a ``param`` node."""
    apart: Set[str] = set()
    for node in graph.nodes:
        kind, target = kinds.get(node.name, (None, ""))
        if node.op != "placeholder" or kind != PARAM:
            continue
        packets, pending = set(), [(node, user) for user in node.users]
        while pending:
            source, user = pending.pop()
            packet = getattr(getattr(user.target, "overloadpacket", None), "__name__", user.name)
            if user.meta.get("val") is None:     # an assertion (``weight.float()`` checks it)
                continue
            if packet not in REARRANGING:
                packets.add(packet.rstrip("_"))
            elif user.args and user.args[0] is source:      # a view of it (not reshape_as(x, it))
                pending.extend((user, reader) for reader in user.users)
        if len(packets) > 1:
            apart.add(target)
    return apart


# ops whose DERIVED operands after the first are indices (read for their shape, SAM's and
# MViTv2's relative coordinates computed from aranges): they stay unwritten
INDEXING = frozenset({"index", "index_select"})


def _empty(captured: Captured, outputs: List[Any]) -> bool:
    """Whether every output has no elements (Qwen3-ViT's ``q[:, :, :0]`` of no prefix tokens)."""
    return all(any(int(d) == 0 for d in captured.shape(v)) for v in outputs)


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


SEVERAL_INPUTS = ("; for a forward of several inputs, give the shape of each, in order "
                  "(--input-shape repeated; from_torch(inputs=[shape, ...]))")


def _capture(source: str, in_channels: int, sides: Sides,
             how: Callable[[], Captured]) -> Captured:
    try:
        return how()
    except ExportFailure as exc:
        shape = ", ".join(map(str, (1, in_channels) + tuple(sides)))
        hint = SEVERAL_INPUTS if "missing a required argument" in str(exc) else ""
        raise RunFailure(source, "resolution", f"torch.export cannot capture it on a ({shape}) "
                                               f"input: {exc}{hint}") from None


def _walk(captured: Captured, module: nn.Module, allow_unknown: bool, source: str) -> _Converter:
    converter = _Converter(captured, module, allow_unknown)
    for node in captured.program.graph.nodes:
        try:
            converter.convert_node(node)
        except ImportFailure as exc:
            raise type(exc)(source, exc.field, exc.message) from None
    return converter


AUTO, WIDE = "auto", "wide"     # convert(how=...): besides ONE_SIZE
LONGER = ("; a longer symbolic export may (netcalc import --symbolic-timeout, "
          "from_torch(symbolic_timeout=...))")


def _converted(module: nn.Module, in_channels: int, sides: Sides, source: str,
               allow_unknown: bool, symbolic_timeout: float,
               extras: Extras, how: str = AUTO) -> Tuple[Captured, _Converter]:
    """The captured graph, converted. Where static exports show a literal that follows the
    input by a rule no op can take from its values at the probe sizes (a TF-"same" pad), the
    module is captured at the asked size alone: a spec that fits that size, with the reason in
    its notes, rather than one whose constants are a row off at other sizes."""
    ways = {AUTO: lambda: capture(module, in_channels, sides, symbolic_timeout, extras),
            WIDE: lambda: wide_static(module, in_channels, sides, "its symbolic export is too "
                                      "slow; wide probe sizes, for maps padded to windows",
                                      extras),
            ONE_SIZE: lambda: one_size(module, in_channels, sides,
                                       "captured to check another branch", extras)}
    with eval_mode(module), torch.no_grad():
        captured = _capture(source, in_channels, sides, ways[how])
        converter = _walk(captured, module, allow_unknown, source)
        if converter.unknown and captured.how == STATIC:
            why = f"{captured.why}, and its static exports cannot tell the rule of " \
                  f"{converter.unknown[0].describe()}" + (
                      LONGER if captured.why.startswith(TOO_SLOW) else "")
            captured = _capture(source, in_channels, sides,
                                lambda: one_size(module, in_channels, sides, why, extras))
            converter = _walk(captured, module, allow_unknown, source)
    return captured, converter


def convert(module: nn.Module, resolution: Resolution = 224, name: Optional[str] = None,
            allow_unknown: bool = False, source: str = "", in_channels: Optional[int] = None,
            symbolic_timeout: float = SYMBOLIC_TIMEOUT,
            further_inputs: Sequence[Tuple[int, ...]] = (), how: str = AUTO) -> Imported:
    """The graph-spec data of ``module`` (unchecked; :func:`from_torch` checks it);
    ``further_inputs``: the shapes of the forward's arguments after the first; ``how``: AUTO
    (symbolic, else static), WIDE (static at wide probe sizes) or ONE_SIZE (one static export
    at ``resolution``: its constants, that size's counts)."""
    source = source or type(module).__name__
    sides = _sides(resolution)
    extras = tuple(Extra.of(shape, sides) for shape in further_inputs)
    in_channels, (captured, converter), guessed = _with_channels(
        in_channels, module, source, len(sides),
        lambda c: _converted(module, c, sides, source, allow_unknown, symbolic_timeout, extras,
                             how))
    if converter.unknown and not allow_unknown:
        raise ImportFailure(source, "", _unsupported_message(converter.unknown))
    data: Dict[str, Any] = {
        "family": "graph", "name": name or type(module).__name__,
        "resolution": _resolution(sides), "in_channels": in_channels,
    }
    limits = _resolution_range(captured)
    data.update({"resolution_range": limits} if limits else {}, layers=converter.layers)
    unused = _unused_params(module, set(converter.owner))
    notes = [captured.note] + [n for n in (captured.fits_only, guessed) if n] \
        + _notes(converter, unused)
    data["notes"] = notes
    return Imported(data, converter.shapes, captured.checks, converter.node_params, unused,
                    converter.shared, converter.uncounted,
                    sum(p.numel() for p in module.parameters()), converter.unknown, captured.how,
                    captured.why, captured.branch_sizes, captured.edges, captured.absent,
                    [name for name, _ in converter.fixed])


def _resolution_range(captured: Captured) -> Optional[Dict[str, List[Optional[int]]]]:
    """The spec's ``resolution_range`` where the capture holds for some sides only."""
    domain = captured.domain
    if domain is None or all(lo <= LOWEST_DYNAMIC_SIDE and hi is None for lo, hi in domain):
        return None
    return {axis: [lo, hi] for axis, (lo, hi) in zip(AXES[len(domain)], domain)}


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
    notes += [fits_only_note("the traced resolution", f"{name}: {why}")
              for name, why in converter.fixed]
    return notes


# -- checks -----------------------------------------------------------------------------------------
def check(imported: Imported, spec: Spec, source: str) -> List[str]:
    """At each check resolution, the spec's shape of every node equals the captured shape there;
    its params equal the module's, node by node; any difference is an error (a bug in a
    converter or an op). Returns the notes of a spec that fits the first resolution only (the
    module's own sizes refuse the second: a view to constant sizes torch.export kept symbolic;
    or a node holding the traced size's constants, a size by no rule netcalc writes, differs
    there: the spec is then held to the first resolution, its ``resolution_range``)."""
    import netcalc

    for first, (sides, evaluate) in enumerate(imported.checks):
        try:
            report = netcalc.count(spec, "torch", _counted_at(sides))
        except SpecError as exc:
            if first == 0:
                raise
            size = imported.checks[0][0]
            return [fits_only_note(shown(size), f"at {shown(sides)} {exc.message}")]
        for layer, cost in zip(report.graph.layers, report.costs):
            traced = imported.shapes.get(layer.name)
            shape = tuple(getattr(layer, "shape", ()) or ())
            if traced is not None and shape != tuple(evaluate(d) for d in traced):
                if first and layer.name in imported.fixed:     # its constants: that size only
                    size = imported.checks[0][0]
                    _pin(imported, size)
                    return [fits_only_note(shown(size), f"at {shown(sides)} {layer.name} holds "
                                           f"{list(shape)}, the model {[evaluate(d) for d in traced]}")]
                raise ImportFailure(source, layer.name, f"netcalc infers shape {list(shape)} for "
                                    f"{layer.op} at {shown(sides)}, torch captured "
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


def _pin(imported: Imported, size: Sides) -> None:
    """``imported``'s spec held to ``size`` alone (its ``resolution_range``)."""
    imported.data = {**imported.data, "resolution_range": {
        axis: [side, side] for axis, side in zip(AXES[len(size)], size)}}


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


def import_checked(module: nn.Module, resolution: Optional[Resolution] = None,
                   name: Optional[str] = None, allow_unknown: bool = False, source: str = "",
                   in_channels: Optional[int] = None,
                   symbolic_timeout: float = SYMBOLIC_TIMEOUT,
                   inputs: Any = None) -> Tuple[Spec, Imported]:
    """:func:`from_torch`, also returning what the import saw (captured shapes, parameters per
    node, parameters the eval forward never uses). The arguments are checked before anything
    runs, and a ``sys.exit`` in the model's code while it is captured is an error, never the end
    of the caller's process."""
    if not isinstance(module, nn.Module):
        raise ArgumentError("", "module", f"expected a torch.nn.Module, got "
                                          f"{type(module).__name__}")
    further: Tuple[Tuple[int, ...], ...] = ()
    if inputs is not None:
        resolution, in_channels, further = _from_inputs(inputs, resolution, in_channels)
    # 224 or (h, w), by name, before capturing
    resolution = check_resolution(224 if resolution is None else resolution, any_rank=True)
    source = source or name or type(module).__name__
    try:
        imported = convert(module, resolution, name, allow_unknown, source, in_channels,
                           symbolic_timeout, further)
    except SystemExit as exc:       # the model's own code, while it was captured
        raise SpecError(source, "", f"the module's code called sys.exit({exc.code!r}) while it "
                                    "was traced") from None
    spec = _checked_spec(imported, source)
    if further or allow_unknown:
        return spec, imported
    model = _Model(module, name, source, in_channels, symbolic_timeout)
    spec, beyond = _narrowed(model, spec, imported, resolution)
    other = _another_branch(model, spec, imported)
    if other is not None:
        spec = _pinned(imported, resolution, other, source)
    if (fits_only(spec) or beyond is not None) and _branches(imported):
        candidates = [size for size in (other, beyond) if size is not None] + probe_sizes(
            _sides(resolution))[1:]
        how = WIDE if imported.why.startswith(TOO_SLOW) else AUTO
        general = _general_branch(model, resolution, spec, candidates, how)
        if general is not None:
            return general
    return spec, imported


def _checked_spec(imported: Imported, source: str) -> Spec:
    """The spec of ``imported``, checked against its capture; the checks' notes added."""
    spec = _load(imported.data, source)
    notes = _fvcore_blind_spots(spec) + check(imported, spec, source)
    if notes:       # a new dict: specs are cached by the data they were loaded from
        imported.data = {**imported.data, "notes": imported.data["notes"] + notes}
        spec = _load(imported.data, source)
    return spec


SAME, OTHER, REFUSED = "same", "other", "refused"     # the spec at a size of another branch
T = TypeVar("T")                    # what a capture near a size gives (:meth:`_Model.near`)


@dataclass
class _Model:
    """The module an import captures, as it is captured, and the spec of its static export
    at each single size a check of the import asks for, exported once (the checks of the asked
    size's spec and of another branch's ask for the same sizes)."""

    module: nn.Module
    name: Optional[str]
    source: str
    in_channels: Optional[int]
    symbolic_timeout: float
    at_size: Dict[Sides, Optional[Spec]] = field(default_factory=dict)

    def capture(self, size: Sides, how: str) -> Imported:
        return convert(self.module, size, self.name, False, self.source, self.in_channels,
                       self.symbolic_timeout, how=how)

    def captured(self, size: Sides, how: str) -> Optional[Imported]:
        """The model captured at ``size`` by ``how``; None where it refuses the size."""
        try:
            return self.capture(size, how)
        except (NetcalcError, SystemExit):
            return None

    def static_spec(self, size: Sides) -> Optional[Spec]:
        """The checked spec of one static export at ``size``; None where the model refuses
        the size."""
        if size not in self.at_size:
            try:
                self.at_size[size] = _checked_spec(self.capture(size, ONE_SIZE), self.source)
            except (NetcalcError, SystemExit):
                self.at_size[size] = None
        return self.at_size[size]

    def near(self, size: Sides, taken: Callable[[Sides], Optional[T]],
             keep: Callable[[Sides], bool] = lambda size: True) -> Optional[Tuple[Sides, T]]:
        """The first size near ``size`` the model accepts (:func:`_rounded`, those ``keep``
        keeps: Qwen3-ViT takes multiples of 32 only, SAM multiples of 16), with what ``taken``
        (:meth:`static_spec`, or a capture by :meth:`captured`) made of it there; None where
        ``taken`` gives None at each of them (the model refuses them all)."""
        for accepted in filter(keep, _rounded(size)):
            there = taken(accepted)
            if there is not None:
                return accepted, there
        return None


def _verdict(model: _Model, spec: Spec, size: Sides,
             keep: Callable[[Sides], bool] = lambda size: True) -> Optional[Tuple[Sides, str]]:
    """At the first size near ``size`` the model accepts (:meth:`_Model.near`, those ``keep``
    keeps), captured there by one static export: SAME where the spec counts what that capture
    counts in every convention, OTHER where it counts otherwise, REFUSED where the spec cannot
    count that size. None where the model refuses every one of those sizes."""
    found = model.near(size, model.static_spec, keep)
    if found is None:
        return None
    accepted, there = found
    try:
        return accepted, OTHER if _counts(there, accepted) != _counts(spec, accepted) else SAME
    except NetcalcError:                        # the spec refuses it (its range, its shapes)
        return accepted, REFUSED


def _another_branch(model: _Model, spec: Spec, imported: Imported) -> Optional[Sides]:
    """A size at which the model runs another branch of its code that counts otherwise than
    the spec: checked at each size of other residues where a check torch.export recorded at
    the asked size fails (a pad that runs only where a side needs it), and for a static
    capture whose pads or crops ran at some of its sizes only, at the asked size and one of
    neither residue. None where the model refuses those sizes, or where the spec counts as
    the model does or refuses them."""
    sizes = list(imported.branch_sizes)
    if imported.absent:
        sides = _sides(imported.data["resolution"])
        sizes += [sides, _off_probes(sides)]
    for size in sizes:
        found = _verdict(model, spec, size)
        if found is not None and found[1] == OTHER:
            return found[0]
    return None


def _narrowed(model: _Model, spec: Spec, imported: Imported, resolution: Resolution
              ) -> Tuple[Spec, Optional[Sides]]:
    """The spec with its ``resolution_range`` ended before each nearest size along a side
    where a recorded check fails (:attr:`Imported.edges`) and the model does not run, runs
    what the spec cannot count, or, captured there, counts otherwise (torchvision's Swin
    imported at 224 with a long symbolic export holds for sides up to 227, where its last
    stage is still one window); and the first size where it counts otherwise (None if none).
    A size where the spec cannot count is no reason to look for a spec from a capture there:
    its checks are those of the asked size's, and it may hold in a band of its own alone
    (EfficientViT-M's attention biases, laid out for the maps of 193 to 224)."""
    sides = _sides(resolution)
    axes = AXES[len(sides)]
    ranges = {axis: list(bounds) for axis, bounds in (
        imported.data.get("resolution_range") or {a: [1, None] for a in axes}).items()}
    notes, beyond = [], None
    for axis, held, failing in imported.edges:
        upward = failing[axis] > sides[axis]
        found = _verdict(model, spec, failing,        # past the edge
                         lambda size, a=axis, h=held, up=upward: (size[a] > h) == up)
        if found is not None and found[1] == SAME:
            continue
        if found is not None and found[1] == OTHER and beyond is None:
            beyond = found[0]
        lo, hi = ranges[axes[axis]]
        ranges[axes[axis]] = [lo, held if hi is None else min(hi, held)] if upward \
            else [max(lo, held), hi]
        notes.append(_edge_note(axes[axis], upward, held, failing, found))
    if not notes:
        return spec, None
    imported.data = {**imported.data, "resolution_range": ranges,
                     "notes": imported.data["notes"] + notes}
    return _load(imported.data, model.source), beyond


def _edge_note(axis: str, upward: bool, held: int, failing: Sides,
               found: Optional[Tuple[Sides, str]]) -> str:
    """Why the spec's range ends at ``held`` on ``axis``."""
    where = f"holds for {axis} {'up to' if upward else 'from'} {held}"
    if found is None:
        return f"{where}: at {shown(failing)} the model does not run"
    return (f"{where}: at {shown(found[0])} the model runs another branch of its code (a size "
            "check torch.export recorded fails there), which the spec "
            + ("counts otherwise" if found[1] == OTHER else "cannot count"))


def _rounded(size: Sides) -> List[Sides]:
    """``size``, then its sides rounded up to multiples of 2, 4, ... 64: sizes a model that
    needs whole patches or windows accepts (SAM's multiples of 16)."""
    return list(dict.fromkeys([size] + [tuple(-(-side // k) * k for side in size)
                                        for k in (2, 4, 8, 16, 32, 64)]))


def _pinned(imported: Imported, resolution: Resolution, other: Sides, source: str) -> Spec:
    """The spec of ``imported`` held to the asked size: at ``other`` the model runs another
    branch of its code."""
    sides = _sides(resolution)
    _pin(imported, sides)
    imported.data["notes"] = imported.data["notes"] + [fits_only_note(
        shown(sides), f"at {shown(other)} the model runs another branch of its code (a size "
                      "check torch.export recorded fails there), which counts otherwise")]
    return _load(imported.data, source)


def _branches(imported: Imported) -> bool:
    """Whether a spec that fits one size may come from a branch of the model's code taken at
    that size alone: captured symbolically (a shape fixed by the branch), or statically with
    a graph that differs at other sizes (where the symbolic export was too slow, the other
    capture is static, at wide probe sizes); not where the model refuses other sizes."""
    return imported.how == SYMBOLIC or (imported.how == ONE_SIZE and GRAPH_DIFFERS in imported.why)


def _general_branch(model: _Model, resolution: Resolution, spec: Spec,
                    candidates: List[Sides], how: str) -> Optional[Tuple[Spec, Imported]]:
    """A spec that holds beyond the asked size, where the asked one fits it alone because the
    model's code takes a special branch there (it pads or resizes only where a size needs it:
    CPU-Bone's windows, CrossViT's image): the module captured at the first of ``candidates``
    (a size where another branch ran, then sizes of other residues) whose spec fits more than
    that size, counts what the asked size's own capture counts at the asked size in every
    convention, and holds where the model runs other branches (:func:`_holds_elsewhere`) (each
    candidate rounded up to the first size the model accepts, :meth:`_Model.near`);
    ``how``: WIDE where the symbolic export was too slow (Twins, DaViT, torchvision's Swin).
    None where no such spec exists."""
    sides, source = _sides(resolution), model.source
    if len(sides) != 2:
        return None
    for candidate in candidates[:2]:
        captured = model.near(candidate, lambda size: model.captured(size, how))
        if captured is None:
            continue
        other, imported = captured
        try:
            general = _checked_spec(imported, source)
            if _counts(general, sides) != _counts(spec, sides):
                general = _skipping_unchanged_resizes(general, imported, spec, sides, source)
            if general is None or fits_only(general) \
                    or not _holds_elsewhere(model, general, imported, sides):
                continue
        except (NetcalcError, SystemExit):      # the other size refused, or counted otherwise
            continue
        imported.data = {**imported.data, "resolution": _resolution(sides), "notes": [
            f"size rules from a capture at {shown(other)}: at {shown(sides)} the model takes "
            "a branch of its code that fits that size alone (its own capture there counts the "
            "same in every convention)"] + imported.data["notes"]}
        return _load(imported.data, source), imported
    return None


def _skipping_unchanged_resizes(general: Spec, imported: Imported, spec: Spec, sides: Sides,
                               source: str) -> Optional[Spec]:
    """``general`` (a capture at another size than ``sides``) with its upsamples that keep their
    size at ``sides`` marked ``only_if_resized``, where that makes it count at ``sides`` what
    ``spec``, the capture there, counts in every convention: the model skips those resizes
    where the size is unchanged (Qwen3-ViT's position grid at 768 x 768, its 48 x 48 table).
    None where no such upsample explains the difference."""
    import netcalc

    report = netcalc.count(general, "torch", sides)
    unchanged = {layer.name for layer in report.graph.layers if layer.op == "upsample"
                 and tuple(layer.in_shapes[0][2:]) == tuple(layer.shape[2:])}
    if not unchanged:
        return None
    layers = [{**layer, "only_if_resized": True} if layer.get("name") in unchanged else layer
              for layer in imported.data["layers"]]
    data = {**imported.data, "layers": layers, "notes": imported.data["notes"] + [
        f"{len(unchanged)} upsample(s) run only where they resize ({', '.join(sorted(unchanged))}"
        f"): the model's capture at {shown(sides)}, where they keep the size, lacks them"]}
    marked = _load(data, source)
    if _counts(marked, sides) != _counts(spec, sides):
        return None
    imported.data = data
    return marked


def _holds_elsewhere(model: _Model, spec: Spec, imported: Imported, sides: Sides) -> bool:
    """Whether the spec of a capture at another size than ``sides`` holds where the model runs
    other branches: it counts as the model does where a check its capture recorded fails, and
    where the capture was static (no check recorded), at one size of neither probe residue."""
    if _another_branch(model, spec, imported) is not None:
        return False
    if imported.how != STATIC:
        return True
    found = _verdict(model, spec, _off_probes(sides))
    return found is not None and found[1] == SAME


def _off_probes(sides: Sides) -> Sides:
    """A size of neither probe residue near ``sides`` (each side 31 less, then 32 more: 193x256
    for 224): where a static capture, which records no size check, is checked once more (a pad
    that ran at some probe sizes only, a spec from a capture at another size)."""
    return tuple(max(LOWEST_DYNAMIC_SIDE, side - 31 + 63 * axis)
                 for axis, side in enumerate(sides))


def _counts(spec: Spec, sides: Sides) -> List[Tuple[int, int, int]]:
    """(flops, params, acts) of ``spec`` at ``sides`` in every convention."""
    import netcalc

    return [tuple(getattr(netcalc.count(spec, convention, sides), quantity)
                  for quantity in ("flops", "params", "acts"))
            for convention in ("pycls", "fvcore", "torch")]


def _from_inputs(inputs: Any, resolution: Any, in_channels: Optional[int]) -> Tuple[
        Any, int, Tuple[Tuple[int, ...], ...]]:
    """The resolution and channels of the first of ``inputs``, and the shapes of the others:
    one input's shape ``(1, C, H, W)`` or a tensor of that shape, or a list of them."""
    inputs = _shape_of(inputs)
    if isinstance(inputs, (list, tuple)) and any(isinstance(i, torch.Tensor) for i in inputs):
        inputs = [_shape_of(i) for i in inputs]
    try:
        resolution_of_shape, channels, further = check_input_shapes(inputs)
    except SpecError as exc:
        raise ArgumentError("", exc.field, exc.message) from None
    if resolution is not None:
        raise ArgumentError("", "inputs", "give the resolution or the inputs' shape, not both")
    if in_channels is not None and in_channels != channels:
        raise ArgumentError("", "inputs", f"{channels} channels, but in_channels is "
                                          f"{in_channels}")
    return resolution_of_shape, channels, further


def _shape_of(value: Any) -> Any:
    return list(value.shape) if isinstance(value, torch.Tensor) else value


def _load(data: Dict[str, Any], source: str) -> Spec:
    try:
        return load_spec(data)
    except SpecError as exc:
        raise ImportFailure(source, exc.field, f"the imported spec does not load: "
                                               f"{exc.message}") from None


def from_torch(module: nn.Module, resolution: Optional[Resolution] = None,
               name: Optional[str] = None, allow_unknown: bool = False, source: str = "",
               in_channels: Optional[int] = None,
               symbolic_timeout: float = SYMBOLIC_TIMEOUT, inputs: Any = None) -> Spec:
    """The graph spec of a torch module, checked against its traced shapes and parameters.

    ``resolution``: the input size it is captured at, 224 (the default) or (h, w).
    ``in_channels``: the input's channels (default: the first conv's, else 3). ``inputs``: the
    input's shape instead of both, ``(1, C, H, W)`` (or a tensor of that shape); the spec's
    ``resolution`` and ``in_channels`` record it. A list of shapes is a model of several
    inputs (``forward(x, mask)``): each further input is an ``input`` node of the spec, whose
    spatial sides follow the first input's where they equal them. ``symbolic_timeout``:
    seconds the export with dynamic h and w may take before static exports at two sizes replace
    it. Raises :class:`ImportFailure` (a :class:`~netcalc.SpecError`) naming every unsupported
    op (unless ``allow_unknown``: then they are free identity ops listed in the spec's notes), or
    the first node whose shape or parameter count netcalc gets differently from torch.
    """
    return import_checked(module, resolution, name, allow_unknown, source, in_channels,
                          symbolic_timeout, inputs)[0]


def traced_totals(module: nn.Module, resolution: Resolution) -> Dict[str, int]:
    """What the tools count on the real module (CPU, eval): fvcore's flops and activations,
    FlopCounterMode's flops, and the numel of its parameters."""
    from .validate import run_measures

    sides = _sides(resolution)
    x = torch.randn(1, _in_channels(module, "", len(sides)), *sides)
    measured = run_measures(module, (x,), ["fvcore.flops", "fvcore.acts", "torch.flops",
                                           "torch.numel"])
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
