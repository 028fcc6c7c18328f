"""Max and average pooling (``nn.MaxPool1d/2d/3d``, ``nn.AvgPool1d/2d/3d``) and global average
pooling, over the input's 1, 2 or 3 spatial axes.

fvcore 0.1.5 and FlopCounterMode count no pooling but ``aten::adaptive_avg_pool2d`` (fvcore: one
flop per input element), which global average pooling of a 2D map builds to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..caches import memoised
from ..errors import GraphError
from ..limits import MAX_KERNEL
from .aten import AtenCall, Node, NotModelled, Parts, compact
from .registry import OpDef, numel_out, register_op, zero
from .simple import AttributelessOp, NoAttrs
from .spatial import (Sizes, check_axes_agree, default_padding, per_axis, spatial_axes,
                      spatial_out)


@dataclass(frozen=True)
class PoolAttrs:
    kernel: Sizes
    stride: Sizes = 1
    padding: Sizes = 0
    dilation: Sizes = 1                  # max pooling only
    ceil_mode: bool = False
    count_include_pad: bool = True       # average pooling only


@memoised(maxsize=1024)
def pool_attrs(kernel: int, stride: int, padding: Optional[int] = None) -> PoolAttrs:
    pad = (kernel - 1) // 2 if padding is None else padding
    return PoolAttrs((kernel, kernel), (stride, stride), (pad, pad))


def adaptive_avg_pool2d_flops(ins: Any, out: Any, a: Any) -> Any:
    """fvcore's one handle for pooling, ``aten::adaptive_avg_pool2d``: one flop per input
    element; its 1D and 3D twins have none (0)."""
    return math.prod(ins[0]) * int(len(ins[0]) == 4)


def pool_from_aten(call: AtenCall) -> Any:
    """``aten.max_pool1d/2d/3d``, their ``_with_indices`` forms (the indices are not modelled)
    and ``avg_pool1d/2d/3d``; an empty stride is the kernel, as in torch."""
    if call.arg("divisor_override") is not None:
        raise NotModelled("avg_pool2d(divisor_override=...)")
    kernel = call.arg("kernel_size")
    attrs = {"kernel": compact(kernel), "stride": compact(call.arg("stride") or kernel),
             "padding": compact(call.arg("padding", 0))}
    if compact(call.arg("dilation", 1)) != 1:
        attrs["dilation"] = compact(call.arg("dilation"))
    if call.arg("ceil_mode", False):
        attrs["ceil_mode"] = True
    if not call.arg("count_include_pad", True):
        attrs["count_include_pad"] = False
    return Parts((Node(attrs), None)) if len(call.outputs) == 2 else Node(attrs)


class Pool(OpDef):
    Attrs = PoolAttrs
    module = ""

    def parse(self, f: Any) -> PoolAttrs:
        kernel = f.per_axis("kernel", lo=1, hi=MAX_KERNEL)
        window = {"kernel": kernel, "stride": f.per_axis("stride", 1, lo=1, hi=MAX_KERNEL),
                  "padding": f.per_axis("padding", default_padding(kernel), lo=0, hi=MAX_KERNEL),
                  "dilation": f.per_axis("dilation", 1, lo=1, hi=MAX_KERNEL)
                  if self.name == "maxpool" else 1}
        check_axes_agree(f, window)
        return PoolAttrs(**window, ceil_mode=f.bool("ceil_mode", False),
                         count_include_pad=f.bool("count_include_pad", True)
                         if self.name == "avgpool" else True)

    def infer_shape(self, ins: Any, a: PoolAttrs) -> Any:
        axes = spatial_axes(self.name, ins[0])
        for pad, kernel in zip(per_axis(a.padding, axes, "padding"),
                               per_axis(a.kernel, axes, "kernel")):
            # torch's rule: padding at most half the kernel size (dilation does not count)
            if 2 * pad > kernel:
                raise GraphError(f"padding {pad} exceeds half the kernel {kernel}, which torch "
                                 "cannot build", field="padding")
        return tuple(ins[0][:2]) + spatial_out(self.name, ins[0], a.kernel, a.stride, a.padding,
                                               a.dilation, a.ceil_mode)

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def example(self) -> Any:
        return ((1, 3, 9, 8),), PoolAttrs((3, 2), (2, 2), (1, 1), (1, 1), True, False)


@register_op
class MaxPool(Pool):
    name = "maxpool"
    # pycls counts max-pool outputs as activations; fvcore does not
    acts = {"pycls": numel_out, "fvcore": zero}
    aten = {f"max_pool{axes}d{indices}": pool_from_aten
            for axes in (1, 2, 3) for indices in ("", "_with_indices")}

    def torch(self, ins: Any, out: Any, a: PoolAttrs) -> Any:
        from torch import nn

        module = getattr(nn, f"MaxPool{len(ins[0]) - 2}d")
        return module(a.kernel, a.stride, a.padding, a.dilation, ceil_mode=a.ceil_mode)


@register_op
class AvgPool(Pool):
    name = "avgpool"
    aten = {f"avg_pool{axes}d": pool_from_aten for axes in (1, 2, 3)}

    def torch(self, ins: Any, out: Any, a: PoolAttrs) -> Any:
        from torch import nn

        module = getattr(nn, f"AvgPool{len(ins[0]) - 2}d")
        return module(a.kernel, a.stride, a.padding, ceil_mode=a.ceil_mode,
                      count_include_pad=a.count_include_pad)


@register_op
class GlobalAvgPool(AttributelessOp):
    """Global average pooling to size 1 on every spatial axis (``nn.AdaptiveAvgPool2d(1)`` on a
    map; the 1D and 3D modules on signals and volumes)."""

    name = "gap"

    def infer_shape(self, ins: Any, a: NoAttrs) -> Any:
        axes = spatial_axes("gap", ins[0])
        return (ins[0][0], ins[0][1]) + (1,) * axes

    params = {"pycls": zero}
    flops = {"pycls": zero, "fvcore": adaptive_avg_pool2d_flops, "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: NoAttrs) -> Any:
        from torch import nn

        return getattr(nn, f"AdaptiveAvgPool{len(ins[0]) - 2}d")(1)
