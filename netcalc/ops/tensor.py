"""Ops that move data without arithmetic: concat, slice, reshape, permute, transpose, channel
shuffle and zero padding. Free in every convention.

fvcore 0.1.5 skips ``aten::cat``, ``slice``, ``narrow``, ``split_with_sizes``, ``chunk``,
``reshape``, ``view``, ``permute`` and ``transpose`` silently; ``aten::channel_shuffle`` and
``aten::pad`` it reports as unsupported and counts 0. FlopCounterMode counts none of them.
"""

import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

from ..errors import GraphError
from ..limits import MAX_DIM_SIZE, MAX_RANK
from .registry import OpDef, format_shape, is_concrete, register_op, zero
from .shape import DIM, normalise_dim



class FreeTensorOp(OpDef):
    """Costs nothing under any convention; a subclass defines its shapes and module."""

    params = staticmethod(zero)
    flops = {"pycls": zero}
    acts = {"pycls": zero}


def _unequal(x: Any, y: Any) -> bool:
    """Sizes that differ for sure (both concrete); symbolic ones become closed-form conditions."""
    return is_concrete(x) and is_concrete(y) and x != y


# -- concat -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConcatAttrs:
    """The dim along which inputs are joined."""

    dim: int = 1


@register_op
class Concat(FreeTensorOp):
    name = "concat"
    Attrs = ConcatAttrs
    arity = (1, None)

    def parse(self, f: Any) -> ConcatAttrs:
        return ConcatAttrs(f.int("dim", 1, **DIM))

    def infer_shape(self, ins: Any, a: ConcatAttrs) -> Any:
        first = ins[0]
        dim = normalise_dim(a.dim, len(first))
        for i, shape in enumerate(ins[1:], 1):
            if len(shape) != len(first) or any(
                    _unequal(x, y) for k, (x, y) in enumerate(zip(first, shape)) if k != dim):
                raise GraphError(f"inputs[{i}] has shape {format_shape(shape)}, which does not "
                                 f"match {format_shape(first)} outside dim {a.dim}",
                                 field="inputs")
        total = sum(shape[dim] for shape in ins)
        return tuple(first[:dim]) + (total,) + tuple(first[dim + 1:])

    def conditions(self, ins: Any, out: Any, a: ConcatAttrs) -> Any:
        dim = normalise_dim(a.dim, len(ins[0]))
        return tuple((x, y) for shape in ins[1:] for k, (x, y) in enumerate(zip(ins[0], shape))
                     if k != dim and x != y)

    def torch(self, ins: Any, out: Any, a: ConcatAttrs) -> Any:
        import torch

        return lambda *xs: torch.cat(xs, a.dim)

    def example(self) -> Any:
        return ((1, 4, 5, 6), (1, 3, 5, 6), (1, 1, 5, 6)), ConcatAttrs(1)


# -- slice ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SliceAttrs:
    """One dim and Python slice bounds along it."""

    dim: int
    start: Optional[int] = None
    stop: Optional[int] = None


