"""Token plumbing of vision transformers: a learned tensor (class token, relative-position
table), ``expand``, ``select`` (``x[:, 0]``, each part of ``unbind``), indexing with a buffer
(a relative-position table looked up by its index buffer) and ``roll`` (Swin's shifted windows).

None of them computes anything a counter counts: fvcore 0.1.5 skips ``aten::expand``,
``select``, ``unbind``, ``index``, ``gather`` and ``roll`` silently, and FlopCounterMode has no
formula for them. A learned tensor counts its elements as parameters.
"""

import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..errors import GraphError
from .aten import (CONSTANT, PREVIOUS, Alias, AtenCall, Node, NotModelled, Parts, Tensor,
                   follows_input, same_size)
from .registry import format_shape, register_op, sizes_differ
from .shape import normalise_dim
from ..limits import MAX_DIM_SIZE, MAX_LIKES, MAX_RANK
from .tensor import (DIM, Concat, ConcatAttrs, FreeTensorOp, ReshapeEntry,
                     Slice, SliceAttrs, resolve_entry, size_entries)


# -- import helpers ---------------------------------------------------------------------------------
def on_operand(call: AtenCall, tensor: Any, node: Node) -> Node:
    """``node`` applied to ``tensor``; one computed without the input (Swin v2's
    ``logit_scale.clamp(max=...).exp()``, a table looked up by its index) is read as the spec
    node the importer writes for it (:meth:`~netcalc.ops.aten.AtenCall.materialise`)."""
    if not isinstance(tensor, Tensor):
        raise NotModelled(f"{call.op} of a non-tensor")
    return Node(node.attrs, inputs=(call.materialise(tensor),), op=node.op, fixed=node.fixed)


def expand_from_aten(call: AtenCall) -> Any:
    """``aten.expand``: -1 or an unchanged size keeps a dim; a size that follows the input is
    "dK" of the operand, or else of an earlier data tensor of the whole new shape (timm's
    ``rms.expand(x.shape)``: the second operand); other growth by such a size fits one
    resolution only."""
    source = call.named.get("self")
    shape = tuple(source.shape)
    if len(call.out) == len(shape) and all(map(same_size, call.out, shape)):
        return Alias(call.materialise(source))
    entries, fixed = _expand_entries(call.out, shape, shape)
    like = call.tensor_with(tuple(call.out)) if fixed else None
    if like is None:
        return on_operand(call, source, Node({"shape": entries}, op="expand", fixed=fixed))
    entries, _ = _expand_entries(call.out, shape, like.shape)
    return Node({"shape": entries}, inputs=(call.materialise(source), like), op="expand")


def _expand_entries(out: Any, shape: Any, dims_of: Any) -> Tuple[list, str]:
    """The expand's ``shape`` from ``shape`` to ``out``, "dK" naming dims of ``dims_of``, and
    why it fits one resolution only ("" where it fits every one)."""
    new = len(out) - len(shape)
    entries, fixed = [], ""
    for k, size in enumerate(out):
        old = shape[k - new] if k >= new else None
        if old is not None and same_size(size, old):
            entries.append(-1)
        elif follows_input(size):
            same = [j for j, d in enumerate(dims_of) if same_size(d, size)]
            entries.append(f"d{same[0]}" if same else int(size))
            fixed = fixed or ("" if same else f"it grows to {int(size)}, which follows the input")
        else:
            entries.append(int(size))
    return entries, fixed


def constant_node(tensor: Tensor, like: Tensor, op: str = "constant") -> Node:
    """A ``constant`` node standing for a buffer or a tensor built in forward (Swin's shifted-
    window mask), read next to the data tensor ``like``: a size equal to one of ``like``'s dims
    is "dK" of it, so the node follows the resolution as the mask does. (``op="input"``:
    a further input of the model, shaped after the first in the same way.)"""
    entries, fixed = [], ""
    for size in tensor.shape:
        same_dims = [k for k, d in enumerate(like.shape) if same_size(d, size)]
        if follows_input(size) and same_dims:
            entries.append(f"d{same_dims[0]}")
        else:
            entries.append(int(size))
            if follows_input(size):
                fixed = fixed or f"its size {int(size)} follows the input by no dim of its operand"
    return Node({"shape": entries}, inputs=(like,), op=op, fixed=fixed)


