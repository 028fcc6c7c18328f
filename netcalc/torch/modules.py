"""Small torch modules that op definitions build to where torch.nn has no module of its own.

Every op of a built graph is a module, so tracing tools attribute each op to exactly one node.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Optional

import torch
from torch import nn


class Binary(nn.Module):
    """``x <op> other`` with broadcasting, or ``x <op> value`` for a constant operand."""

    FUNCTIONS = {"add": operator.add, "mul": operator.mul, "sub": operator.sub,
                 "div": operator.truediv,
                 "maximum": lambda x, o: x.clamp_min(o) if isinstance(o, float) else
                 torch.maximum(x, o),
                 "minimum": lambda x, o: x.clamp_max(o) if isinstance(o, float) else
                 torch.minimum(x, o)}

    def __init__(self, op: str, value: Optional[float] = None):
        super().__init__()
        self.op = op
        self.value = value
        self.fn: Callable[[Any, Any], Any] = self.FUNCTIONS[op]

    def forward(self, x: torch.Tensor, other: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.fn(x, self.value if other is None else other)

    def extra_repr(self) -> str:
        return self.op if self.value is None else f"{self.op}, value={self.value}"


class PartialAdd(nn.Module):
    """ReXNet's residual: a narrower ``other`` is added into the first channels of ``x``."""

    def __init__(self, channels: int, other_channels: int):
        super().__init__()
        self.channels = channels
        self.other_channels = other_channels

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        if self.other_channels == self.channels:
            return x + other
        head = x[:, :self.other_channels] + other
        return torch.cat([head, x[:, self.other_channels:]], dim=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, other_channels={self.other_channels}"


class Function(nn.Module):
    """Wraps a plain callable an op builds to, so it is a module of its own."""

    def __init__(self, fn: Callable[..., Any], name: str = ""):
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "function")

    def forward(self, *args: Any) -> Any:
        return self.fn(*args)

    def extra_repr(self) -> str:
        return self.name
