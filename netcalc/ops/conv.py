"""Convolution (``nn.Conv1d/2d/3d``), the op that holds nearly all of a CNN's flops and params,
and transposed convolution (``nn.ConvTranspose1d/2d/3d``).

The number of spatial axes is the input's: (N, C, L), (N, C, H, W) or (N, C, D, H, W). Window
attributes are one int for every axis or a list of one per axis (:mod:`netcalc.ops.spatial`).

``Conv2d(padding='same')`` (or ``'valid'``) runs ``aten::_convolution_mode`` in TorchScript,
which fvcore 0.1.5 has no handle for: fvcore counts it 0. Such a conv records
``string_padding: true``, its fvcore flops are 0 as fvcore's, and the import notes the flops
fvcore leaves out; pycls and torch count it as any conv.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..caches import memoised
from ..errors import GraphError
from ..limits import MAX_CHANNELS, MAX_KERNEL
from .aten import PARAM, AtenCall, Node, NotModelled, Tensor, compact
from .registry import OpDef, is_concrete, numel_out, register_op
from .spatial import (Sizes, check_axes_agree, default_padding, per_axis, spatial_axes,
                      spatial_out, volume)



@dataclass(frozen=True)
class ConvAttrs:
    out: int
    kernel: Sizes = 1
    stride: Sizes = 1
    padding: Sizes = 0
    dilation: Sizes = 1
    groups: int = 1
    bias: bool = False
    string_padding: bool = False     # padding='same'/'valid' by name: fvcore's blind spot
    weight_input: bool = False       # the weight is the second operand (computed in forward)


@memoised(maxsize=4096)
def conv_attrs(out: int, kernel: int, stride: int = 1, padding: Optional[int] = None,
               groups: int = 1, bias: bool = False) -> ConvAttrs:
    """Square-kernel attrs as families write them (memoised: networks repeat their convs)."""
    pad = (kernel - 1) // 2 if padding is None else padding
    return ConvAttrs(out, (kernel, kernel), (stride, stride), (pad, pad), (1, 1), groups, bias)


def _parse_common(f: Any) -> dict:
    """The attributes conv and transposed conv share, read from a node."""
    kernel = f.per_axis("kernel", 1, lo=1, hi=MAX_KERNEL)
    dilation = f.per_axis("dilation", 1, lo=1, hi=MAX_KERNEL)
    return {"out": f.int("out", lo=1, hi=MAX_CHANNELS), "kernel": kernel,
            "stride": f.per_axis("stride", 1, lo=1, hi=MAX_KERNEL), "dilation": dilation,
            "groups": f.int("groups", 1, lo=1, hi=MAX_CHANNELS), "bias": f.bool("bias", False)}


def _check_groups(shape: Any, a: Any) -> None:
    if shape[1] % a.groups or a.out % a.groups:
        raise GraphError(f"groups {a.groups} must divide in ({shape[1]}) and out ({a.out}) "
                         "channels", field="groups")


def _fvcore_conv(ins: Any, out: Any, a: ConvAttrs) -> Any:
    """fvcore's conv handle, which never sees a conv padded 'same' or 'valid' by name."""
    return conv_macs(ins, out, a) * (1 - int(a.string_padding))


def _fvcore_conv_acts(ins: Any, out: Any, a: ConvAttrs) -> Any:
    """fvcore's activation handle misses a conv padded by name as its flop handle does."""
    return math.prod(out) * (1 - int(a.string_padding))


def _window(a: Any) -> dict:
    return {name: getattr(a, name) for name in ("kernel", "stride", "padding", "dilation")}