def new_tensor_from_aten(call: AtenCall) -> Node:
    """``x.new_zeros(size)``, ``zeros_like(x)`` and kin: a constant shaped after ``x``."""
    return constant_node(Tensor(tuple(call.out), CONSTANT), call.first)


def kept_from_aten(call: AtenCall) -> Alias:
    """A free op that keeps its operand's shape, building a mask from sizes (Swin's
    ``fill_``, ``masked_fill``, ``!= 0``, ``== 0``): no node. fvcore 0.1.5 skips
    ``masked_fill`` and ``eq`` silently and reports ``fill_`` and ``ne`` as unsupported (0);
    FlopCounterMode counts none of them."""
    source = call.named.get("self")
    if not isinstance(source, Tensor) or not source.is_data:
        raise NotModelled(f"{call.op} of a tensor that is not computed from the input")
    if len(call.out) != len(source.shape) or not all(map(same_size, call.out, source.shape)):
        raise NotModelled(f"{call.op} that broadcasts its operand to another shape")
    return Alias(source)


def expand_as_from_aten(call: AtenCall) -> Node:
    """``x.expand_as(other)`` of two data tensors: every dim taken from ``other``."""
    source, like = call.named.get("self"), call.named.get("other")
    if not (source.is_data and like.is_data):
        raise NotModelled("expand_as of a tensor that is not computed from the input")
    return Node({"shape": [f"d{k}" for k in range(len(like.shape))]}, inputs=(source, like))


def index_from_aten(call: AtenCall) -> Any:
    """``aten.index`` with index tensors that are buffers or constants (a relative-position
    table looked up by its index), and ``index_select``. Several index tensors of one shape on
    adjacent dims of a tensor of fixed sizes (lambda_resnet26rpt's ``pos_emb[idx_h, idx_w]``)
    look up one element each: the dims they index are merged (a ``reshape``) and indexed once,
    which keeps the shape and costs the same (nothing)."""
    source = call.named.get("self")
    if call.op == "index_select":
        given = [(int(call.arg("dim")) % len(source.shape), call.named.get("index"))]
    else:
        given = [(k, t) for k, t in enumerate(call.arg("indices")) if t is not None]
    dim, index = given[0]
    if not all(isinstance(t, Tensor) and not t.is_data for _, t in given):
        raise NotModelled("indexing with an index computed from the input (a fixed index "
                          "buffer is modelled)")
    last = dim + len(given)
    if [k for k, _ in given] != list(range(dim, last)) or any(
            tuple(t.shape) != tuple(index.shape) for _, t in given):
        raise NotModelled("indexing with several index tensors on dims apart or of different "
                          "shapes (one shape, on adjacent dims, is modelled)")
    expected = tuple(source.shape[:dim]) + tuple(index.shape) + tuple(source.shape[last:])
    if len(expected) != len(call.out) or not all(map(same_size, expected, call.out)):
        raise NotModelled("indexing with a boolean mask (an integer index buffer is modelled)")
    merged = _merged(call, source, dim, last)
    # an index built in forward from the sizes (MViTv2's distances between the query and key
    # grids) takes its sizes from earlier tensors
    found = call.sizes_from_earlier(index.shape) or ([], [int(d) for d in index.shape])
    node = Node({"dim": dim, "index_shape": found[1]}, op="index",
                fixed="" if found[0] or not any(map(follows_input, index.shape)) else
                f"its index's sizes {[int(d) for d in index.shape]} follow the input")
    if merged is not None:
        return [merged, Node(node.attrs, inputs=(PREVIOUS, *found[0]), op="index",
                             fixed=node.fixed)]
    read = on_operand(call, source, node)
    return Node(read.attrs, inputs=(*read.inputs, *found[0]), op="index", fixed=node.fixed)


def _merged(call: AtenCall, source: Tensor, dim: int, last: int) -> Optional[Node]:
    """The ``reshape`` of ``source`` that merges dims ``dim`` to ``last - 1`` into one (None
    for one dim)."""
    if last - dim == 1:
        return None
    if not all(isinstance(d, int) for d in source.shape):
        raise NotModelled("indexing with several index tensors a tensor whose sizes follow "
                          "the input")
    shape = [*source.shape[:dim], math.prod(source.shape[dim:last]), *source.shape[last:]]
    return on_operand(call, source, Node({"shape": shape}, op="reshape"))


