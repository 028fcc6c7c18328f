"""Explicit node graphs written by hand: any network the registered ops can express.

Each entry of ``layers`` is one node ``{name, op, ...attrs}``. A node reads the previous node's
output unless ``input`` names another node (``input`` alone is the network input); ops with
several operands take them from ``inputs: [a, b, ...]``, and binary ops also accept ``with`` for
the second operand. The op's own definition (:mod:`netcalc.ops`) parses and bounds its attributes
and computes its shape. ``stage`` and ``block`` labels are sticky: they apply to the following
nodes until changed. ``shares: <earlier node>`` marks a later call of the same module: its flops
and activations count, its parameters (counted at the earlier node) do not.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from ..errors import GraphError
from ..fields import Fields
from ..graph import GraphBuilder, input_sides
from ..limits import MAX_LAYERS, MAX_NOTES, MAX_NOTE_CHARS, MAX_OPERANDS, MAX_RESOLUTION
from ..ops import OPS, all_ops
from ..ops.registry import shared
from . import Family, register

INPUT = "input"         # the reserved name of the network input


@dataclass(frozen=True)
class NodeSpec:
    op: str
    name: str
    inputs: Optional[Tuple[str, ...]]   # None: the previous node's output
    attrs: Any
    stage: Optional[str] = None
    block: Optional[str] = None


AXES = {1: ("l",), 2: ("h", "w"), 3: ("d", "h", "w")}   # spatial axes by the input's rank
Range = Tuple[int, Optional[int]]       # lowest and highest side (None: no highest)


@dataclass(frozen=True)
class GraphConfig:
    layers: Tuple[NodeSpec, ...]
    notes: Tuple[str, ...] = ()     # what every report should say (written by netcalc import)
    # per spatial axis (AXES), the sides the spec holds for (netcalc import: where the model's
    # code takes the branches it took when captured); None: every side
    resolution_range: Optional[Tuple[Tuple[str, Range], ...]] = None     # (axis, range)


def _reference(f: Fields, key: str, ref: Any, known: Dict[str, int]) -> str:
    if not isinstance(ref, str) or (ref not in known and ref != INPUT):
        raise f.error(key, f"{ref!r} is not the name of an earlier layer")
    return ref


def _operands(f: Fields, op: str, known: Dict[str, int]) -> Optional[Tuple[str, ...]]:
    """Operand names from ``inputs``, or ``input`` (+ ``with`` for binary ops); None: previous."""
    if f.has("inputs"):
        if f.has("input") or f.has("with"):
            raise f.error("inputs", "give either inputs or input/with, not both")
        refs = f.list("inputs", min_len=1, max_len=MAX_OPERANDS)
        return tuple(_reference(f, f"inputs[{i}]", r, known) for i, r in enumerate(refs))
    first = f.str("input", None, max_len=100)
    first = None if first is None else _reference(f, "input", first, known)
    hi = OPS[op].arity[1]
    second = f.str("with", None, max_len=100) if hi is None or hi >= 2 else None
    if second is None:
        return None if first is None else (first,)
    return (first, _reference(f, "with", second, known))


def _parse_layer(f: Fields, index: int, known: Dict[str, int], ops: list) -> NodeSpec:
    op = f.str("op", choices=sorted(all_ops()))
    name = f.str("name", f"{op}_{index}", max_len=100)
    if not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise f.error("name", f"{name!r} may hold only letters, digits, '_', '-' and '.'")
    if name == INPUT:
        raise f.error("name", f"{INPUT!r} is reserved for the network input")
    if name in known:
        raise f.error("name", f"{name!r} is already the name of layers[{known[name]}]")
    stage, block = f.str("stage", None, max_len=100), f.str("block", None, max_len=100)
    inputs = _operands(f, op, known)
    attrs = OPS[op].parse(f)
    owner = f.str("shares", None, max_len=100)
    if owner is not None:
        if owner not in known or ops[known[owner]] != op:
            raise f.error("shares", f"{owner!r} is not an earlier {op} layer (a node shares the "
                                    "parameters of an earlier call of the same module)")
        attrs = shared(attrs, owner)
    f.finish()
    return NodeSpec(op, name, inputs, attrs, stage, block)


def parse(fields: Fields) -> GraphConfig:
    known: Dict[str, int] = {}
    layers: list = []
    for i, f in enumerate(fields.items("layers", min_len=1, max_len=MAX_LAYERS)):
        layer = _parse_layer(f, i, known, [node.op for node in layers])
        known[layer.name] = i
        layers.append(layer)
    notes = fields.list("notes", [], max_len=MAX_NOTES)
    for i, note in enumerate(notes):
        if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
            raise fields.error(f"notes[{i}]", f"must be a string of at most {MAX_NOTE_CHARS} "
                                              "characters")
    return GraphConfig(tuple(layers), tuple(notes), _resolution_range(fields))


def _resolution_range(fields: Fields) -> Optional[Tuple[Tuple[str, Range], ...]]:
    """``resolution_range: {h: [lo, hi], w: [lo, hi]}`` (``l`` for a 1D input, ``d, h, w`` for
    a 3D one), ``hi`` null for no highest side."""
    if fields.value("resolution_range", None) is None:
        return None
    axes = fields.mapping("resolution_range")
    ranges = {}
    for axis in ("l", "d", "h", "w"):
        if not axes.has(axis):
            continue
        bounds = axes.list(axis, min_len=2, max_len=2)
        lo = Fields({axis: bounds[0]}, axes.source, axes.path).int(axis, lo=1, hi=MAX_RESOLUTION)
        hi = Fields({axis: bounds[1]}, axes.source, axes.path).int(axis, None, lo=lo,
                                                                     hi=MAX_RESOLUTION)
        ranges[axis] = (lo, hi)
    axes.finish()
    return tuple(ranges.items())


def format_range(ranges: Dict[str, Range]) -> str:
    """``h 224.., w 224..255``."""
    return ", ".join(f"{axis} {lo}..{'' if hi is None else hi}" for axis, (lo, hi)
                     in ranges.items())


def _range_error(message: str, field: str) -> GraphError:
    error = GraphError(message)
    error.field = field
    return error


def _check_range(config: GraphConfig, resolution: Any) -> None:
    """A resolution outside the spec's resolution_range is an error (closed forms, whose
    sides are symbols, are not checked)."""
    if config.resolution_range is None:
        return
    limits = dict(config.resolution_range)
    sides = input_sides(resolution)
    axes = AXES[len(sides)]
    if sorted(limits) != sorted(axes):
        raise _range_error(f"names the axes {', '.join(limits) or 'none'}; this spec's input "
                           f"has {', '.join(axes)}", "resolution_range")
    if not all(isinstance(s, int) for s in sides) or all(
            limits[axis][0] <= side and (limits[axis][1] is None or side <= limits[axis][1])
            for axis, side in zip(axes, sides)):
        return
    raise _range_error(f"{'x'.join(map(str, sides))} is outside resolution_range ("
                       f"{format_range(limits)}), the sizes the spec holds for: elsewhere "
                       "the imported model branches on its input size or does not run, or its "
                       "size rules were found at one size only (see the spec's notes); import "
                       "it again at this size",
                       "resolution")


def expand(spec, b: GraphBuilder) -> None:  # type: ignore[no-untyped-def]
    _check_range(spec.config, b.resolution)
    b.prefix_names = False
    index: Dict[str, int] = {INPUT: -1}
    for i, layer in enumerate(spec.config.layers):
        b.stage = layer.stage if layer.stage is not None else b.stage
        b.block = layer.block if layer.block is not None else b.block
        srcs = None
        if layer.inputs is not None:
            srcs = [b.current if ref is None else index[ref] for ref in layer.inputs]
        try:
            index[layer.name] = b.node(layer.op, layer.attrs, srcs, layer.name)
        except GraphError as exc:
            exc.field = f"layers[{i}].{exc.attr}" if exc.attr else f"layers[{i}]"
            raise


register(Family("graph", parse, expand, has_head=False, notes=lambda config: config.notes))