def conv_macs(ins: Any, out: Any, a: ConvAttrs) -> Any:
    """Multiply-accumulates of a (grouped) conv, bias excluded."""
    return volume(a.kernel, out) * (ins[0][1] // a.groups) * math.prod(out)


def conv_flops(macs: Any) -> dict:
    """A conv's flops per convention from its MACs: pycls adds the bias once per output channel,
    not per position (its conv2d_cx); FlopCounterMode counts 2 per MAC."""
    return {"pycls": lambda ins, out, a: macs(ins, out, a) + out[1] * int(a.bias),
            "fvcore": macs, "torch": lambda ins, out, a: 2 * macs(ins, out, a)}


# -- import from ATen ------------------------------------------------------------------------------
def per_axis_arg(value: Any, axes: int) -> List[int]:
    """A window argument of an ATen call as one int per axis (torch repeats a single value)."""
    values = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return values * axes if len(values) == 1 else values


def _optional_attrs(call: AtenCall, axes: int, defaults: Dict[str, int]) -> Dict[str, Any]:
    """The call's window arguments that differ from their defaults, written compactly."""
    attrs: Dict[str, Any] = {}
    for name, default in defaults.items():
        value = per_axis_arg(call.arg(name, default), axes)
        if value != [default] * axes:
            attrs[name] = compact(value)
    return attrs


def conv_from_aten(call: AtenCall) -> Any:
    """``aten.conv1d/2d/3d`` (padding by numbers or by name) and ``aten.convolution`` (also
    transposed): the weight's shape gives out channels and kernel. 'same' padding that puts its
    odd unit after (an even kernel) is a ``pad`` node, then the conv unpadded."""
    if call.arg("transposed", False):
        return conv_transpose_from_aten(call)
    weight = call.named.get("weight")
    if weight is not None and not weight.is_param:     # weight standardisation: computed
        computed = conv_from_aten(AtenCall(call.op, call.overload, call.args, {
            **call.named, "weight": Tensor(weight.shape, PARAM)}, call.outputs, call.module))
        if not isinstance(computed, Node):
            raise NotModelled("a conv with a weight computed in forward, padded 'same' with an "
                              "odd total")
        return Node({**computed.attrs, "weight_input": True},
                    inputs=(call.first, call.materialise(weight)))
    weight = call.param("weight")
    axes = len(weight.shape) - 2
    if not 1 <= axes <= 3:
        raise NotModelled(f"a {axes}-d convolution (conv handles 1-d to 3-d)")
    kernel = [int(k) for k in weight.shape[2:]]
    attrs: Dict[str, Any] = {"out": int(weight.shape[0]), "kernel": compact(kernel),
                             "stride": compact(per_axis_arg(call.arg("stride", 1), axes))}
    attrs.update(_optional_attrs(call, axes, {"dilation": 1, "groups": 1}))
    if call.param("bias", optional=True) is not None:
        attrs["bias"] = True
    padding = call.arg("padding", 0)
    if not isinstance(padding, str):
        return Node({**attrs, "padding": compact(per_axis_arg(padding, axes))})
    attrs["string_padding"] = True
    dilation = per_axis_arg(call.arg("dilation", 1), axes)
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)] if padding == "same" else [0] * axes
    if not any(t % 2 for t in totals):
        return Node({**attrs, "padding": compact([t // 2 for t in totals])})
    pads: List[int] = []
    for total in reversed(totals):      # F.pad order: the last axis first, the odd unit after
        pads += [total // 2, total - total // 2]
    return [Node({"pad": pads}, op="pad"), Node({**attrs, "padding": 0})]


def conv_transpose_from_aten(call: AtenCall) -> Node:
    """``aten.conv_transpose1d/2d/3d`` and a transposed ``aten.convolution``: the weight is
    (C_in, C_out / groups, kernel...)."""
    weight = call.param("weight")
    axes = len(weight.shape) - 2
    if not 1 <= axes <= 3:
        raise NotModelled(f"a {axes}-d transposed convolution (1-d to 3-d are modelled)")
    groups = int(call.arg("groups", 1))
    attrs: Dict[str, Any] = {"out": int(weight.shape[1]) * groups,
                             "kernel": compact([int(k) for k in weight.shape[2:]])}
    attrs.update(_optional_attrs(call, axes, {"stride": 1, "padding": 0, "output_padding": 0,
                                              "dilation": 1, "groups": 1}))
    if call.param("bias", optional=True) is not None:
        attrs["bias"] = True
    return Node(attrs)


@register_op
class Conv(OpDef):
    name = "conv"
    Attrs = ConvAttrs
    aten = {packet: conv_from_aten for packet in ("conv1d", "conv2d", "conv3d", "convolution",
                                                  "_convolution")}
    sampler_attrs = ("out", "groups")

    def parse(self, f: Any) -> ConvAttrs:
        common = _parse_common(f)
        common["padding"] = f.per_axis("padding", default_padding(common["kernel"],
                                                                  common["dilation"]),
                                       lo=0, hi=MAX_KERNEL * MAX_KERNEL)
        check_axes_agree(f, {k: common[k] for k in ("kernel", "stride", "padding", "dilation")})
        return ConvAttrs(**common, string_padding=f.bool("string_padding", False),
                         weight_input=f.bool("weight_input", False))

    arity = (1, 2)

    def infer_shape(self, ins: Any, a: ConvAttrs) -> Any:
        shape = ins[0]
        sizes = spatial_out("conv", shape, **_window(a))
        _check_groups(shape, a)
        out = (shape[0], a.out) + sizes
        if (len(ins) == 2) != a.weight_input:
            raise GraphError("a second operand is the weight: it needs weight_input: true, and "
                             "weight_input needs it", field="weight_input")
        if a.weight_input:
            weight = (a.out, shape[1] // a.groups) + tuple(per_axis(a.kernel, len(sizes),
                                                                    "kernel"))
            if len(ins[1]) != len(weight) or any(is_concrete(w) and is_concrete(v) and w != v
                                                 for w, v in zip(ins[1], weight)):
                raise GraphError(f"the weight operand is {list(ins[1])}, the conv needs "
                                 f"{list(weight)}", field="weight_input")
        return out

    # weights: taps * (C_in / groups) * C_out, the same as taps * C_in * (C_out / groups); a
    # weight computed in forward (its operand) counts where it is computed
    params = {"pycls": lambda ins, out, a: volume(a.kernel, out) * (ins[0][1] // a.groups)
                       * out[1] * (1 - int(a.weight_input)) + out[1] * int(a.bias)}
    flops = {**conv_flops(conv_macs), "fvcore": _fvcore_conv}
    acts = {"pycls": numel_out, "fvcore": _fvcore_conv_acts}

    def torch(self, ins: Any, out: Any, a: ConvAttrs) -> Any:
        from torch import nn

        axes = len(ins[0]) - 2
        padding: Any = a.padding
        if a.string_padding:    # by name again: 'valid' is padding 0, 'same' keeps the size
            padding = "valid" if set(per_axis(a.padding, axes, "padding")) == {0} else "same"
        if a.weight_input:
            from ..torch.tensor_modules import ConvWithWeight

            return ConvWithWeight(a.out, axes, a.bias, stride=a.stride, padding=padding,
                                  dilation=a.dilation, groups=a.groups)
        return getattr(nn, f"Conv{axes}d")(ins[0][1], a.out, a.kernel, a.stride, padding,
                                           a.dilation, groups=a.groups, bias=a.bias)

    def example(self) -> Any:
        return ((1, 4, 9, 7),), ConvAttrs(6, (3, 2), (2, 1), (1, 0), (1, 2), 2, True)


# -- transposed convolution ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvTransposeAttrs(ConvAttrs):
    output_padding: Sizes = 0           # added to one side of each output size


def transposed_out(size: Any, kernel: int, stride: int, padding: int, output_padding: int,
                   dilation: int) -> Any:
    """torch's output size of a transposed conv: ``(size-1)s - 2p + d(k-1) + output_padding + 1``
    (the constants summed first, so a sympy size gets one linear expression)."""
    return size * stride + (dilation * (kernel - 1) + output_padding + 1 - stride - 2 * padding)


def conv_transpose_macs(ins: Any, out: Any, a: ConvTransposeAttrs) -> Any:
    """fvcore's and FlopCounterMode's transposed conv: every INPUT position meets the whole
    kernel, ``N * C_in * (C_out / groups) * taps * prod(input spatial)``, bias excluded."""
    return volume(a.kernel, out) * (out[1] // a.groups) * math.prod(ins[0])


@register_op
class ConvTranspose(Conv):
    """``nn.ConvTranspose1d/2d/3d`` (a conv's gradient: strides spread the input apart)."""

    sampler_attrs = ()          # the sampler tabulates only the families' convs

    name = "conv_transpose"
    Attrs = ConvTransposeAttrs
    arity = (1, 1)

    def parse(self, f: Any) -> ConvTransposeAttrs:
        common = _parse_common(f)
        common["padding"] = f.per_axis("padding", 0, lo=0, hi=MAX_KERNEL * MAX_KERNEL)
        common["output_padding"] = f.per_axis("output_padding", 0, lo=0, hi=MAX_KERNEL)
        check_axes_agree(f, {k: common[k] for k in ("kernel", "stride", "padding",
                                                     "output_padding", "dilation")})
        return ConvTransposeAttrs(**common)

    def infer_shape(self, ins: Any, a: ConvTransposeAttrs) -> Any:
        shape = ins[0]
        axes = spatial_axes(self.name, shape)
        window = {name: per_axis(getattr(a, name), axes, name)
                  for name in ("kernel", "stride", "padding", "output_padding", "dilation")}
        for op, s, d in zip(window["output_padding"], window["stride"], window["dilation"]):
            if op >= s and op >= d:     # torch's rule
                raise GraphError(f"output_padding {op} must be smaller than the stride ({s}) or "
                                 f"the dilation ({d})", field="output_padding")
        sizes = tuple(transposed_out(size, *per) for size, per in zip(shape[2:], zip(
            *(window[name] for name in ("kernel", "stride", "padding", "output_padding",
                                        "dilation")))))
        if any(is_concrete(size) and size < 1 for size in sizes):
            raise GraphError(f"padding {list(window['padding'])} leaves no output positions "
                             f"(input sizes {list(shape[2:])})", field="padding")
        _check_groups(shape, a)
        return (shape[0], a.out) + sizes

    # pycls has no transposed conv: netcalc's pycls prices it as its convs (bias once per channel)
    flops = conv_flops(conv_transpose_macs)
    acts = {"pycls": numel_out}
    aten = {packet: conv_transpose_from_aten
            for packet in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")}

    def torch(self, ins: Any, out: Any, a: ConvTransposeAttrs) -> Any:
        from torch import nn

        module = getattr(nn, f"ConvTranspose{len(ins[0]) - 2}d")
        return module(ins[0][1], a.out, a.kernel, a.stride, a.padding, a.output_padding,
                      groups=a.groups, bias=a.bias, dilation=a.dilation)

    def example(self) -> Any:
        return ((1, 4, 5, 7),), ConvTransposeAttrs(6, (3, 2), (2, 3), (1, 0), (1, 2), 2, True,
                                                   output_padding=(1, 2))
