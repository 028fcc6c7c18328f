"""Explicit layer graphs written by hand: any plain CNN, layer by layer.

Each entry of ``layers`` is one op. A layer reads the previous layer's output unless ``input``
names an earlier layer; ``add`` and ``mul`` take their second operand from ``with``. ``stage`` and
``block`` labels are sticky: they apply to the following layers until changed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ..fields import Fields
from ..graph import ACTIVATIONS, GraphBuilder, GraphError
from ..spec import MAX_CHANNELS
from . import Family, register

MAX_LAYERS = 100_000
MAX_KERNEL = 64


@dataclass(frozen=True)
class LayerSpec:
    op: str
    name: str
    input: Optional[str] = None
    other: Optional[str] = None       # the "with" operand of add / mul
    out: int = 0
    kernel: int = 1
    stride: int = 1
    padding: Optional[int] = None
    groups: int = 1
    bias: bool = False
    rate: float = 0.0
    stage: Optional[str] = None
    block: Optional[str] = None


@dataclass(frozen=True)
class GraphConfig:
    layers: Tuple[LayerSpec, ...]


def _parse_layer(f: Fields, index: int, known: Dict[str, int]) -> LayerSpec:
    op = f.str("op", choices=list(_ADD_LAYER))
    name = f.str("name", f"{op}_{index}", max_len=100)
    if not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise f.error("name", f"{name!r} may hold only letters, digits, '_', '-' and '.'")
    if name in known:
        raise f.error("name", f"{name!r} is already the name of layers[{known[name]}]")
    kw = dict(op=op, name=name, stage=f.str("stage", None, max_len=100),
              block=f.str("block", None, max_len=100))
    for key, attr in (("input", "input"), ("with", "other")):
        ref = f.str(key, None, max_len=100)
        if ref is not None and ref not in known:
            raise f.error(key, f"{ref!r} is not the name of an earlier layer")
        kw[attr] = ref
    if op in ("add", "mul") and kw["other"] is None:
        raise f.error("with", "is required: the layer whose output is added or multiplied")
    if op in ("conv", "linear"):
        kw["out"] = f.int("out", lo=1, hi=MAX_CHANNELS)
        kw["bias"] = f.bool("bias", op == "linear")
    if op in ("conv", "maxpool", "avgpool"):
        kw["kernel"] = (f.int("kernel", 1, lo=1, hi=MAX_KERNEL) if op == "conv"
                        else f.int("kernel", lo=1, hi=MAX_KERNEL))
        kw["stride"] = f.int("stride", 1, lo=1, hi=MAX_KERNEL)
        kw["padding"] = f.int("padding", None, lo=0, hi=MAX_KERNEL)
    if op == "conv":
        kw["groups"] = f.int("groups", 1, lo=1, hi=MAX_CHANNELS)
    if op == "dropout":
        kw["rate"] = f.float("p", 0.5, lo=0.0, hi=1.0)
    f.finish()
    return LayerSpec(**kw)


def parse(fields: Fields) -> GraphConfig:
    known: Dict[str, int] = {}
    layers = []
    for i, f in enumerate(fields.items("layers", min_len=1, max_len=MAX_LAYERS)):
        layer = _parse_layer(f, i, known)
        known[layer.name] = i
        layers.append(layer)
    return GraphConfig(tuple(layers))


# One entry per op: how a LayerSpec becomes a builder call (src: input index; ix: name -> index).
_ADD_LAYER = {
    "conv": lambda b, l, src, ix: b.conv(l.out, l.kernel, l.stride, groups=l.groups, bias=l.bias,
                                         padding=l.padding, name=l.name, src=src),
    "maxpool": lambda b, l, src, ix: b.pool("maxpool", l.kernel, l.stride, l.padding,
                                            name=l.name, src=src),
    "avgpool": lambda b, l, src, ix: b.pool("avgpool", l.kernel, l.stride, l.padding,
                                            name=l.name, src=src),
    "linear": lambda b, l, src, ix: b.linear(l.out, bias=l.bias, name=l.name, src=src),
    "add": lambda b, l, src, ix: b.add(ix[l.other], name=l.name, src=src),
    "mul": lambda b, l, src, ix: b.mul(ix[l.other], name=l.name, src=src),
    "dropout": lambda b, l, src, ix: b.dropout(l.rate, name=l.name, src=src),
    "bn": lambda b, l, src, ix: b.bn(name=l.name, src=src),
    "gap": lambda b, l, src, ix: b.gap(name=l.name, src=src),
    "flatten": lambda b, l, src, ix: b.flatten(name=l.name, src=src),
    **{act: (lambda b, l, src, ix: b.act(l.op, name=l.name, src=src)) for act in ACTIVATIONS},
}


def expand(spec, b: GraphBuilder) -> None:  # type: ignore[no-untyped-def]
    b.prefix_names = False
    index: Dict[str, int] = {}
    for i, layer in enumerate(spec.config.layers):
        b.stage = layer.stage if layer.stage is not None else b.stage
        b.block = layer.block if layer.block is not None else b.block
        src = b.current if layer.input is None else index[layer.input]
        try:
            index[layer.name] = _ADD_LAYER[layer.op](b, layer, src, index)
        except GraphError as exc:
            exc.field = f"layers[{i}]"
            raise


register(Family("graph", parse, expand, has_head=False))
