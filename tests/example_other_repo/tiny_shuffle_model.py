"""A second model of this example repository, defined only in Python: its spec is imported.

specs/tiny_shuffle.yaml was written by
    netcalc import tiny_shuffle_model.py:tiny_shuffle --resolution 96 --out specs/tiny_shuffle.yaml
and is committed and locked beside the hand-written EdgeNet. Changing a layer here makes
test_tiny_shuffle_imports_as_its_spec fail with a per-layer diff until the spec is re-imported.
"""
import torch
from torch import nn


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnit(nn.Module):
    """Split the channels, transform one half (1x1, 3x3 depthwise, 1x1), concat, shuffle."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.Hardswish(),
            nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.Hardswish())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep, change = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((keep, self.branch(change)), dim=1), 2)


class TinyShuffle(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(24), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        self.units = nn.Sequential(ShuffleUnit(24), ShuffleUnit(24))
        self.head = nn.Linear(24, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.units(self.stem(x)).mean((2, 3)))


def tiny_shuffle() -> nn.Module:
    return TinyShuffle()
