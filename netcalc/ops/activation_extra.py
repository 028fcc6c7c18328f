"""Elementwise activations beyond ReLU/SiLU/sigmoid, and softmax.

None of the three conventions counts them: fvcore 0.1.5 has no handle for ``aten::hardswish``,
``hardsigmoid``, ``tanh``, ``mish``, ``gelu``, ``leaky_relu``, ``elu``, ``softplus``, ``prelu`` or
``softmax`` (it reports each as an unsupported operator and counts 0), and FlopCounterMode counts
only matrix products and convolutions. PReLU's learned slopes are parameters.
"""

from dataclasses import dataclass
from typing import Any

from ..errors import GraphError
import math

from ..limits import MAX_COEFFICIENT
from .aten import AtenCall, Node, NotModelled
from .registry import register_op
from .shape import DIM, normalise_dim
from .simple import FreeElementwise, attrs_from_aten, free_elementwise



free_elementwise("hardswish", "Hardswish", aten=("hardswish",))
free_elementwise("hardsigmoid", "Hardsigmoid", aten=("hardsigmoid",))
free_elementwise("tanh", "Tanh", aten=("tanh",))
free_elementwise("mish", "Mish", aten=("mish",))


@dataclass(frozen=True)
class GeluAttrs:
    """GELU's attributes: the tanh approximation or the exact erf form."""

    approximate: str = "none"


@register_op
class Gelu(FreeElementwise):
    name, module = "gelu", "GELU"
    Attrs = GeluAttrs
    aten = {"gelu": attrs_from_aten(GeluAttrs)}

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
    aten = {"leaky_relu": attrs_from_aten(LeakyReluAttrs)}

    def parse(self, f: Any) -> LeakyReluAttrs:
        return LeakyReluAttrs(f.float("negative_slope", 0.01, lo=-MAX_COEFFICIENT,
                                      hi=MAX_COEFFICIENT))


@dataclass(frozen=True)
class EluAttrs:
    """ELU's scale of the negative part."""

    alpha: float = 1.0


def elu_from_aten(call: AtenCall) -> Node:
    if (float(call.arg("scale", 1.0)), float(call.arg("input_scale", 1.0))) != (1.0, 1.0):
        raise NotModelled("elu with a scale (selu, celu) (only alpha is modelled)")
    return attrs_from_aten(EluAttrs)(call)


@register_op
class Elu(FreeElementwise):
    name, module = "elu", "ELU"
    Attrs = EluAttrs
    aten = {"elu": elu_from_aten}

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
    aten = {"softplus": attrs_from_aten(SoftplusAttrs)}

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

    @property
    def per_channel(self) -> int:
        """1 for a slope per channel, 0 for one shared slope: a factor in the params rule."""
        return int(self.num_parameters != 1)


def prelu_from_aten(call: AtenCall) -> Node:
    """The slopes are a parameter: one, or one per channel."""
    weight = call.param("weight")
    return Node({"num_parameters": math.prod(int(d) for d in weight.shape)})


@register_op
class Prelu(FreeElementwise):
    """Leaky ReLU with learned slopes: one shared, or one per channel (dim 1)."""

    name, module = "prelu", "PReLU"
    Attrs = PreluAttrs
    aten = {"prelu": prelu_from_aten, "_prelu_kernel": prelu_from_aten}

    def parse(self, f: Any) -> PreluAttrs:
        return PreluAttrs(f.int("num_parameters", 1, lo=1, hi=1 << 20))

    def infer_shape(self, ins: Any, a: PreluAttrs) -> Any:
        shape = ins[0]
        channels = shape[1] if len(shape) > 1 else None
        if a.num_parameters != 1 and a.num_parameters != channels:
            raise GraphError(f"num_parameters {a.num_parameters} must be 1 or the input's "
                             f"channels (dim 1: {channels})", field="num_parameters")
        return shape

    # the slopes: ins[0][1] (the channels; 1 for a 1-D input, which has none) or one shared
    params = {"pycls": lambda ins, out, a: a.per_channel * math.prod(ins[0][1:2])
                       + 1 - a.per_channel}

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
    aten = {"softmax": attrs_from_aten(SoftmaxAttrs), "_softmax": attrs_from_aten(SoftmaxAttrs)}

    def parse(self, f: Any) -> SoftmaxAttrs:
        return SoftmaxAttrs(f.int("dim", **DIM))

    def infer_shape(self, ins: Any, a: SoftmaxAttrs) -> Any:
        normalise_dim(a.dim, len(ins[0]))
        return ins[0]

    def example(self) -> Any:
        return ((1, 4, 5, 6),), SoftmaxAttrs(-1)
