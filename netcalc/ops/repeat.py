"""Ops that copy elements into a larger tensor: ``repeat`` (``Tensor.repeat``, ``torch.tile``) and
``repeat_interleave`` by a whole number. Free in every convention: fvcore 0.1.5 reports
``aten::repeat`` and ``repeat_interleave`` as unsupported operators (0), and FlopCounterMode has
no formula for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple, Union

from ..errors import GraphError
from ..limits import MAX_DIM_SIZE
from .aten import AtenCall, Node, NotModelled, follows_input
from .registry import format_shape, register_op
from .shape import DIM, normalise_dim
from .tensor import FreeTensorOp, ReshapeEntry, resolve_entry, size_entries


def _to_size_of(call: AtenCall, counts: Any, node: Node) -> Node:
    """``node``, repeating by ``counts``; a count that follows the input (Hiera's window
    embedding tiled to the token grid, GC ViT's global query repeated for every window) is
    written as the size of an earlier tensor of the output's shape, "dK" of the second operand,
    if there is one (else the node fits the traced resolution only)."""
    growing = [k for k, c in enumerate(counts) if follows_input(c)]
    if not growing:
        return node
    # its trailing dims are the output's from the first growing one (XCiT's position grid
    # ``arange(w).repeat(1, h, 1)`` is (1, h, w): the patch grid (1, C, h, w) ends in (h, w))
    like = call.tensor_with(tuple(call.out[growing[0]:]))
    if like is None:
        return Node(node.attrs, fixed="its repeat counts follow the input, and no earlier "
                                      "tensor ends in its output's shape")
    lead = len(like.shape) - len(call.out)      # dim k of the output is dim lead + k of like
    repeats = node.attrs["repeats"]
    if isinstance(repeats, list):
        entries: Any = [f"d{lead + k}" if k in growing else c for k, c in enumerate(repeats)]
    else:
        entries = f"d{lead + node.attrs['dim'] % len(call.out)}"
    return Node({**node.attrs, "repeats": entries}, inputs=(call.first, like))


def _size_with(entry: ReshapeEntry, size: Any, ins: Any, field: str) -> Any:
    """A dim of size ``size`` repeated ``entry`` times, or grown to dim K of the second operand
    (``"dK"``)."""
    if not isinstance(entry, str):
        return size * entry
    if len(ins) < 2:
        raise GraphError(f"{entry!r} names a dim of a second operand, and there is none",
                         field=field)
    return resolve_entry(entry, ins[1], field)


def _repeat_entries(f: Any) -> Tuple[ReshapeEntry, ...]:
    """``repeats``: a list of counts 1.. and "dK"."""
    entries = tuple(size_entries(f, "repeats"))
    if -1 in entries:
        raise f.error("repeats", "-1 has no meaning for a repeat count: give the count or 'dK'")
    return entries


def _one_entry(f: Any) -> ReshapeEntry:
    """``repeats`` of repeat_interleave: one count 1.., or "dK"."""
    raw = f.value("repeats")
    if not isinstance(raw, str):
        return f.int("repeats", lo=1, hi=MAX_DIM_SIZE)
    if not (raw[:1] == "d" and raw[1:].isdigit() and len(raw) <= 3):
        raise f.error("repeats", f"{raw!r} is not a count or 'dK' (dim K of the second operand)")
    return raw


# -- repeat -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepeatAttrs:
    """How many copies along each dim (at least the input's rank; extra ones lead, as new
    dims); "dK": as many as make dim K of the second operand."""

    repeats: Tuple[ReshapeEntry, ...]


def repeat_from_aten(call: AtenCall) -> Node:
    """``aten.repeat`` and ``aten.tile`` (fewer counts than dims: the leading ones are 1)."""
    source = call.first
    counts = list(call.arg("repeats" if call.op == "repeat" else "dims"))
    counts = [1] * (len(source.shape) - len(counts)) + counts
    return _to_size_of(call, counts, Node({"repeats": [int(c) for c in counts]}))


@register_op
class Repeat(FreeTensorOp):
    """``x.repeat(*repeats)``: dim k of the output is dim k of x (1 for a new leading dim) times
    ``repeats[k]``, or dim K of the second operand for an entry "dK"."""

    name = "repeat"
    Attrs = RepeatAttrs
    arity = (1, 2)
    aten = {"repeat": repeat_from_aten, "tile": repeat_from_aten}

    def parse(self, f: Any) -> RepeatAttrs:
        return RepeatAttrs(_repeat_entries(f))

    def infer_shape(self, ins: Any, a: RepeatAttrs) -> Any:
        shape = (1,) * (len(a.repeats) - len(ins[0])) + tuple(ins[0])
        if len(a.repeats) < len(ins[0]):
            raise GraphError(f"repeats {list(a.repeats)} has fewer counts than the input "
                             f"{format_shape(ins[0])} has dims", field="repeats")
        return tuple(_size_with(k, d, ins, "repeats") for d, k in zip(shape, a.repeats))

    def torch(self, ins: Any, out: Any, a: RepeatAttrs) -> Any:
        lead = len(out) - len(ins[0])
        counts = [size // (ins[0][k - lead] if k >= lead else 1) for k, size in enumerate(out)]
        return lambda x, like=None: x.repeat(*counts)

    def example(self) -> Any:
        return ((1, 3, 4),), RepeatAttrs((2, 1, 3, 1))


# -- repeat_interleave --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepeatInterleaveAttrs:
    """Each element repeated ``repeats`` times in a row along ``dim`` ("dK": as many times as
    make dim K of the second operand)."""

    repeats: Union[int, str]
    dim: int


def repeat_interleave_from_aten(call: AtenCall) -> Node:
    """``aten.repeat_interleave.self_int`` along a dim (a tensor of counts, or no dim: not
    modelled)."""
    repeats, dim = call.arg("repeats"), call.arg("dim")
    if call.overload != "self_int" or dim is None:
        raise NotModelled("repeat_interleave by a tensor of counts, or of the flattened tensor")
    return _to_size_of(call, [repeats], Node({"repeats": int(repeats), "dim": int(dim)}))


@register_op
class RepeatInterleave(FreeTensorOp):
    """``x.repeat_interleave(repeats, dim)``: dim ``dim`` grows ``repeats`` times (to dim K of
    the second operand, for "dK")."""

    name = "repeat_interleave"
    Attrs = RepeatInterleaveAttrs
    arity = (1, 2)
    aten = {"repeat_interleave": repeat_interleave_from_aten}

    def parse(self, f: Any) -> RepeatInterleaveAttrs:
        return RepeatInterleaveAttrs(_one_entry(f), f.int("dim", **DIM))

    def infer_shape(self, ins: Any, a: RepeatInterleaveAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        grown = _size_with(a.repeats, shape[dim], ins, "repeats")
        return tuple(shape[:dim]) + (grown,) + tuple(shape[dim + 1:])

    def torch(self, ins: Any, out: Any, a: RepeatInterleaveAttrs) -> Any:
        dim = normalise_dim(a.dim, len(ins[0]))
        return lambda x, like=None: x.repeat_interleave(out[dim] // ins[0][dim], a.dim)

    def example(self) -> Any:
        return ((1, 3, 4),), RepeatInterleaveAttrs(2, 1)
