"""Ops without attributes that keep their input's shape and cost nothing in every convention:
activations, dropout and identity (pycls, fvcore 0.1.5 and FlopCounterMode count none of them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .registry import OpDef, register_op, zero


@dataclass(frozen=True)
class NoAttrs:
    """The attributes of an op that has none."""


NO_ATTRS = NoAttrs()


class FreeElementwise(OpDef):
    """Shape-preserving, cost-free, one operand: a subclass names its op and torch module."""

    Attrs = NoAttrs
    module = ""                         # the torch.nn class it builds to

    def parse(self, f: Any) -> Any:
        return NO_ATTRS

    def infer_shape(self, ins: Any, a: Any) -> Any:
        return ins[0]

    params = staticmethod(zero)
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: Any) -> Any:
        from torch import nn

        return getattr(nn, self.module)()

    def example(self) -> Any:
        return ((1, 4, 5, 6),), self.Attrs()


@register_op
class Relu(FreeElementwise):
    name, module = "relu", "ReLU"


@register_op
class Relu6(FreeElementwise):
    name, module = "relu6", "ReLU6"


@register_op
class Silu(FreeElementwise):
    name, module = "silu", "SiLU"


@register_op
class Sigmoid(FreeElementwise):
    name, module = "sigmoid", "Sigmoid"


@register_op
class Identity(FreeElementwise):
    """Stochastic depth and dropout in eval mode, or any no-op kept for naming."""

    name, module = "identity", "Identity"


@dataclass(frozen=True)
class DropoutAttrs:
    p: float = 0.5


@register_op
class Dropout(FreeElementwise):
    name = "dropout"
    Attrs = DropoutAttrs

    def parse(self, f: Any) -> DropoutAttrs:
        return DropoutAttrs(f.float("p", 0.5, lo=0.0, hi=1.0))

    def torch(self, ins: Any, out: Any, a: DropoutAttrs) -> Any:
        from torch import nn

        return nn.Dropout(a.p)
