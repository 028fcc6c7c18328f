"""The fixed parts every member of a design space shares (stem, block type, head, resolution)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from ..families import anynet
from ..fields import Fields
from ..limits import MAX_CHANNELS, MAX_RESOLUTION


@dataclass(frozen=True)
class Network:
    """The parts every member shares: stem, block type, head, resolution (spec fields)."""

    stem_type: str = "simple"
    stem_w: int = 32
    block_type: str = "res_bottleneck"
    se_r: float = 0.0
    head_w: int = 0
    resolution: int = 224
    num_classes: int = 1000
    in_channels: int = 3
    q: int = 8

    def spec_fields(self, family: str) -> Dict[str, Any]:
        """The fields of a spec of ``family`` that carry these parts (what `netcalc count` reads)."""
        out: Dict[str, Any] = {
            "family": family, "resolution": self.resolution, "in_channels": self.in_channels,
            "num_classes": self.num_classes, "stem": self.stem_type, "stem_w": self.stem_w,
            "block": self.block_type}
        if self.se_r:
            out["se_r"] = self.se_r
        if self.head_w:
            out["head_w"] = self.head_w
        if family == "regnet":
            out["q"] = self.q
        return out


def parse_network(fields: Fields, kind: str) -> Network:
    common = anynet.parse_common(fields, "simple", 32)
    network = Network(
        resolution=fields.int("resolution", 224, lo=1, hi=MAX_RESOLUTION),
        num_classes=fields.int("num_classes", 1000, lo=1, hi=1_000_000),
        in_channels=fields.int("in_channels", 3, lo=1, hi=MAX_CHANNELS),
        q=fields.int("q", 8, lo=1, hi=1024) if kind == "regnet" else 8,
        **common)
    fields.finish()
    return network
