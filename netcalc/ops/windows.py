"""Ops that cut a tensor into windows or put windows back: ``unfold`` (``Tensor.unfold``: the
windows of one dim, HaloNet's key-value blocks), ``im2col`` (``F.unfold``, ``nn.Unfold``: every
window of a map as a column, TNT's and VOLO's patches) and ``col2im`` (``F.fold``,
``nn.Fold``: the columns summed back into a map, VOLO's outlook attention).

Free in every convention: fvcore 0.1.5 reports ``aten::unfold``, ``im2col`` and ``col2im`` as
unsupported operators (0), and FlopCounterMode has no formula for them (col2im's sums of
overlapping windows included).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import GraphError
from ..limits import MAX_DIM_SIZE, MAX_KERNEL, MAX_RESAMPLE_SIDE
from .aten import AtenCall, Node, compact, follows_input
from .registry import check_rank, format_shape, is_concrete, register_op
from .shape import DIM, normalise_dim
from .spatial import Pair, spatial_out
from .tensor import FreeTensorOp


# -- unfold -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnfoldAttrs:
    """``x.unfold(dim, size, step)``: windows of ``size`` every ``step`` along ``dim``."""

    dim: int
    size: int
    step: int


def unfold_from_aten(call: AtenCall) -> Node:
    return Node({"dim": int(call.arg("dimension")), "size": int(call.arg("size")),
                 "step": int(call.arg("step"))})


@register_op
class Unfold(FreeTensorOp):
    """``x.unfold(dim, size, step)``: dim ``dim`` becomes the (n - size) // step + 1 window
    starts, and a new last dim of ``size`` holds each window."""

    name = "unfold"
    Attrs = UnfoldAttrs
    aten = {"unfold": unfold_from_aten}

    def parse(self, f: Any) -> UnfoldAttrs:
        return UnfoldAttrs(f.int("dim", **DIM), f.int("size", lo=1, hi=MAX_DIM_SIZE),
                           f.int("step", lo=1, hi=MAX_DIM_SIZE))

    def infer_shape(self, ins: Any, a: UnfoldAttrs) -> Any:
        shape = ins[0]
        dim = normalise_dim(a.dim, len(shape))
        if is_concrete(shape[dim]) and shape[dim] < a.size:
            raise GraphError(f"a window of {a.size} does not fit dim {a.dim} of "
                             f"{format_shape(shape)}", field="size")
        starts = (shape[dim] - a.size) // a.step + 1
        return tuple(shape[:dim]) + (starts,) + tuple(shape[dim + 1:]) + (a.size,)

    def conditions(self, ins: Any, out: Any, a: UnfoldAttrs) -> Any:
        """The dim must hold one window: ``min(n, size) == size`` (closed forms' domain)."""
        size = ins[0][normalise_dim(a.dim, len(ins[0]))]
        if is_concrete(size):
            return ()
        import sympy    # only closed forms have symbolic sizes

        return ((sympy.Min(size, a.size), a.size),)

    def torch(self, ins: Any, out: Any, a: UnfoldAttrs) -> Any:
        return lambda x: x.unfold(a.dim, a.size, a.step)

    def example(self) -> Any:
        return ((1, 3, 9, 8),), UnfoldAttrs(2, 4, 2)


# -- im2col and col2im ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowsAttrs:
    """The window of ``nn.Unfold``/``nn.Fold`` (pairs: h, w), and for col2im the map's size
    (None: the trailing h and w of the second operand)."""

    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    size: Optional[Pair] = None


def _window_attrs(call: AtenCall) -> dict:
    return {"kernel": compact(call.arg("kernel_size")), "stride": compact(call.arg("stride")),
            "padding": compact(call.arg("padding")), "dilation": compact(call.arg("dilation"))}


def im2col_from_aten(call: AtenCall) -> Node:
    return Node(_window_attrs(call))


def col2im_from_aten(call: AtenCall) -> Node:
    """``aten.col2im``: the map's size as given, or, when it follows the input, the size of an
    earlier tensor ending in it (the map VOLO unfolded)."""
    size = tuple(call.arg("output_size"))
    if not any(follows_input(d) for d in size):
        return Node({**_window_attrs(call), "size": compact(size)})
    like = call.tensor_with(size)
    if like is None:
        return Node({**_window_attrs(call), "size": compact(size)},
                    fixed=f"its size {[int(d) for d in size]} follows the input by no rule "
                          "netcalc writes")
    return Node(_window_attrs(call), inputs=(call.first, like))


def _parse_window(f: Any, size: Optional[Pair] = None) -> WindowsAttrs:
    return WindowsAttrs(f.pair("kernel", lo=1, hi=MAX_KERNEL), f.pair("stride", 1, lo=1, hi=MAX_KERNEL),
                        f.pair("padding", 0, lo=0, hi=MAX_KERNEL),
                        f.pair("dilation", 1, lo=1, hi=MAX_KERNEL), size)


def _blocks(shape: Any, a: WindowsAttrs, op: str) -> Any:
    """How many windows fit a (N, C, H, W) map of ``shape``."""
    return math.prod(spatial_out(op, shape, a.kernel, a.stride, a.padding, a.dilation))


@register_op
class Im2col(FreeTensorOp):
    """``F.unfold(x, kernel, dilation, padding, stride)`` of a (N, C, H, W) map: (N, C·kh·kw,
    L), a column per window position, L the positions a conv of that window has."""

    name = "im2col"
    Attrs = WindowsAttrs
    aten = {"im2col": im2col_from_aten}

    def parse(self, f: Any) -> WindowsAttrs:
        return _parse_window(f)

    def infer_shape(self, ins: Any, a: WindowsAttrs) -> Any:
        shape = ins[0]
        check_rank(self.name, shape, (4,), "a (N, C, H, W) input")
        return (shape[0], shape[1] * math.prod(a.kernel), _blocks(shape, a, self.name))

    def torch(self, ins: Any, out: Any, a: WindowsAttrs) -> Any:
        from torch import nn

        return nn.Unfold(a.kernel, a.dilation, a.padding, a.stride)

    def example(self) -> Any:
        return ((1, 2, 7, 6),), WindowsAttrs((3, 2), stride=(2, 1), padding=(1, 0))


@register_op
class Col2im(FreeTensorOp):
    """``F.fold(x, size, kernel, dilation, padding, stride)``: (N, C·kh·kw, L) columns summed
    into a (N, C, h, w) map, ``size`` given or (a second operand) the trailing h, w of a tensor;
    L must be the number of windows that fit the map."""

    name = "col2im"
    Attrs = WindowsAttrs
    arity = (1, 2)
    aten = {"col2im": col2im_from_aten}

    def parse(self, f: Any) -> WindowsAttrs:
        return _parse_window(f, f.pair("size", None, lo=1, hi=MAX_RESAMPLE_SIDE))

    def _map(self, ins: Any, a: WindowsAttrs) -> Any:
        """The (N, C, h, w) map the columns fold into."""
        columns = ins[0]
        check_rank(self.name, columns, (3,), "a (N, C*kh*kw, L) input")
        if (len(ins) == 2) == (a.size is not None):
            raise GraphError("give exactly one of size and a second operand whose h and w it "
                             "takes", field="size")
        taps = math.prod(a.kernel)
        if is_concrete(columns[1]) and columns[1] % taps:
            raise GraphError(f"{columns[1]} rows are no whole number of {taps}-tap windows",
                             field="kernel")
        size = a.size if a.size is not None else tuple(ins[1][-2:])
        return (columns[0], columns[1] // taps) + tuple(size)

    def infer_shape(self, ins: Any, a: WindowsAttrs) -> Any:
        out = self._map(ins, a)
        blocks = _blocks(out, a, self.name)
        if is_concrete(blocks) and is_concrete(ins[0][2]) and blocks != ins[0][2]:
            raise GraphError(f"{ins[0][2]} columns, but {blocks} windows fit a map of "
                             f"{format_shape(out)}", field="size")
        return out

    def conditions(self, ins: Any, out: Any, a: WindowsAttrs) -> Any:
        blocks = _blocks(out, a, self.name)
        return () if blocks == ins[0][2] else ((blocks, ins[0][2]),)

    def torch(self, ins: Any, out: Any, a: WindowsAttrs) -> Any:
        import torch.nn.functional as F

        size = tuple(out[2:])
        return lambda x, like=None: F.fold(x, size, a.kernel, a.dilation, a.padding, a.stride)

    def example(self) -> Any:
        return ((1, 12, 20),), WindowsAttrs((3, 2), stride=(2, 1), padding=(1, 0), size=(7, 6))
