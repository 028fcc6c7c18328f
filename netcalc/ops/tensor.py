"""Ops that move data without arithmetic: concat, slice, reshape, permute, transpose and channel
shuffle (padding: :mod:`netcalc.ops.pad`). Free in every convention.

fvcore 0.1.5 skips ``aten::cat``, ``slice``, ``narrow``, ``split_with_sizes``, ``chunk``,
``reshape``, ``view``, ``permute`` and ``transpose`` silently; ``aten::channel_shuffle`` it
reports as unsupported and counts 0. FlopCounterMode counts none of them.
"""

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

from ..errors import GraphError
from ..limits import MAX_DIM_SIZE, MAX_LIKES, MAX_RANK
from .aten import (Alias, AtenCall, Node, NotModelled, Parts, entries_over, follows_input,
                   offset_between, reshape_target, same_size)
from .registry import OpDef, format_shape, is_concrete, register_op, sizes_differ, zero
from .shape import DIM, normalise_dim



class FreeTensorOp(OpDef):
    """Costs nothing under any convention; a subclass defines its shapes and module."""

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}


_unequal = sizes_differ


# -- concat -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConcatAttrs:
    """The dim along which inputs are joined."""

    dim: int = 1


def concat_from_aten(call: AtenCall) -> Any:
    """``aten.cat`` of data tensors; with learned operands side by side (ViT's class token,
    DINOv3's class and register tokens), a ``param_concat`` of them joined as one learned tensor
    (netcalc/ops/tokens.py): its params are theirs."""
    # an empty operand adds nothing (Qwen3-ViT joins its 0 prefix tokens to the rest)
    tensors = tuple(t for t in call.arg("tensors") if all(int(d) for d in t.shape))
    if len(tensors) == 1:
        return Alias(call.materialise(tensors[0]))
    dim = int(call.arg("dim", 0))
    learned = [i for i, t in enumerate(tensors) if t.is_param]
    data = tuple(t for t in tensors if t.is_data)
    side_by_side = learned and learned == list(range(learned[0], learned[0] + len(learned))) \
        and len({tensors[i].name for i in learned}) == len(learned)     # each one once
    if side_by_side and data and len(data) + len(learned) == len(tensors):
        shape = [int(d) for d in tensors[learned[0]].shape]
        shape[dim] = sum(int(tensors[i].shape[dim]) for i in learned)
        return Node({"param_shape": shape, "dim": dim, "index": learned[0]}, inputs=data,
                    op="param_concat")
    # any other operand computed without the input (BEiT's zero k bias between the learned q
    # and v biases) is written as the nodes computing it
    return Node({} if dim == 1 else {"dim": dim},
                inputs=tuple(call.materialise(t) for t in tensors))


@register_op
class Concat(FreeTensorOp):
    name = "concat"
    Attrs = ConcatAttrs
    arity = (1, None)
    aten = {"cat": concat_from_aten, "concat": concat_from_aten, "concatenate": concat_from_aten}

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
    """One dim and Python slice bounds along it; a ``stop`` of ``"dK"`` is dim K of a second
    operand (LowFormer crops its upsampled map back with ``o[..., :H, :W]``, H and W an
    earlier map's)."""

    dim: int
    start: Optional[int] = None
    stop: Optional[Union[int, str]] = None
    step: int = 1                   # Swin's patch merging takes x[..., 0::2, 1::2, :]


OPEN_END = 1 << 62          # torch writes an omitted stop as the largest int64


def _spec_bound(value: Any, size: Any, omitted: int) -> Tuple[Optional[int], str]:
    """A slice bound as the spec writes it (None: omitted), and why it fits one resolution only
    ("" when it fits all): a bound that follows the size is counted from the end."""
    if value is None:
        return None, ""
    if follows_input(value):
        k = offset_between(value, size)
        if k is None or k > 0:
            return int(value), f"its bound {int(value)} follows the input by no rule"
        return (None if k == 0 else k), ""
    value = int(value)
    if value >= OPEN_END or (not follows_input(size) and value >= int(size) and omitted):
        return None, ""
    return (None if value == omitted == 0 else value), ""


