"""Layer norm (channels-last, or channels-first over dim 1 of a map), group norm and instance
norm.

fvcore 0.1.5 counts ``aten::layer_norm``, ``aten::group_norm`` and ``aten::instance_norm`` as 5
flops per input element with an affine weight (a bias or not) and 4 without; it has no handle for
``aten::rms_norm`` (0). FlopCounterMode counts nothing. pycls counts no flops for its norms
(``norm2d_cx``, ``layernorm_cx``: parameters only), and netcalc's pycls does the same for group,
instance and RMS norm.
"""

import math
from dataclasses import dataclass
from typing import Any, Tuple

from ..errors import GraphError
from ..limits import MAX_NORM_SIZE
from .aten import AtenCall, Node, NotModelled
from .registry import OpDef, format_shape, is_concrete, register_op, zero
from .spatial import spatial_axes



def _norm_flops(ins: Any, out: Any, a: Any) -> Any:
    """fvcore's norm handle: 4 per input element, 5 with an affine transform."""
    return (4 + int(a.affine)) * math.prod(ins[0])


def _affine(call: AtenCall) -> bool:
    """A norm's weight and bias: both parameters, or neither."""
    weight, bias = call.param("weight", optional=True), call.param("bias", optional=True)
    if (weight is None) != (bias is None):
        raise NotModelled(f"{call.op} with a weight but no bias, or a bias but no weight")
    return weight is not None


def _weight_and_bias(call: AtenCall, affine: str) -> dict:
    """The attributes of a norm's learned weight and bias: both (none), a weight alone
    (``bias: false``: ``nn.LayerNorm(bias=False)``, timm's ``GroupNorm1`` without bias), or
    neither (the ``affine`` attribute false)."""
    weight, bias = call.param("weight", optional=True), call.param("bias", optional=True)
    if weight is None and bias is not None:
        raise NotModelled(f"{call.op} with a bias but no weight")
    if weight is None:
        return {affine: False}
    return {} if bias is not None else {"bias": False}


def layer_norm_from_aten(call: AtenCall) -> Node:
    return Node({"normalized_shape": [int(d) for d in call.arg("normalized_shape")],
                 **_weight_and_bias(call, "elementwise_affine")})


def rms_norm_from_aten(call: AtenCall) -> Node:
    """``aten.rms_norm``: a learned weight, or none."""
    attrs: dict = {"normalized_shape": [int(d) for d in call.arg("normalized_shape")]}
    if call.param("weight", optional=True) is None:
        attrs["elementwise_affine"] = False
    return Node(attrs)


def group_norm_from_aten(call: AtenCall) -> Node:
    return Node({"num_groups": int(call.arg("num_groups")), **_weight_and_bias(call, "affine")})


@dataclass(frozen=True)
class LayerNormAttrs:
    """The normalised trailing sizes (or the channels, channels_first), affine, and whether the
    affine transform has a bias (RMS norm: never)."""

    normalized_shape: Tuple[int, ...]
    affine: bool = True                 # the spec's `elementwise_affine`
    channels_first: bool = False
    eps: float = 1e-5
    bias: bool = True


def _shape_fields(f: Any) -> Tuple[Any, ...]:
    """The fields layer and RMS norms share: normalized_shape, elementwise_affine,
    channels_first, eps."""
    return (f.int_list("normalized_shape", lo=1, hi=MAX_NORM_SIZE, min_len=1, max_len=8),
            f.bool("elementwise_affine", True), f.bool("channels_first", False),
            f.float("eps", 1e-5, lo=0.0, hi=1.0))


