"""Reductions over dims besides ``mean``: ``sum``, ``amax`` and ``amin`` (``x.max(dim)``'s values),
``var`` and ``std`` (EvoNorm's statistics; the correction changes no size or count).

No convention counts them: fvcore 0.1.5 reports ``aten::sum``, ``amax``, ``amin``, ``var`` and
``std`` as unsupported operators (0; ``max.dim`` it skips silently) and FlopCounterMode has no
formula for them.
"""

from typing import Any

from .aten import AtenCall, Node, NotModelled, Parts, compact
from .registry import register_op
from .resample import Mean, MeanAttrs


def reduction_from_aten(call: AtenCall) -> Any:
    """``aten.sum.dim_IntList``, ``amax``, ``amin``; ``max.dim`` and ``min.dim`` (one dim, with
    indices that are not modelled) become ``amax`` and ``amin``."""
    dims = call.arg("dim")
    if dims is None or dims == () or call.arg("dtype") is not None:
        raise NotModelled(f"{call.op} over every dim, or with a dtype")
    attrs: dict = {"dim": compact(dims)}
    if call.arg("keepdim", False):
        attrs["keepdim"] = True
    if call.op in ("max", "min"):
        return Parts((Node(attrs, op=f"a{call.op}"), None))
    return Node(attrs)


class Reduction(Mean):
    """A reduction over ``dim`` (one or several), built as the tensor method of its name."""

    def torch(self, ins: Any, out: Any, a: MeanAttrs) -> Any:
        return lambda x: getattr(x, self.name)(a.dim, keepdim=a.keepdim)


def reduction(name: str, *packets: str) -> type:
    """Register a :class:`Reduction` op ``name``, imported from ``aten.<packet>`` of each of
    ``packets``."""
    return register_op(type(name.capitalize(), (Reduction,), {
        "name": name, "aten": {packet: reduction_from_aten for packet in packets}}))


reduction("sum", "sum")
reduction("amax", "amax", "max")
reduction("amin", "amin", "min")
reduction("var", "var")
reduction("std", "std")
