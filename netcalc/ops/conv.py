"""Convolution (``nn.Conv2d``): the op that holds nearly all of a CNN's flops and params."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..caches import memoised
from ..errors import GraphError
from ..limits import MAX_CHANNELS, MAX_KERNEL
from .registry import OpDef, numel_out, register_op
from .spatial import Pair, default_padding, spatial_out



@dataclass(frozen=True)
class ConvAttrs:
    out: int
    kernel: Pair = (1, 1)
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False


@memoised(maxsize=4096)
def conv_attrs(out: int, kernel: int, stride: int = 1, padding: Optional[int] = None,
               groups: int = 1, bias: bool = False) -> ConvAttrs:
    """Square-kernel attrs as families write them (memoised: networks repeat their convs)."""
    pad = (kernel - 1) // 2 if padding is None else padding
    return ConvAttrs(out, (kernel, kernel), (stride, stride), (pad, pad), (1, 1), groups, bias)


def conv_macs(ins: Any, out: Any, a: ConvAttrs) -> Any:
    """Multiply-accumulates of a (grouped) conv, bias excluded."""
    return a.kernel[0] * a.kernel[1] * (ins[0][1] // a.groups) * math.prod(out)


def _conv_bias(ins: Any, out: Any, a: ConvAttrs) -> Any:
    return out[1] * int(a.bias)


@register_op
class Conv(OpDef):
    name = "conv"
    Attrs = ConvAttrs
    sampler_attrs = ("out", "groups")

    def parse(self, f: Any) -> ConvAttrs:
        kernel = f.pair("kernel", (1, 1), lo=1, hi=MAX_KERNEL)
        dilation = f.pair("dilation", (1, 1), lo=1, hi=MAX_KERNEL)
        return ConvAttrs(out=f.int("out", lo=1, hi=MAX_CHANNELS), kernel=kernel,
                         stride=f.pair("stride", (1, 1), lo=1, hi=MAX_KERNEL),
                         padding=f.pair("padding", default_padding(kernel, dilation), lo=0,
                                        hi=MAX_KERNEL * MAX_KERNEL),
                         dilation=dilation, groups=f.int("groups", 1, lo=1, hi=MAX_CHANNELS),
                         bias=f.bool("bias", False))

    def infer_shape(self, ins: Any, a: ConvAttrs) -> Any:
        shape = ins[0]
        h, w = spatial_out("conv", shape, a.kernel, a.stride, a.padding, a.dilation)
        if a.out < 1:
            raise GraphError("has no output channels", field="out")
        if shape[1] % a.groups or a.out % a.groups:
            raise GraphError(f"groups {a.groups} must divide in ({shape[1]}) and out ({a.out}) "
                             "channels", field="groups")
        return (shape[0], a.out, h, w)

    # pycls adds a conv's bias once per output channel, not per position (its conv2d_cx)
    params = staticmethod(lambda ins, out, a: a.kernel[0] * a.kernel[1] * (ins[0][1] // a.groups)
                          * out[1] + out[1] * int(a.bias))
    flops = {"pycls": lambda ins, out, a: conv_macs(ins, out, a) + _conv_bias(ins, out, a),
             "fvcore": conv_macs,
             "torch": lambda ins, out, a: 2 * conv_macs(ins, out, a)}
    acts = {"pycls": numel_out}

    def torch(self, ins: Any, out: Any, a: ConvAttrs) -> Any:
        from torch import nn

        return nn.Conv2d(ins[0][1], a.out, a.kernel, a.stride, a.padding, a.dilation,
                         groups=a.groups, bias=a.bias)

    def example(self) -> Any:
        return ((1, 4, 9, 7),), ConvAttrs(6, (3, 2), (2, 1), (1, 0), (1, 2), 2, True)