def slice_node(dim: int, start: Any, stop: Any, size: Any, step: int = 1) -> Node:
    """The slice ``[start:stop:step]`` of ``dim`` (of ``size``) as a spec node."""
    first, why_start = _spec_bound(start, size, 0)
    last, why_stop = _spec_bound(stop, size, -1)
    attrs = {"dim": dim, **{k: v for k, v in (("start", first), ("stop", last)) if v is not None}}
    if step != 1:
        attrs["step"] = step
    return Node(attrs, op="slice", fixed=why_start or why_stop)


def slice_from_aten(call: AtenCall) -> Any:
    """``aten.slice`` (any positive step), ``narrow``, and ``select`` (a slice of one, then a
    reshape that drops the dim)."""
    source = call.first
    dim = int(call.arg("dim", 0)) % len(source.shape)
    size = source.shape[dim]
    if call.op == "slice":
        stop, step = call.arg("end"), int(call.arg("step", 1))
        found = call.sizes_from_earlier((stop,)) if _crops_to_another_size(stop, size) else None
        if found is not None:
            node = slice_node(dim, call.arg("start"), None, size, step)
            return Node({**node.attrs, "stop": found[1][0]}, (source, *found[0]), "slice",
                        node.fixed)
        return slice_node(dim, call.arg("start"), stop, size, step)
    if call.op == "narrow":
        start = call.arg("start")
        return slice_node(dim, start, int(start) + int(call.arg("length")), size)
    index = int(call.arg("index"))
    sliced = slice_node(dim, index, None if index == -1 else index + 1, size)
    kept = tuple(source.shape[:dim]) + (1,) + tuple(source.shape[dim + 1:])
    return [sliced, Node({"shape": reshape_target(kept, call.out)}, op="reshape")]


def _crops_to_another_size(stop: Any, size: Any) -> bool:
    """A stop that follows the input and is not the end of the dim it cuts: a size of another
    tensor (``o[..., :H]``, H the map's height before it was upsampled or padded), where an
    earlier tensor has it. Read before a constant offset from the end: at the probe sizes of
    a static capture a crop after padding to whole windows can be 5 short of the end at each
    (DaViT), and the map before the padding is what it crops to."""
    return follows_input(stop) and offset_between(stop, size) != 0


def parts_from_aten(call: AtenCall) -> Parts:
    """``chunk``, ``split``, ``split_with_sizes``: one slice per output (the whole tensor when
    one part is all of it)."""
    source = call.first
    dim = int(call.arg("dim", 0)) % len(source.shape)
    results, start = [], 0
    for shape in call.outputs:
        stop = start + int(shape[dim])
        if same_size(shape[dim], source.shape[dim]):
            results.append(Alias(source))
        else:
            part = slice_node(dim, start, stop, source.shape[dim])
            why = "it splits a dim that follows the input" if follows_input(shape[dim]) else ""
            results.append(Node(part.attrs, op="slice", fixed=why))
        start = stop
    return Parts(tuple(results))


