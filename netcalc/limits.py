"""Bounds on work that depends on the input, checked before the work starts (docs/limits.md).

Everything here is analytic (no torch): what a command would cost is estimated from exact
counts and node shapes, and refused at once, naming the parameter (option) that raises the
limit, when it would not fit.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from .errors import ArgumentError
from .spec import format_resolution

GiB = 1 << 30
# validate: estimated module memory (5G). Measured peaks of a trace stay below the estimate
# (tests/test_memory_estimate.py), so a run at the default stays under about 5 GB
MAX_MODULE_BYTES = 5_000_000_000
BYTES_PER_VALUE = 4             # float32 weights and activations


class MemoryEstimate(NamedTuple):
    """Bytes of a forward pass that keeps every tensor it makes, as a tracer does: the weights,
    the input and every node's output, each node's shape times the batch (views counted too)."""
    params_bytes: int
    input_bytes: int
    outputs_bytes: int

    @property
    def total(self) -> int:
        return self.params_bytes + self.input_bytes + self.outputs_bytes


def module_memory(report: Any, batch: int = 1, itemsize: int = BYTES_PER_VALUE) -> MemoryEstimate:
    """The memory estimate of ``report``'s module at ``batch``, from the shapes of its nodes
    (graph shapes carry a batch of 1), ``itemsize`` bytes per value."""
    graph = report.graph
    outputs = sum(math.prod(node.shape) for node in graph.layers)
    return MemoryEstimate(itemsize * report.params, itemsize * batch * math.prod(graph.input_shape),
                          itemsize * batch * outputs)


def check_module_memory(report: Any, max_bytes: int = MAX_MODULE_BYTES) -> int:
    """The estimate's total at batch 1, or an ArgumentError naming ``max_memory`` when it is
    above ``max_bytes``."""
    need = module_memory(report).total
    if need > max_bytes:
        raise ArgumentError(report.spec.source, "max_memory",
                            f"building and tracing {report.name} at {format_resolution(report.resolution)} px needs "
                            f"about {need / GiB:.3g} GiB (float32 weights, input and every "
                            f"layer's output), over the limit of {max_bytes:,} bytes; raise "
                            "`max_memory` (bytes, or a quantity like 16G) if the machine has it")
    return need
