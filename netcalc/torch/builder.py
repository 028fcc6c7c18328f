"""A real ``nn.Module`` from a node graph: one module per :class:`~netcalc.graph.Node`, from the
torch facet of its op's definition (:mod:`netcalc.ops`).

The built network is what the counting conventions assume (``../../docs/validation.md``): global
average pooling is ``nn.AdaptiveAvgPool2d(1)`` (fvcore counts it; ``x.mean`` it would not), BN is
``nn.BatchNorm2d`` in ``eval()`` (fvcore counts 2 per element there, 5 in training), and every
cost-free op (activations, add, multiply, flatten, dropout) is a module of its own, so tracing
tools attribute each op to exactly one node.

Layer ``i`` is the submodule ``layers.<i>`` (:func:`module_name`): layer names hold dots, which
torch module names may not, and an index maps back one to one without any renaming rule.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import nn

from ..errors import SpecError
from ..graph import LayerGraph, Node
from ..ops import get_op
from .modules import Function

MODULE_LIST = "layers"


def module_name(index: int) -> str:
    """The qualified name of layer ``index``'s module inside a :class:`GraphModule`."""
    return f"{MODULE_LIST}.{index}"


def unbuildable(layer: Node, message: str) -> SpecError:
    """A graph the counter accepts but torch cannot build (the caller adds the spec's file)."""
    return SpecError("", f"layer {layer.name}", message)


def node_module(node: Node) -> nn.Module:
    """The module of one node, from its op's torch facet (a plain callable is wrapped)."""
    if any(d < 1 for shape in (*node.in_shapes, node.shape) for d in shape):
        raise unbuildable(node, f"{node.op} has an empty tensor among its shapes; torch cannot "
                                "build an empty layer")
    built = get_op(node.op).torch(node.in_shapes, node.shape, node.attrs)
    return built if isinstance(built, nn.Module) else Function(built, node.op)


def layer_modules(graph: LayerGraph) -> List[nn.Module]:
    """One module per node; a node that ``shares`` an earlier node's parameters runs that
    node's module again (so the built module's numel counts them once, as the spec does)."""
    built: Dict[str, nn.Module] = {}
    modules = []
    for node in graph.layers:
        owner = getattr(node.attrs, "shares_params", None)
        module = built[owner] if owner in built else node_module(node)
        built[node.name] = module
        modules.append(module)
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
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.reset_running_stats()
    return module.eval()


def example_input(graph: LayerGraph, device: Any = "cpu") -> torch.Tensor:
    """A batch-1 input of the graph's shape (zeros: values do not affect counts)."""
    return torch.zeros(*graph.input_shape, device=device)
