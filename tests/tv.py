"""Test-side access to torchvision's models beside the CPU torch of the test environment.

The torchvision wheels are CUDA builds whose compiled ops do not load next to CPU torch: importing
torchvision then fails with "operator torchvision::nms does not exist". Its classification models
are pure Python, so defining the two operator schemas it registers fake kernels for is enough to
import it. This stays in tests/: the package never imports torchvision.
"""
from __future__ import annotations

from typing import Any, Optional

import pytest

_SCHEMAS = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARIES: list = []      # torch.library.Library objects must stay alive for their definitions


def import_torchvision() -> Optional[Any]:
    """torchvision, or None when it is not installed."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:
        return None
    import torch

    for qualified, schema in _SCHEMAS.items():
        try:
            torch.library.define(qualified, schema)
        except RuntimeError as exc:     # defined already (by an earlier call or a working wheel)
            if "already" not in str(exc) and "multiple times" not in str(exc):
                raise
    import torchvision

    return torchvision


def torchvision_models() -> Any:
    """``torchvision.models``, or skip the calling test when torchvision is absent."""
    torchvision = import_torchvision()
    if torchvision is None:
        pytest.skip("torchvision is not installed")
    return torchvision.models
