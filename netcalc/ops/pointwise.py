"""Elementwise math transformers use beside :mod:`.unary`'s (``exp`` and ``log``: Swin v2's logit
scale and log-spaced coordinates): ``clamp``, ``F.normalize`` (Swin v2's cosine attention) and the vector norm it
divides by (``torch.linalg.vector_norm``: ``torch.export`` captures ``F.normalize`` as
``linalg_vector_norm``, ``clamp_min``, ``expand_as`` and ``div``).

No convention counts them: fvcore 0.1.5 skips ``aten::clamp`` silently and has no handle for
``aten::exp``, ``log``, ``linalg_vector_norm``, ``clamp_min`` or ``div`` (unsupported: 0), and
FlopCounterMode has no formula for any of them.
"""

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..limits import MAX_SCALAR
from ..errors import GraphError
from .attention import broadcasts_into
from .aten import AtenCall, Node, NotModelled, Tensor
from .registry import format_shape
from .registry import register_op
from .resample import Mean
from .shape import DIM, normalise_dim
from .simple import FreeElementwise
from .unary import FreeFunction



@dataclass(frozen=True)
class ClampAttrs:
    """The bounds (None: unbounded on that side; at least one is given): numbers, or operands
    after x (``tensor_min``, ``tensor_max``, in that order)."""

    min: Optional[float] = None
    max: Optional[float] = None
    tensor_min: bool = False
    tensor_max: bool = False


def clamp_from_aten(call: AtenCall) -> Node:
    """``aten.clamp``, ``clamp_min``, ``clamp_max``, ``clip`` of a data tensor or of one
    computed without the input (Swin v2's ``logit_scale.clamp(max=...)``); a bound is a number,
    or a tensor read as an operand (Gemma 4's clamp buffers)."""
    attrs: dict = {}
    bounds = []
    for key in ("min", "max"):
        bound = call.named.get(key)
        if isinstance(bound, Tensor):
            attrs[f"tensor_{key}"] = True
            bounds.append(call.materialise(bound))
        elif bound is not None:
            if not isinstance(bound, (int, float)) or isinstance(bound, bool):
                raise NotModelled(f"{call.op} with a bound of {type(bound).__name__}")
            attrs[key] = float(bound)
    x = call.named.get("self")
    if not isinstance(x, Tensor):
        raise NotModelled(f"{call.op} of a non-tensor")
    return Node(attrs, inputs=(call.materialise(x), *bounds), op="clamp")


@register_op
class Clamp(FreeFunction):
    """``torch.clamp(x, min, max)`` (``clamp_min``/``clamp_max`` give one bound), each bound a
    number or a tensor operand that broadcasts to x."""

    name, function = "clamp", "clamp"
    Attrs = ClampAttrs
    arity = (1, 3)
    aten = {packet: clamp_from_aten for packet in ("clamp", "clamp_min", "clamp_max", "clip")}

    def parse(self, f: Any) -> ClampAttrs:
        low = f.float("min", None, lo=-MAX_SCALAR, hi=MAX_SCALAR)
        high = f.float("max", None, lo=-MAX_SCALAR, hi=MAX_SCALAR)
        tensor_min, tensor_max = f.bool("tensor_min", False), f.bool("tensor_max", False)
        if (low is not None and tensor_min) or (high is not None and tensor_max):
            raise f.error("min" if tensor_min else "max", "a number and a tensor bound on one "
                                                          "side: give one")
        if low is None and high is None and not (tensor_min or tensor_max):
            raise f.error("min", "clamp needs min, max or both")
        return ClampAttrs(low, high, tensor_min, tensor_max)

    def infer_shape(self, ins: Any, a: ClampAttrs) -> Any:
        operands = 1 + int(a.tensor_min) + int(a.tensor_max)
        if len(ins) != operands:
            raise GraphError(f"needs {operands} operands (x and its tensor bounds), got "
                             f"{len(ins)}", field="inputs")
        for bound in ins[1:]:
            if not broadcasts_into(bound, ins[0]):
                raise GraphError(f"a bound of shape {format_shape(bound)} does not broadcast to "
                                 f"x's {format_shape(ins[0])}", field="inputs")
        return ins[0]

    def torch(self, ins: Any, out: Any, a: ClampAttrs) -> Any:
        import torch

        def clamp(x: Any, *bounds: Any) -> Any:
            given = iter(bounds)
            low = next(given) if a.tensor_min else a.min
            high = next(given) if a.tensor_max else a.max
            return torch.clamp(x, low, high)
        return clamp

    def example(self) -> Any:
        return ((1, 4, 5, 6),), ClampAttrs(None, 4.6)


@dataclass(frozen=True)
class NormalizeAttrs:
    """``F.normalize``'s norm order, dim and eps."""

    p: float = 2.0
    dim: int = 1
    eps: float = 1e-12


@register_op
class Normalize(FreeElementwise):
    """``F.normalize(x, p, dim, eps)``: x divided by its p-norm along ``dim``."""

    name = "normalize"
    Attrs = NormalizeAttrs

    def parse(self, f: Any) -> NormalizeAttrs:
        return NormalizeAttrs(f.float("p", 2.0, lo=0.0, hi=MAX_SCALAR), f.int("dim", 1, **DIM),
                              f.float("eps", 1e-12, lo=0.0, hi=1.0))

    def infer_shape(self, ins: Any, a: NormalizeAttrs) -> Any:
        normalise_dim(a.dim, len(ins[0]))
        return ins[0]

    def torch(self, ins: Any, out: Any, a: NormalizeAttrs) -> Any:
        import torch.nn.functional as F

        return lambda x: F.normalize(x, a.p, a.dim, a.eps)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), NormalizeAttrs(dim=-1)


@dataclass(frozen=True)
class VectorNormAttrs:
    """The dims reduced, whether they stay as size 1, and the norm's order."""

    dim: Tuple[int, ...]
    keepdim: bool = False
    ord: float = 2.0


def vector_norm_from_aten(call: AtenCall) -> Node:
    dims = call.arg("dim")
    if not dims or call.arg("dtype") is not None:
        raise NotModelled("a vector norm over every dim, or with a dtype")
    attrs: dict = {"dim": [int(d) for d in dims]}
    if call.arg("keepdim", False):
        attrs["keepdim"] = True
    if float(call.arg("ord", 2)) != 2:
        attrs["ord"] = float(call.arg("ord"))
    return Node(attrs)


@register_op
class VectorNorm(Mean):
    """``torch.linalg.vector_norm(x, ord, dim, keepdim)``: shaped as ``mean`` over ``dim``."""

    name = "vector_norm"
    Attrs = VectorNormAttrs
    aten = {"linalg_vector_norm": vector_norm_from_aten}

    def parse(self, f: Any) -> VectorNormAttrs:
        return VectorNormAttrs(f.int_list("dim", lo=-64, hi=63, min_len=1, max_len=64),
                               f.bool("keepdim", False), f.float("ord", 2.0, lo=0.0, hi=MAX_SCALAR))

    def torch(self, ins: Any, out: Any, a: VectorNormAttrs) -> Any:
        import torch

        return lambda x: torch.linalg.vector_norm(x, a.ord, a.dim, a.keepdim)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), VectorNormAttrs((-1,), True, 1.0)
