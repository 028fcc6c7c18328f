"""Fully connected layers (``nn.Linear``), applied to the last dim of a tensor of any rank; the
bias learned, absent, or a second operand computed in forward (BEiT's q, zero k and v biases
joined)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional

from ..caches import memoised
from ..errors import GraphError
from ..limits import MAX_FEATURES
from .aten import PREVIOUS, AtenCall, Node, Tensor, follows_input
from .registry import OpDef, format_shape, is_concrete, numel_out, register_op



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
    """One add per output feature, of a learned bias or a bias operand."""
    return out[-1] * (int(a.bias) + len(ins) - 1)


def linear_from_aten(call: AtenCall) -> Node:
    """``aten.linear`` of a parameter weight (out, in) and a parameter bias, none, or a bias
    computed in forward (written as the nodes computing it, read as the second operand); of a
    fixed weight, a buffer or constant, the ``matmul`` it is (:func:`_by_a_fixed_weight`)."""
    weight = call.named.get("weight")
    if isinstance(weight, Tensor) and not weight.is_param and not weight.is_data:
        return _by_a_fixed_weight(call, weight)
    weight = call.param("weight")
    attrs: dict = {"out": int(weight.shape[0])}
    if follows_input(call.first.shape[-1]):     # flattened sizes: fits one resolution only
        attrs["in_features"] = int(weight.shape[1])
    bias = call.named.get("bias")
    if bias is None or bias.is_param:
        return Node(attrs if bias is not None else {**attrs, "bias": False})
    return Node({**attrs, "bias": False}, inputs=(call.first, call.materialise(bias)))


def _by_a_fixed_weight(call: AtenCall, weight: Tensor) -> List[Node]:
    """``linear(x, w, b)`` with a buffer or constant ``w`` (CSATv2's DCT matrix): ``x @ w.T``,
    then ``+ b``. A buffer holds no parameters, so the spec holds none for it; fvcore 0.1.5
    prices the matmul as its linear handle does (a MAC per weight per row), and
    FlopCounterMode runs the same mm."""
    steps = [Node({"dim0": 0, "dim1": 1}, inputs=(call.materialise(weight),), op="transpose"),
             Node(inputs=(call.first, PREVIOUS), op="matmul")]
    bias = call.named.get("bias")
    if bias is not None:
        steps.append(Node(inputs=(PREVIOUS, call.materialise(bias)), op="add"))
    return steps


@register_op
class Linear(OpDef):
    name = "linear"
    Attrs = LinearAttrs
    arity = (1, 2)              # the second operand: a bias computed in forward
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
        if len(ins) == 2:
            self._check_bias_operand(ins[1], a)
        return tuple(ins[0][:-1]) + (a.out,)

    @staticmethod
    def _check_bias_operand(bias: Any, a: LinearAttrs) -> None:
        if a.bias:
            raise GraphError("a learned bias and a bias operand: give one (bias: false)",
                             field="bias")
        if len(bias) != 1 or (is_concrete(bias[0]) and bias[0] != a.out):
            raise GraphError(f"the bias operand must have shape ({a.out},), got "
                             f"{format_shape(bias)}", field="inputs")

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
        if len(ins) == 2:
            from ..torch.tensor_modules import LinearWithBias

            return LinearWithBias(ins[0][-1], a.out)
        from torch import nn

        return nn.Linear(ins[0][-1], a.out, bias=a.bias)

    def example(self) -> Any:
        return ((1, 3, 7),), LinearAttrs(5, True)
