"""The node graph every spec expands into.

A graph is an ordered tuple of :class:`Node` records, each ``(op, inputs, attrs)`` plus the shapes
it reads and produces. ``inputs`` are indices of earlier nodes (``-1`` is the network input).
A shape is a tuple of dims of any rank, batch included: ``(1, C, H, W)`` for maps, ``(1, F)`` for
flat tensors, ``(1, L, C)`` for tokens. Dims are Python ints for concrete counts and sympy
expressions for closed forms: nothing here converts or compares them, so the same expansion code
serves both. Every size is computed by the op's own ``infer_shape`` (:mod:`netcalc.ops`).

Families build graphs through :class:`GraphBuilder`, which tracks shapes, labels nodes with their
stage and block (for breakdowns) and names them ``<block>.<name>``.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, NamedTuple, Optional, Sequence, Tuple

from . import caches
from .errors import GraphError
from .ops import OPS, get_op
from .ops.conv import conv_attrs
from .ops.elementwise import NO_BINARY, PARTIAL_ADD
from .ops.linear import linear_attrs
from .ops.pool import pool_attrs
from .ops.shape import FLATTEN
from .ops.simple import NO_ATTRS, DropoutAttrs

Shape = Tuple[Any, ...]
__all__ = ["Node", "LayerGraph", "GraphBuilder", "GraphError", "input_hw", "input_sides",
           "fit_rank"]


class Node(NamedTuple):
    name: str
    op: str
    inputs: Tuple[int, ...]
    in_shapes: Tuple[Shape, ...]
    shape: Shape
    attrs: Any = NO_ATTRS
    stage: str = ""
    block: str = ""


_new_node = tuple.__new__    # builds a Node from all its fields without NamedTuple's checks


class LayerGraph(NamedTuple):
    name: str
    in_channels: int
    resolution: Any                # int (square), (h, w), or sympy expressions
    layers: Tuple[Node, ...]

    @property
    def output(self) -> Node:
        return self.layers[-1]

    @property
    def input_shape(self) -> Shape:
        return (1, self.in_channels) + input_sides(self.resolution)


def input_hw(resolution: Any) -> Tuple[Any, Any]:
    """(h, w) of a resolution given as one side or as a pair."""
    if isinstance(resolution, (tuple, list)):
        return resolution[0], resolution[1]
    return resolution, resolution


def input_sides(resolution: Any) -> Tuple[Any, ...]:
    """The spatial sides of the input: ``(h, w)`` of one side or a pair; the sides of a list
    of one (a 1D signal's length) or three (a 3D volume's d, h, w)."""
    if isinstance(resolution, (tuple, list)):
        return tuple(resolution)
    return resolution, resolution


def fit_rank(resolution: Any, own: Any) -> Any:
    """``resolution`` for a spec whose own is ``own``: one side is every spatial axis of a 1D
    or 3D input, a list must name each of its axes."""
    axes = len(own) if isinstance(own, (tuple, list)) else 2
    if isinstance(resolution, (tuple, list)):
        if len(resolution) != axes:
            names = {1: "[l]", 2: "[h, w]", 3: "[d, h, w]"}[axes]
            error = GraphError(f"expected an integer or {names} for this spec's input, got "
                               f"{len(resolution)} entries")
            error.field = "resolution"
            raise error
        return tuple(resolution)
    return resolution if axes == 2 else (resolution,) * axes


class GraphBuilder:
    """Appends nodes, tracking the current tensor; families call :meth:`node` or the sugar below."""

    def __init__(self, name: str, in_channels: int, resolution: Any):
        self.name = name
        self.in_channels = in_channels
        self.resolution = resolution
        self.input_shape: Shape = (1, in_channels) + input_sides(resolution)
        self.layers: list = []
        self.current = -1
        self.stage = ""
        self.block = ""
        self.prefix_names = True   # families: "<block>.<name>"; hand-written graphs keep names

    # -- shapes and labels --------------------------------------------------------------------
    def shape(self, index: Optional[int] = None) -> Shape:
        """The shape of the tensor produced by node ``index`` (default: current)."""
        index = self.current if index is None else index
        return self.input_shape if index == -1 else self.layers[index].shape

    def channels_of(self, index: Optional[int] = None) -> Any:
        return self.shape(index)[1]

    @property
    def channels(self) -> Any:
        return self.shape()[1]

    def scope(self, stage: Optional[str] = None, block: Optional[str] = None) -> "_Scope":
        """``with b.scope(stage=..., block=...):`` labels the nodes appended inside."""
        return _Scope(self, stage, block)

    # -- the one way a node is added ------------------------------------------------------------
    def node(self, op: str, attrs: Any = NO_ATTRS, inputs: Optional[Sequence[int]] = None,
             name: Optional[str] = None) -> int:
        """Append ``op`` reading ``inputs`` (default: the current tensor); returns its index."""
        prefix = (self.block or self.stage) if self.prefix_names else ""
        full = f"{prefix}.{name or op}" if prefix else (name or op)
        definition = OPS.get(op) or get_op(op)
        layers = self.layers
        srcs = (self.current,) if inputs is None else tuple(inputs)
        if len(srcs) == 1:          # the common case, without a generator
            src = srcs[0]
            ins: Tuple[Shape, ...] = (self.input_shape if src == -1 else layers[src].shape,)
        else:
            ins = tuple(self.input_shape if i == -1 else layers[i].shape for i in srcs)
        lo, hi = definition.arity
        if len(srcs) < lo or (hi is not None and len(srcs) > hi):
            raise GraphError(f"{op} {full!r} takes {lo} to {hi or 'any number of'} operands, "
                             f"got {len(srcs)}", field="inputs")
        try:
            out = definition.infer_shape(ins, attrs)
        except GraphError as exc:
            raise GraphError(f"{op} {full!r}: {exc}", field=exc.attr) from None
        layers.append(_new_node(Node, (full, op, srcs, ins, out, attrs, self.stage, self.block)))
        self.current = len(layers) - 1
        return self.current

    # -- the ops families use, spelled as families think of them --------------------------------
    def conv(self, c_out: int, kernel: int = 1, stride: int = 1, *, groups: int = 1,
             bias: bool = False, padding: Optional[int] = None, name: str = "conv",
             src: Optional[int] = None) -> int:
        return self.node("conv", conv_attrs(c_out, kernel, stride, padding, groups, bias),
                         _one(src, self), name)

    def bn(self, name: str = "bn", src: Optional[int] = None) -> int:
        return self.node("bn", NO_ATTRS, _one(src, self), name)

    def act(self, kind: str, name: Optional[str] = None, src: Optional[int] = None) -> int:
        return self.node(kind, NO_ATTRS, _one(src, self), name)

    def dropout(self, rate: float, name: str = "dropout", src: Optional[int] = None) -> int:
        return self.node("dropout", DropoutAttrs(rate), _one(src, self), name)

    def pool(self, op: str, kernel: int, stride: int, padding: Optional[int] = None, *,
             name: Optional[str] = None, src: Optional[int] = None) -> int:
        """Max or average pooling (``op`` is ``maxpool`` or ``avgpool``)."""
        return self.node(op, pool_attrs(kernel, stride, padding), _one(src, self), name)

    def gap(self, name: str = "pool", src: Optional[int] = None) -> int:
        """Global average pooling to 1x1 (``nn.AdaptiveAvgPool2d(1)``)."""
        return self.node("gap", NO_ATTRS, _one(src, self), name)

    def flatten(self, name: str = "flatten", src: Optional[int] = None) -> int:
        return self.node("flatten", FLATTEN, _one(src, self), name)

    def linear(self, c_out: int, *, bias: bool = True, name: str = "fc",
               src: Optional[int] = None) -> int:
        return self.node("linear", linear_attrs(c_out, bias), _one(src, self), name)

    def add(self, other: int, *, name: str = "add", src: Optional[int] = None,
            partial: bool = False) -> int:
        """Residual add of ``other``; ``partial`` (ReXNet) adds a narrower ``other`` into the first
        channels."""
        return self.node("add", PARTIAL_ADD if partial else NO_BINARY,
                         (_one(src, self)[0], other), name)

    def mul(self, gate: int, *, name: str = "mul", src: Optional[int] = None) -> int:
        """Multiply by ``gate`` with broadcasting (squeeze-excite: a (1, C, 1, 1) gate)."""
        return self.node("mul", NO_BINARY, (_one(src, self)[0], gate), name)

    def build(self) -> LayerGraph:
        return LayerGraph(self.name, self.in_channels, self.resolution, tuple(self.layers))

    # -- repeated blocks ------------------------------------------------------------------------
    def cached_block(self, key: Hashable, body: Callable[[], Any],
                     block: Optional[str] = None) -> None:
        """Run ``body()``, which appends one block reading the current tensor, or replay it;
        ``block`` labels its nodes as ``scope(block=...)`` would.

        ``key`` must name everything ``body`` depends on besides the current tensor's shape (the
        block function and the sizes it is given). A block built once from a given input shape
        is recorded with names and indices relative to the block, and later calls with the same
        key and input shape append the same nodes (same shapes, attrs and costs) under the
        current labels without running the op definitions again: networks repeat their blocks.
        A block that reads any tensor but its input, or changes labels, is never replayed.
        """
        saved = self.block
        if block is not None:
            self.block = block
        try:
            self._run_block(key, body)
        finally:
            self.block = saved

    def _run_block(self, key: Hashable, body: Callable[[], Any]) -> None:
        cache_key = (key, self.shape(), self.prefix_names)
        template = caches.template(cache_key)
        if template is _UNREPLAYABLE:
            body()
        elif template is not None:
            self._replay(template)
        else:
            base, start = len(self.layers), self.current
            body()
            template = _record(self, base, start)
            caches.record_template(cache_key, template,
                                   () if template is _UNREPLAYABLE else template.nodes)

    def _replay(self, template: "BlockTemplate") -> None:
        layers = self.layers
        base, offset = len(layers), self.current - len(layers)
        nodes = template.nodes if offset == template.input_offset else template.rebased(offset)
        prefix = (self.block or self.stage) if self.prefix_names else ""
        prefix = f"{prefix}." if prefix else ""
        stage, block = self.stage, self.block
        layers += [_new_node(Node, (prefix + local, op,
                                    (base + first,) if not more else
                                    (base + first, *[base + r for r in more]),
                                    ins, shape, attrs, stage, block))
                   for local, op, first, more, ins, shape, attrs in nodes]
        self.current = base + template.current


class _Scope:
    """Sets a builder's stage/block labels for a ``with`` body and restores them after."""

    __slots__ = ("builder", "stage", "block", "saved")

    def __init__(self, builder: GraphBuilder, stage: Optional[str], block: Optional[str]):
        self.builder, self.stage, self.block = builder, stage, block

    def __enter__(self) -> None:
        b = self.builder
        self.saved = b.stage, b.block
        if self.stage is not None:
            b.stage, b.block = self.stage, ""
        if self.block is not None:
            b.block = self.block

    def __exit__(self, *exc: Any) -> None:
        self.builder.stage, self.builder.block = self.saved


