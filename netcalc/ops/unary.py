"""Elementwise math on one tensor: ``abs``, ``neg``, ``sqrt``, ``rsqrt``, ``exp``, ``log`` and
``pow`` by a constant exponent.

No convention counts them: fvcore 0.1.5 reports ``aten::abs``, ``neg``, ``sqrt``, ``rsqrt``,
``exp``, ``log``, ``pow`` and ``square`` as unsupported operators (0) and FlopCounterMode has no
formula for them.
"""

from dataclasses import dataclass
from typing import Any

from .aten import AtenCall, Node, NotModelled, same_op
from .registry import register_op
from .simple import FreeElementwise

MAX_EXPONENT = 1e6


class TensorFunction(FreeElementwise):
    """A free elementwise op built as ``torch.<name>`` (torch has no module for it)."""

    def torch(self, ins: Any, out: Any, a: Any) -> Any:
        import torch

        return getattr(torch, self.name)


for _name in ("abs", "neg", "sqrt", "rsqrt", "exp", "log"):
    register_op(type(_name.capitalize(), (TensorFunction,),
                     {"name": _name, "aten": {_name: same_op}}))


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
