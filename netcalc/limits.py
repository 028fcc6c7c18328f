"""Bounds on work that depends on the input, checked before the work starts (docs/limits.md).

Everything here is analytic (no torch): what a command would cost is estimated from exact
counts, and refused at once, naming the parameter (option) that raises the limit, when it
would not fit.
"""
from __future__ import annotations

from typing import Any

from .errors import ArgumentError

GiB = 1 << 30
# validate: estimated module memory (5G). Measured peaks are a quarter of the estimate plus
# ~0.3 GB (EfficientNet-B7 at 600 px: estimate 4.2 GB, peak 1.06 GB), so a run stays < 2 GiB
MAX_MODULE_BYTES = 5_000_000_000
BYTES_PER_VALUE = 4             # float32 weights and activations


def _area(hw: Any) -> int:
    if isinstance(hw, (tuple, list)):
        return int(hw[0]) * int(hw[1])
    return int(hw) * int(hw)


def module_bytes(report: Any) -> int:
    """Memory a traced forward pass of the spec's module needs, at least: float32 weights plus
    every layer's output (the tracers keep each output alive), exact from the layer graph."""
    outputs = sum(layer.c_out * _area(layer.hw_out) for layer in report.graph.layers)
    return BYTES_PER_VALUE * (report.params + outputs)


def check_module_memory(report: Any, max_bytes: int = MAX_MODULE_BYTES) -> int:
    """The estimate, or an ArgumentError naming ``max_memory`` when it is above ``max_bytes``."""
    need = module_bytes(report)
    if need > max_bytes:
        raise ArgumentError(report.spec.source, "max_memory",
                            f"building and tracing {report.name} at {report.resolution} px needs "
                            f"about {need / GiB:.3g} GiB (float32 weights and layer outputs), "
                            f"over the limit of {max_bytes:,} bytes; raise `max_memory` "
                            "(bytes, or a quantity like 16G) if the machine has it")
    return need