class BlockTemplate(NamedTuple):
    # (local name, op, first input, further inputs, in_shapes, shape, attrs); inputs are
    # relative to the block's first node, the block's input being ``input_offset`` (negative)
    nodes: Tuple[tuple, ...]
    current: int                 # the block's output, relative to its first node
    input_offset: int

    def rebased(self, offset: int) -> Tuple[tuple, ...]:
        """The nodes with the block's input at ``offset`` instead of ``input_offset``."""
        def move(r: int) -> int:
            return offset if r == self.input_offset else r
        return tuple((local, op, move(first), tuple(map(move, more)), ins, shape, attrs)
                     for local, op, first, more, ins, shape, attrs in self.nodes)


_UNREPLAYABLE = object()     # recorded for a block that must run every time


def _record(b: GraphBuilder, base: int, start: int) -> Any:
    """The template of the nodes ``b`` appended from index ``base`` on (see GraphBuilder.cached_block)."""
    prefix = (b.block or b.stage) if b.prefix_names else ""
    prefix = f"{prefix}." if prefix else ""
    cut, stage, block = len(prefix), b.stage, b.block
    nodes = []
    for name, op, inputs, ins, shape, attrs, node_stage, node_block in b.layers[base:]:
        outside = [i for i in inputs if i < base and i != start]
        if (outside or not inputs or not name.startswith(prefix) or node_stage != stage
                or node_block != block):
            return _UNREPLAYABLE
        nodes.append((name[cut:], op, inputs[0] - base, tuple([i - base for i in inputs[1:]]),
                      ins, shape, attrs))
    if not nodes or b.current < base:
        return _UNREPLAYABLE
    return BlockTemplate(tuple(nodes), b.current - base, start - base)


def _one(src: Optional[int], builder: GraphBuilder) -> Tuple[int]:
    return (builder.current if src is None else src,)
