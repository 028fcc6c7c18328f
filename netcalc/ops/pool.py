"""Max and average pooling (``nn.MaxPool2d``, ``nn.AvgPool2d``) and global average pooling."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..caches import memoised
from ..errors import GraphError
from ..limits import MAX_KERNEL
from .registry import OpDef, check_rank, numel_out, register_op, zero
from .simple import AttributelessOp, NoAttrs
from .spatial import Pair, default_padding, spatial_out


@dataclass(frozen=True)
class PoolAttrs:
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)              # max pooling only
    ceil_mode: bool = False
    count_include_pad: bool = True       # average pooling only


@memoised(maxsize=1024)
def pool_attrs(kernel: int, stride: int, padding: Optional[int] = None) -> PoolAttrs:
    pad = (kernel - 1) // 2 if padding is None else padding
    return PoolAttrs((kernel, kernel), (stride, stride), (pad, pad))


class Pool(OpDef):
    Attrs = PoolAttrs
    module = ""

    def parse(self, f: Any) -> PoolAttrs:
        kernel = f.pair("kernel", lo=1, hi=MAX_KERNEL)
        dilation = f.pair("dilation", (1, 1), lo=1, hi=MAX_KERNEL) if self.name == "maxpool" \
            else (1, 1)
        return PoolAttrs(kernel, f.pair("stride", (1, 1), lo=1, hi=MAX_KERNEL),
                         f.pair("padding", default_padding(kernel), lo=0, hi=MAX_KERNEL),
                         dilation, f.bool("ceil_mode", False),
                         f.bool("count_include_pad", True) if self.name == "avgpool" else True)

    def infer_shape(self, ins: Any, a: PoolAttrs) -> Any:
        for axis in range(2):
            # torch's rule: padding at most half the kernel size (dilation does not count)
            if 2 * a.padding[axis] > a.kernel[axis]:
                raise GraphError(f"padding {a.padding[axis]} exceeds half the kernel "
                                 f"{a.kernel[axis]}, which torch cannot build", field="padding")
        h, w = spatial_out(self.name, ins[0], a.kernel, a.stride, a.padding, a.dilation,
                           a.ceil_mode)
        return (ins[0][0], ins[0][1], h, w)

    params = staticmethod(zero)
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def example(self) -> Any:
        return ((1, 3, 9, 8),), PoolAttrs((3, 2), (2, 2), (1, 1), (1, 1), True, False)


@register_op
class MaxPool(Pool):
    name = "maxpool"
    # pycls counts max-pool outputs as activations; fvcore does not
    acts = {"pycls": numel_out, "fvcore": zero}

    def torch(self, ins: Any, out: Any, a: PoolAttrs) -> Any:
        from torch import nn

        return nn.MaxPool2d(a.kernel, a.stride, a.padding, a.dilation, ceil_mode=a.ceil_mode)


@register_op
class AvgPool(Pool):
    name = "avgpool"

    def torch(self, ins: Any, out: Any, a: PoolAttrs) -> Any:
        from torch import nn

        return nn.AvgPool2d(a.kernel, a.stride, a.padding, ceil_mode=a.ceil_mode,
                            count_include_pad=a.count_include_pad)


@register_op
class GlobalAvgPool(AttributelessOp):
    """Global average pooling to 1x1 (``nn.AdaptiveAvgPool2d(1)``)."""

    name = "gap"

    def infer_shape(self, ins: Any, a: NoAttrs) -> Any:
        check_rank("gap", ins[0], (4,), "a (N, C, H, W) input")
        return (ins[0][0], ins[0][1], 1, 1)

    params = staticmethod(zero)
    # fvcore's adaptive_avg_pool2d handle: one flop per input element
    flops = {"pycls": zero, "fvcore": lambda ins, out, a: math.prod(ins[0]), "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: NoAttrs) -> Any:
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)
