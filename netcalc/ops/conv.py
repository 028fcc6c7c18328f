"""Convolution (``nn.Conv2d``): the op that holds nearly all of a CNN's flops and params.

``Conv2d(padding='same')`` (or ``'valid'``) runs ``aten::_convolution_mode`` in TorchScript,
which fvcore 0.1.5 has no handle for: fvcore counts it 0. Such a conv records
``string_padding: true``, its fvcore flops are 0 as fvcore's, and the import notes the flops
fvcore leaves out; pycls and torch count it as any conv.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Optional

from ..errors import GraphError
from .aten import AtenCall, Node, NotModelled, compact, pair
from .registry import OpDef, numel_out, register_op
from .spatial import Pair, default_padding, spatial_out

MAX_KERNEL = 64
MAX_CHANNELS = 65536


@dataclass(frozen=True)
class ConvAttrs:
    out: int
    kernel: Pair = (1, 1)
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False
    string_padding: bool = False     # padding='same'/'valid' by name: fvcore's blind spot


@lru_cache(maxsize=4096)
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


def _fvcore_conv(ins: Any, out: Any, a: ConvAttrs) -> Any:
    """fvcore's conv handle, which never sees a conv padded 'same' or 'valid' by name."""
    return conv_macs(ins, out, a) * (1 - int(a.string_padding))


def conv_from_aten(call: AtenCall) -> Node:
    """``aten.conv2d``: the weight's shape gives out channels and kernel; padding by name
    ('same' with an even total per side, 'valid') becomes numbers and ``string_padding``."""
    weight = call.param("weight")
    if len(weight.shape) != 4:
        raise NotModelled(f"a {len(weight.shape) - 2}-d convolution (conv handles 2-d)")
    bias = call.param("bias", optional=True)
    kernel, dilation = (int(weight.shape[2]), int(weight.shape[3])), pair(call.arg("dilation", 1))
    padding = call.arg("padding", 0)
    attrs: Dict[str, Any] = {"out": int(weight.shape[0]), "kernel": compact(kernel),
                             "stride": compact(call.arg("stride", 1))}
    if isinstance(padding, str):
        attrs["string_padding"] = True
        total = [d * (k - 1) for k, d in zip(kernel, dilation)] if padding == "same" else [0, 0]
        if any(t % 2 for t in total):
            raise NotModelled("conv2d(padding='same') that pads one side more than the other")
        padding = [t // 2 for t in total]
    attrs["padding"] = compact(padding)
    if dilation != (1, 1):
        attrs["dilation"] = compact(dilation)
    groups = int(call.arg("groups", 1))
    if groups != 1:
        attrs["groups"] = groups
    if bias is not None:
        attrs["bias"] = True
    return Node(attrs)


@register_op
class Conv(OpDef):
    name = "conv"
    Attrs = ConvAttrs

    def parse(self, f: Any) -> ConvAttrs:
        kernel = f.pair("kernel", (1, 1), lo=1, hi=MAX_KERNEL)
        dilation = f.pair("dilation", (1, 1), lo=1, hi=MAX_KERNEL)
        return ConvAttrs(out=f.int("out", lo=1, hi=MAX_CHANNELS), kernel=kernel,
                         stride=f.pair("stride", (1, 1), lo=1, hi=MAX_KERNEL),
                         padding=f.pair("padding", default_padding(kernel, dilation), lo=0,
                                        hi=MAX_KERNEL * MAX_KERNEL),
                         dilation=dilation, groups=f.int("groups", 1, lo=1, hi=MAX_CHANNELS),
                         bias=f.bool("bias", False),
                         string_padding=f.bool("string_padding", False))

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
             "fvcore": _fvcore_conv,
             "torch": lambda ins, out, a: 2 * conv_macs(ins, out, a)}
    acts = {"pycls": numel_out}
    aten = {"conv2d": conv_from_aten}

    def torch(self, ins: Any, out: Any, a: ConvAttrs) -> Any:
        from torch import nn

        padding: Any = a.padding
        if a.string_padding:    # only 'same' builds back: 'valid' is padding 0
            padding = "valid" if a.padding == (0, 0) else "same"
        return nn.Conv2d(ins[0][1], a.out, a.kernel, a.stride, padding, a.dilation,
                         groups=a.groups, bias=a.bias)

    def example(self) -> Any:
        return ((1, 4, 9, 7),), ConvAttrs(6, (3, 2), (2, 1), (1, 0), (1, 2), 2, True)
