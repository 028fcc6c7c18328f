"""Elementwise math on one tensor: ``abs``, ``neg``, ``sqrt``, ``rsqrt``, ``exp``, ``log``,
``sin``, ``cos`` and ``pow`` by a constant exponent.

No convention counts them: fvcore 0.1.5 reports ``aten::abs``, ``neg``, ``sqrt``, ``rsqrt``,
``exp``, ``log``, ``sin``, ``cos``, ``pow`` and ``square`` as unsupported operators (0) and
FlopCounterMode has no formula for them.
"""

from dataclasses import dataclass
from typing import Any

from ..limits import MAX_EXPONENT
from .aten import AtenCall, Node, NotModelled
from .registry import register_op
from .simple import FreeElementwise



def unary_from_aten(call: AtenCall) -> Any:
    """An elementwise op of a data tensor or of a parameter (Swin v2's
    ``logit_scale.clamp(max=...).exp()``)."""
    from .tokens import on_operand      # tokens imports tensor ops; elementwise math need not

    return on_operand(call, call.named.get("self"), Node(op=call.op))


class FreeFunction(FreeElementwise):
    """A cost-free elementwise op building to ``torch.<function>(x, *attrs)`` (torch has no
    module for it)."""

    function = ""

    @property
    def aten(self) -> Any:
        return {self.function: unary_from_aten}

    def torch(self, ins: Any, out: Any, a: Any) -> Any:
        import torch

        fn = getattr(torch, self.function)
        values = tuple(vars(a).values())
        return lambda x: fn(x, *values)


for _name in ("abs", "neg", "sqrt", "rsqrt", "exp", "log", "sin", "cos"):
    register_op(type(_name.capitalize(), (FreeFunction,), {"name": _name, "function": _name}))


@dataclass(frozen=True)
class PowAttrs:
    """The constant exponent."""

    exponent: float = 2.0


def pow_from_aten(call: AtenCall) -> Node:
    """``aten.pow.Tensor_Scalar`` (a tensor to a constant power) and ``aten.square``."""
    if call.op == "square":
        return Node({"exponent": 2.0})
    exponent = call.arg("exponent")
    if call.overload != "Tensor_Scalar" or not isinstance(exponent, (int, float)):
        raise NotModelled("pow with a tensor exponent or a tensor base of a constant")
    return Node({"exponent": float(exponent)})


@register_op
class Pow(FreeElementwise):
    """``x ** exponent`` (``torch.pow``, ``Tensor.square``)."""

    name = "pow"
    Attrs = PowAttrs
    aten = {"pow": pow_from_aten, "square": pow_from_aten}

    def parse(self, f: Any) -> PowAttrs:
        return PowAttrs(f.float("exponent", 2.0, lo=-MAX_EXPONENT, hi=MAX_EXPONENT))

    def torch(self, ins: Any, out: Any, a: PowAttrs) -> Any:
        return lambda x: x.pow(a.exponent)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), PowAttrs(0.5)
