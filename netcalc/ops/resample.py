"""Ops that change the spatial size without a kernel: mean over dims, adaptive pooling to a fixed
size, and upsampling.

fvcore 0.1.5 counts ``aten::adaptive_avg_pool2d`` as 1 flop per input element (whatever the output
size; its 1D and 3D twins it reports as unsupported, 0), ``aten::upsample_nearest2d`` as 1 and ``aten::upsample_bilinear2d`` as 4 per output element
(``upsample_bicubic2d`` it has no handle for: 0); ``aten::mean`` and ``aten::adaptive_max_pool2d`` it reports as unsupported (0). FlopCounterMode
counts none of them. pycls treats adaptive pools as its pools (average: nothing; max: output
elements are activations) and has no upsampling, for which netcalc's pycls takes fvcore's count.
"""

import math
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..errors import GraphError
from ..fields import Fields
from ..limits import MAX_MULTIPLE, MAX_RANK, MAX_RESAMPLE_SIDE, MAX_SCALE
from .aten import (WIDE_SAMPLE_SIZES, AtenCall, Node, NotModelled, Parts, compact, follows_input,
                   sampled, scale_between)
from .registry import (CONVENTION_NAMES, OpDef, check_rank, numel_out, register_op, resized,
                       up_to_multiple, zero)
from .shape import DIM, normalise_dim
from .pool import adaptive_avg_pool2d_flops
from .spatial import Pair, Sizes, per_axis, spatial_axes
from .tensor import dim_entry, resolve_entry



# -- mean ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeanAttrs:
    """The dims averaged over, and whether they stay as size 1."""

    dim: Tuple[int, ...]
    keepdim: bool = False


def mean_from_aten(call: AtenCall) -> Node:
    if call.overload != "dim" or not call.arg("dim") or call.arg("dtype") is not None:
        raise NotModelled("mean over every dim, or with a dtype")
    attrs: dict = {"dim": compact(call.arg("dim"))}
    if call.arg("keepdim", False):
        attrs["keepdim"] = True
    return Node(attrs)


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

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    aten = {"mean": mean_from_aten}

    def torch(self, ins: Any, out: Any, a: MeanAttrs) -> Any:
        return lambda x: x.mean(a.dim, keepdim=a.keepdim)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), MeanAttrs((2, -1))


# -- adaptive pooling -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdaptiveAttrs:
    """The output size per spatial axis (one int: the same on every axis), whatever the input
    size."""

    output_size: Sizes


def adaptive_from_aten(call: AtenCall) -> Any:
    """The output size is the call's (constant) output size; max pooling's indices are not
    modelled."""
    node = Node({"output_size": compact(call.arg("output_size"))})
    return Parts((node, None)) if len(call.outputs) == 2 else node


class AdaptivePool(OpDef):
    """Pooling of a (N, C, ...) input with 1 to 3 spatial axes to exactly ``output_size``, any
    input size (``nn.Adaptive<Avg|Max>Pool<1|2|3>d``)."""

    Attrs = AdaptiveAttrs
    module = ""

    def parse(self, f: Any) -> AdaptiveAttrs:
        return AdaptiveAttrs(f.per_axis("output_size", lo=1, hi=MAX_RESAMPLE_SIDE))

    def infer_shape(self, ins: Any, a: AdaptiveAttrs) -> Any:
        axes = spatial_axes(self.name, ins[0])
        return tuple(ins[0][:2]) + per_axis(a.output_size, axes, "output_size")

    params = {"pycls": zero}
    flops = {"pycls": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: AdaptiveAttrs) -> Any:
        from torch import nn

        return getattr(nn, f"{self.module}{len(ins[0]) - 2}d")(a.output_size)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), AdaptiveAttrs((2, 4))


@register_op
class AdaptiveAvgPool(AdaptivePool):
    name, module = "adaptive_avgpool", "AdaptiveAvgPool"
    aten = {f"adaptive_avg_pool{axes}d": adaptive_from_aten for axes in (1, 2, 3)}
    flops = {"pycls": zero, "fvcore": adaptive_avg_pool2d_flops, "torch": zero}