def roll_from_aten(call: AtenCall) -> Node:
    dims = [int(d) for d in call.arg("dims", ())]
    if not dims:
        raise NotModelled("roll of the flattened tensor (roll along dims is modelled)")
    return Node({"shifts": [int(s) for s in call.arg("shifts")], "dims": dims})


def unbind_from_aten(call: AtenCall) -> Parts:
    """``unbind(dim)``: one ``select`` per part."""
    dim = int(call.arg("dim", 0))
    return Parts(tuple(Node({"dim": dim, "index": i}) for i in range(len(call.outputs))))


# -- a learned tensor -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamAttrs:
    """The learned tensor's shape."""

    param_shape: Tuple[int, ...]


@register_op
class Param(FreeTensorOp):
    """A learned tensor of ``param_shape`` (ViT's class token, Swin's relative-position table).
    Its operand only places it in the graph: the output does not depend on it."""

    name = "param"
    Attrs = ParamAttrs

    def parse(self, f: Any) -> ParamAttrs:
        return ParamAttrs(f.int_list("param_shape", lo=1, hi=MAX_DIM_SIZE, min_len=0, max_len=8))

    def infer_shape(self, ins: Any, a: ParamAttrs) -> Any:
        return a.param_shape

    # attribute-shaped by right: the learned tensor has the shape the spec gives, which no
    # input shape determines (its operand only places it)
    params = {"pycls": lambda ins, out, a: math.prod(a.param_shape)}

    def torch(self, ins: Any, out: Any, a: ParamAttrs) -> Any:
        from ..torch.tensor_modules import LearnedTensor

        return LearnedTensor(a.param_shape)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ParamAttrs((1, 1, 8))


# -- concatenation with a learned tensor ----------------------------------------------------------
@dataclass(frozen=True)
class ParamConcatAttrs:
    """The learned tensor's shape, the dim joined along, and its place among the operands."""

    param_shape: Tuple[int, ...]
    dim: int = 1
    index: int = 0


@register_op
class ParamConcat(Concat):
    """``torch.cat`` of the operands with a learned tensor put at place ``index`` (ViT's
    ``cat([class_token, tokens], dim=1)``); params = its elements."""

    name = "param_concat"
    Attrs = ParamConcatAttrs
    aten: dict = {}         # aten.cat is concat's; its converter emits this op

    def parse(self, f: Any) -> ParamConcatAttrs:
        return ParamConcatAttrs(f.int_list("param_shape", lo=1, hi=MAX_DIM_SIZE, min_len=1, max_len=8),
                                f.int("dim", 1, **DIM), f.int("index", 0, lo=0, hi=MAX_RANK))

    @staticmethod
    def _operands(ins: Any, a: ParamConcatAttrs) -> list:
        if a.index > len(ins):
            raise GraphError(f"index {a.index} is past the {len(ins)} operands", field="index")
        return [*ins[:a.index], a.param_shape, *ins[a.index:]]

    def infer_shape(self, ins: Any, a: ParamConcatAttrs) -> Any:
        return super().infer_shape(self._operands(ins, a), ConcatAttrs(a.dim))

    def conditions(self, ins: Any, out: Any, a: ParamConcatAttrs) -> Any:
        return super().conditions(self._operands(ins, a), out, ConcatAttrs(a.dim))

    # attribute-shaped by right: the learned tensor has the shape the spec gives (the module
    # built holds exactly that); its size along dim is its own, conditions tie the rest
    params = {"pycls": lambda ins, out, a: math.prod(a.param_shape)}

    def torch(self, ins: Any, out: Any, a: ParamConcatAttrs) -> Any:
        from ..torch.tensor_modules import ParamConcat as ParamConcatModule

        return ParamConcatModule(a.param_shape, a.dim, a.index)

    def example(self) -> Any:
        return ((1, 5, 8),), ParamConcatAttrs((1, 1, 8), 1, 0)


# -- a constant tensor -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConstantAttrs:
    """The constant's shape: ints and "dK" (dim K of the operand)."""

    shape: Tuple[ReshapeEntry, ...]


