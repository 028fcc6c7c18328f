"""Subtraction, division and the elementwise maximum and minimum (like add and mul: two operands
with broadcasting, or a constant; FilterResponseNorm's ``torch.maximum(x, tau)``), and a learned
parameter tensor added to or multiplied with the operand (ConvNeXt's layer scale, a learned bias).

No convention counts them: fvcore 0.1.5 reports ``aten::sub``, ``rsub``, ``div``, ``mul``,
``add``, ``maximum`` and ``minimum`` as unsupported operators (0 flops) and FlopCounterMode has no
formula for them. A learned parameter tensor counts its elements as parameters.
"""

import math
from dataclasses import dataclass
from typing import Any, Tuple

from ..errors import GraphError
from ..limits import MAX_PARAM_DIM
from .aten import PREVIOUS, AtenCall, Node, NotModelled, Tensor
from .elementwise import binary, param_binary_node
from .registry import OpDef, format_shape, is_concrete, register_op, zero



def rsub_from_aten(call: AtenCall) -> Any:
    """``aten.rsub`` (``number - x``, ConViT's ``1. - sigmoid(gate)``): of two tensors, ``sub``
    with the operands swapped; of a number, ``neg`` then ``add`` of the number (free in every
    convention, as rsub is)."""
    x, other = call.named.get("self"), call.named.get("other")
    if float(call.arg("alpha", 1)) != 1:
        raise NotModelled("rsub with alpha")
    if isinstance(other, Tensor):
        return Node(inputs=(call.materialise(other), call.materialise(x)), op="sub")
    if isinstance(other, bool) or not isinstance(other, (int, float)):
        raise NotModelled(f"rsub of a tensor and {type(other).__name__}")
    return [Node(inputs=(call.materialise(x),), op="neg"), Node({"value": float(other)}, op="add")]


binary("sub", rsub=rsub_from_aten)
binary("div")
binary("maximum")
binary("minimum")


@dataclass(frozen=True)
class ParamAttrs:
    """The shape of the learned tensor (broadcast against the operand), and whether it is
    resampled to the operand's shape first."""

    param_shape: Tuple[int, ...]
    resampled: bool = False


class ParamBinary(OpDef):
    """``x <op> p`` with a learned ``p`` of ``param_shape`` that broadcasts to ``x``'s shape; with
    ``resampled: true``, ``p`` is first resized to ``x``'s shape (a position embedding learned
    for one token grid, interpolated to the grid of the input as timm's ``dynamic_img_size``
    ViTs do): the op then fits every resolution. The resize of a parameter costs nothing in any
    convention (fvcore 0.1.5 has no handle for bicubic or linear interpolation, FlopCounterMode
    no formula)."""

    Attrs = ParamAttrs
    symbol = ""

    def parse(self, f: Any) -> ParamAttrs:
        return ParamAttrs(f.int_list("param_shape", lo=1, hi=MAX_PARAM_DIM, min_len=0, max_len=8),
                          f.bool("resampled", False))

    def infer_shape(self, ins: Any, a: ParamAttrs) -> Any:
        shape = ins[0]
        if a.resampled:
            if len(a.param_shape) != len(shape):
                raise GraphError(f"param_shape {format_shape(a.param_shape)} has another rank "
                                 f"than the input shape {format_shape(shape)}", field="param_shape")
            return shape
        fits = len(a.param_shape) <= len(shape) and all(
            p == 1 or p == s or not is_concrete(s) for p, s in zip(a.param_shape[::-1], shape[::-1]))
        if not fits:
            raise GraphError(f"param_shape {format_shape(a.param_shape)} does not broadcast to "
                             f"the input shape {format_shape(shape)}", field="param_shape")
        return shape

    def conditions(self, ins: Any, out: Any, a: ParamAttrs) -> Any:
        if a.resampled:
            return ()
        return tuple((s, p) for s, p in zip(ins[0][::-1], a.param_shape[::-1])
                     if p != 1 and s != p)

    # attribute-shaped by right: the learned tensor has the shape the spec gives (the module
    # built holds exactly that), which only broadcasts to the input
    params = {"pycls": lambda ins, out, a: math.prod(a.param_shape)}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: ParamAttrs) -> Any:
        from ..torch.tensor_modules import ParamBinary as ParamBinaryModule

        return ParamBinaryModule(self.symbol, a.param_shape, a.resampled)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ParamAttrs((4, 1, 1))


def addcmul_from_aten(call: AtenCall) -> list:
    """``torch.addcmul(input, t1, t2, value=v)``, ``input + v * t1 * t2`` (ConvNeXt-V2's global
    response norm, ``addcmul(bias, weight, x * nx)``): the product (``param_mul`` by a learned
    factor), times v unless 1, then ``input`` added (a learned one written as its ``param``
    node). fvcore 0.1.5 has no handle for ``aten::addcmul`` and FlopCounterMode no formula: 0,
    as for the nodes it becomes."""
    base, t1, t2 = (call.named.get(key) for key in ("self", "tensor1", "tensor2"))
    learned = [t for t in (t1, t2) if isinstance(t, Tensor) and t.is_param]
    product = param_binary_node("mul", learned[0], t2 if learned[0] is t1 else t1) if len(
        learned) == 1 else None
    if product is None:
        product = Node(inputs=(call.materialise(t1), call.materialise(t2)), op="mul")
    value = float(call.arg("value", 1))
    scale = [Node({"value": value}, op="mul")] if value != 1 else []
    return [product, *scale, Node(inputs=(PREVIOUS, call.materialise(base)), op="add")]


@register_op
class ParamMul(ParamBinary):
    name, symbol = "param_mul", "mul"
    aten = {"addcmul": addcmul_from_aten}


@register_op
class ParamAdd(ParamBinary):
    name, symbol = "param_add", "add"