@register_op
class AdaptiveMaxPool(AdaptivePool):
    name, module = "adaptive_maxpool", "AdaptiveMaxPool"
    aten = {f"adaptive_max_pool{axes}d": adaptive_from_aten for axes in (1, 2, 3)}
    acts = {"pycls": numel_out, "fvcore": zero}


# -- upsample ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UpsampleAttrs:
    """Interpolation mode and one of a fixed size, whole-number scale factors and sides rounded
    up to multiples (or none: the size of a second operand)."""

    mode: str = "nearest"
    size: Optional[Tuple[Any, Any]] = None  # [h, w]; or ["dK", "dJ"]: dims of a second operand
    scale_factor: Optional[Pair] = None
    multiple_of: Optional[Pair] = None      # each side up to a multiple of its entry: m*ceil(n/m)
    align_corners: Optional[bool] = None
    only_if_resized: bool = False   # the model skips the call where the size is unchanged
    antialias: bool = False         # bilinear and bicubic: free in every convention


# fvcore's upsample handles; it has none for bicubic, 1D linear nor any antialiased resize (0),
# and netcalc's pycls takes its counts
FLOPS_PER_OUTPUT = {"nearest": 1, "bilinear": 4, "bicubic": 0, "linear": 0}
MODES = {"upsample_nearest2d": "nearest", "upsample_bilinear2d": "bilinear",
         "upsample_linear1d": "linear",      # a (N, C, L) signal (NaFlexViT's factored tables)
         "upsample_bicubic2d": "bicubic"}
# ``interpolate(..., antialias=True)`` (NaFlexViT's position embeddings): the same sizes; fvcore
# has no handle for these (0) and FlopCounterMode no formula
ANTIALIASED = {"_upsample_bicubic2d_aa": "bicubic", "_upsample_bilinear2d_aa": "bilinear"}


def _upsample_flops(ins: Any, out: Any, a: UpsampleAttrs) -> Any:
    flops = FLOPS_PER_OUTPUT[a.mode] * math.prod(out) * int(not a.antialias)
    if not a.only_if_resized:
        return flops
    if a.multiple_of is not None:
        return flops * _rounds_up(ins[0][2:], a.multiple_of)
    return flops * resized(_resized_sides(ins, out))


