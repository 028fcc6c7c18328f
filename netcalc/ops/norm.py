"""Batch normalisation: ``nn.BatchNorm1d/2d/3d`` in eval mode (running statistics), and batch norm
with the batch's own statistics (``F.batch_norm(..., training=True)``: timm's weight
standardisation normalises each conv's weight so, in eval too)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import GraphError
from ..limits import MAX_RANK
from .aten import AtenCall, Node, NotModelled
from .registry import OpDef, check_rank, register_op, zero
from .simple import AttributelessOp, NoAttrs


def bn_from_aten(call: AtenCall) -> Node:
    """``aten.batch_norm`` in eval (running statistics are buffers, not parameters); with
    ``training`` true, ``bn_batch_stats``: a learned weight and bias, none, or a weight computed
    in forward and no bias (weight standardisation's gain), read as its second operand."""
    if not call.arg("training", False):
        call.param("weight")
        call.param("bias")
        return Node()
    weight, bias = call.named.get("weight"), call.named.get("bias")
    if weight is None and bias is None:
        return Node(op="bn_batch_stats")
    if weight is not None and weight.is_param and bias is not None and bias.is_param:
        return Node({"learned": True}, op="bn_batch_stats")
    if weight is not None and bias is None:
        return Node(inputs=(call.first, call.materialise(weight)), op="bn_batch_stats")
    raise NotModelled("batch norm with batch statistics and a bias computed in forward")


@register_op
class BatchNorm(AttributelessOp):
    name = "bn"

    def infer_shape(self, ins: Any, a: NoAttrs) -> Any:
        check_rank("bn", ins[0], (2, 3, 4, 5), "a (N, C), (N, C, L), (N, C, H, W) or "
                                               "(N, C, D, H, W) input")
        return ins[0]

    params = {"pycls": lambda ins, out, a: 2 * ins[0][1]}   # gamma, beta (stats are buffers)
    # fvcore 0.1.5 in eval: 2 per input element (5 in training); FlopCounterMode: nothing
    flops = {"pycls": zero, "fvcore": lambda ins, out, a: 2 * math.prod(ins[0]), "torch": zero}
    acts = {"pycls": zero}
    aten = {"batch_norm": bn_from_aten, "_native_batch_norm_legit_no_training": bn_from_aten}

    def torch(self, ins: Any, out: Any, a: NoAttrs) -> Any:
        from torch import nn

        return getattr(nn, f"BatchNorm{max(len(ins[0]) - 2, 1)}d")(ins[0][1])


@dataclass(frozen=True)
class BatchStatsAttrs:
    """``learned``: a learned weight and bias per channel (2 * C params)."""

    learned: bool = False


@register_op
class BatchStatsNorm(OpDef):
    """Batch norm with the batch's own statistics (``training=True``; its second operand, when
    given, is the per-channel weight, computed in forward). fvcore 0.1.5 prices it with its norm
    handle: 5 per input element with a weight, 4 without; FlopCounterMode: nothing."""

    name = "bn_batch_stats"
    Attrs = BatchStatsAttrs
    arity = (1, 2)

    def parse(self, f: Any) -> BatchStatsAttrs:
        return BatchStatsAttrs(f.bool("learned", False))

    def infer_shape(self, ins: Any, a: BatchStatsAttrs) -> Any:
        check_rank(self.name, ins[0], tuple(range(2, MAX_RANK + 1)), "a (N, C, ...) input")
        if len(ins) == 2:
            check_rank(self.name, ins[1], (1,), "a weight of shape (C,)")
        if len(ins) == 2 and a.learned:
            raise GraphError("a learned weight and a weight operand: give one", field="learned")
        return ins[0]

    def conditions(self, ins: Any, out: Any, a: BatchStatsAttrs) -> Any:
        return ((ins[1][0], ins[0][1]),) if len(ins) == 2 else ()

    params = {"pycls": lambda ins, out, a: 2 * ins[0][1] * int(a.learned)}
    flops = {"pycls": zero,
             "fvcore": lambda ins, out, a: math.prod(ins[0]) * (
                 4 + int(a.learned or len(ins) == 2)),
             "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: BatchStatsAttrs) -> Any:
        from ..torch.tensor_modules import BatchStatsNorm as Module

        return Module(ins[0][1], a.learned)

    def example(self) -> Any:
        return ((1, 4, 27), (4,)), BatchStatsAttrs()