@register_op
class Slice(FreeTensorOp):
    """``x[..., start:stop:step]`` along ``dim``: getitem, narrow, and each part of a split.

    Unlike Python, a bound beyond the dim is an error rather than clamped, so that the size stays
    one expression of the input size (closed forms) and a typo cannot slice nothing.
    """

    name = "slice"
    Attrs = SliceAttrs
    arity = (1, 2)      # a second operand: the tensor whose dim a "dK" stop names
    aten = {"slice": slice_from_aten, "narrow": slice_from_aten, "select": slice_from_aten,
            "chunk": parts_from_aten, "split": parts_from_aten, "split_with_sizes": parts_from_aten}

    def parse(self, f: Any) -> SliceAttrs:
        stop = f.value("stop", None)
        if not isinstance(stop, str):
            stop = f.int("stop", None, lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE)
        elif dim_entry(stop) is None or "/" in stop:
            raise f.error("stop", f"{stop[:40]!r} is not an int or 'dK' (dim K of the second "
                                  "operand)")
        return SliceAttrs(f.int("dim", **DIM), f.int("start", None, lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE),
                          stop, f.int("step", 1, lo=1, hi=MAX_DIM_SIZE))

    def infer_shape(self, ins: Any, a: SliceAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        size = shape[dim]
        if isinstance(a.stop, str):
            return _to_size_of(ins, a, dim)
        start, stop = _span(size, a)
        problem = _slice_problem(size, a) if is_concrete(size) else None
        if problem is None and is_concrete(stop - start) and stop - start < 1:
            problem = "stop", f"[{a.start}:{a.stop}] of dim {a.dim} is empty"
        if problem is not None:
            raise GraphError(problem[1], field=problem[0])
        taken = (stop - start + (a.step - 1)) // a.step if a.step != 1 else stop - start
        return tuple(shape[:dim]) + (taken,) + tuple(shape[dim + 1:])

    def conditions(self, ins: Any, out: Any, a: SliceAttrs) -> Any:
        """A slice of a resolution-dependent dim needs that dim at least as long as its bounds:
        stated as ``min(size, least) == least`` for the closed forms' domain (``least``: the
        other operand's dim, for a "dK" stop)."""
        size = ins[0][normalise_dim(a.dim, len(ins[0]))]
        if isinstance(a.stop, str):
            stop = resolve_entry(a.stop, ins[1], "stop")
            if is_concrete(size) and is_concrete(stop):
                return ()
            import sympy    # only closed forms have symbolic sizes

            return ((sympy.Min(size, stop), stop),)
        if is_concrete(size):
            return ()
        reach = abs(a.start or 0) + abs(a.stop or 0) + 2
        least = next((n for n in range(1, reach) if _slice_problem(n, a) is None), 1)
        if least == 1:
            return ()
        import sympy    # only closed forms have symbolic sizes

        return ((sympy.Min(size, least), least),)

    def torch(self, ins: Any, out: Any, a: SliceAttrs) -> Any:
        before = (slice(None),) * normalise_dim(a.dim, len(ins[0]))
        if isinstance(a.stop, str):
            return lambda x, like: x[before + (slice(a.start, resolve_entry(
                a.stop, like.shape), a.step),)]
        index = before + (slice(a.start, a.stop, a.step),)
        return lambda x: x[index]

    def example(self) -> Any:
        return ((1, 4, 5, 6),), SliceAttrs(-1, 1, -2)


def _to_size_of(ins: Any, a: SliceAttrs, dim: int) -> Any:
    """The shape of ``x[..., start:stop:step]`` whose stop is dim K of the second operand."""
    if len(ins) < 2:
        raise GraphError(f"stop {a.stop!r} names a dim of a second operand, and the node has "
                         "one operand", field="stop")
    shape, stop = ins[0], resolve_entry(a.stop, ins[1], "stop")
    start = _bound(a.start, 0, shape[dim])
    if is_concrete(shape[dim]) and is_concrete(stop) and not 0 <= start < stop <= shape[dim]:
        first = "" if a.start is None else a.start
        raise GraphError(f"[{first}:{a.stop}] of dim {a.dim} (size {shape[dim]}) with "
                         f"{a.stop} = {stop} is empty or beyond the dim", field="stop")
    taken = (stop - start + (a.step - 1)) // a.step
    return tuple(shape[:dim]) + (taken,) + tuple(shape[dim + 1:])


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


def size_entries(f: Any, key: str, min_len: int = 1) -> list:
    """A list of sizes: ints 1..MAX_DIM_SIZE, -1, "dK" (dim K of a shape the op names) and
    "dK/N" (that dim split in N parts, each a whole size)."""
    entries = f.list(key, min_len=min_len, max_len=MAX_RANK)
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            if dim_entry(entry) is None:
                raise f.error(f"{key}[{i}]", f"{entry!r} is not an int, 'dK' (dim K of the "
                                             "input) or 'dK/N' (dim K split in N)")
        elif isinstance(entry, bool) or not isinstance(entry, int) or not (
                entry == -1 or 1 <= entry <= MAX_DIM_SIZE):
            raise f.error(f"{key}[{i}]", f"{entry!r} is not -1, a size 1..{MAX_DIM_SIZE} or 'dK'")
    return entries


def dim_entry(entry: str) -> Optional[Tuple[int, int]]:
    """(K, N) of "dK" (N = 1) or "dK/N"; None for any other text."""
    dim, split, parts = entry.partition("/")
    if not (dim[:1] == "d" and dim[1:].isascii() and dim[1:].isdigit() and len(dim) <= 3):
        return None
    if split and not (parts.isascii() and parts.isdigit() and len(parts) <= 4
                      and int(parts) >= 2):
        return None
    return int(dim[1:]), int(parts) if split else 1


def resolve_entry(entry: ReshapeEntry, shape: Any, field: str = "shape") -> Any:
    """A size entry with "dK" replaced by dim K of ``shape`` ("dK/N": that dim split in N;
    a concrete dim that N does not divide is an error, as torch's view refuses it)."""
    if not isinstance(entry, str):
        return entry
    k, parts = dim_entry(entry)      # type: ignore[misc]  (parsed by size_entries)
    if k >= len(shape):
        raise GraphError(f"{entry!r} names dim {k} of a rank-{len(shape)} input", field=field)
    if parts == 1:
        return shape[k]
    if is_concrete(shape[k]) and shape[k] % parts:
        raise GraphError(f"{entry!r}: dim {k} is {shape[k]}, not a multiple of {parts}",
                         field=field)
    return shape[k] // parts


@dataclass(frozen=True)
class ReshapeAttrs:
    """The new shape: ints, at most one -1, and "dK" (dim K of the input, or of the further
    operands' shapes laid end to end when there are some)."""

    shape: Tuple[ReshapeEntry, ...]     # ints (-1 at most once) and "dK"


def reshape_from_aten(call: AtenCall) -> Any:
    """``view``, ``reshape``, ``unsqueeze``, ``squeeze``, ``reshape_as`` (LeViT's
    ``bn(x.flatten(0, 1)).reshape_as(x)``): the target shape as a rule of the
    input's (:func:`~netcalc.ops.aten.reshape_target`); the same shape is no node."""
    if call.overload == "dtype":
        raise NotModelled("view as another dtype")
    source, out = call.first, call.out
    if len(out) == len(source.shape) and all(map(same_size, out, source.shape)):
        return Alias(source)
    target = reshape_target(source.shape, out)
    if target is not None:
        return Node({"shape": target})
    like = _sized_like(call, out)
    if like is not None:
        return like
    return Node({"shape": [int(d) for d in out]},
                fixed=f"its sizes {[int(d) for d in out]} follow the input in more than one "
                      "dim that is not a dim of its input")


def _sized_like(call: AtenCall, out: Sequence[Any]) -> Optional[Node]:
    """Tokens folded back into a grid, ``(1, C, L) -> (1, C, h', w')``: a reshape whose sizes
    are read from earlier tensors of that grid (the further operands; "dK" is dim K of their
    shapes laid end to end). MViTv2's relative positions view the attention as
    ``(1, heads, qh, qw, kh, kw)``: the pooled queries' grid, then the pooled keys'."""
    following = [k for k, size in enumerate(out) if follows_input(size)]
    likes = _grids_of(call, tuple(out[following[0]:following[-1] + 1]))
    found = (likes, entries_over(likes, out)) if likes else call.sizes_from_earlier(out)
    if found is None:
        return None
    return Node({"shape": found[1]}, inputs=(call.first, *found[0]))


def _grids_of(call: AtenCall, sizes: Tuple[Any, ...]) -> Optional[List[Any]]:
    """Earlier tensors, at most :data:`MAX_LIKES`, that end in ``sizes`` cut into runs, each
    run the longest that one tensor ends in (None if some run ends no tensor)."""
    likes: List[Any] = []
    start = 0
    while start < len(sizes):
        found = next(((end, like) for end in range(len(sizes), start, -1)
                      for like in [call.tensor_with(sizes[start:end])] if like is not None),
                     None)
        if found is None or len(likes) == MAX_LIKES:
            return None
        start, like = found
        likes.append(like)
    return likes


def _named_dims(ins: Sequence[Any]) -> Tuple[Any, ...]:
    """The dims a reshape's "dK" names: the further operands' laid end to end, else the
    input's own."""
    return tuple(d for shape in ins[1:] for d in shape) if len(ins) > 1 else tuple(ins[0])


@register_op
class Reshape(FreeTensorOp):
    name = "reshape"
    Attrs = ReshapeAttrs
    arity = (1, 1 + MAX_LIKES)  # further operands: the tensors whose dims "dK" names
    aten = {packet: reshape_from_aten for packet in ("view", "reshape", "_unsafe_view",
                                                     "unsqueeze", "squeeze", "unflatten",
                                                     "reshape_as", "view_as")}

    def parse(self, f: Any) -> ReshapeAttrs:
        entries = size_entries(f, "shape", min_len=0)     # []: one element as a 0-d tensor
        if entries.count(-1) > 1:
            raise f.error("shape", "holds -1 more than once")
        return ReshapeAttrs(tuple(entries))

    def infer_shape(self, ins: Any, a: ReshapeAttrs) -> Any:
        shape = ins[0]
        dims = [resolve_entry(entry, _named_dims(ins)) for entry in a.shape]
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
        # no int(): under torch.export a size stays symbolic (int() would fix it)
        return lambda x, *likes: x.reshape([resolve_entry(e, _named_dims(
            [x.shape] + [like.shape for like in likes])) for e in a.shape])

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
    aten = {"permute": lambda call: Node({"dims": [int(d) for d in call.arg("dims")]})}

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
    aten = {"transpose": lambda call: Node({"dim0": int(call.arg("dim0")),
                                            "dim1": int(call.arg("dim1"))}),
            "t": lambda call: Node({"dim0": 0, "dim1": -1}),
            # MaxViT's x.swapaxes(-2, -1)
            "swapaxes": lambda call: Node({"dim0": int(call.arg("axis0")),
                                           "dim1": int(call.arg("axis1"))}),
            "swapdims": lambda call: Node({"dim0": int(call.arg("dim0")),
                                           "dim1": int(call.arg("dim1"))})}

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
    aten = {packet: lambda call: Node({"groups": int(call.arg("groups"))})
            for packet in ("channel_shuffle", "native_channel_shuffle")}

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


# -- stack --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StackAttrs:
    """The new dim's place in the output (torch's default: 0)."""

    dim: int = 0


def stack_from_aten(call: AtenCall) -> Node:
    """``aten.stack``; an operand computed without the input is written as its nodes."""
    tensors = tuple(call.materialise(t) for t in call.arg("tensors"))
    dim = int(call.arg("dim", 0))
    return Node({} if dim == 0 else {"dim": dim}, inputs=tensors)


@register_op
class Stack(FreeTensorOp):
    """``torch.stack``: operands of one shape joined along a new dim."""

    name = "stack"
    Attrs = StackAttrs
    arity = (1, None)
    aten = {"stack": stack_from_aten}

    def parse(self, f: Any) -> StackAttrs:
        return StackAttrs(f.int("dim", 0, lo=-MAX_RANK - 1, hi=MAX_RANK))

    def infer_shape(self, ins: Any, a: StackAttrs) -> Any:
        first = ins[0]
        for i, shape in enumerate(ins[1:], 1):
            if len(shape) != len(first) or any(map(_unequal, first, shape)):
                raise GraphError(f"inputs[{i}] has shape {format_shape(shape)}, not the shape "
                                 f"{format_shape(first)} of inputs[0]", field="inputs")
        dim = normalise_dim(a.dim, len(first) + 1)
        return tuple(first[:dim]) + (len(ins),) + tuple(first[dim:])

    def conditions(self, ins: Any, out: Any, a: StackAttrs) -> Any:
        return tuple((x, y) for shape in ins[1:] for x, y in zip(ins[0], shape) if x != y)

    def torch(self, ins: Any, out: Any, a: StackAttrs) -> Any:
        import torch

        return lambda *xs: torch.stack(xs, a.dim)

    def example(self) -> Any:
        return ((1, 4, 5, 6), (1, 4, 5, 6)), StackAttrs(-1)


# -- flip ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlipAttrs:
    """The dims reversed."""

    dims: Tuple[int, ...]


@register_op
class Flip(FreeTensorOp):
    """``torch.flip``: the order of the elements along ``dims`` reversed."""

    name = "flip"
    Attrs = FlipAttrs
    aten = {"flip": lambda call: Node({"dims": [int(d) for d in call.arg("dims")]})}

    def parse(self, f: Any) -> FlipAttrs:
        return FlipAttrs(f.int_list("dims", lo=-MAX_RANK, hi=MAX_RANK - 1, min_len=1,
                                    max_len=MAX_RANK))

    def infer_shape(self, ins: Any, a: FlipAttrs) -> Any:
        dims = [normalise_dim(d, len(ins[0]), "dims") for d in a.dims]
        if len(set(dims)) != len(dims):
            raise GraphError(f"dims {list(a.dims)} names a dim twice", field="dims")
        return ins[0]

    def torch(self, ins: Any, out: Any, a: FlipAttrs) -> Any:
        return lambda x: x.flip(a.dims)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), FlipAttrs((1, -1))

