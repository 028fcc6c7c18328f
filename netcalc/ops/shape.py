"""Ops that only rearrange a tensor: flatten. Free in every convention."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import GraphError
from ..limits import MAX_RANK
from .aten import AtenCall, Node
from .registry import OpDef, register_op, zero


@dataclass(frozen=True)
class FlattenAttrs:
    start_dim: int = 1
    end_dim: int = -1


FLATTEN = FlattenAttrs()
DIM = {"lo": -MAX_RANK, "hi": MAX_RANK - 1}     # bounds of a torch dim argument


def normalise_dim(dim: int, rank: int, field: str = "dim") -> int:
    """A torch dim (negative counts from the end) as an index into a shape of ``rank`` dims."""
    if not -rank <= dim < rank:
        raise GraphError(f"dim {dim} is out of range for a tensor of rank {rank}", field=field)
    return dim % rank


def flatten_from_aten(call: AtenCall) -> Node:
    return Node({"start_dim": int(call.arg("start_dim", 0)), "end_dim": int(call.arg("end_dim", -1))})


@register_op
class Flatten(OpDef):
    name = "flatten"
    Attrs = FlattenAttrs
    aten = {"flatten": flatten_from_aten}

    def parse(self, f: Any) -> FlattenAttrs:
        return FlattenAttrs(f.int("start_dim", 1, **DIM), f.int("end_dim", -1, **DIM))

    def infer_shape(self, ins: Any, a: FlattenAttrs) -> Any:
        shape = ins[0]
        start = normalise_dim(a.start_dim, len(shape), "start_dim")
        end = normalise_dim(a.end_dim, len(shape), "end_dim")
        if end < start:
            raise GraphError(f"end_dim {a.end_dim} comes before start_dim {a.start_dim}",
                             field="end_dim")
        return tuple(shape[:start]) + (math.prod(shape[start:end + 1]),) + tuple(shape[end + 1:])

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: FlattenAttrs) -> Any:
        from torch import nn

        return nn.Flatten(a.start_dim, a.end_dim)

    def example(self) -> Any:
        return ((1, 3, 4, 5),), FlattenAttrs(1, 2)