def _rounds_up(sides: Any, multiple: Tuple[int, ...]) -> Any:
    """1 where some side is no multiple of its entry (a resize up to multiples changes the
    size), else 0: ``1 - prod(1 - (ceil(n / m) - floor(n / m)))``, exact on ints, numpy and
    sympy sizes alike (closed forms read both floors as sides: they hold where the size is
    unchanged too)."""
    unchanged: Any = 1
    for side, m in zip(sides, multiple):
        unchanged = unchanged * (1 - (up_to_multiple(side, m) // m - side // m))
    return 1 - unchanged


def _rounded_up(size: Tuple[Any, ...], out: Tuple[Any, ...]) -> Optional[Tuple[int, ...]]:
    """Per side, the least ``m`` with ``out == m * ceil(size / m)`` at every sampled input size
    (MobileViT's maps resized up to whole patches: the identity where a side is a multiple
    already); None where some side follows no such rule, or none is rounded."""
    multiple = []
    for side, resized_side in zip(size, out):
        samples = sampled((side, resized_side), "an upsample's size", WIDE_SAMPLE_SIZES)
        found = next((m for m in range(1, MAX_MULTIPLE + 1)
                      if all(up_to_multiple(n, m) == o for n, o in samples)), None)
        if found is None:
            return None
        multiple.append(found)
    return tuple(multiple) if any(m > 1 for m in multiple) else None


def _resized_sides(ins: Any, out: Any) -> Tuple[Tuple[Any, Any], ...]:
    return tuple(zip(ins[0][2:], out[2:]))


def upsample_from_aten(call: AtenCall) -> Node:
    """``aten.upsample_nearest2d`` / ``upsample_bilinear2d`` / ``upsample_bicubic2d``: the output size as a rule of the
    input: a whole-number scale of the operand, else the size of an earlier tensor
    (``interpolate(y, size=x.shape[-2:])``), else the operand's sides rounded up to multiples,
    else a constant size. ``only_if_resized`` where the model skips the call at some size."""
    source = call.first
    attrs: dict = {"mode": MODES.get(call.op) or ANTIALIASED[call.op]}
    if attrs["mode"] != "nearest" and call.arg("align_corners", False):
        attrs["align_corners"] = True
    if call.op in ANTIALIASED:
        attrs["antialias"] = True
    if call.skipped:
        attrs["only_if_resized"] = True
    out, size = call.out[2:], source.shape[2:]
    scales = [scale_between(o, s) for o, s in zip(out, size)]
    resizes = any(follows_input(d) for d in size)
    if all(k is not None for k in scales) and (resizes or call.arg("scale_factors")):
        return Node({**attrs, "scale_factor": compact(scales)})
    if not any(follows_input(d) for d in out):
        return Node({**attrs, "size": compact(out)})
    like = call.tensor_with(out)
    if like is not None and len(like.shape) == len(source.shape):
        return Node(attrs, inputs=(source, like))
    if like is not None:        # ends in (h, w) but is no map (CSATv2's (1, 3, h, w, 64))
        rank = len(like.shape)
        return Node({**attrs, "size": [f"d{rank - len(out) + k}" for k in range(len(out))]},
                    inputs=(source, like))
    found = call.sizes_from_earlier(out)      # a grid no tensor ends in (NaFlexViT's patches)
    if found is not None and len(found[0]) == 1:
        return Node({**attrs, "size": found[1]}, inputs=(source, found[0][0]))
    multiple = _rounded_up(size, out)
    if multiple is not None:
        return Node({**attrs, "multiple_of": compact(multiple)})
    return Node({**attrs, "size": compact(out)},
                fixed=f"its output size {[int(d) for d in out]} follows the input by no rule "
                      "netcalc writes")


@register_op
class Upsample(OpDef):
    """``nn.Upsample`` / ``F.interpolate`` of a (N, C, H, W) map to ``size``, by a whole-number
    ``scale_factor`` (a fractional one would make torch's float rounding part of the size), or
    to the spatial size of a second operand (``with``: ``interpolate(y, size=x.shape[-2:])``).
    ``only_if_resized``: the model calls it only where the output size differs from the
    input's (Qwen3-ViT's position grid, resized to the patch grid unless they agree; MobileViT's
    maps, resized to whole patches where they are not): where they agree it is the identity
    and costs nothing."""

    name = "upsample"
    Attrs = UpsampleAttrs
    arity = (1, 2)
    aten = {packet: upsample_from_aten for packet in (*MODES, *ANTIALIASED)}
    # bicubic, 1D linear and antialiased resizes cost nothing in fvcore (no handle) nor in
    # torch (no formula)
    free_forms = {packet: CONVENTION_NAMES for packet in (
        *ANTIALIASED, *(packet for packet, mode in MODES.items() if FLOPS_PER_OUTPUT[mode] == 0))}

    def parse(self, f: Any) -> UpsampleAttrs:
        mode = f.str("mode", "nearest", choices=tuple(FLOPS_PER_OUTPUT))
        sides = _sides(mode)
        size = _dims_of_operand(f, sides) or _per_side(f, "size", sides, MAX_RESAMPLE_SIDE)
        scale = _per_side(f, "scale_factor", sides, MAX_SCALE)
        multiple = _per_side(f, "multiple_of", sides, MAX_MULTIPLE)
        if sum(given is not None for given in (size, scale, multiple)) > 1:
            raise f.error("size", "give one of size, scale_factor and multiple_of")
        align = f.bool("align_corners", None)
        if align is not None and mode == "nearest":
            raise f.error("align_corners", "applies to bilinear and bicubic only (torch "
                                           "refuses it for nearest)")
        antialias = f.bool("antialias", False)
        if antialias and mode not in ANTIALIASED.values():
            raise f.error("antialias", f"applies to {' and '.join(ANTIALIASED.values())} only "
                                       "(torch refuses it otherwise)")
        return UpsampleAttrs(mode, size, scale, multiple, align,
                             f.bool("only_if_resized", False), antialias)

    def infer_shape(self, ins: Any, a: UpsampleAttrs) -> Any:
        shape = ins[0]
        sides = _sides(a.mode)
        layout = "a (N, C, L)" if sides == 1 else "a (N, C, H, W)"
        check_rank("upsample", shape, (2 + sides,), f"{layout} input ({a.mode})")
        if a.size is not None and isinstance(a.size[0], str):
            if len(ins) != 2:
                raise GraphError(f"size {list(a.size)} names dims of a second operand, and "
                                 "the node has one operand", field="size")
            return tuple(shape[:2]) + tuple(resolve_entry(e, ins[1], "size") for e in a.size)
        if (len(ins) == 2) == any(given is not None for given in (a.size, a.scale_factor,
                                                                  a.multiple_of)):
            raise GraphError("give exactly one of size, scale_factor, multiple_of and a second "
                             "operand (`with`) whose size it takes", field="size")
        if len(ins) == 2:
            check_rank("upsample", ins[1], (2 + sides,), f"{layout} second operand")
            return tuple(shape[:2]) + tuple(ins[1][2:])
        if a.size is not None:
            return tuple(shape[:2]) + tuple(a.size)
        if a.multiple_of is not None:
            return tuple(shape[:2]) + tuple(up_to_multiple(d, m)
                                            for d, m in zip(shape[2:], a.multiple_of))
        return tuple(shape[:2]) + tuple(d * k for d, k in zip(shape[2:], a.scale_factor))

    def exceptions(self, ins: Any, out: Any, a: UpsampleAttrs) -> Any:
        return _resized_sides(ins, out) if a.only_if_resized and a.multiple_of is None else ()

    params = {"pycls": zero}
    flops = {"pycls": _upsample_flops, "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: UpsampleAttrs) -> Any:
        from torch import nn

        from ..torch.tensor_modules import UpsampleIfResized, UpsampleLike

        if len(ins) == 2 or a.antialias:    # nn.Upsample has no antialias
            module = UpsampleLike(a.mode, a.align_corners, a.size, a.antialias,
                                  None if len(ins) == 2 else tuple(out[2:]))
        else:
            scale = None if a.scale_factor is None else tuple(float(s) for s in a.scale_factor)
            size = a.size if a.multiple_of is None else tuple(out[2:])   # built for one size
            module = nn.Upsample(size, scale, a.mode, a.align_corners)
        return UpsampleIfResized(module, tuple(out[2:])) if a.only_if_resized else module

    def example(self) -> Any:
        return ((1, 4, 5, 6),), UpsampleAttrs("bilinear", scale_factor=(2, 3))


def _sides(mode: str) -> int:
    """The spatial sides an upsample of ``mode`` resizes: 1D linear one, the others h and w."""
    return 1 if mode == "linear" else 2


def _per_side(f: Any, key: str, sides: int, hi: int) -> Optional[Tuple[int, ...]]:
    """An int, or a list of one per side, as a tuple of ``sides`` ints (None: not given)."""
    if sides == 2:
        return f.pair(key, None, lo=1, hi=hi)
    raw = f.value(key, None)
    if isinstance(raw, list):
        if len(raw) != 1:
            raise f.error(key, f"expected an integer or [l], got {len(raw)} entries")
        raw = raw[0]
    return None if raw is None else (Fields({key: raw}, f.source, f.path).int(key, lo=1, hi=hi),)


def _dims_of_operand(f: Any, sides: int) -> Optional[Tuple[str, ...]]:
    """``size: ["dK", "dJ"]``: dims K and J of the second operand (None: not that form)."""
    raw = f.value("size", None)
    if not (isinstance(raw, list) and raw and all(isinstance(e, str) for e in raw)):
        return None
    if len(raw) != sides or any(dim_entry(e) is None or "/" in e for e in raw):
        raise f.error("size", f"expected {sides} sizes as ints, or as 'dK' (dim K of the "
                              "second operand)")
    return tuple(raw)

