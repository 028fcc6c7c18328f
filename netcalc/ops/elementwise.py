"""Binary elementwise ops (add, mul): two operands with torch's broadcasting, or one operand and a
constant ``value``. None of the three conventions counts them (fvcore 0.1.5 skips aten::add and
aten::mul; FlopCounterMode has no formula for them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..errors import GraphError
from ..limits import MAX_SCALAR
from .aten import AtenCall, Node, NotModelled, Tensor, follows_input
from .registry import OpDef, Shape, format_shape, is_concrete, register_op, zero



def broadcast(a: Shape, b: Shape) -> Shape:
    """torch's broadcast of two shapes. Sizes that differ only symbolically are taken as equal
    (the first operand's); :func:`broadcast_mismatches` lists them for the closed forms."""
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif is_concrete(x) and is_concrete(y):
            raise GraphError(f"shapes {format_shape(a)} and {format_shape(b)} do not broadcast",
                             field="inputs")
        else:
            out.append(x)
    return tuple(out)


def broadcast_mismatches(a: Shape, b: Shape) -> Tuple[Tuple[Any, Any], ...]:
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    return tuple((x, y) for x, y in zip(a, b) if not (x == y or x == 1 or y == 1))


def param_binary_node(op: str, param: Tensor, other: Tensor) -> Optional[Node]:
    """``param_add``/``param_mul`` of a data tensor and a parameter. A parameter resized in
    forward to a shape that follows the input (timm's position embedding, interpolated to the
    token grid when ``dynamic_img_size``) is ``resampled``: its own shape, the operand's size.
    None for a parameter resized to another rank (NaFlexViT's (1, C, h, w) grid read as
    tokens) or to a shape that broadcasts (its (1, 1, w, C) row added to a (1, h, 1, C)
    column): the nodes that resize it are written instead."""
    # computed from one parameter, to a size that follows the input, at that parameter's rank
    # or with leading dims of 1 added (timm's CLIP attention pool resizes its (50, 2048)
    # embedding to (1, N, 2048)); another rank or width: computed otherwise, as XCiT's conv of
    # a Fourier grid
    learned = tuple(param.learned)
    if learned and len(learned) < len(param.shape) and learned[-1] == int(param.shape[-1]):
        learned = (1,) * (len(param.shape) - len(learned)) + learned
    resized = bool(learned) and any(map(follows_input, param.shape))
    if resized and (len(learned) != len(param.shape) or len(param.shape) != len(other.shape)
                    or any((int(p) == 1) != (int(o) == 1)
                           for p, o in zip(param.shape, other.shape))):
        return None     # resized to a shape that broadcasts against the operand: its ops written
    resampled = resized
    attrs: dict = {"param_shape": [int(d) for d in (learned if resampled else param.shape)]}
    if resampled:
        attrs["resampled"] = True
    return Node(attrs, inputs=(other,), op=f"param_{op}")


def binary_from_aten(call: AtenCall) -> Node:
    """``aten.add/sub/mul/div`` of two tensors, or of a tensor and a number. A parameter added
    to or multiplied with a data tensor is ``param_add``/``param_mul``; any other operand
    computed without the input (a buffer, a frozen batch norm's scale) is written as the nodes
    that compute it (:meth:`AtenCall.materialise`), and the op reads two data tensors."""
    op = call.op.rstrip("_")
    a, b = call.named.get("self"), call.named.get("other")
    if float(call.arg("alpha", 1)) != 1 or call.arg("rounding_mode") is not None:
        raise NotModelled(f"{op} with alpha or a rounding mode")
    if not isinstance(b, Tensor):      # tensor <op> number
        if isinstance(b, bool) or not isinstance(b, (int, float)):
            raise NotModelled(f"{op} of a tensor and {type(b).__name__}")
        return Node({"value": float(b)}, inputs=(call.materialise(a),))
    params = [t for t in (a, b) if t.is_param]
    if len(params) == 1 and op in ("add", "mul"):
        other = b if params[0] is a else a
        node = param_binary_node(op, params[0], other) if other.is_data else None
        if node is not None:
            return node
    return Node(inputs=(call.materialise(a), call.materialise(b)))


@dataclass(frozen=True)
class BinaryAttrs:
    value: Optional[float] = None     # the constant operand when there is one operand
    partial: bool = False             # add only: a narrower operand goes into the first channels


NO_BINARY = BinaryAttrs()
PARTIAL_ADD = BinaryAttrs(partial=True)


class Binary(OpDef):
    """``x <op> other`` (``inputs``/``with``) or ``x <op> value``; a subclass names its op."""

    Attrs = BinaryAttrs
    arity = (1, 2)
    symbol = ""
    aten: dict = {}

    def parse(self, f: Any) -> BinaryAttrs:
        return BinaryAttrs(f.float("value", None, lo=-MAX_SCALAR, hi=MAX_SCALAR))

    def infer_shape(self, ins: Any, a: BinaryAttrs) -> Any:
        if (len(ins) == 2) == (a.value is not None):
            raise GraphError("needs exactly one of a second operand (`with` or `inputs`) and "
                             "`value`", field="with")
        if len(ins) == 1:
            return ins[0]
        if a.partial:
            return self._partial(ins)
        return broadcast(ins[0], ins[1])

    def _partial(self, ins: Any) -> Any:
        x, other = ins
        same_rest = len(x) == len(other) and all(
            p == q or not (is_concrete(p) and is_concrete(q)) for p, q in zip(x[2:], other[2:]))
        if not same_rest or not (is_concrete(other[1]) and other[1] <= x[1]):
            raise GraphError(f"shapes {format_shape(x)} and {format_shape(other)} do not match "
                             "(a partial add needs the second no wider)", field="with")
        return x

    def conditions(self, ins: Any, out: Any, a: BinaryAttrs) -> Any:
        if len(ins) < 2:
            return ()
        if a.partial:
            return tuple((p, q) for p, q in zip(ins[0][2:], ins[1][2:]) if p != q)
        return broadcast_mismatches(ins[0], ins[1])

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: BinaryAttrs) -> Any:
        from ..torch.modules import Binary as BinaryModule, PartialAdd

        if a.partial:
            return PartialAdd(out[1], ins[1][1])
        return BinaryModule(self.symbol, a.value)

    def example(self) -> Any:
        return ((1, 4, 5, 6), (1, 4, 1, 1)), NO_BINARY


@register_op
class Add(Binary):
    """The one binary op with an attribute of its own: ``partial`` (ReXNet)."""

    name, symbol = "add", "add"
    aten = {"add": binary_from_aten}

    def parse(self, f: Any) -> BinaryAttrs:
        return BinaryAttrs(f.float("value", None, lo=-MAX_SCALAR, hi=MAX_SCALAR),
                           f.bool("partial", False))


def binary(name: str, **more_aten: Any) -> type:
    """Register a :class:`Binary` op ``name`` (its torch module applies the Python operator of that name),
    imported from ``aten.<name>`` (and the ATen ops of ``more_aten``: packet -> converter)."""
    aten = {name: binary_from_aten, **more_aten}
    return register_op(type(name.capitalize(), (Binary,), {"name": name, "symbol": name,
                                                           "aten": aten}))


binary("mul")
