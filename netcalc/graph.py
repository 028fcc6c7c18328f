"""The layer graph every spec expands into, and the one function that decides spatial sizes.

A graph is an ordered tuple of :class:`Layer` records. Each layer reads the tensors of earlier
layers (``inputs``, indices; ``-1`` is the network input) and produces one tensor of ``c_out``
channels and ``hw_out`` x ``hw_out`` positions (inputs are square). Sizes are Python ints for
concrete counts and sympy expressions for closed forms: nothing here converts or compares them,
so the same expansion code serves both (see :func:`out_size`).

Families build graphs through :class:`GraphBuilder`, which tracks shapes, labels layers with their
stage and block (for breakdowns) and names them ``<block>.<name>``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple, Optional, Tuple

# Ops a graph may contain. Every op needs a params rule and a flops/acts rule per convention
# (netcalc.rules); the torch builder maps each to a module.
OPS = (
    "conv", "bn", "relu", "relu6", "silu", "sigmoid", "maxpool", "avgpool", "gap", "linear",
    "add", "mul", "flatten", "dropout",
)
ACTIVATIONS = ("relu", "relu6", "silu", "sigmoid")


class GraphError(ValueError):
    """A shape that cannot work (kernel larger than its input, channel mismatch in an add...)."""


class Layer(NamedTuple):
    name: str
    op: str
    inputs: Tuple[int, ...]
    c_in: int
    c_out: int
    hw_in: Any          # int, or a sympy expression in the resolution
    hw_out: Any
    stage: str = ""
    block: str = ""
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    rate: float = 0.0   # dropout probability (no cost; kept so built modules match the spec)


class LayerGraph(NamedTuple):
    name: str
    in_channels: int
    resolution: Any
    layers: Tuple[Layer, ...]

    @property
    def output(self) -> Layer:
        return self.layers[-1]


def out_size(size: Any, kernel: int, stride: int, padding: int) -> Any:
    """Output side of a conv or pool: ``(size + 2p - k) // s + 1``.

    Works unchanged on sympy expressions, where ``//`` becomes ``floor``: this is what makes the
    closed forms exact at resolutions that strides do not divide.
    """
    return (size + 2 * padding - kernel) // stride + 1


def _is_concrete(size: Any) -> bool:
    return isinstance(size, int)


class GraphBuilder:
    """Appends layers, tracking the current tensor; families call one method per op."""

    def __init__(self, name: str, in_channels: int, resolution: Any):
        self.name = name
        self.in_channels = in_channels
        self.resolution = resolution
        self.layers: list = []
        self.current = -1
        self.stage = ""
        self.block = ""
        self.prefix_names = True   # families: "<block>.<name>"; hand-written graphs keep names

    # -- shapes and labels --------------------------------------------------------------------
    def shape(self, index: Optional[int] = None) -> Tuple[int, Any]:
        """(channels, side) of the tensor produced by layer ``index`` (default: current)."""
        index = self.current if index is None else index
        if index == -1:
            return self.in_channels, self.resolution
        layer = self.layers[index]
        return layer.c_out, layer.hw_out

    @property
    def channels(self) -> int:
        return self.shape()[0]

    @contextmanager
    def scope(self, stage: Optional[str] = None, block: Optional[str] = None) -> Iterator[None]:
        saved = self.stage, self.block
        if stage is not None:
            self.stage, self.block = stage, ""
        if block is not None:
            self.block = block
        try:
            yield
        finally:
            self.stage, self.block = saved

    def _full_name(self, name: str) -> str:
        prefix = (self.block or self.stage) if self.prefix_names else ""
        return f"{prefix}.{name}" if prefix else name

    def _append(self, op: str, name: str, src: Optional[int], c_out: int, hw_out: Any,
                extra_inputs: Tuple[int, ...] = (), **attrs: Any) -> int:
        src = self.current if src is None else src
        c_in, hw_in = self.shape(src)
        if _is_concrete(hw_out) and hw_out < 1:
            raise GraphError(f"{op} {name!r} leaves no output positions (input {hw_in}x{hw_in})")
        self.layers.append(Layer(self._full_name(name), op, (src,) + extra_inputs, c_in, c_out,
                                 hw_in, hw_out, self.stage, self.block, **attrs))
        self.current = len(self.layers) - 1
        return self.current

    # -- ops ----------------------------------------------------------------------------------
    def conv(self, c_out: int, kernel: int = 1, stride: int = 1, *, groups: int = 1,
             bias: bool = False, padding: Optional[int] = None, name: str = "conv",
             src: Optional[int] = None) -> int:
        c_in, hw = self.shape(src)
        if c_out < 1:
            raise GraphError(f"conv {name!r} has no output channels")
        if c_in % groups or c_out % groups:
            raise GraphError(f"conv {name!r}: groups {groups} must divide in ({c_in}) and out "
                             f"({c_out}) channels")
        padding = (kernel - 1) // 2 if padding is None else padding
        return self._append("conv", name, src, c_out, out_size(hw, kernel, stride, padding),
                            kernel=kernel, stride=stride, padding=padding, groups=groups,
                            bias=bias)

    def bn(self, name: str = "bn", src: Optional[int] = None) -> int:
        return self._same_shape("bn", name, src)

    def act(self, kind: str, name: Optional[str] = None, src: Optional[int] = None) -> int:
        if kind not in ACTIVATIONS:
            raise GraphError(f"unknown activation {kind!r}")
        return self._same_shape(kind, name or kind, src)

    def dropout(self, rate: float, name: str = "dropout", src: Optional[int] = None) -> int:
        return self._same_shape("dropout", name, src, rate=rate)

    def pool(self, op: str, kernel: int, stride: int, padding: Optional[int] = None, *,
             name: Optional[str] = None, src: Optional[int] = None) -> int:
        """Max or average pooling (``op`` is ``maxpool`` or ``avgpool``)."""
        c, hw = self.shape(src)
        padding = (kernel - 1) // 2 if padding is None else padding
        return self._append(op, name or op, src, c, out_size(hw, kernel, stride, padding),
                            kernel=kernel, stride=stride, padding=padding)

    def gap(self, name: str = "pool", src: Optional[int] = None) -> int:
        """Global average pooling to 1x1 (``nn.AdaptiveAvgPool2d(1)``)."""
        c, _ = self.shape(src)
        return self._append("gap", name, src, c, 1)

    def flatten(self, name: str = "flatten", src: Optional[int] = None) -> int:
        c, hw = self.shape(src)
        if _is_concrete(hw) and hw != 1:
            raise GraphError(f"flatten {name!r} needs a 1x1 input, got {hw}x{hw} (add a gap)")
        return self._append("flatten", name, src, c, 1)

    def linear(self, c_out: int, *, bias: bool = True, name: str = "fc",
               src: Optional[int] = None) -> int:
        c, hw = self.shape(src)
        if _is_concrete(hw) and hw != 1:
            raise GraphError(f"linear {name!r} needs a flat input, got {hw}x{hw} (add gap/flatten)")
        return self._append("linear", name, src, c_out, 1, bias=bias)

    def add(self, other: int, *, name: str = "add", src: Optional[int] = None,
            partial: bool = False) -> int:
        """Residual add of ``other`` into the current tensor.

        ``partial`` (ReXNet) allows ``other`` to have fewer channels: it is added to the first ones.
        """
        c, hw = self.shape(src)
        c_other, hw_other = self.shape(other)
        fits = c_other <= c if partial else c_other == c
        if not fits or (_is_concrete(hw) and _is_concrete(hw_other) and hw != hw_other):
            raise GraphError(f"add {name!r}: shapes {c}x{hw}x{hw} and "
                             f"{c_other}x{hw_other}x{hw_other} do not match")
        return self._append("add", name, src, c, hw, extra_inputs=(other,))

    def mul(self, gate: int, *, name: str = "mul", src: Optional[int] = None) -> int:
        """Channel-wise multiply by a ``c x 1 x 1`` gate (squeeze-excite)."""
        c, hw = self.shape(src)
        c_gate, hw_gate = self.shape(gate)
        if c_gate != c or (_is_concrete(hw_gate) and hw_gate != 1 and hw_gate != hw):
            raise GraphError(f"mul {name!r}: gate {c_gate}x{hw_gate}x{hw_gate} does not fit "
                             f"{c}x{hw}x{hw}")
        return self._append("mul", name, src, c, hw, extra_inputs=(gate,))

    def _same_shape(self, op: str, name: str, src: Optional[int], **attrs: Any) -> int:
        c, hw = self.shape(src)
        return self._append(op, name, src, c, hw, **attrs)

    def build(self) -> LayerGraph:
        return LayerGraph(self.name, self.in_channels, self.resolution, tuple(self.layers))
