"""Counts of any ``nn.Module``, traced: what ``assert_complexity(module, ...)`` checks."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch

from ..extras import TRACED_CONVENTIONS
from ..report import QUANTITIES
from .validate import SOURCES, run_measures


def module_counts(module: Any, convention: str, resolution: Optional[int], inputs: Any,
                   in_channels: int) -> Tuple[str, Dict[str, int]]:
    """(a description for messages, the counts) of a module traced in ``convention``, on
    ``inputs`` or a zero batch of 1 x ``in_channels`` x ``resolution``^2 (default 224)."""
    from ..arguments import checked_int
    from ..errors import ArgumentError
    from ..limits import MAX_CHANNELS, MAX_RESOLUTION

    if convention not in TRACED_CONVENTIONS:
        raise ArgumentError("", "convention", f"a module is measured by tracing, in the "
                                              f"{' or '.join(SOURCES)} convention; "
                                              f"{convention!r} is for specs")
    if inputs is None:
        side = 224 if resolution is None else checked_int(resolution, "resolution", 1,
                                                          MAX_RESOLUTION)
        in_channels = checked_int(in_channels, "in_channels", 1, MAX_CHANNELS)
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        inputs = torch.zeros(1, in_channels, side, side, device=device)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    sources = SOURCES[convention]
    measured = run_measures(module, inputs, [sources[q] for q in QUANTITIES])
    shape = "x".join(str(s) for s in inputs[0].shape)
    return (f"{type(module).__name__} ({convention} convention, input {shape})",
            {q: measured[sources[q]].total for q in QUANTITIES})