@register_op
class Slice(FreeTensorOp):
    """``x[..., start:stop]`` along ``dim`` (step 1): getitem, narrow, and each part of a split.

    Unlike Python, a bound beyond the dim is an error rather than clamped, so that the size stays
    one expression of the input size (closed forms) and a typo cannot slice nothing.
    """

    name = "slice"
    Attrs = SliceAttrs

    def parse(self, f: Any) -> SliceAttrs:
        return SliceAttrs(f.int("dim", **DIM), f.int("start", None, lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE),
                          f.int("stop", None, lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE))

    def infer_shape(self, ins: Any, a: SliceAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        size = shape[dim]
        start, stop = _span(size, a)
        problem = _slice_problem(size, a) if is_concrete(size) else None
        if problem is None and is_concrete(stop - start) and stop - start < 1:
            problem = "stop", f"[{a.start}:{a.stop}] of dim {a.dim} is empty"
        if problem is not None:
            raise GraphError(problem[1], field=problem[0])
        return tuple(shape[:dim]) + (stop - start,) + tuple(shape[dim + 1:])

    def conditions(self, ins: Any, out: Any, a: SliceAttrs) -> Any:
        """A slice of a resolution-dependent dim needs that dim at least as long as its bounds:
        stated as ``min(size, least) == least`` for the closed forms' domain."""
        size = ins[0][normalise_dim(a.dim, len(ins[0]))]
        if is_concrete(size):
            return ()
        reach = abs(a.start or 0) + abs(a.stop or 0) + 2
        least = next((n for n in range(1, reach) if _slice_problem(n, a) is None), 1)
        if least == 1:
            return ()
        import sympy    # only closed forms have symbolic sizes

        return ((sympy.Min(size, least), least),)

    def torch(self, ins: Any, out: Any, a: SliceAttrs) -> Any:
        index = (slice(None),) * normalise_dim(a.dim, len(ins[0])) + (slice(a.start, a.stop),)
        return lambda x: x[index]

    def example(self) -> Any:
        return ((1, 4, 5, 6),), SliceAttrs(-1, 1, -2)


def _bound(value: Optional[int], default: Any, size: Any) -> Any:
    if value is None:
        return default
    return value if value >= 0 else size + value


def _span(size: Any, a: SliceAttrs) -> Tuple[Any, Any]:
    """(start, stop) in a dim of ``size``, negative bounds counted from its end."""
    return _bound(a.start, 0, size), _bound(a.stop, size, size)


def _slice_problem(size: int, a: SliceAttrs) -> Optional[Tuple[str, str]]:
    """(field, message) of why the slice does not fit a dim of concrete ``size``, or None."""
    start, stop = _span(size, a)
    for key, value, bound in (("start", a.start, start), ("stop", a.stop, stop)):
        if value is not None and not 0 <= bound <= size:
            return key, f"{key} {value} lies outside dim {a.dim} of size {size}"
    if stop - start < 1:
        return "stop", f"[{a.start}:{a.stop}] of dim {a.dim} (size {size}) is empty"
    return None


# -- reshape ----------------------------------------------------------------------------------------
ReshapeEntry = Union[int, str]


@dataclass(frozen=True)
class ReshapeAttrs:
    """The new shape: ints, at most one -1, and "dK" (dim K of the input)."""

    shape: Tuple[ReshapeEntry, ...]     # ints (-1 at most once) and "dK": dim K of the input


@register_op
class Reshape(FreeTensorOp):
    name = "reshape"
    Attrs = ReshapeAttrs

    def parse(self, f: Any) -> ReshapeAttrs:
        entries = f.list("shape", min_len=1, max_len=MAX_RANK)
        for i, entry in enumerate(entries):
            if isinstance(entry, str):
                if not (entry[:1] == "d" and entry[1:].isdigit() and len(entry) <= 3):
                    raise f.error(f"shape[{i}]", f"{entry!r} is not an int or 'dK' (dim K of the "
                                                 "input)")
            elif isinstance(entry, bool) or not isinstance(entry, int) or not (
                    entry == -1 or 1 <= entry <= MAX_DIM_SIZE):
                raise f.error(f"shape[{i}]", f"{entry!r} is not -1, a size 1..{MAX_DIM_SIZE} or "
                                             "'dK'")
        if entries.count(-1) > 1:
            raise f.error("shape", "holds -1 more than once")
        return ReshapeAttrs(tuple(entries))

    def infer_shape(self, ins: Any, a: ReshapeAttrs) -> Any:
        shape = ins[0]
        dims = []
        for entry in a.shape:
            if isinstance(entry, str):
                k = int(entry[1:])
                if k >= len(shape):
                    raise GraphError(f"{entry!r} names dim {k} of a rank-{len(shape)} input",
                                     field="shape")
                entry = shape[k]
            dims.append(entry)
        total = math.prod(shape)
        known = math.prod(d for d in dims if not (is_concrete(d) and d == -1))
        if -1 in dims:
            if is_concrete(total) and is_concrete(known) and total % known:
                raise GraphError(f"{format_shape(shape)} does not split into "
                                 f"{format_shape(a.shape)}", field="shape")
            dims[dims.index(-1)] = total // known
        elif _unequal(total, known):
            raise GraphError(f"{format_shape(a.shape)} holds {known} elements, the input "
                             f"{format_shape(shape)} {total}", field="shape")
        return tuple(dims)

    def conditions(self, ins: Any, out: Any, a: ReshapeAttrs) -> Any:
        total, new = math.prod(ins[0]), math.prod(out)
        return () if total == new else ((total, new),)

    def torch(self, ins: Any, out: Any, a: ReshapeAttrs) -> Any:
        return lambda x: x.reshape([x.shape[int(e[1:])] if isinstance(e, str) else e
                                    for e in a.shape])

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ReshapeAttrs(("d0", 2, -1, "d3"))


# -- permute, transpose -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PermuteAttrs:
    """The input dim that each output dim takes."""

    dims: Tuple[int, ...]


@register_op
class Permute(FreeTensorOp):
    name = "permute"
    Attrs = PermuteAttrs

    def parse(self, f: Any) -> PermuteAttrs:
        return PermuteAttrs(f.int_list("dims", lo=-MAX_RANK, hi=MAX_RANK - 1, min_len=1,
                                       max_len=MAX_RANK))

    def infer_shape(self, ins: Any, a: PermuteAttrs) -> Any:
        shape = ins[0]
        if len(a.dims) != len(shape):
            raise GraphError(f"dims {list(a.dims)} do not match a rank-{len(shape)} input",
                             field="dims")
        order = [normalise_dim(d, len(shape), "dims") for d in a.dims]
        if sorted(order) != list(range(len(shape))):
            raise GraphError(f"dims {list(a.dims)} is not a permutation", field="dims")
        return tuple(shape[d] for d in order)

    def torch(self, ins: Any, out: Any, a: PermuteAttrs) -> Any:
        return lambda x: x.permute(*a.dims)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), PermuteAttrs((0, 2, 3, 1))


