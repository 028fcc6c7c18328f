"""Padding (``F.pad``, ``nn.ZeroPad2d``, ``nn.ReflectionPad2d``, ``nn.ReplicationPad2d``,
circular padding, and a conv's ``padding_mode``): fixed amounts, TensorFlow's "same" padding
computed from the input size (timm's ``tf_`` models pad each conv and pool that way), or padding
after each dim up to a multiple of a window (Swin, DaViT, EfficientViT-M: ``(w - n % w) % w``). A negative
amount of constant padding crops (``nn.ZeroPad2d((-1, 1, -1, 1))`` shifts a map by one: NASNet).

Free in every convention, cropping included: fvcore 0.1.5 reports ``aten::pad`` as an unsupported
operator (0) and skips ``aten::constant_pad_nd`` silently; FlopCounterMode has no formula for
either.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..errors import GraphError
from .aten import (WIDE_SAMPLE_SIZES, AtenCall, Node, NotModelled, compact, follows_input,
                   offset_between, sampled)
from ..limits import (MAX_DIM_SIZE, MAX_KERNEL, MAX_MULTIPLE, MAX_RANK, MAX_SAME_STRIDE,
                      MAX_SCALAR)
from .registry import format_shape, is_concrete, register_op, up_to_multiple
from .spatial import Sizes, check_axes_agree, per_axis, plural, spatial_axes
from .tensor import FreeTensorOp

MODES = ("constant", "reflect", "replicate", "circular")
KERNEL_MODES = {"reflection": "reflect", "replication": "replicate"}    # aten.<kernel>_pad2d


@dataclass(frozen=True)
class SamePadding:
    """TensorFlow's "same" padding for a window: the input is padded so that the window, with
    no padding of its own, gives ``ceil(size / stride)`` positions; the odd unit goes after."""

    kernel: Sizes
    stride: Sizes = 1
    dilation: Sizes = 1


@dataclass(frozen=True)
class PadAttrs:
    """F.pad's amounts (last dim first) or "same" padding of the spatial axes; mode and fill."""

    pad: Tuple[int, ...] = ()           # F.pad order: (before, after) of the last dim first
    value: float = 0.0                  # constant mode only
    mode: str = "constant"
    same: Optional[SamePadding] = None  # given: the amounts follow the input size
    multiple: Tuple[int, ...] = ()      # given (last dim first): each dim padded after, up to a
    #                                     multiple of its entry (1: not padded)


