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
# every classification model of torchvision 0.28 except the transformers (issue 11's list)
CLASSIFIERS = tuple(
    ["alexnet"] + [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    + [f"resnet{d}" for d in (18, 34, 50, 101, 152)]
    + ["wide_resnet50_2", "wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d",
       "resnext101_64x4d"]
    + [f"regnet_{k}_{s}" for k in "xy" for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf",
                                                 "16gf", "32gf")] + ["regnet_y_128gf"]
    + [f"efficientnet_b{i}" for i in range(8)] + [f"efficientnet_v2_{s}" for s in "sml"]
    + ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]
    + [f"mnasnet{s}" for s in ("0_5", "0_75", "1_0", "1_3")]
    + [f"shufflenet_v2_x{s}" for s in ("0_5", "1_0", "1_5", "2_0")]
    + ["squeezenet1_0", "squeezenet1_1"] + [f"densenet{d}" for d in (121, 161, 169, 201)]
    + ["googlenet", "inception_v3"] + [f"convnext_{s}" for s in ("tiny", "small", "base", "large")])
DEFAULT_RESOLUTION = {"inception_v3": 299}      # the others: 224
TRANSFORMERS = ("vit_b_16", "swin_t", "maxvit_t")


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


def import_timm() -> Optional[Any]:
    """timm (it imports torchvision, so the schemas come first), or None when not installed."""
    import importlib.util

    if importlib.util.find_spec("timm") is None:
        return None
    import_torchvision()
    import timm

    return timm


def torchvision_models() -> Any:
    """``torchvision.models``, or skip the calling test when torchvision is absent."""
    torchvision = import_torchvision()
    if torchvision is None:
        pytest.skip("torchvision is not installed")
    return torchvision.models