@register_op
class Constant(FreeTensorOp):
    """A tensor that is neither learned nor computed from the input's values: a buffer, or a
    mask built in forward from sizes only (Swin's shifted-window attention mask). Its operand
    gives the sizes "dK" refers to; no parameters."""

    name = "constant"
    Attrs = ConstantAttrs
    aten = {**{packet: new_tensor_from_aten for packet in (
        "new_zeros", "new_ones", "new_empty", "new_full", "zeros_like", "ones_like",
        "empty_like", "full_like")},
        **{packet: kept_from_aten for packet in ("fill_", "masked_fill", "eq", "ne")}}

    def parse(self, f: Any) -> ConstantAttrs:
        shape = size_entries(f, "shape", min_len=0)      # []: a 0-d buffer (a scalar bound)
        if -1 in shape:
            raise f.error("shape", "-1 has no meaning for a constant: give the size or 'dK'")
        return ConstantAttrs(tuple(shape))

    def infer_shape(self, ins: Any, a: ConstantAttrs) -> Any:
        return tuple(resolve_entry(entry, ins[0]) for entry in a.shape)

    def torch(self, ins: Any, out: Any, a: ConstantAttrs) -> Any:
        return lambda x: x.new_zeros(out)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ConstantAttrs((1, "d1", 1, 6))


@register_op
class FurtherInput(Constant):
    """A further input of the network (a mask, a second image, a conditioning vector), read
    next to the network input: "dK" is dim K of its operand, so a mask of the image's size
    follows ``--resolution`` as the image does. Like a constant, it costs nothing itself."""

    name = "input"
    aten: dict = {}         # a placeholder of the captured graph: the importer writes it

    def example(self) -> Any:
        return ((1, 3, 5, 6),), ConstantAttrs((1, 1, "d2", "d3"))


# -- expand -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpandAttrs:
    """``x.expand(*shape)``: -1 keeps a dim, "dK" is dim K of the second operand (or of x)."""

    shape: Tuple[ReshapeEntry, ...]


@register_op
class Expand(FreeTensorOp):
    """``x.expand(*shape)``; with a second operand ``like``, "dK" takes its dim K (ViT's
    ``class_token.expand(n, -1, -1)`` with n the batch of the tokens)."""

    name = "expand"
    Attrs = ExpandAttrs
    arity = (1, 2)
    aten = {"expand": expand_from_aten, "expand_as": expand_as_from_aten}

    def parse(self, f: Any) -> ExpandAttrs:
        return ExpandAttrs(tuple(size_entries(f, "shape")))

    def infer_shape(self, ins: Any, a: ExpandAttrs) -> Any:
        shape = ins[0]
        sizes = [resolve_entry(entry, ins[-1]) for entry in a.shape]
        new = len(sizes) - len(shape)
        if new < 0:
            raise GraphError(f"shape {list(a.shape)} has fewer dims than the input "
                             f"{format_shape(shape)}", field="shape")
        if -1 in sizes[:new]:
            raise GraphError(f"shape {list(a.shape)}: -1 cannot stand for a new leading dim",
                             field="shape")
        out = list(sizes[:new])
        for size, old in zip(sizes[new:], shape):
            if size == -1 or size == old:
                out.append(old)
            elif old == 1 or not sizes_differ(size, old):
                out.append(size)
            else:
                raise GraphError(f"cannot expand {format_shape(shape)} to {list(a.shape)}: "
                                 f"only a dim of size 1 grows", field="shape")
        return tuple(out)

    def conditions(self, ins: Any, out: Any, a: ExpandAttrs) -> Any:
        shape = ins[0]
        kept = out[len(out) - len(shape):]
        return tuple((old, size) for old, size in zip(shape, kept) if old != 1 and old != size)

    def torch(self, ins: Any, out: Any, a: ExpandAttrs) -> Any:
        return lambda x, like=None: x.expand(*out)

    def example(self) -> Any:
        return ((1, 1, 8), (1, 5, 8)), ExpandAttrs(("d0", -1, -1))


# -- select -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectAttrs:
    """``x.select(dim, index)``: the dim is dropped."""

    dim: int
    index: int


def _as_slice(a: SelectAttrs) -> SliceAttrs:
    return SliceAttrs(a.dim, a.index, None if a.index == -1 else a.index + 1)


