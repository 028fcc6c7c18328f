"""Token plumbing of vision transformers: a learned tensor (class token, relative-position
table), ``expand``, ``select`` (``x[:, 0]``, each part of ``unbind``), indexing with a buffer
(a relative-position table looked up by its index buffer) and ``roll`` (Swin's shifted windows).

None of them computes anything a counter counts: fvcore 0.1.5 skips ``aten::expand``,
``select``, ``unbind``, ``index``, ``gather`` and ``roll`` silently, and FlopCounterMode has no
formula for them. A learned tensor counts its elements as parameters.
"""

import math
from dataclasses import dataclass
from typing import Any, Tuple

from ..errors import GraphError
from .registry import format_shape, register_op, sizes_differ
from .shape import normalise_dim
from .tensor import (DIM, MAX_DIM, MAX_SIZE, FreeTensorOp, ReshapeEntry, Slice, SliceAttrs,
                     resolve_entry, size_entries)


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
        return ParamAttrs(f.int_list("param_shape", lo=1, hi=MAX_SIZE, min_len=1, max_len=8))

    def infer_shape(self, ins: Any, a: ParamAttrs) -> Any:
        return a.param_shape

    params = staticmethod(lambda ins, out, a: math.prod(a.param_shape))

    def torch(self, ins: Any, out: Any, a: ParamAttrs) -> Any:
        from ..torch.tensor_modules import LearnedTensor

        return LearnedTensor(a.param_shape)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ParamAttrs((1, 1, 8))


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

    def parse(self, f: Any) -> SelectAttrs:
        return SelectAttrs(f.int("dim", **DIM), f.int("index", lo=-MAX_SIZE, hi=MAX_SIZE))

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
    """``x[..., idx]`` along ``dim`` with an integer buffer ``idx`` of ``index_shape``."""

    dim: int
    index_shape: Tuple[int, ...]


@register_op
class Index(FreeTensorOp):
    """``x[idx]`` along ``dim`` with an integer index buffer of ``index_shape`` (its values do
    not change any count): dim ``dim`` becomes ``index_shape`` (Swin's
    ``relative_position_bias_table[relative_position_index]``)."""

    name = "index"
    Attrs = IndexAttrs

    def parse(self, f: Any) -> IndexAttrs:
        return IndexAttrs(f.int("dim", 0, **DIM),
                          f.int_list("index_shape", lo=1, hi=MAX_SIZE, min_len=1, max_len=8))

    def infer_shape(self, ins: Any, a: IndexAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        out = tuple(shape[:dim]) + a.index_shape + tuple(shape[dim + 1:])
        if len(out) > MAX_DIM:
            raise GraphError(f"gives {len(out)} dims, more than {MAX_DIM}", field="index_shape")
        return out

    def torch(self, ins: Any, out: Any, a: IndexAttrs) -> Any:
        from ..torch.tensor_modules import IndexWithBuffer

        return IndexWithBuffer(normalise_dim(a.dim, len(ins[0])), a.index_shape)

    def example(self) -> Any:
        return ((9, 3),), IndexAttrs(0, (4, 4))


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

    def parse(self, f: Any) -> RollAttrs:
        shifts = f.int_list("shifts", lo=-MAX_SIZE, hi=MAX_SIZE, min_len=1, max_len=MAX_DIM)
        dims = f.int_list("dims", lo=-MAX_DIM, hi=MAX_DIM - 1, min_len=1, max_len=MAX_DIM)
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