def normalised_dims(shape: Any, a: LayerNormAttrs) -> Tuple[Any, ...]:
    """The input's sizes a layer norm normalises: its last ``len(normalized_shape)``, or dim 1
    with ``channels_first``."""
    if a.channels_first:
        if len(shape) != 4 or len(a.normalized_shape) != 1:
            raise GraphError(f"channels_first needs a (N, C, H, W) input and one normalized "
                             f"size, got {format_shape(shape)}", field="channels_first")
        return (shape[1],)
    if len(a.normalized_shape) > len(shape):
        raise GraphError(f"normalized_shape {list(a.normalized_shape)} has more dims than "
                         f"the input {format_shape(shape)}", field="normalized_shape")
    return tuple(shape[len(shape) - len(a.normalized_shape):])


@register_op
class LayerNorm(OpDef):
    """``nn.LayerNorm`` over the last ``len(normalized_shape)`` dims; with ``channels_first``,
    over dim 1 of a (N, C, H, W) map, built as torchvision's permute, layer norm, permute."""

    name = "layer_norm"
    Attrs = LayerNormAttrs
    aten = {"layer_norm": layer_norm_from_aten}

    def parse(self, f: Any) -> LayerNormAttrs:
        return LayerNormAttrs(*_shape_fields(f), bias=f.bool("bias", True))

    def infer_shape(self, ins: Any, a: LayerNormAttrs) -> Any:
        shape = ins[0]
        normalised = normalised_dims(shape, a)
        if any(is_concrete(d) and d != n for d, n in zip(normalised, a.normalized_shape)):
            where = "dim 1" if a.channels_first else f"the last {len(a.normalized_shape)} dims"
            raise GraphError(f"normalized_shape {list(a.normalized_shape)} does not match {where}"
                             f" of the input {format_shape(shape)}", field="normalized_shape")
        return shape

    def conditions(self, ins: Any, out: Any, a: LayerNormAttrs) -> Any:
        return tuple((d, n) for d, n in zip(normalised_dims(ins[0], a), a.normalized_shape)
                     if d != n)

    # a scale (and a shift, unless bias is false) per normalised element, sized by the input's
    # normalised dims
    params = {"pycls": lambda ins, out, a: (1 + int(a.bias)) * math.prod(
        normalised_dims(ins[0], a)) * int(a.affine)}
    flops = {"pycls": zero, "fvcore": _norm_flops, "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: LayerNormAttrs) -> Any:
        from torch import nn

        return self._channels(nn.LayerNorm(a.normalized_shape, a.eps, a.affine, bias=a.bias), a)

    @staticmethod
    def _channels(norm: Any, a: LayerNormAttrs) -> Any:
        """``norm`` as it is, or wrapped to normalise dim 1 (``channels_first``)."""
        if not a.channels_first:
            return norm
        from ..torch.tensor_modules import ChannelsFirst

        return ChannelsFirst(norm)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), LayerNormAttrs((4,), channels_first=True)


@register_op
class RmsNorm(LayerNorm):
    """``nn.RMSNorm`` (``F.rms_norm``) over the last ``len(normalized_shape)`` dims (or dim 1
    of a map, ``channels_first``): a learned scale per normalised element, no shift. fvcore 0.1.5
    has no handle for ``aten::rms_norm`` and FlopCounterMode no formula: 0 flops in both."""

    name = "rms_norm"
    aten = {"rms_norm": rms_norm_from_aten}

    def parse(self, f: Any) -> LayerNormAttrs:
        return LayerNormAttrs(*_shape_fields(f), bias=False)

    params = {"pycls": lambda ins, out, a: math.prod(normalised_dims(ins[0], a)) * int(a.affine)}
    flops = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: LayerNormAttrs) -> Any:
        from torch import nn

        return self._channels(nn.RMSNorm(a.normalized_shape, a.eps, a.affine), a)

    def example(self) -> Any:
        return ((1, 5, 6),), LayerNormAttrs((6,), bias=False)


@dataclass(frozen=True)
class GroupNormAttrs:
    """The number of channel groups, whether an affine transform follows, and whether it has a
    bias."""

    num_groups: int
    affine: bool = True
    eps: float = 1e-5
    bias: bool = True


