"""Matrix products (``torch.matmul``): batched, with torch's broadcasting of the batch dims.

The three counters disagree when the second operand's batch dims are broadcast over a smaller
first one: fvcore 0.1.5's ``aten::matmul`` handle counts ``prod(A's shape) * N``, FlopCounterMode
counts 2 per multiply-accumulate of the ``mm``/``bmm`` matmul becomes (``2 * out * K``), and pycls
(its attention code) counts the multiply-accumulates, ``out * K``. Every counter that counts
activations counts the output elements.
"""

import math
from typing import Any

from ..errors import GraphError
from .elementwise import broadcast, broadcast_mismatches
from .aten import AtenCall, Node, NotModelled, follows_input
from .registry import format_shape, is_concrete, numel_out, register_op, zero
from .simple import NO_ATTRS, AttributelessOp, NoAttrs


def matmul_macs(ins: Any, out: Any, a: Any) -> Any:
    """Multiply-accumulates: K per output element."""
    return math.prod(out) * ins[0][-1]


def matmul_from_aten(call: AtenCall) -> Node:
    """``aten.matmul``, ``bmm``, ``mm`` of two tensors (one computed without the input is
    written as its nodes), or of a data tensor and a 2-D parameter: a linear layer written by hand (SwiftFormer's ``query @ self.w_g``), which every
    convention counts as the bias-free ``linear`` it equals (fvcore's matmul and linear handles
    both count prod(x) * N flops and the output as acts; FlopCounterMode counts the ``mm`` of
    both)."""
    operands = call.tensors
    if len(operands) == 2 and operands[0].is_data and operands[1].is_param \
            and len(operands[1].shape) == 2 and not follows_input(operands[0].shape[-1]):
        return Node({"out": int(operands[1].shape[1]), "bias": False}, inputs=operands[:1],
                    op="linear")
    if len(operands) != 2:
        raise NotModelled(f"{call.op} of {len(operands)} tensors")
    # any other operand computed without the input is written as the nodes computing it
    return Node(inputs=tuple(call.materialise(t) for t in operands))


@register_op
class Matmul(AttributelessOp):
    """``A @ B`` with A (..., M, K) and B (..., K, N), both of rank 2 or more (fvcore fails on a
    1-D second operand)."""

    name = "matmul"
    arity = (2, 2)
    aten = {"matmul": matmul_from_aten, "bmm": matmul_from_aten, "mm": matmul_from_aten}

    def infer_shape(self, ins: Any, a: NoAttrs) -> Any:
        left, right = ins
        if len(left) < 2 or len(right) < 2:
            raise GraphError(f"needs two operands of rank 2 or more, got {format_shape(left)} "
                             f"and {format_shape(right)}", field="inputs")
        if is_concrete(left[-1]) and is_concrete(right[-2]) and left[-1] != right[-2]:
            raise GraphError(f"{format_shape(left)} @ {format_shape(right)}: inner sizes "
                             f"{left[-1]} and {right[-2]} differ", field="inputs")
        try:
            batch = broadcast(left[:-2], right[:-2])
        except GraphError:
            raise GraphError(f"{format_shape(left)} @ {format_shape(right)}: batch dims do not "
                             "broadcast", field="inputs") from None
        return tuple(batch) + (left[-2], right[-1])

    def conditions(self, ins: Any, out: Any, a: NoAttrs) -> Any:
        left, right = ins
        inner = () if left[-1] == right[-2] else ((left[-1], right[-2]),)
        return inner + broadcast_mismatches(left[:-2], right[:-2])

    params = {"pycls": zero}
    flops = {"pycls": matmul_macs,
             "fvcore": lambda ins, out, a: math.prod(ins[0]) * ins[1][-1],
             "torch": lambda ins, out, a: 2 * matmul_macs(ins, out, a)}
    acts = {"pycls": numel_out}

    def torch(self, ins: Any, out: Any, a: NoAttrs) -> Any:
        import torch

        return torch.matmul

    def example(self) -> Any:
        return ((2, 1, 5, 6), (3, 6, 4)), NO_ATTRS
