"""Ops without attributes that keep their input's shape and cost nothing in every convention:
activations, dropout and identity (pycls, fvcore 0.1.5 and FlopCounterMode count none of them)."""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, Callable, Sequence

from .aten import DERIVED, Alias, AtenCall, Node, NotModelled, Tensor, alias, same_op
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

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: Any) -> Any:
        from torch import nn

        return getattr(nn, self.module)(*(getattr(a, f.name) for f in fields(a)))


def free_elementwise(name: str, module: str, doc: str = "", aten: Sequence[str] = ()) -> type:
    """Register an attribute-free :class:`FreeElementwise` op ``name`` building to
    ``torch.nn.<module>()``, imported from the ATen ops ``aten``."""
    return register_op(type(module, (FreeElementwise,),
                            {"name": name, "module": module, "__doc__": doc or None,
                             "aten": {packet: same_op for packet in aten}}))


def attrs_from_aten(attrs: type) -> Callable[[AtenCall], Node]:
    """The converter of an op whose attributes are ATen arguments of the same names (gelu's
    ``approximate``, leaky_relu's ``negative_slope``); defaults are left out of the spec."""
    def convert(call: AtenCall) -> Node:
        found = {}
        for f in fields(attrs):
            value = call.arg(f.name)
            if value is not None and (f.default is MISSING or value != f.default):
                found[f.name] = value
        return Node(found)
    return convert


def hardtanh_from_aten(call: AtenCall) -> Node:
    """``aten.hardtanh`` is ``nn.ReLU6`` when it clips to 0..6 (the only range modelled)."""
    low, high = float(call.arg("min_val", -1.0)), float(call.arg("max_val", 1.0))
    if (low, high) != (0.0, 6.0):
        raise NotModelled(f"hardtanh({low:g}, {high:g}) (only relu6's 0..6 is modelled)")
    return Node()


def dropout_from_aten(call: AtenCall) -> Alias:
    """Dropout in eval mode passes its input through (no node, no cost)."""
    if call.arg("train", False):
        raise NotModelled(f"{call.op} in training mode")
    return alias(call)


def copied_into(call: AtenCall) -> Alias:
    """``dst.copy_(src)`` into a view of a tensor computed from the input (MViTv2 adds its
    relative positions with ``attn[:, :, 1:, 1:] = ...``): the copy computes nothing, the
    tensor keeps its shape, and the ops that computed ``src`` are nodes already, counted as
    the model runs them. Neither fvcore 0.1.5 nor FlopCounterMode prices ``copy_``."""
    dst, src = call.named.get("self"), call.named.get("src")
    if not (isinstance(dst, Tensor) and dst.is_data):
        raise NotModelled("copy_ into a tensor that is not computed from the input")
    if isinstance(src, Tensor) and src.kind == DERIVED:
        raise NotModelled("copy_ of a tensor computed from parameters alone")
    return Alias(dst)


def cast_like(call: AtenCall) -> Alias:
    """``a.type_as(b)``: ``a`` in ``b``'s dtype, whatever ``b`` is (DiffAttention's lambda, a
    value computed from parameters, cast like the queries: not the queries)."""
    value = call.arg("self")
    return Alias(value) if isinstance(value, Tensor) else alias(call)


free_elementwise("relu", "ReLU", aten=("relu",))
free_elementwise("silu", "SiLU", aten=("silu",))
free_elementwise("sigmoid", "Sigmoid", aten=("sigmoid",))
register_op(type("ReLU6", (FreeElementwise,), {
    "name": "relu6", "module": "ReLU6",
    "aten": {"relu6": same_op, "hardtanh": hardtanh_from_aten}}))
register_op(type("Identity", (FreeElementwise,), {
    "name": "identity", "module": "Identity",
    "__doc__": "Stochastic depth and dropout in eval mode, or any no-op kept for naming. "
               "Imported ATen ops that only pass their input on (copies, casts, detach) "
               "leave no node.",
    "aten": {**{packet: alias for packet in ("clone", "contiguous", "detach", "alias",
                                             "lift_fresh_copy", "_to_copy", "to")},
             "type_as": cast_like, "copy_": copied_into}}))


@dataclass(frozen=True)
class DropoutAttrs:
    p: float = 0.5


@register_op
class Dropout(FreeElementwise):
    name, module = "dropout", "Dropout"
    Attrs = DropoutAttrs

    aten = {packet: dropout_from_aten for packet in ("dropout", "feature_dropout", "alpha_dropout",
                                                     "feature_alpha_dropout")}

    def parse(self, f: Any) -> DropoutAttrs:
        return DropoutAttrs(f.float("p", 0.5, lo=0.0, hi=1.0))
