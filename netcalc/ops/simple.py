"""Ops without attributes that keep their input's shape and cost nothing in every convention:
activations, dropout and identity (pycls, fvcore 0.1.5 and FlopCounterMode count none of them)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .registry import OpDef, register_op, zero


@dataclass(frozen=True)
class NoAttrs:
    """The attributes of an op that has none."""


NO_ATTRS = NoAttrs()


class AttributelessOp(OpDef):
    """Base of an op without attributes: it parses to NO_ATTRS; its example is one map."""

    Attrs = NoAttrs

    def parse(self, f: Any) -> Any:
        return NO_ATTRS

    def example(self) -> Any:
        return ((1, 4, 5, 6),), self.Attrs()


class FreeElementwise(AttributelessOp):
    """Shape-preserving, cost-free, one operand: a subclass names its op and its torch module,
    ``torch.nn.<module>``, built from the attributes' fields in order (a subclass with
    attributes sets ``Attrs`` and ``parse``)."""

    module = ""                         # the torch.nn class it builds to

    def infer_shape(self, ins: Any, a: Any) -> Any:
        return ins[0]

    params = staticmethod(zero)
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: Any) -> Any:
        from torch import nn

        return getattr(nn, self.module)(*(getattr(a, f.name) for f in fields(a)))


def free_elementwise(name: str, module: str, doc: str = "") -> type:
    """Register an attribute-free :class:`FreeElementwise` op ``name`` building to
    ``torch.nn.<module>()``."""
    return register_op(type(module, (FreeElementwise,),
                            {"name": name, "module": module, "__doc__": doc or None}))


free_elementwise("relu", "ReLU")
free_elementwise("relu6", "ReLU6")
free_elementwise("silu", "SiLU")
free_elementwise("sigmoid", "Sigmoid")
free_elementwise("identity", "Identity",
                 "Stochastic depth and dropout in eval mode, or any no-op kept for naming.")


@dataclass(frozen=True)
class DropoutAttrs:
    p: float = 0.5


@register_op
class Dropout(FreeElementwise):
    name, module = "dropout", "Dropout"
    Attrs = DropoutAttrs

    def parse(self, f: Any) -> DropoutAttrs:
        return DropoutAttrs(f.float("p", 0.5, lo=0.0, hi=1.0))
