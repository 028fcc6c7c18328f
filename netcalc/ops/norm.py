"""Batch normalisation (``nn.BatchNorm1d/2d/3d`` in eval mode)."""
from __future__ import annotations

import math
from typing import Any

from .aten import AtenCall, Node, NotModelled
from .registry import check_rank, register_op, zero
from .simple import AttributelessOp, NoAttrs


def bn_from_aten(call: AtenCall) -> Node:
    """``aten.batch_norm`` in eval (running statistics are buffers, not parameters)."""
    if call.arg("training", False):
        raise NotModelled("batch norm in training mode (batch statistics)")
    call.param("weight")
    call.param("bias")
    return Node()


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
