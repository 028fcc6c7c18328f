"""EfficientNet (Tan & Le 2019): the B0 base scaled in width, depth and resolution.

A spec names its scaling in one of three ways (exactly one):

- ``variant: b3``: the official coefficient table (B0-B7, B8, L2) of the reference TF code,
  resolution and dropout included;
- ``phi: 3``: the paper's compound scaling, depth ``alpha**phi``, width ``beta**phi``, resolution
  ``224 * gamma**phi`` rounded to the nearest integer (half to even), with alpha, beta, gamma
  defaulting to the paper's 1.2, 1.1, 1.15. The official B1-B7 do NOT follow this rule (their
  coefficients were hand-picked: B3 is w 1.2, d 1.4, 300 px where phi = 3 gives w 1.331, d 1.728,
  341 px), so ``phi: 3`` is a different network from B3;
- ``width_mult`` / ``depth_mult``: any coefficients (resolution from the spec, default 224).

Widths go through ``round_filters`` and depths through ``round_repeats`` exactly as the reference
code does; see ``docs/efficientnet_rexnet.md``. The blocks are pycls's / TF's MBConv with SE.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Tuple

from ..fields import Fields
from ..graph import GraphBuilder
from ..limits import MAX_CHANNELS, MAX_RESOLUTION, MAX_STAGE_DEPTH
from . import Family, register
from .anynet import conv_bn
from .mobile import MobileStyle, inverted_bottleneck

BASE_RESOLUTION = 224
DIVISOR = 8          # round_filters' channel quantum (TF depth_divisor)


class Stage(NamedTuple):
    """One stage: repeats, output width, kernel, stride, expansion (B0's are paper Table 1)."""
    depth: int
    width: int
    kernel: int
    stride: int
    exp_r: int


B0_STAGES = (
    Stage(1, 16, 3, 1, 1), Stage(2, 24, 3, 2, 6), Stage(2, 40, 5, 2, 6), Stage(3, 80, 3, 2, 6),
    Stage(3, 112, 5, 1, 6), Stage(4, 192, 5, 2, 6), Stage(1, 320, 3, 1, 6),
)
B0_STEM_W = 32
B0_HEAD_W = 1280


class Coefficients(NamedTuple):
    width: float
    depth: float
    resolution: int
    dropout: float


# The reference code's table (efficientnet_builder.efficientnet_params); not alpha**phi etc.
VARIANTS: Dict[str, Coefficients] = {
    "b0": Coefficients(1.0, 1.0, 224, 0.2), "b1": Coefficients(1.0, 1.1, 240, 0.2),
    "b2": Coefficients(1.1, 1.2, 260, 0.3), "b3": Coefficients(1.2, 1.4, 300, 0.3),
    "b4": Coefficients(1.4, 1.8, 380, 0.4), "b5": Coefficients(1.6, 2.2, 456, 0.4),
    "b6": Coefficients(1.8, 2.6, 528, 0.5), "b7": Coefficients(2.0, 3.1, 600, 0.5),
    "b8": Coefficients(2.2, 3.6, 672, 0.5), "l2": Coefficients(4.3, 5.3, 800, 0.5),
}
PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA = 1.2, 1.1, 1.15


@dataclass(frozen=True)
class EfficientNetConfig:
    width_mult: float
    depth_mult: float
    resolution: int              # the scaled input size (the spec's `resolution` overrides it)
    dropout: float
    se_r: float = 0.25
    scaling: str = ""            # how the spec named its scaling: "variant b3", "phi 3", ""


# -- the reference code's rounding rules ------------------------------------------------------
def round_filters(filters: int, width_mult: float) -> int:
    """Scale a width to the nearest multiple of 8 (at least 8), never dropping more than 10%."""
    scaled = filters * width_mult
    rounded = max(DIVISOR, int(scaled + DIVISOR / 2) // DIVISOR * DIVISOR)
    if rounded < 0.9 * scaled:
        rounded += DIVISOR
    return int(rounded)


def round_repeats(repeats: int, depth_mult: float) -> int:
    return int(math.ceil(depth_mult * repeats))


def compound(phi: float, alpha: float = PAPER_ALPHA, beta: float = PAPER_BETA,
             gamma: float = PAPER_GAMMA) -> Tuple[float, float, int]:
    """(width, depth, resolution) of compound scaling; resolution = round(224 * gamma**phi)."""
    return beta ** phi, alpha ** phi, int(round(BASE_RESOLUTION * gamma ** phi))


def stages(cfg: EfficientNetConfig) -> List[Stage]:
    """B0's stages with depths and widths scaled by the reference code's rounding rules."""
    return [s._replace(depth=round_repeats(s.depth, cfg.depth_mult),
                       width=round_filters(s.width, cfg.width_mult)) for s in B0_STAGES]


def stem_width(cfg: EfficientNetConfig) -> int:
    return round_filters(B0_STEM_W, cfg.width_mult)


def head_width(cfg: EfficientNetConfig) -> int:
    return round_filters(B0_HEAD_W, cfg.width_mult)


# -- the graph ----------------------------------------------------------------------------------
STYLE = MobileStyle(expand_act="silu", dw_act="silu", se_act="silu")


def truncated_se_width(w_in: int, se_r: float) -> int:
    """Reduced SE width from the block INPUT width, truncated (TF: max(1, int(w_in * se_r)));
    0 (no SE) when se_r is 0, as in AnyNet specs."""
    return max(1, int(w_in * se_r)) if se_r > 0 else 0


def expand(spec, b: GraphBuilder) -> None:  # type: ignore[no-untyped-def]
    cfg: EfficientNetConfig = spec.config
    with b.scope(stage="stem"):
        conv_bn(b, stem_width(cfg), 3, 2, name="conv", act="silu")
    for i, stage in enumerate(stages(cfg), start=1):
        with b.scope(stage=f"s{i}"):
            for j in range(stage.depth):
                with b.scope(block=f"s{i}.b{j + 1}"):
                    w_in = b.channels
                    inverted_bottleneck(b, stage.width, int(w_in * stage.exp_r), stage.kernel,
                                        stage.stride if j == 0 else 1,
                                        truncated_se_width(w_in, cfg.se_r), STYLE)
    with b.scope(stage="head"):
        conv_bn(b, head_width(cfg), 1, name="conv", act="silu")
        b.gap()
        b.flatten()
        b.dropout(cfg.dropout)
        b.linear(spec.num_classes)


# -- parsing ------------------------------------------------------------------------------------
SCALING_KEYS = ("variant", "phi", "width_mult")


def _parse_scaling(fields: Fields) -> Tuple[float, float, int, float, str]:
    """(width, depth, resolution, dropout, scaling) from whichever scaling the spec names."""
    given = [k for k in SCALING_KEYS if fields.has(k)]
    if len(given) > 1:
        raise fields.error(given[1], f"give only one of {', '.join(SCALING_KEYS)} "
                                     f"(found {' and '.join(given)})")
    if fields.has("variant"):
        name = fields.str("variant", choices=[*VARIANTS, *(v.upper() for v in VARIANTS)]).lower()
        c = VARIANTS[name]
        return c.width, c.depth, c.resolution, c.dropout, f"variant {name}"
    if fields.has("phi"):
        phi = fields.float("phi", lo=-8.0, hi=16.0)
        alpha = fields.float("alpha", PAPER_ALPHA, lo=1.0, hi=4.0)
        beta = fields.float("beta", PAPER_BETA, lo=1.0, hi=4.0)
        gamma = fields.float("gamma", PAPER_GAMMA, lo=1.0, hi=4.0)
        width, depth, resolution = compound(phi, alpha, beta, gamma)
        return width, depth, resolution, VARIANTS["b0"].dropout, f"phi {phi:g}"
    width = fields.float("width_mult", 1.0, lo=1 / 16, hi=64.0)
    depth = fields.float("depth_mult", 1.0, lo=1 / 16, hi=64.0)
    return width, depth, BASE_RESOLUTION, VARIANTS["b0"].dropout, ""


def notes(cfg: EfficientNetConfig) -> Tuple[str, ...]:
    """Say, in every report, that the official B1-B7 are not compound scaling of B0."""
    kind, _, value = cfg.scaling.partition(" ")
    if kind == "phi":
        not_variant = f", so this is not B{value}" if value in tuple("1234567") else ""
        return (f"compound scaling phi = {value}: width {cfg.width_mult:.4g}, depth "
                f"{cfg.depth_mult:.4g}, {cfg.resolution} px; the official B1-B7 coefficients do "
                f"not follow alpha^phi, beta^phi, gamma^phi{not_variant}",)
    if kind == "variant" and value not in ("b0",):
        return (f"official {value.upper()} coefficients (width {cfg.width_mult}, depth "
                f"{cfg.depth_mult}, {cfg.resolution} px) were chosen by hand: they do not follow "
                "alpha^phi, beta^phi, gamma^phi of compound scaling",)
    return ()


def parse(fields: Fields) -> EfficientNetConfig:
    width, depth, resolution, dropout, scaling = _parse_scaling(fields)
    cfg = EfficientNetConfig(
        width_mult=width, depth_mult=depth, resolution=resolution, scaling=scaling,
        dropout=fields.float("dropout", dropout, lo=0.0, hi=1.0),
        se_r=fields.float("se_r", 0.25, lo=0.0, hi=4.0))
    key = next((k for k in SCALING_KEYS if fields.has(k)), "width_mult")
    if not 1 <= resolution <= MAX_RESOLUTION:
        raise fields.error(key, f"scales the resolution to {resolution} (limit {MAX_RESOLUTION})")
    if max(s.depth for s in stages(cfg)) > MAX_STAGE_DEPTH:
        raise fields.error(key, f"scales a stage beyond {MAX_STAGE_DEPTH} blocks")
    widest = max([head_width(cfg)] + [s.width * s.exp_r for s in stages(cfg)])
    if widest > MAX_CHANNELS:
        raise fields.error(key, f"scales the widths beyond the {MAX_CHANNELS}-channel limit")
    return cfg


register(Family("efficientnet", parse, expand, resolution_of=lambda cfg: cfg.resolution,
                notes=notes))
