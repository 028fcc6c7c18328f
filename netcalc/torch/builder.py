"""A real ``nn.Module`` from a layer graph: one module per :class:`~netcalc.graph.Layer`.

The built network is what the counting conventions assume (``../../docs/validation.md``): global
average pooling is ``nn.AdaptiveAvgPool2d(1)`` (fvcore counts it; ``x.mean`` it would not), BN is
``nn.BatchNorm2d`` in ``eval()`` (fvcore counts 2 per element there, 5 in training), and every
cost-free op (activations, add, multiply, flatten, dropout) is a module of its own, so tracing
tools attribute each op to exactly one layer.

Layer ``i`` is the submodule ``layers.<i>`` (:func:`module_name`): layer names hold dots, which
torch module names may not, and an index maps back one to one without any renaming rule.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch import nn

from ..errors import SpecError
from ..graph import Layer, LayerGraph

MODULE_LIST = "layers"


def module_name(index: int) -> str:
    """The qualified name of layer ``index``'s module inside a :class:`GraphModule`."""
    return f"{MODULE_LIST}.{index}"


# -- ops whose torch modules need a little help ---------------------------------------------------
def as_map(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` with ``like``'s rank: a flat (N, C) tensor is a C x 1 x 1 map and vice versa.

    The layer graph treats a flattened tensor as C x 1 x 1, so a flat tensor may feed a conv, a
    BN or an add with a 1 x 1 map; torch needs the ranks to agree.
    """
    if x.dim() == like.dim():
        return x
    return x.flatten(1) if like.dim() == 2 else x.reshape(x.shape[0], x.shape[1], 1, 1)


class FlatLinear(nn.Linear):
    """``nn.Linear`` over the channels of a C x 1 x 1 map or of a flat tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))


class Add(nn.Module):
    """Residual add; with fewer channels in ``other`` (ReXNet), into the first ones only."""

    def __init__(self, channels: int, other_channels: int):
        super().__init__()
        self.channels = channels
        self.other_channels = other_channels

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        other = as_map(other, x)
        if self.other_channels == self.channels:
            return x + other
        head = x[:, :self.other_channels] + other
        return torch.cat([head, x[:, self.other_channels:]], dim=1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, other_channels={self.other_channels}"


class Mul(nn.Module):
    """Channel-wise product with a gate (squeeze-excite: a C x 1 x 1 gate)."""

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return x * as_map(gate, x)


class Spatial(nn.Module):
    """Runs a 4-D op (conv, BN, pooling) on a flat input by viewing it as C x 1 x 1."""

    def __init__(self, op: nn.Module):
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x.reshape(x.shape[0], x.shape[1], 1, 1) if x.dim() == 2 else x)


# -- one factory per op ---------------------------------------------------------------------------
def _conv(l: Layer, g: LayerGraph) -> nn.Module:
    return nn.Conv2d(l.c_in, l.c_out, l.kernel, l.stride, l.padding, groups=l.groups, bias=l.bias)


def _pool(cls: type) -> Callable[[Layer, LayerGraph], nn.Module]:
    def make(l: Layer, g: LayerGraph) -> nn.Module:
        if 2 * l.padding > l.kernel:
            raise unbuildable(l, f"{l.op} padding {l.padding} exceeds half its kernel "
                                 f"{l.kernel}, which torch cannot build")
        return cls(l.kernel, l.stride, l.padding)
    return make


def _add(l: Layer, g: LayerGraph) -> nn.Module:
    other = l.inputs[1]
    return Add(l.c_out, g.in_channels if other == -1 else g.layers[other].c_out)


FACTORIES: Dict[str, Callable[[Layer, LayerGraph], nn.Module]] = {
    "conv": _conv,
    "bn": lambda l, g: nn.BatchNorm2d(l.c_in),
    "relu": lambda l, g: nn.ReLU(),
    "relu6": lambda l, g: nn.ReLU6(),
    "silu": lambda l, g: nn.SiLU(),
    "sigmoid": lambda l, g: nn.Sigmoid(),
    "maxpool": _pool(nn.MaxPool2d),
    "avgpool": _pool(nn.AvgPool2d),
    "gap": lambda l, g: nn.AdaptiveAvgPool2d(1),
    "linear": lambda l, g: FlatLinear(l.c_in, l.c_out, bias=l.bias),
    "add": _add,
    "mul": lambda l, g: Mul(),
    "flatten": lambda l, g: nn.Flatten(1),
    "dropout": lambda l, g: nn.Dropout(l.rate),
}
SPATIAL_OPS = ("conv", "bn", "maxpool", "avgpool", "gap")
FLATTENING_OPS = ("flatten", "linear")


def flat_outputs(graph: LayerGraph) -> List[bool]:
    """Which layers output a flat (N, C) tensor: flatten, linear, and elementwise ops on those."""
    flat: List[bool] = []
    for l in graph.layers:
        src = l.inputs[0]
        flat.append(l.op in FLATTENING_OPS
                    or (l.op not in SPATIAL_OPS and src >= 0 and flat[src]))
    return flat


def unbuildable(layer: Layer, message: str) -> SpecError:
    """A graph the counter accepts but torch cannot build (the caller adds the spec's file)."""
    return SpecError("", f"layer {layer.name}", message)


def layer_modules(graph: LayerGraph) -> List[nn.Module]:
    """One module per layer; a spatial op reading a flat tensor gets a :class:`Spatial` view."""
    flat = flat_outputs(graph)
    modules = []
    for l in graph.layers:
        if l.c_in < 1 or l.c_out < 1:
            raise unbuildable(l, f"{l.op} has {l.c_in} input and {l.c_out} output channels; "
                                 "torch cannot build an empty layer")
        module = FACTORIES[l.op](l, graph)
        reads_flat = l.inputs[0] >= 0 and flat[l.inputs[0]]
        modules.append(Spatial(module) if l.op in SPATIAL_OPS and reads_flat else module)
    return modules


class GraphModule(nn.Module):
    """Runs the layers in graph order; layer ``i`` reads the outputs named by its ``inputs``.

    Outputs are dropped after their last reader, so memory stays at the live tensors. A layer
    nobody reads (a dead end in a hand-written graph) still counts in netcalc, so its output is
    returned after the network's, as a tuple: a trace would otherwise prune it.
    """

    def __init__(self, graph: LayerGraph):
        super().__init__()
        self.graph_name = graph.name
        self.layer_names: List[str] = [l.name for l in graph.layers]
        self.inputs: List[tuple] = [tuple(l.inputs) for l in graph.layers]
        self.layers = nn.ModuleList(layer_modules(graph))
        self.last_reader = _last_readers(self.inputs)
        self.dead_ends = [i for i, last in enumerate(self.last_reader) if last == i]

    def forward(self, x: torch.Tensor) -> Any:
        outputs: List[Optional[torch.Tensor]] = []
        for i, (module, inputs) in enumerate(zip(self.layers, self.inputs)):
            outputs.append(module(*(x if j == -1 else outputs[j] for j in inputs)))
            for j in inputs:
                if j >= 0 and self.last_reader[j] == i:
                    outputs[j] = None
        if self.dead_ends:
            return (outputs[-1], *(outputs[i] for i in self.dead_ends))
        return outputs[-1]

    def extra_repr(self) -> str:
        return f"name={self.graph_name!r}"


def _last_readers(inputs: Sequence[tuple]) -> List[int]:
    """For each layer, the index of the last layer reading its output (itself if none)."""
    last = list(range(len(inputs)))
    for i, sources in enumerate(inputs):
        for j in sources:
            if j >= 0:
                last[j] = i
    last[-1] = len(inputs)          # the network output is read by the caller
    return last


def build(graph_or_spec: Any, resolution: Any = None, device: Any = "cpu", *,
          init: bool = True) -> GraphModule:
    """The ``eval()``-mode module of a layer graph, or of a spec (path, mapping or Spec).

    ``init=True`` gives torch's default initialisation (a module to train). ``init=False`` skips
    it, which costs nothing for 100M parameters: every parameter and buffer is zero except BN
    running variances (one), so the module computes finite, deterministic values. Counts do not
    depend on values, so validation uses ``init=False``.
    """
    graph = graph_or_spec
    if not isinstance(graph, LayerGraph):
        from .. import expand

        graph = expand(graph_or_spec, resolution)
    if init:
        with torch.device(device):
            return GraphModule(graph).eval()
    with torch.device("meta"):
        module = GraphModule(graph)
    module = module.to_empty(device=device)
    with torch.no_grad():
        for tensor in (*module.parameters(), *module.buffers()):
            tensor.zero_()
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
    return module.eval()


def example_input(graph: LayerGraph, device: Any = "cpu") -> torch.Tensor:
    """A batch-1 input of the graph's shape (zeros: values do not affect counts)."""
    return torch.zeros(1, graph.in_channels, graph.resolution, graph.resolution, device=device)
