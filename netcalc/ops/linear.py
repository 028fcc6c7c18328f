"""Fully connected layers (``nn.Linear``), applied to the last dim of a tensor of any rank."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..caches import memoised
from ..errors import GraphError
from ..limits import MAX_FEATURES
from .aten import AtenCall, Node, follows_input
from .registry import OpDef, is_concrete, numel_out, register_op



@dataclass(frozen=True)
class LinearAttrs:
    out: int
    bias: bool = True
    in_features: Optional[int] = None   # when given, the last input dim must equal it


@memoised(maxsize=256)
def linear_attrs(out: int, bias: bool = True) -> LinearAttrs:
    return LinearAttrs(out, bias)


def linear_macs(ins: Any, out: Any, a: LinearAttrs) -> Any:
    return math.prod(out) * ins[0][-1]


def _linear_bias(ins: Any, out: Any, a: LinearAttrs) -> Any:
    return out[-1] * int(a.bias)


def linear_from_aten(call: AtenCall) -> Node:
    """``aten.linear`` of a parameter weight (out, in) and optional parameter bias."""
    weight = call.param("weight")
    attrs: dict = {"out": int(weight.shape[0])}
    if follows_input(call.first.shape[-1]):     # flattened sizes: fits one resolution only
        attrs["in_features"] = int(weight.shape[1])
    if call.param("bias", optional=True) is None:
        attrs["bias"] = False
    return Node(attrs)


@register_op
class Linear(OpDef):
    name = "linear"
    Attrs = LinearAttrs
    sampler_attrs = ("out",)

    def parse(self, f: Any) -> LinearAttrs:
        # out as wide as in_features may be: CondConv mixes its experts' kernels by a linear
        # layer of out x in x k x k features (75,264 for EfficientNet-CC-B0)
        return LinearAttrs(f.int("out", lo=1, hi=MAX_FEATURES), f.bool("bias", True),
                           f.int("in_features", None, lo=1, hi=MAX_FEATURES))

    def infer_shape(self, ins: Any, a: LinearAttrs) -> Any:
        features = ins[0][-1]
        if len(ins[0]) < 2:
            raise GraphError("needs an input of rank 2 or more", field="input")
        if a.in_features is not None and is_concrete(features) and features != a.in_features:
            raise GraphError(f"expects {a.in_features} input features, got {features}",
                             field="in_features")
        return tuple(ins[0][:-1]) + (a.out,)

    def conditions(self, ins: Any, out: Any, a: LinearAttrs) -> Any:
        return () if a.in_features is None else ((ins[0][-1], a.in_features),)

    # pycls adds the bias once per output feature, as for convs
    params = {"pycls": lambda ins, out, a: ins[0][-1] * out[-1] + out[-1] * int(a.bias)}
    flops = {"pycls": lambda ins, out, a: linear_macs(ins, out, a) + _linear_bias(ins, out, a),
             "fvcore": linear_macs,
             "torch": lambda ins, out, a: 2 * linear_macs(ins, out, a)}
    acts = {"pycls": numel_out}
    aten = {"linear": linear_from_aten}

    def torch(self, ins: Any, out: Any, a: LinearAttrs) -> Any:
        from torch import nn

        return nn.Linear(ins[0][-1], a.out, bias=a.bias)

    def example(self) -> Any:
        return ((1, 3, 7),), LinearAttrs(5, True)
