"""The one table from torch's fx node forms to netcalc graph-spec nodes.

Each :class:`Entry` lists every form one op takes in an fx graph: the ``call_module`` class
(``nn.ReLU``), the ``call_function`` targets (``F.relu``, ``torch.relu``, in-place variants) and
the ``call_method`` names (``"relu"``, ``"relu_"``), plus the argument names of the function form
so positional and keyword arguments read alike. Its converter turns one call into what the spec
holds: a node (:class:`Op`), several chained nodes, the value of an operand passed through
(:class:`Alias`: ``contiguous``, ``stochastic_depth`` in eval), a plain Python value (``x.size()``
and arithmetic on sizes), or the parts of a multi-output op (``chunk``/``split``: each ``getitem``
becomes a ``slice``).

Adding an op: define it in ``netcalc.ops`` and add one :class:`Entry` here.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import fx, nn


class Unsupported(Exception):
    """A call netcalc cannot express (no mapping, or a variant of a known op it does not model)."""


# -- what a converter returns ---------------------------------------------------------------------
@dataclass
class Op:
    """One spec node. ``inputs``: fx nodes (default: the call's first tensor argument) and, in
    ``param``, the get_attr parameter it consumes (its numel is checked against the op's params)."""

    op: str
    attrs: Dict[str, Any] = field(default_factory=dict)
    inputs: Optional[Sequence[fx.Node]] = None


@dataclass
class Alias:
    """The call's result IS this operand's value (no node in the spec)."""

    source: fx.Node


@dataclass
class Parts:
    """A multi-output op along ``dim``: output i is ``source[start:stop]`` for bounds[i]."""

    source: fx.Node
    dim: int
    bounds: List[Tuple[int, int]]


VALUE = object()        # a plain Python value (sizes and arithmetic on them): no node


class Shape(tuple):
    """The traced shape of a tensor value (plain tuples are sizes the model computes with)."""


# -- one call, with its arguments bound to names and its shapes ------------------------------------
@dataclass
class Call:
    node: fx.Node
    module: Optional[nn.Module]
    args: Dict[str, Any]                       # argument name -> fx node or literal
    shape_of: Callable[[Any], Any]             # fx node -> its shape (Shape) or value
    probe_of: Callable[[Any], Any]             # the same at the probe resolution (None: failed)
    is_param: Callable[[Any], bool]            # fx node -> is it a get_attr of a parameter
    fixed: Callable[[str], None]               # "this call fits only the traced resolution"

    def arg(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)

    @property
    def out(self) -> Any:
        return self.shape_of(self.node)

    @property
    def first(self) -> fx.Node:
        return self.args["input"]

    @property
    def in_shape(self) -> Tuple[int, ...]:
        return self.shape_of(self.first)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, fx.Node) and isinstance(self.shape_of(value), Shape)

    def setting(self, name: str, default: Any = None) -> Any:
        """An attribute of the op: the module's own (nn.MaxPool2d's ``stride``), or the
        function's argument of the same name (F.max_pool2d's ``stride``)."""
        if self.module is not None:
            return getattr(self.module, name, default)
        return _literal(self, name, default)


@dataclass(frozen=True)
class Entry:
    op: str                                    # the netcalc op this entry emits (for docs)
    convert: Callable[[Call], Any]
    modules: Tuple[type, ...] = ()
    functions: Tuple[Any, ...] = ()            # callables, or "module.qualname" strings
    methods: Tuple[str, ...] = ()
    params: Tuple[str, ...] = ("input",)       # names of the function/method arguments


# -- small helpers ----------------------------------------------------------------------------------
def _pair(value: Any) -> Tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _compact(value: Any) -> Any:
    """An int for a square pair, else a list: specs stay short and readable."""
    a, b = _pair(value)
    return a if a == b else [a, b]


def _literal(call: Call, name: str, default: Any = None) -> Any:
    value = call.arg(name, default)
    if isinstance(value, fx.Node):
        value = call.shape_of(value)
        if isinstance(value, Shape) or isinstance(value, (list, tuple)) and any(
                isinstance(v, Shape) for v in value):
            raise Unsupported(f"argument {name!r} is a tensor")
    return value


def _ints(value: Any) -> List[int]:
    return [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def same(op: str) -> Callable[[Call], Op]:
    """An op with no attributes (relu, bn's activations...)."""
    return lambda call: Op(op)


# -- converters -------------------------------------------------------------------------------------
def conv_module(call: Call) -> Op:
    m = call.module
    if not isinstance(m, nn.Conv2d) or m.padding_mode != "zeros":
        raise Unsupported(f"{type(m).__name__}(padding_mode={m.padding_mode!r})")
    kernel, dilation = _pair(m.kernel_size), _pair(m.dilation)
    if m.padding == "same":
        padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
        if any(d * (k - 1) % 2 for k, d in zip(kernel, dilation)):
            raise Unsupported("Conv2d(padding='same') with an asymmetric padding")
    else:
        padding = (0, 0) if m.padding == "valid" else _pair(m.padding)
    attrs: Dict[str, Any] = {"out": m.out_channels, "kernel": _compact(kernel),
                             "stride": _compact(m.stride), "padding": _compact(padding)}
    if dilation != (1, 1):
        attrs["dilation"] = _compact(dilation)
    if m.groups != 1:
        attrs["groups"] = m.groups
    if m.bias is not None:
        attrs["bias"] = True
    return Op("conv", attrs)


def batch_norm(call: Call) -> Op:
    m = call.module
    if not m.affine:
        raise Unsupported(f"{type(m).__name__}(affine=False)")
    return Op("bn")


def linear_module(call: Call) -> Op:
    attrs: Dict[str, Any] = {"out": call.module.out_features}
    if call.module.bias is None:
        attrs["bias"] = False
    return Op("linear", attrs)


def linear_function(call: Call) -> Op:
    weight, bias = call.arg("weight"), call.arg("bias")
    if not call.is_param(weight) or not (bias is None or call.is_param(bias)):
        raise Unsupported("F.linear with a weight that is not a parameter")
    attrs: Dict[str, Any] = {"out": call.shape_of(weight)[0]}
    if bias is None:
        attrs["bias"] = False
    return Op("linear", attrs)


def _pool(call: Call, op: str, kernel: Any, stride: Any, padding: Any, ceil_mode: bool,
          **extra: Any) -> Op:
    stride = kernel if stride is None or stride == [] or stride == () else stride
    attrs: Dict[str, Any] = {"kernel": _compact(kernel), "stride": _compact(stride),
                             "padding": _compact(padding)}
    if ceil_mode:
        attrs["ceil_mode"] = True
    attrs.update((k, v) for k, v in extra.items() if v is not None)
    return Op(op, attrs)


def maxpool(call: Call) -> Op:
    get = call.setting
    if get("return_indices", False):
        raise Unsupported("max_pool2d(return_indices=True)")
    dilation = _pair(get("dilation", 1))
    return _pool(call, "maxpool", get("kernel_size"), get("stride", None), get("padding", 0),
                 get("ceil_mode", False),
                 dilation=None if dilation == (1, 1) else _compact(dilation))


def avgpool(call: Call) -> Op:
    get = call.setting
    if get("divisor_override", None) is not None:
        raise Unsupported("avg_pool2d(divisor_override=...)")
    include_pad = get("count_include_pad", True)
    return _pool(call, "avgpool", get("kernel_size"), get("stride", None), get("padding", 0),
                 get("ceil_mode", False), count_include_pad=None if include_pad else False)


def adaptive(op: str) -> Callable[[Call], Op]:
    def convert(call: Call) -> Op:
        if call.setting("return_indices", False):
            raise Unsupported("adaptive_max_pool2d(return_indices=True)")
        size = call.setting("output_size")
        size = _pair(size) if not isinstance(size, (list, tuple)) else tuple(size)
        if any(s is None for s in size):     # None keeps that input side: use the traced size
            size = tuple(call.out[-2:])
        return Op(op, {"output_size": _compact(size)})
    return convert


def activation(op: str, *names: Tuple[str, Any]) -> Callable[[Call], Op]:
    """An elementwise op whose attrs are read from the module or the call (name, default)."""
    def convert(call: Call) -> Op:
        attrs = {}
        for name, default in names:
            value = call.setting(name, default)
            if value != default:
                attrs[name] = value
        return Op(op, attrs)
    return convert


def hardtanh(call: Call) -> Op:
    low, high = call.setting("min_val", -1.0), call.setting("max_val", 1.0)
    if (low, high) != (0.0, 6.0):
        raise Unsupported(f"hardtanh({low}, {high}) (only relu6's 0..6 is modelled)")
    return Op("relu6")


def prelu(call: Call) -> Op:
    return Op("prelu", {"num_parameters": call.module.num_parameters})


def softmax(call: Call) -> Op:
    dim = call.setting("dim")
    if dim is None:
        raise Unsupported("softmax without dim")
    return Op("softmax", {"dim": int(dim)})


def dropout(call: Call) -> Op:
    p = call.setting("p", 0.5)
    return Op("dropout", {"p": float(p)})


def alias(call: Call) -> Alias:
    return Alias(call.first)


def flatten(call: Call) -> Op:
    start, end = call.setting("start_dim", 0), call.setting("end_dim", -1)
    attrs = {}
    if start != 1:
        attrs["start_dim"] = start
    if end != -1:
        attrs["end_dim"] = end
    return Op("flatten", attrs)


def layer_norm(call: Call) -> Op:
    m = call.module
    if m is not None:
        shape, affine, bias = list(m.normalized_shape), m.elementwise_affine, m.bias is not None
    else:
        shape = _ints(_literal(call, "normalized_shape"))
        weight, b = call.arg("weight"), call.arg("bias")
        if any(v is not None and not call.is_param(v) for v in (weight, b)):
            raise Unsupported("layer_norm with a weight that is not a parameter")
        affine, bias = weight is not None, b is not None
        if weight is None and b is not None:
            raise Unsupported("layer_norm with a bias but no weight")
    if affine and not bias:
        raise Unsupported("LayerNorm(bias=False)")
    attrs: Dict[str, Any] = {"normalized_shape": [int(s) for s in shape]}
    if not affine:
        attrs["elementwise_affine"] = False
    return Op("layer_norm", attrs)


def group_norm(call: Call) -> Op:
    m = call.module
    attrs: Dict[str, Any] = {"num_groups": m.num_groups}
    if not m.affine:
        attrs["affine"] = False
    return Op("group_norm", attrs)


def concat(call: Call) -> Op:
    tensors = call.arg("tensors")
    dim = call.arg("dim", 0)
    return Op("concat", {} if dim == 1 else {"dim": int(dim)}, inputs=list(tensors))


def mean(call: Call) -> Op:
    dim = _literal(call, "dim")
    if dim is None or call.arg("dtype") is not None:
        raise Unsupported("mean over all dims or with a dtype")
    dims = _ints(dim)
    attrs: Dict[str, Any] = {"dim": dims[0] if len(dims) == 1 else dims}
    if _literal(call, "keepdim", False):
        attrs["keepdim"] = True
    return Op("mean", attrs)


def fold_dims(call: Call) -> List[Any]:
    """The target shape of a view/reshape, from the traced output shapes at two resolutions
    (the sizes a model computes with ``x.size()`` arithmetic are known only that way): a dim
    that stays put is an int, one that follows input dim K is "dK", one other changing dim is
    -1. Anything else fits only the traced resolution."""
    out, probe_out = call.out, call.probe_of(call.node)
    if probe_out is None:
        call.fixed(f"reshape to the constant sizes {list(out)}")
        return [int(d) for d in out]
    src, probe_src = call.in_shape, call.probe_of(call.first)
    entries: List[Any] = []
    for size, probe in zip(out, probe_out):
        if size == probe:
            entries.append(int(size))
            continue
        same = [k for k, (a, b) in enumerate(zip(src, probe_src)) if (a, b) == (size, probe)]
        entries.append(f"d{same[0]}" if same else -1)
    if entries.count(-1) > 1:
        call.fixed(f"its sizes {list(out)} depend on the resolution in more than one dim")
        return [int(d) for d in out]
    return entries


def reshape(call: Call) -> Op:
    return Op("reshape", {"shape": fold_dims(call)})


def permute(call: Call) -> Op:
    dims = _literal(call, "dims")
    return Op("permute", {"dims": _ints(dims)})


def transpose(call: Call) -> Op:
    return Op("transpose", {"dim0": int(_literal(call, "dim0")),
                            "dim1": int(_literal(call, "dim1"))})


def parts(call: Call) -> Parts:
    """chunk/split: the traced output sizes along dim give each part's bounds."""
    dim = int(_literal(call, "dim", 0))
    sizes = [s[dim] for s in call.out]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return Parts(call.first, dim, [(a, a + n) for a, n in zip(starts, sizes)])


def channel_shuffle(call: Call) -> Op:
    groups = call.setting("groups")
    return Op("channel_shuffle", {"groups": int(groups)})


def upsample(call: Call) -> Op:
    get = call.setting
    mode = get("mode", "nearest")
    if mode not in ("nearest", "bilinear") or get("recompute_scale_factor", None) or get(
            "antialias", False):
        raise Unsupported(f"interpolate(mode={mode!r}) (nearest and bilinear are modelled)")
    attrs: Dict[str, Any] = {"mode": mode}
    scale = get("scale_factor", None)
    if scale is not None:
        scales = [int(v) if float(v).is_integer() else v for v in
                  (scale if isinstance(scale, (list, tuple)) else [scale])]
        attrs["scale_factor"] = scales[0] if len(scales) == 1 else scales
    else:
        attrs.update(_upsample_size(call))
    if mode == "bilinear" and get("align_corners", None):
        attrs["align_corners"] = True
    return Op("upsample", attrs)


def _upsample_size(call: Call) -> Dict[str, Any]:
    """A size taken from another tensor (FPN's ``size=y.shape[-2:]``) that is an integer multiple
    of the input at both traced resolutions is that scale; a constant size stays a size."""
    out, src = call.out[-2:], call.in_shape[-2:]
    probe_out, probe_src = call.probe_of(call.node), call.probe_of(call.first)
    if probe_out is None or tuple(probe_out[-2:]) == tuple(out):
        return {"size": [int(d) for d in out]}
    pairs = list(zip(out, src)) + list(zip(probe_out[-2:], probe_src[-2:]))
    scales = [o // i for o, i in pairs]
    if all(o == i * s for (o, i), s in zip(pairs, scales)) and scales[:2] == scales[2:]:
        return {"scale_factor": scales[0] if scales[0] == scales[1] else scales[:2]}
    call.fixed(f"its output size {list(out)} is not a fixed multiple of its input")
    return {"size": [int(d) for d in out]}


def pad(call: Call) -> Op:
    if _literal(call, "mode", "constant") != "constant":
        raise Unsupported(f"pad(mode={_literal(call, 'mode')!r}) (constant padding is modelled)")
    attrs: Dict[str, Any] = {"pad": _ints(_literal(call, "pad"))}
    value = _literal(call, "value", None)
    if value:
        attrs["value"] = value
    return Op("pad", attrs)


def matmul(call: Call) -> Op:
    return Op("matmul", inputs=[call.first, call.arg("other")])


def binary(op: str) -> Callable[[Call], Any]:
    """add/sub/mul/div of two tensors, a tensor and a number, a tensor and a parameter
    (``param_add``/``param_mul``), or two plain values (sizes: no node)."""
    def convert(call: Call) -> Any:
        a, b = call.first, call.arg("other")
        tensors = [v for v in (a, b) if call.is_tensor(v)]
        if not tensors:
            return VALUE
        if call.arg("alpha", 1) != 1:
            raise Unsupported(f"{op} with alpha")
        params = [v for v in (a, b) if call.is_param(v)]
        if params:
            if op not in ("add", "mul") or len(params) == 2:
                raise Unsupported(f"{op} of a parameter (param_add and param_mul are modelled)")
            other = b if params[0] is a else a
            return Op(f"param_{op}", {"param_shape": list(call.shape_of(params[0]))},
                      inputs=[other])
        if len(tensors) == 2:
            return Op(op, inputs=[a, b])
        number = b if tensors[0] is a else a
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise Unsupported(f"{op} of a tensor and {type(number).__name__}")
        if tensors[0] is b and op in ("sub", "div"):
            raise Unsupported(f"number {op} tensor (rsub / reciprocal)")
        return Op(op, {"value": number}, inputs=[tensors[0]])
    return convert


def value(call: Call) -> Any:
    return VALUE


def getitem(call: Call) -> Any:
    """Indexing a size tuple (a value), one part of a chunk/split (handled by the importer), or a
    tensor with slices (``slice`` nodes, one per sliced dim)."""
    source, index = call.first, call.arg("other")
    if not call.is_tensor(source):
        return VALUE
    index = index if isinstance(index, tuple) else (index,)
    shape = call.shape_of(source)
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (len(shape) - len(index) + 1) + index[at + 1:]
    ops: List[Op] = []
    kept = []           # input dims the result keeps (an int index drops its dim)
    for dim, item in enumerate(index):
        if isinstance(item, int) and not isinstance(item, bool):
            # negative stays negative (counted from the end, at every resolution)
            bounds = {"start": item} if item == -1 else {"start": item, "stop": item + 1}
            ops.append(Op("slice", {"dim": dim, **bounds}))
            continue
        kept.append(dim)
        if not isinstance(item, slice) or item.step not in (None, 1) or any(
                isinstance(v, fx.Node) for v in (item.start, item.stop)):
            raise Unsupported(f"tensor indexing with {item!r} (ints and slices with step 1 "
                              "are modelled)")
        start, stop, _ = item.indices(shape[dim])
        if (start, stop) != (0, shape[dim]):     # python slice semantics: omitted stays omitted
            bounds = {"start": item.start, "stop": item.stop}
            ops.append(Op("slice", {"dim": dim, **{k: v for k, v in bounds.items()
                                                   if v is not None}}))
    kept += range(len(index), len(shape))
    if len(kept) < len(shape):      # the dims of int indices go: a reshape to the kept dims
        ops.append(Op("reshape", {"shape": [f"d{k}" for k in kept]}))
    return ops or Alias(source)


# -- the table --------------------------------------------------------------------------------------
TV = "torchvision.ops.stochastic_depth.stochastic_depth"
_T = "input"
TABLE: Tuple[Entry, ...] = (
    Entry("conv", conv_module, modules=(nn.Conv2d,)),
    Entry("bn", batch_norm, modules=(nn.BatchNorm2d, nn.BatchNorm1d)),
    Entry("linear", linear_module, modules=(nn.Linear,)),
    Entry("linear", linear_function, functions=(F.linear,), params=(_T, "weight", "bias")),
    Entry("relu", same("relu"), modules=(nn.ReLU,), functions=(F.relu, torch.relu, torch.relu_),
          methods=("relu", "relu_")),
    Entry("relu6", same("relu6"), modules=(nn.ReLU6,), functions=(F.relu6,)),
    Entry("relu6", hardtanh, modules=(nn.Hardtanh,), functions=(F.hardtanh, F.hardtanh_),
          params=(_T, "min_val", "max_val")),
    Entry("silu", same("silu"), modules=(nn.SiLU,), functions=(F.silu,)),
    Entry("sigmoid", same("sigmoid"), modules=(nn.Sigmoid,),
          functions=(torch.sigmoid, F.sigmoid, torch.sigmoid_), methods=("sigmoid", "sigmoid_")),
    Entry("hardswish", same("hardswish"), modules=(nn.Hardswish,), functions=(F.hardswish,)),
    Entry("hardsigmoid", same("hardsigmoid"), modules=(nn.Hardsigmoid,),
          functions=(F.hardsigmoid,)),
    Entry("tanh", same("tanh"), modules=(nn.Tanh,), functions=(torch.tanh, F.tanh, torch.tanh_),
          methods=("tanh", "tanh_")),
    Entry("mish", same("mish"), modules=(nn.Mish,), functions=(F.mish,)),
    Entry("gelu", activation("gelu", ("approximate", "none")), modules=(nn.GELU,),
          functions=(F.gelu,), params=(_T, "approximate")),
    Entry("leaky_relu", activation("leaky_relu", ("negative_slope", 0.01)),
          modules=(nn.LeakyReLU,), functions=(F.leaky_relu, F.leaky_relu_),
          params=(_T, "negative_slope")),
    Entry("elu", activation("elu", ("alpha", 1.0)), modules=(nn.ELU,),
          functions=(F.elu, F.elu_), params=(_T, "alpha")),
    Entry("softplus", activation("softplus", ("beta", 1.0), ("threshold", 20.0)),
          modules=(nn.Softplus,), functions=(F.softplus,), params=(_T, "beta", "threshold")),
    Entry("prelu", prelu, modules=(nn.PReLU,)),
    Entry("softmax", softmax, modules=(nn.Softmax,), functions=(F.softmax, torch.softmax),
          methods=("softmax",), params=(_T, "dim")),
    Entry("dropout", dropout, modules=(nn.Dropout, nn.Dropout2d, nn.AlphaDropout),
          functions=(F.dropout, F.dropout2d), params=(_T, "p")),
    Entry("identity", same("identity"), modules=(nn.Identity,)),
    Entry("(none)", alias, functions=(TV,), methods=("contiguous",)),
    Entry("maxpool", maxpool, modules=(nn.MaxPool2d,), functions=(F.max_pool2d,),
          params=(_T, "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                  "return_indices")),
    Entry("avgpool", avgpool, modules=(nn.AvgPool2d,), functions=(F.avg_pool2d,),
          params=(_T, "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override")),
    Entry("adaptive_avgpool", adaptive("adaptive_avgpool"), modules=(nn.AdaptiveAvgPool2d,),
          functions=(F.adaptive_avg_pool2d,), params=(_T, "output_size")),
    Entry("adaptive_maxpool", adaptive("adaptive_maxpool"), modules=(nn.AdaptiveMaxPool2d,),
          functions=(F.adaptive_max_pool2d,), params=(_T, "output_size", "return_indices")),
    Entry("flatten", flatten, modules=(nn.Flatten,), functions=(torch.flatten,),
          methods=("flatten",), params=(_T, "start_dim", "end_dim")),
    Entry("layer_norm", layer_norm, modules=(nn.LayerNorm,), functions=(F.layer_norm,),
          params=(_T, "normalized_shape", "weight", "bias", "eps")),
    Entry("group_norm", group_norm, modules=(nn.GroupNorm,)),
    Entry("concat", concat, functions=(torch.cat, torch.concat, torch.concatenate),
          params=("tensors", "dim")),
    Entry("mean", mean, functions=(torch.mean,), methods=("mean",),
          params=(_T, "dim", "keepdim", "dtype")),
    Entry("reshape", reshape, functions=(torch.reshape,), methods=("view", "reshape"),
          params=(_T, "*shape")),
    Entry("permute", permute, functions=(torch.permute,), methods=("permute",),
          params=(_T, "*dims")),
    Entry("transpose", transpose, functions=(torch.transpose,), methods=("transpose",),
          params=(_T, "dim0", "dim1")),
    Entry("slice", parts, functions=(torch.chunk, torch.split), methods=("chunk", "split"),
          params=(_T, "chunks", "dim")),
    Entry("slice", getitem, functions=(operator.getitem,), params=(_T, "other")),
    Entry("channel_shuffle", channel_shuffle, modules=(nn.ChannelShuffle,),
          functions=(F.channel_shuffle,), params=(_T, "groups")),
    Entry("upsample", upsample, modules=(nn.Upsample,), functions=(F.interpolate,),
          params=(_T, "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                  "antialias")),
    Entry("pad", pad, functions=(F.pad,), params=(_T, "pad", "mode", "value")),
    Entry("matmul", matmul, functions=(torch.matmul, operator.matmul, torch.bmm),
          methods=("matmul", "bmm"), params=(_T, "other")),
    Entry("add", binary("add"), functions=(operator.add, operator.iadd, torch.add),
          methods=("add", "add_"), params=(_T, "other", "alpha")),
    Entry("sub", binary("sub"), functions=(operator.sub, operator.isub, torch.sub),
          methods=("sub", "sub_"), params=(_T, "other", "alpha")),
    Entry("mul", binary("mul"), functions=(operator.mul, operator.imul, torch.mul),
          methods=("mul", "mul_"), params=(_T, "other")),
    Entry("div", binary("div"), functions=(operator.truediv, operator.itruediv, torch.div),
          methods=("div", "div_"), params=(_T, "other")),
    Entry("(value)", value, functions=(operator.floordiv, getattr, operator.neg, math.prod,
                                       operator.eq, operator.ne, operator.lt, operator.le,
                                       operator.gt, operator.ge, torch._assert),
          methods=("size", "dim", "numel"), params=(_T, "other")),
)
# split's second argument is a size or a list of sizes, chunk's a count: both read by ``parts``
# from the traced output shapes, so one parameter list serves both.


def _function_key(target: Any) -> Any:
    """Functions are looked up by identity, torchvision's (never imported here) by name."""
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    return f"{module}.{name}" if module and module.startswith("torchvision") else target


def _build_index() -> Tuple[Dict[type, Entry], Dict[Any, Entry], Dict[str, Entry]]:
    modules: Dict[type, Entry] = {}
    functions: Dict[Any, Entry] = {}
    methods: Dict[str, Entry] = {}
    for entry in TABLE:
        modules.update((m, entry) for m in entry.modules)
        functions.update((f, entry) for f in entry.functions)
        methods.update((m, entry) for m in entry.methods)
    return modules, functions, methods


MODULES, FUNCTIONS, METHODS = _build_index()


def lookup(node: fx.Node, module: Optional[nn.Module]) -> Optional[Entry]:
    """The entry for one fx node; modules match their exact class (a subclass may compute
    something else in its own forward, and is traced into instead)."""
    if node.op == "call_module":
        return MODULES.get(type(module))
    if node.op == "call_function":
        try:
            return FUNCTIONS.get(_function_key(node.target))
        except TypeError:       # an unhashable target
            return None
    if node.op == "call_method":
        return METHODS.get(node.target)
    return None


# keyword spellings of the same argument across forms (torch.cat(axis=), split(split_size=)...)
KWARG_ALIASES = {"axis": "dim", "split_size_or_sections": "chunks", "split_size": "chunks",
                 "sections": "chunks", "x": "input", "self": "input"}


def bind(entry: Entry, node: fx.Node) -> Dict[str, Any]:
    """Name the arguments of a call: module calls take their input(s) only; ``*name`` collects
    the rest of the positional arguments (a single tuple/list argument counts as them)."""
    names = ("input",) if node.op == "call_module" else entry.params
    bound: Dict[str, Any] = {}
    args = list(node.args)
    for i, name in enumerate(names):
        if name.startswith("*"):
            rest = args[i:]
            bound[name[1:]] = rest[0] if len(rest) == 1 and isinstance(rest[0], (list, tuple)) \
                else tuple(rest)
            break
        if i < len(args):
            bound[name] = args[i]
    for key, val in node.kwargs.items():
        bound[key if key in names else KWARG_ALIASES.get(key, key)] = val
    return bound


def describe(node: fx.Node, module: Optional[nn.Module]) -> str:
    """How an op is named in messages: the module class, function or method."""
    if node.op == "call_module":
        return f"{type(module).__module__}.{type(module).__qualname__}"
    if node.op == "call_function":
        target = node.target
        return f"{getattr(target, '__module__', None) or ''}.{getattr(target, '__name__', target)}" \
            .lstrip(".")
    return f"Tensor.{node.target}"