@dataclass(frozen=True)
class TransposeAttrs:
    """The two dims swapped."""

    dim0: int
    dim1: int


@register_op
class Transpose(FreeTensorOp):
    name = "transpose"
    Attrs = TransposeAttrs

    def parse(self, f: Any) -> TransposeAttrs:
        return TransposeAttrs(f.int("dim0", **DIM), f.int("dim1", **DIM))

    def infer_shape(self, ins: Any, a: TransposeAttrs) -> Any:
        shape = list(ins[0])
        i = normalise_dim(a.dim0, len(shape), "dim0")
        j = normalise_dim(a.dim1, len(shape), "dim1")
        shape[i], shape[j] = shape[j], shape[i]
        return tuple(shape)

    def torch(self, ins: Any, out: Any, a: TransposeAttrs) -> Any:
        return lambda x: x.transpose(a.dim0, a.dim1)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), TransposeAttrs(1, -1)


# -- channel shuffle ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelShuffleAttrs:
    """The number of channel groups interleaved."""

    groups: int


@register_op
class ChannelShuffle(FreeTensorOp):
    """ShuffleNet's channel shuffle (``nn.ChannelShuffle``) on a (N, C, H, W) map."""

    name = "channel_shuffle"
    Attrs = ChannelShuffleAttrs

    def parse(self, f: Any) -> ChannelShuffleAttrs:
        return ChannelShuffleAttrs(f.int("groups", lo=1, hi=MAX_DIM_SIZE))

    def infer_shape(self, ins: Any, a: ChannelShuffleAttrs) -> Any:
        shape = ins[0]
        if len(shape) != 4:
            raise GraphError(f"needs a (N, C, H, W) input, got {format_shape(shape)}",
                             field="input")
        if is_concrete(shape[1]) and shape[1] % a.groups:
            raise GraphError(f"groups {a.groups} does not divide {shape[1]} channels",
                             field="groups")
        return shape

    def torch(self, ins: Any, out: Any, a: ChannelShuffleAttrs) -> Any:
        from torch import nn

        return nn.ChannelShuffle(a.groups)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ChannelShuffleAttrs(2)


# -- pad ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PadAttrs:
    """F.pad's amounts, last dim first, and the fill value."""

    pad: Tuple[int, ...]            # F.pad order: (left, right) of the last dim first
    value: float = 0.0


@register_op
class Pad(FreeTensorOp):
    name = "pad"
    Attrs = PadAttrs

    def parse(self, f: Any) -> PadAttrs:
        pad = f.int_list("pad", lo=0, hi=MAX_DIM_SIZE, min_len=2, max_len=2 * MAX_RANK)
        if len(pad) % 2:
            raise f.error("pad", f"needs pairs (before, after) per dim, got {len(pad)} entries")
        return PadAttrs(pad, f.float("value", 0.0, lo=-1e30, hi=1e30))

    def infer_shape(self, ins: Any, a: PadAttrs) -> Any:
        shape = list(ins[0])
        if len(a.pad) // 2 > len(shape):
            raise GraphError(f"pads {len(a.pad) // 2} dims of a rank-{len(shape)} input",
                             field="pad")
        for i in range(len(a.pad) // 2):
            shape[-1 - i] = shape[-1 - i] + (a.pad[2 * i] + a.pad[2 * i + 1])
        return tuple(shape)

    def torch(self, ins: Any, out: Any, a: PadAttrs) -> Any:
        import torch.nn.functional as F

        return lambda x: F.pad(x, a.pad, value=a.value)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), PadAttrs((1, 2, 0, 3))

