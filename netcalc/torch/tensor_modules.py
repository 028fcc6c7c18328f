"""torch modules that the new ops' torch facets build to (imported only by those facets)."""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn


class ParamBinary(nn.Module):
    """``x * p`` or ``x + p`` with a learned ``p`` (ConvNeXt's layer scale, a learned bias);
    ``resampled``: ``p`` resized to ``x``'s shape first (flattened, linearly: neither fvcore nor
    FlopCounterMode counts that, as they count none of timm's bicubic resize)."""

    def __init__(self, op: str, param_shape: Sequence[int], resampled: bool = False):
        super().__init__()
        self.op = op
        self.resampled = resampled
        self.param = nn.Parameter(torch.zeros(tuple(param_shape)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        param = self._resized(x.shape) if self.resampled else self.param
        return x * param if self.op == "mul" else x + param

    def _resized(self, shape: Sequence[int]) -> torch.Tensor:
        flat = self.param.reshape(1, 1, -1)
        return nn.functional.interpolate(flat, size=math.prod(shape), mode="linear").reshape(shape)


class ChannelsFirst(nn.Module):
    """Runs a channels-last op over dim 1 of a (N, C, H, W) map: permute, op, permute back
    (torchvision's ``LayerNorm2d``; fvcore then sees one ``aten::layer_norm``)."""

    def __init__(self, op: nn.Module):
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class UpsampleLike(nn.Module):
    """``F.interpolate(x, size=like.shape[-2:])``: FPN's and segmentation heads' form; or, with
    ``sides`` and no second operand, to those sides (an antialiased resize, which nn.Upsample
    cannot make)."""

    def __init__(self, mode: str, align_corners: Optional[bool],
                 dims: Optional[Sequence[str]] = None, antialias: bool = False,
                 sides: Optional[Sequence[int]] = None):
        super().__init__()
        self.mode = mode
        self.align_corners = align_corners
        self.dims = dims        # "dK" entries: the sizes are those dims of like, not its last two
        self.antialias = antialias
        self.sides = sides

    def forward(self, x: torch.Tensor, like: Optional[torch.Tensor] = None) -> torch.Tensor:
        from ..ops.tensor import resolve_entry

        if like is None:
            size = self.sides
        else:
            size = like.shape[2:] if self.dims is None else [resolve_entry(e, like.shape)
                                                             for e in self.dims]
        return nn.functional.interpolate(x, size=size, mode=self.mode,
                                         align_corners=self.align_corners,
                                         antialias=self.antialias)


class UpsampleIfResized(nn.Module):
    """An upsample the model runs only where it changes the size (``only_if_resized``): the
    identity where the input already has the output's sides (the module is built for one
    resolution, whose output sides it is given)."""

    def __init__(self, upsample: nn.Module, sides: Sequence[int]):
        super().__init__()
        self.upsample = upsample
        self.sides = tuple(int(s) for s in sides)

    def forward(self, x: torch.Tensor, *like: torch.Tensor) -> torch.Tensor:
        return x if tuple(x.shape[2:]) == self.sides else self.upsample(x, *like)


class UnfusedLstm(nn.Module):
    """``nn.LSTM`` run without oneDNN, its output only: on the CPU the unfused kernel's
    ``addmm`` calls are what FlopCounterMode counts (as on the meta device); the fused one has
    no formula. fvcore sees one ``aten::lstm`` either way."""

    def __init__(self, in_features: int, hidden: int, num_layers: int, bias: bool,
                 batch_first: bool, bidirectional: bool):
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, num_layers, bias, batch_first,
                            bidirectional=bidirectional)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():     # the flags' note on Intel GPUs' TF32
            warnings.simplefilter("ignore", UserWarning)
            with torch.backends.mkldnn.flags(enabled=False):
                return self.lstm(x)[0]


class LearnedTensor(nn.Module):
    """A learned tensor (a class token, a relative-position table); the operand only orders it."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.param = nn.Parameter(torch.zeros(tuple(shape)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # without autograd a view of it would require grad yet have no grad_fn, which
        # FlopCounterMode's module tracker refuses; detached it is a plain tensor there
        return self.param if torch.is_grad_enabled() else self.param.detach()


class IndexWithBuffer(nn.Module):
    """``x[..., index]`` along ``dim`` with an integer index buffer (zeros: always in range) of
    ``index_shape``; or, with ``sized`` (the operands' shapes -> the index's shape), an index
    built in forward from the sizes of the further operands."""

    def __init__(self, dim: int, index_shape: Sequence[int] = (),
                 sized: Optional[Callable[[List[Any]], Tuple[Any, ...]]] = None):
        super().__init__()
        self.dim = dim
        self.sized = sized
        if sized is None:
            self.register_buffer("index", torch.zeros(tuple(index_shape), dtype=torch.long))

    def forward(self, x: torch.Tensor, *likes: torch.Tensor) -> torch.Tensor:
        index = self.index if self.sized is None else torch.zeros(
            self.sized([x.shape, *(like.shape for like in likes)]), dtype=torch.long,
            device=x.device)
        return x[(slice(None),) * self.dim + (index,)]


class ParamConcat(nn.Module):
    """``torch.cat`` of the operands with a learned tensor at place ``index`` (a class token)."""

    def __init__(self, shape: Sequence[int], dim: int, index: int):
        super().__init__()
        self.param = nn.Parameter(torch.zeros(tuple(shape)))
        self.dim = dim
        self.index = index

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat([*xs[:self.index], self.param, *xs[self.index:]], self.dim)


class BatchStatsNorm(nn.Module):
    """Batch norm with the batch's statistics; the weight learned, given as the second operand,
    or none."""

    def __init__(self, channels: int, learned: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels)) if learned else None
        self.bias = nn.Parameter(torch.zeros(channels)) if learned else None

    def forward(self, x: torch.Tensor, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        return nn.functional.batch_norm(x, None, None, self.weight if weight is None else weight,
                                        self.bias, training=True)


class ConvWithWeight(nn.Module):
    """A convolution whose weight is its second operand (computed in forward: weight
    standardisation); its bias, if any, is learned."""

    def __init__(self, out: int, axes: int, bias: bool, **window: object):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(out)) if bias else None
        self.conv = getattr(nn.functional, f"conv{axes}d")
        self.window = window

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return self.conv(x, weight, self.bias, **self.window)


class LinearWithBias(nn.Module):
    """A linear layer whose bias is its second operand (computed in forward: BEiT joins a learned
    q bias, a zero k bias and a learned v bias); its weight is learned."""

    def __init__(self, in_features: int, out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out, in_features))

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, bias)
