"""Elementwise activations beyond ReLU/SiLU/sigmoid, and softmax.

None of the three conventions counts them: fvcore 0.1.5 has no handle for ``aten::hardswish``,
``hardsigmoid``, ``tanh``, ``mish``, ``gelu``, ``leaky_relu``, ``elu``, ``softplus``, ``prelu`` or
``softmax`` (it reports each as an unsupported operator and counts 0), and FlopCounterMode counts
only matrix products and convolutions. PReLU's learned slopes are parameters.
"""

from dataclasses import dataclass
from typing import Any

from ..errors import GraphError
from ..limits import MAX_COEFFICIENT
from .registry import register_op
from .shape import DIM, normalise_dim
from .simple import FreeElementwise, free_elementwise



free_elementwise("hardswish", "Hardswish")
free_elementwise("hardsigmoid", "Hardsigmoid")
free_elementwise("tanh", "Tanh")
free_elementwise("mish", "Mish")


@dataclass(frozen=True)
class GeluAttrs:
    """GELU's attributes: the tanh approximation or the exact erf form."""

    approximate: str = "none"


@register_op
class Gelu(FreeElementwise):
    name, module = "gelu", "GELU"
    Attrs = GeluAttrs

    def parse(self, f: Any) -> GeluAttrs:
        return GeluAttrs(f.str("approximate", "none", choices=("none", "tanh")))


@dataclass(frozen=True)
class LeakyReluAttrs:
    """Leaky ReLU's slope for negative inputs."""

    negative_slope: float = 0.01


@register_op
class LeakyRelu(FreeElementwise):
    name, module = "leaky_relu", "LeakyReLU"
    Attrs = LeakyReluAttrs

    def parse(self, f: Any) -> LeakyReluAttrs:
        return LeakyReluAttrs(f.float("negative_slope", 0.01, lo=-MAX_COEFFICIENT,
                                      hi=MAX_COEFFICIENT))


@dataclass(frozen=True)
class EluAttrs:
    """ELU's scale of the negative part."""

    alpha: float = 1.0


@register_op
class Elu(FreeElementwise):
    name, module = "elu", "ELU"
    Attrs = EluAttrs

    def parse(self, f: Any) -> EluAttrs:
        return EluAttrs(f.float("alpha", 1.0, lo=-MAX_COEFFICIENT, hi=MAX_COEFFICIENT))


@dataclass(frozen=True)
class SoftplusAttrs:
    """Softplus's sharpness and the input above which it is the identity."""

    beta: float = 1.0
    threshold: float = 20.0


@register_op
class Softplus(FreeElementwise):
    name, module = "softplus", "Softplus"
    Attrs = SoftplusAttrs

    def parse(self, f: Any) -> SoftplusAttrs:
        beta = f.float("beta", 1.0, lo=-MAX_COEFFICIENT, hi=MAX_COEFFICIENT)
        if beta == 0:
            raise f.error("beta", "must not be 0 (softplus divides by it)")
        return SoftplusAttrs(beta, f.float("threshold", 20.0, lo=-MAX_COEFFICIENT,
                                           hi=MAX_COEFFICIENT))


@dataclass(frozen=True)
class PreluAttrs:
    """PReLU's number of learned slopes: one shared, or one per channel."""

    num_parameters: int = 1


@register_op
class Prelu(FreeElementwise):
    """Leaky ReLU with learned slopes: one shared, or one per channel (dim 1)."""

    name, module = "prelu", "PReLU"
    Attrs = PreluAttrs

    def parse(self, f: Any) -> PreluAttrs:
        return PreluAttrs(f.int("num_parameters", 1, lo=1, hi=1 << 20))

    def infer_shape(self, ins: Any, a: PreluAttrs) -> Any:
        shape = ins[0]
        channels = shape[1] if len(shape) > 1 else None
        if a.num_parameters != 1 and a.num_parameters != channels:
            raise GraphError(f"num_parameters {a.num_parameters} must be 1 or the input's "
                             f"channels (dim 1: {channels})", field="num_parameters")
        return shape

    params = staticmethod(lambda ins, out, a: a.num_parameters)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), PreluAttrs(4)


@dataclass(frozen=True)
class SoftmaxAttrs:
    """The dim softmax normalises over."""

    dim: int


@register_op
class Softmax(FreeElementwise):
    name, module = "softmax", "Softmax"
    Attrs = SoftmaxAttrs

    def parse(self, f: Any) -> SoftmaxAttrs:
        return SoftmaxAttrs(f.int("dim", **DIM))

    def infer_shape(self, ins: Any, a: SoftmaxAttrs) -> Any:
        normalise_dim(a.dim, len(ins[0]))
        return ins[0]

    def example(self) -> Any:
        return ((1, 4, 5, 6),), SoftmaxAttrs(-1)