@register_op
class GroupNorm(OpDef):
    """``nn.GroupNorm`` over the channels (dim 1) of a (N, C, ...) tensor."""

    name = "group_norm"
    Attrs = GroupNormAttrs
    aten = {"group_norm": group_norm_from_aten}

    def parse(self, f: Any) -> GroupNormAttrs:
        return GroupNormAttrs(f.int("num_groups", lo=1, hi=MAX_NORM_SIZE), f.bool("affine", True),
                              f.float("eps", 1e-5, lo=0.0, hi=1.0), f.bool("bias", True))

    def infer_shape(self, ins: Any, a: GroupNormAttrs) -> Any:
        shape = ins[0]
        if len(shape) < 2:
            raise GraphError(f"needs a (N, C, ...) input, got {format_shape(shape)}",
                             field="input")
        if is_concrete(shape[1]) and shape[1] % a.num_groups:
            raise GraphError(f"num_groups {a.num_groups} does not divide {shape[1]} channels",
                             field="num_groups")
        group_size = shape[1] // a.num_groups * math.prod(shape[2:])
        if is_concrete(group_size) and group_size < 2:
            raise GraphError(f"num_groups {a.num_groups} leaves one value per group of "
                             f"{format_shape(shape)}, which torch refuses to normalise",
                             field="num_groups")
        return shape

    params = {"pycls": lambda ins, out, a: (1 + int(a.bias)) * ins[0][1] * int(a.affine)}
    flops = {"pycls": zero, "fvcore": _norm_flops, "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: GroupNormAttrs) -> Any:
        from torch import nn

        return nn.GroupNorm(a.num_groups, ins[0][1], a.eps, a.affine, bias=a.bias)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), GroupNormAttrs(2)


def instance_norm_from_aten(call: AtenCall) -> Node:
    """``aten.instance_norm``: running statistics in use (``use_input_stats`` false, eval with
    ``track_running_stats``) are buffers; a norm that normalises by its input's own statistics
    is counted the same either way."""
    attrs: dict = {}
    if _affine(call):
        attrs["affine"] = True
    if not call.arg("use_input_stats", True):
        attrs["track_running_stats"] = True
    return Node(attrs)


@dataclass(frozen=True)
class InstanceNormAttrs:
    """torch's defaults: no affine transform, statistics of each input."""

    affine: bool = False
    track_running_stats: bool = False
    eps: float = 1e-5


@register_op
class InstanceNorm(OpDef):
    """``nn.InstanceNorm1d/2d/3d``: each channel of each sample normalised over its spatial
    positions (in eval, by running statistics when it tracks them)."""

    name = "instance_norm"
    Attrs = InstanceNormAttrs
    aten = {"instance_norm": instance_norm_from_aten}

    def parse(self, f: Any) -> InstanceNormAttrs:
        return InstanceNormAttrs(f.bool("affine", False), f.bool("track_running_stats", False),
                                 f.float("eps", 1e-5, lo=0.0, hi=1.0))

    def infer_shape(self, ins: Any, a: InstanceNormAttrs) -> Any:
        shape = ins[0]
        spatial_axes(self.name, shape)
        positions = math.prod(shape[2:])
        if not a.track_running_stats and is_concrete(positions) and positions < 2:
            raise GraphError(f"normalises one value per channel of {format_shape(shape)}, which "
                             "torch refuses (it needs more than one position, or "
                             "track_running_stats)", field="input")
        return shape

    params = {"pycls": lambda ins, out, a: 2 * ins[0][1] * int(a.affine)}
    flops = {"pycls": zero, "fvcore": _norm_flops, "torch": zero}
    acts = {"pycls": zero}

    def torch(self, ins: Any, out: Any, a: InstanceNormAttrs) -> Any:
        from torch import nn

        module = getattr(nn, f"InstanceNorm{len(ins[0]) - 2}d")
        return module(ins[0][1], a.eps, affine=a.affine, track_running_stats=a.track_running_stats)

    def example(self) -> Any:
        return ((1, 4, 5, 6),), InstanceNormAttrs(affine=True)