def same_total(size: Any, kernel: int, stride: int, dilation: int) -> Any:
    """TF's total padding of one axis, ``max((ceil(size/s) - 1)*s + d(k-1) + 1 - size, 0)``.

    Without the ``max``: ``extent - s + r`` with ``r = (-size) mod s``, never negative when the
    window's extent reaches the stride. A shorter window pads ``max(r - t, 0)``, ``t = s -
    extent``, written without a comparison as ``(r - t) * ((r + extent) // s)`` (the second
    factor is 1 exactly when ``r >= t``), so that sympy and numpy sizes stay exact too.
    """
    extent = dilation * (kernel - 1) + 1
    if extent <= 1:
        return 0
    rest = stride * ((size + (stride - 1)) // stride) - size      # (-size) mod stride
    if extent >= stride:
        return rest + (extent - stride)
    return (rest - (stride - extent)) * ((rest + extent) // stride)


def same_pads(spatial: Tuple[Any, ...], same: SamePadding) -> Tuple[Any, ...]:
    """F.pad's amounts for ``same`` over ``spatial`` sizes: (before, after) of the last axis
    first, the odd unit after (TF's and timm's ``pad_same``)."""
    axes = len(spatial)
    totals = [same_total(size, k, s, d) for size, k, s, d in zip(
        spatial, per_axis(same.kernel, axes, "pad.kernel"),
        per_axis(same.stride, axes, "pad.stride"), per_axis(same.dilation, axes, "pad.dilation"))]
    pads: Tuple[Any, ...] = ()
    for total in reversed(totals):
        pads += (total // 2, total - total // 2)
    return pads


def multiple_pads(shape: Tuple[Any, ...], multiple: Tuple[int, ...]) -> Tuple[Any, ...]:
    """F.pad's amounts that pad dim -1-i of ``shape`` after, up to a multiple of
    ``multiple[i]``: ``(-n) mod m``, written ``m * ceil(n / m) - n`` (exact on sympy and numpy
    sizes too)."""
    pads: Tuple[Any, ...] = ()
    for i, m in enumerate(multiple):
        size = shape[len(shape) - 1 - i]
        pads += (0, up_to_multiple(size, m) - size if m > 1 else 0)
    return pads


def pad_from_aten(call: AtenCall) -> Node:
    """``aten.pad`` (any mode), ``aten.constant_pad_nd`` and the reflection and replication
    kernels: by constant amounts (negative ones crop, in constant mode), or by amounts that
    follow the input size as TF's "same" padding does, or up to a multiple of a window (found
    from the size rules, see :func:`same_padding_of` and :func:`multiple_padding_of`); amounts
    that follow the input by another rule are written as the traced size's, a ``fixed`` node
    (BoTNet's shift of relative logits, padded by a table's length less a side)."""
    amounts = call.arg("pad") or call.arg("padding")
    attrs: dict = {}
    mode = KERNEL_MODES.get(call.op.split("_pad")[0], call.arg("mode", "constant"))
    if mode != "constant":
        attrs["mode"] = mode
    elif float(call.arg("value", 0.0) or 0.0):
        attrs["value"] = float(call.arg("value"))
    source, out = call.first.shape, call.out
    if any(follows_input(p) for p in amounts):
        try:
            return Node({"pad": same_padding_of(source, amounts), **attrs})
        except NotModelled:
            pass
        try:
            return Node({"pad": multiple_padding_of(source, amounts), **attrs})
        except NotModelled as exc:
            return Node({"pad": [int(p) for p in amounts], **attrs},
                        fixed=f"its amounts {[int(p) for p in amounts]} follow the input size "
                              f"by no rule netcalc writes ({exc})")
    if any(follows_input(o) and offset_between(o, i) is None for o, i in zip(out, source)):
        raise NotModelled("padding that follows the input size, seen at two static sizes only "
                          "(which cannot tell its rule)")
    if mode != "constant" and any(int(p) < 0 for p in amounts):
        raise NotModelled(f"{mode} padding by negative amounts (cropping is modelled in "
                          "constant mode)")
    return Node({"pad": [int(p) for p in amounts], **attrs})


def same_padding_of(source: Tuple[Any, ...], amounts: Tuple[Any, ...]) -> dict:
    """The ``pad: {mode: same, ...}`` whose amounts equal ``amounts`` (F.pad order, sizes that
    follow the input) at every sampled input size: per spatial axis, the smallest stride, then
    window extent, that gives TF's padding there (a kernel of that extent, dilation 1, pads as
    any kernel and dilation of the same extent)."""
    axes = len(source) - 2
    if len(amounts) != 2 * axes:
        raise NotModelled("padding by amounts that follow the input size, of other dims than "
                          "the spatial ones")
    kernels, strides = [], []
    for axis in range(axes):
        before, after = amounts[2 * (axes - 1 - axis)], amounts[2 * (axes - 1 - axis) + 1]
        samples = sampled((source[2 + axis], before, after), "padding")
        found = next(((k, s) for s in range(1, MAX_SAME_STRIDE + 1) for k in range(1, 2 * MAX_KERNEL)
                      if all(same_pads((x,), SamePadding(k, s)) == (b, a) for x, b, a in samples)),
                     None)
        if found is None:
            raise NotModelled("padding by amounts that follow the input size by a rule other "
                              "than TF's 'same' padding")
        kernels.append(found[0])
        strides.append(found[1])
    return {"mode": "same", "kernel": compact(kernels), "stride": compact(strides)}


def multiple_padding_of(source: Tuple[Any, ...], amounts: Tuple[Any, ...]) -> dict:
    """The ``pad: {mode: multiple, of: [...]}`` whose amounts equal ``amounts`` (F.pad order,
    sizes that follow the input) at every sampled input size: per padded dim, nothing before
    and, after, the smallest window ``m`` with ``(-n) mod m`` (1: no padding)."""
    of = []
    for i in range(len(amounts) // 2):
        before, after = amounts[2 * i], amounts[2 * i + 1]
        if follows_input(before) or int(before) != 0:
            raise NotModelled("padding by amounts that follow the input size by a rule other "
                              "than TF's 'same' padding or padding up to a multiple")
        size = source[len(source) - 1 - i]
        if not follows_input(size) and not follows_input(after):
            samples = [(int(size), int(after))]        # a dim of its own size: C, left as it is
        else:
            samples = sampled((size, after), "padding", WIDE_SAMPLE_SIZES)
        found = next((m for m in range(1, MAX_MULTIPLE + 1)
                      if all((-n) % m == pad for n, pad in samples)), None)
        if found is None:
            raise NotModelled("padding by amounts that follow the input size by a rule other "
                              "than TF's 'same' padding or padding up to a multiple")
        of.append(found)
    return {"mode": "multiple", "of": of}


@register_op
class Pad(FreeTensorOp):
    name = "pad"
    Attrs = PadAttrs
    aten = {"constant_pad_nd": pad_from_aten, "pad": pad_from_aten,
            **{f"{kernel}_pad{axes}d": pad_from_aten for kernel in KERNEL_MODES
               for axes in (1, 2, 3)}}

    def parse(self, f: Any) -> PadAttrs:
        mode = f.str("mode", "constant", choices=MODES)
        value = self._value(f, mode)
        if isinstance(f.value("pad"), dict):
            rule = f.mapping("pad")
            if rule.str("mode", choices=("same", "multiple")) == "multiple":
                return PadAttrs(value=value, mode=mode, multiple=self._multiple(rule))
            return PadAttrs(value=value, mode=mode, same=self._same(rule))
        pad = f.int_list("pad", lo=-MAX_DIM_SIZE, hi=MAX_DIM_SIZE, min_len=2,
                         max_len=2 * MAX_RANK)
        if len(pad) % 2:
            raise f.error("pad", f"needs pairs (before, after) per dim, got {len(pad)} entries")
        if mode != "constant" and min(pad) < 0:
            raise f.error("pad", f"a negative amount crops, in constant mode only (not {mode})")
        return PadAttrs(pad, value, mode)

    @staticmethod
    def _value(f: Any, mode: str) -> float:
        """The fill of constant padding: a number, or -inf/inf (timm pads max pools with -inf)."""
        if not f.has("value"):
            return 0.0
        if mode != "constant":
            raise f.error("value", f"applies to constant padding only, not {mode}")
        value = f.value("value")
        if isinstance(value, float) and math.isinf(value):
            return value
        return f.float("value", lo=-MAX_SCALAR, hi=MAX_SCALAR)

    @staticmethod
    def _multiple(f: Any) -> Tuple[int, ...]:
        multiple = f.int_list("of", lo=1, hi=MAX_MULTIPLE, min_len=1, max_len=MAX_RANK)
        f.finish()
        return multiple

    @staticmethod
    def _same(f: Any) -> SamePadding:
        window = {"kernel": f.per_axis("kernel", lo=1, hi=MAX_KERNEL),
                  "stride": f.per_axis("stride", 1, lo=1, hi=MAX_KERNEL),
                  "dilation": f.per_axis("dilation", 1, lo=1, hi=MAX_KERNEL)}
        check_axes_agree(f, window)
        f.finish()
        return SamePadding(**window)

    def pads(self, shape: Any, a: PadAttrs) -> Tuple[Any, ...]:
        """F.pad's amounts for an input of ``shape`` (computed from it under "same" and
        "multiple")."""
        if a.multiple:
            return multiple_pads(tuple(shape), a.multiple)
        if a.same is None:
            return a.pad
        return same_pads(tuple(shape[2:spatial_axes(self.name, shape) + 2]), a.same)

    def infer_shape(self, ins: Any, a: PadAttrs) -> Any:
        shape = list(ins[0])
        pads = self.pads(ins[0], a)
        dims = len(pads) // 2
        if dims > len(shape):
            raise GraphError(f"pads {dims} dims of a rank-{len(shape)} input", field="pad")
        if a.mode != "constant":
            self._check_mode(shape, pads, a.mode)
        for i in range(dims):
            size = shape[-1 - i] + (pads[2 * i] + pads[2 * i + 1])
            if is_concrete(size) and size < 1:
                raise GraphError(f"pads {list(pads[2 * i:2 * i + 2])} crop dim "
                                 f"{len(shape) - 1 - i} of {format_shape(ins[0])} to {size}",
                                 field="pad")
            shape[-1 - i] = size
        return tuple(shape)

    @staticmethod
    def _check_mode(shape: list, pads: Tuple[Any, ...], mode: str) -> None:
        """torch's limits on reflect, replicate and circular padding."""
        dims = len(pads) // 2
        if not dims + 1 <= len(shape) <= dims + 2 or dims > 3:
            raise GraphError(f"{mode} padding of {plural(dims, 'dim')} needs an input of rank "
                             f"{dims + 1} or {dims + 2}, got {format_shape(shape)}", field="mode")
        for i in range(dims):
            size = shape[-1 - i]
            for pad in pads[2 * i:2 * i + 2]:
                if is_concrete(size) and is_concrete(pad) and _too_wide(mode, pad, size):
                    raise GraphError(f"{mode} padding {pad} does not fit dim {len(shape) - 1 - i}"
                                     f" of size {size} (torch needs it {_LIMIT[mode]})",
                                     field="pad")

    def conditions(self, ins: Any, out: Any, a: PadAttrs) -> Any:
        """Reflect and circular padding of a resolution-dependent dim need it wide enough, and
        so does cropping (at least one element left)."""
        if a.same is not None or a.multiple or (a.mode not in _LIMIT and min(a.pad) >= 0):
            return ()
        pads, conditions = a.pad, []
        for i in range(len(pads) // 2):
            size = ins[0][-1 - i]
            if a.mode in _LIMIT:
                least = max(pads[2 * i], pads[2 * i + 1]) + int(a.mode == "reflect")
            else:       # cropped: size + before + after >= 1
                least = 1 - pads[2 * i] - pads[2 * i + 1]
            if not is_concrete(size) and least > 1:
                import sympy    # only closed forms have symbolic sizes

                conditions.append((sympy.Min(size, least), least))
        return tuple(conditions)

    def torch(self, ins: Any, out: Any, a: PadAttrs) -> Any:
        import torch.nn.functional as F

        fill = {"value": a.value} if a.mode == "constant" else {}
        if a.same is None and not a.multiple:
            return lambda x: F.pad(x, a.pad, a.mode, **fill)
        return lambda x: F.pad(x, self.pads(tuple(x.shape), a), a.mode, **fill)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), PadAttrs((1, 2, 0, 3))


_LIMIT = {"reflect": "shorter than the dim", "circular": "at most the dim"}


def _too_wide(mode: str, pad: int, size: int) -> bool:
    return pad >= size if mode == "reflect" else mode == "circular" and pad > size