@register_op
class Select(FreeTensorOp):
    """``x[:, i]``, ``x.select(dim, i)``, and each part of ``x.unbind(dim)``: the slice
    ``[i:i+1]`` along ``dim`` with that dim dropped."""

    name = "select"
    Attrs = SelectAttrs
    aten = {"unbind": unbind_from_aten}      # aten.select itself is slice's (a slice, a reshape)

    def parse(self, f: Any) -> SelectAttrs:
        return SelectAttrs(f.int("dim", **DIM), f.int("index", lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE))

    def infer_shape(self, ins: Any, a: SelectAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        if len(shape) < 2:
            raise GraphError(f"selecting from {format_shape(shape)} leaves no batch dim",
                             field="dim")
        try:
            Slice().infer_shape(ins, _as_slice(a))
        except GraphError:
            raise GraphError(f"index {a.index} lies outside dim {a.dim} of "
                             f"{format_shape(shape)}", field="index") from None
        return tuple(shape[:dim]) + tuple(shape[dim + 1:])

    def conditions(self, ins: Any, out: Any, a: SelectAttrs) -> Any:
        return Slice().conditions(ins, out, _as_slice(a))

    def torch(self, ins: Any, out: Any, a: SelectAttrs) -> Any:
        return lambda x: x.select(a.dim, a.index)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), SelectAttrs(1, -1)


# -- index with a buffer ----------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexAttrs:
    """``x[..., idx]`` along ``dim`` with an integer buffer ``idx`` of ``index_shape`` (ints,
    and "dK": dim K of the further operands' shapes laid end to end)."""

    dim: int
    index_shape: Tuple[ReshapeEntry, ...]


@register_op
class Index(FreeTensorOp):
    """``x[idx]`` along ``dim`` with an integer index buffer of ``index_shape`` (its values do
    not change any count): dim ``dim`` becomes ``index_shape`` (Swin's
    ``relative_position_bias_table[relative_position_index]``)."""

    name = "index"
    Attrs = IndexAttrs
    arity = (1, 1 + MAX_LIKES)      # further operands: the tensors whose dims "dK" names
    aten = {"index": index_from_aten, "index_select": index_from_aten}

    def parse(self, f: Any) -> IndexAttrs:
        entries = size_entries(f, "index_shape")
        if -1 in entries:
            raise f.error("index_shape", "-1 has no meaning for an index: give the size or 'dK'")
        return IndexAttrs(f.int("dim", 0, **DIM), tuple(entries))

    def infer_shape(self, ins: Any, a: IndexAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        out = tuple(shape[:dim]) + _index_shape(ins, a) + tuple(shape[dim + 1:])
        if len(out) > MAX_RANK:
            raise GraphError(f"gives {len(out)} dims, more than {MAX_RANK}", field="index_shape")
        return out

    def torch(self, ins: Any, out: Any, a: IndexAttrs) -> Any:
        from ..torch.tensor_modules import IndexWithBuffer

        dim = normalise_dim(a.dim, len(ins[0]))
        if len(ins) == 1:
            return IndexWithBuffer(dim, a.index_shape)
        return IndexWithBuffer(dim, sized=lambda shapes: _index_shape(shapes, a))

    def example(self) -> Any:
        return ((9, 3),), IndexAttrs(0, (4, 4))


def _index_shape(ins: Any, a: IndexAttrs) -> Tuple[Any, ...]:
    """The index's shape, "dK" read from the further operands' dims laid end to end."""
    if len(ins) == 1 and any(isinstance(entry, str) for entry in a.index_shape):
        raise GraphError("'dK' names a dim of a further operand, and the node has none",
                         field="index_shape")
    dims = tuple(d for shape in ins[1:] for d in shape)
    return tuple(resolve_entry(entry, dims, "index_shape") for entry in a.index_shape)


# -- roll -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RollAttrs:
    """``torch.roll(x, shifts, dims)``."""

    shifts: Tuple[int, ...]
    dims: Tuple[int, ...]


@register_op
class Roll(FreeTensorOp):
    name = "roll"
    Attrs = RollAttrs
    aten = {"roll": roll_from_aten}

    def parse(self, f: Any) -> RollAttrs:
        shifts = f.int_list("shifts", lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE, min_len=1, max_len=MAX_RANK)
        dims = f.int_list("dims", lo=-MAX_RANK, hi=MAX_RANK - 1, min_len=1, max_len=MAX_RANK)
        if len(shifts) != len(dims):
            raise f.error("dims", f"has {len(dims)} entries, shifts {len(shifts)}")
        return RollAttrs(shifts, dims)

    def infer_shape(self, ins: Any, a: RollAttrs) -> Any:
        for d in a.dims:
            normalise_dim(d, len(ins[0]), "dims")
        return ins[0]

    def torch(self, ins: Any, out: Any, a: RollAttrs) -> Any:
        import torch

        return lambda x: torch.roll(x, a.shifts, a.dims)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), RollAttrs((-2, 3), (1, 2))

