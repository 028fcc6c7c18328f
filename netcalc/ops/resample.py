"""Ops that change the spatial size without a kernel: mean over dims, adaptive pooling to a fixed
size, and upsampling.

fvcore 0.1.5 counts ``aten::adaptive_avg_pool2d`` as 1 flop per input element (whatever the output
size), ``aten::upsample_nearest2d`` as 1 and ``aten::upsample_bilinear2d`` as 4 per output element;
``aten::mean`` and ``aten::adaptive_max_pool2d`` it reports as unsupported (0). FlopCounterMode
counts none of them. pycls treats adaptive pools as its pools (average: nothing; max: output
elements are activations) and has no upsampling, for which netcalc's pycls takes fvcore's count.
"""

import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..errors import GraphError
from ..limits import MAX_RANK, MAX_RESAMPLE_SIDE, MAX_SCALE
from .registry import OpDef, check_rank, numel_in, numel_out, register_op, zero
from .shape import DIM, normalise_dim
from .spatial import Pair



# -- mean ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeanAttrs:
    """The dims averaged over, and whether they stay as size 1."""

    dim: Tuple[int, ...]
    keepdim: bool = False


@register_op
class Mean(OpDef):
    """``x.mean(dim, keepdim)``: fvcore counts nothing for it, unlike ``gap``."""

    name = "mean"
    Attrs = MeanAttrs

    def parse(self, f: Any) -> MeanAttrs:
        return MeanAttrs(f.int_list("dim", **DIM, min_len=1, max_len=MAX_RANK),
                         f.bool("keepdim", False))

    def infer_shape(self, ins: Any, a: MeanAttrs) -> Any:
        shape = ins[0]
        dims = {normalise_dim(d, len(shape)) for d in a.dim}
        if len(dims) != len(a.dim):
            raise GraphError(f"dim {list(a.dim)} names a dim twice", field="dim")
        if a.keepdim:
            return tuple(1 if k in dims else d for k, d in enumerate(shape))
        return tuple(d for k, d in enumerate(shape) if k not in dims)

    params = staticmethod(zero)
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: MeanAttrs) -> Any:
        return lambda x: x.mean(a.dim, keepdim=a.keepdim)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), MeanAttrs((2, -1))


# -- adaptive pooling -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdaptiveAttrs:
    """The output (h, w), whatever the input size."""

    output_size: Pair


class AdaptivePool(OpDef):
    """Pooling of a (N, C, H, W) map to exactly ``output_size``, any input size."""

    Attrs = AdaptiveAttrs
    module = ""

    def parse(self, f: Any) -> AdaptiveAttrs:
        return AdaptiveAttrs(f.pair("output_size", lo=1, hi=MAX_RESAMPLE_SIDE))

    def infer_shape(self, ins: Any, a: AdaptiveAttrs) -> Any:
        check_rank(self.name, ins[0], (4,), "a (N, C, H, W) input")
        return tuple(ins[0][:2]) + tuple(a.output_size)

    params = staticmethod(zero)
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: AdaptiveAttrs) -> Any:
        from torch import nn

        return getattr(nn, self.module)(a.output_size)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), AdaptiveAttrs((2, 4))


@register_op
class AdaptiveAvgPool(AdaptivePool):
    name, module = "adaptive_avgpool", "AdaptiveAvgPool2d"
    flops = {"pycls": zero, "fvcore": numel_in, "torch": zero}


@register_op
class AdaptiveMaxPool(AdaptivePool):
    name, module = "adaptive_maxpool", "AdaptiveMaxPool2d"
    acts = {"pycls": numel_out, "fvcore": zero}


# -- upsample ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UpsampleAttrs:
    """Interpolation mode and either a fixed size or whole-number scale factors."""

    mode: str = "nearest"
    size: Optional[Pair] = None
    scale_factor: Optional[Pair] = None
    align_corners: Optional[bool] = None


FLOPS_PER_OUTPUT = {"nearest": 1, "bilinear": 4}    # fvcore's upsample handles


def _upsample_flops(ins: Any, out: Any, a: UpsampleAttrs) -> Any:
    return FLOPS_PER_OUTPUT[a.mode] * math.prod(out)


@register_op
class Upsample(OpDef):
    """``nn.Upsample`` / ``F.interpolate`` of a (N, C, H, W) map to ``size`` or by a whole-number
    ``scale_factor`` (a fractional one would make torch's float rounding part of the size)."""

    name = "upsample"
    Attrs = UpsampleAttrs

    def parse(self, f: Any) -> UpsampleAttrs:
        mode = f.str("mode", "nearest", choices=tuple(FLOPS_PER_OUTPUT))
        size = f.pair("size", None, lo=1, hi=MAX_RESAMPLE_SIDE)
        scale = f.pair("scale_factor", None, lo=1, hi=MAX_SCALE)
        if (size is None) == (scale is None):
            raise f.error("size", "give exactly one of size and scale_factor")
        align = f.bool("align_corners", None)
        if align is not None and mode == "nearest":
            raise f.error("align_corners", "applies to bilinear only (torch refuses it for "
                                           "nearest)")
        return UpsampleAttrs(mode, size, scale, align)

    def infer_shape(self, ins: Any, a: UpsampleAttrs) -> Any:
        shape = ins[0]
        check_rank("upsample", shape, (4,), "a (N, C, H, W) input")
        if a.size is not None:
            return tuple(shape[:2]) + tuple(a.size)
        return tuple(shape[:2]) + (shape[2] * a.scale_factor[0], shape[3] * a.scale_factor[1])

    params = staticmethod(zero)
    flops = {"pycls": _upsample_flops, "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: UpsampleAttrs) -> Any:
        from torch import nn

        scale = None if a.scale_factor is None else tuple(float(s) for s in a.scale_factor)
        return nn.Upsample(a.size, scale, a.mode, a.align_corners)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), UpsampleAttrs("bilinear", scale_factor=(2, 3))

