"""ReXNet (Han et al., CVPR 2021): inverted bottlenecks whose widths grow linearly with the index.

Follows the official ``rexnetv1.py`` (clovaai/rexnet):

- 16 blocks in 6 stages of [1, 2, 2, 3, 3, 5] (each times ``depth_mult``, rounded up), strides
  [1, 2, 2, 2, 1, 2]; expansion 1 in the first stage, 6 elsewhere; SE in every stage but the
  first two (so not in the first three blocks at depth_mult 1).
- Block widths: the running width starts at 16 (16 / wm when wm < 1) and grows by 180 / n_blocks
  per block; block i outputs round(running_i * wm), Python's round (half to even). The running
  width is accumulated by repeated addition, as the official code does, so that float ties
  (x.5) fall exactly as there: at 1.0x, 38.5 -> 38 and 83.5 -> 84.
- Stem: 3x3 stride-2 conv to round(32 * wm) (32 when wm < 1) + BN + SiLU; head: 1x1 conv to
  int(1280 * wm) + BN + SiLU, global pool, dropout, 1x1 conv classifier with bias.
- Block (see mobile.py): expand + BN + SiLU, 3x3 depthwise + BN (no activation), SE with
  reduced width dw // 12 and a BN inside, ReLU6, 1x1 projection + BN, and the partial residual
  (stride 1, w_in <= w_out: the input is added to the first w_in output channels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, NamedTuple

from ..fields import Fields
from ..graph import GraphBuilder
from ..limits import MAX_CHANNELS
from . import Family, register
from .anynet import conv_bn
from .mobile import MobileStyle, inverted_bottleneck

STAGE_DEPTHS = (1, 2, 2, 3, 3, 5)
STAGE_STRIDES = (1, 2, 2, 2, 1, 2)
STAGE_HAS_SE = (False, False, True, True, True, True)
FIRST_STAGE_EXP, EXP = 1, 6
INPUT_CH, FINAL_CH = 16, 180     # the official defaults: start width and total linear increase
STEM_CH, HEAD_CH = 32, 1280


@dataclass(frozen=True)
class ReXNetConfig:
    width_mult: float = 1.0
    depth_mult: float = 1.0
    se_ratio: int = 12           # SE reduced width = expanded width // se_ratio
    use_se: bool = True
    dropout: float = 0.2


class BlockPlan(NamedTuple):
    stage: int                   # 1-based
    w_in: int
    w_out: int
    exp: int
    stride: int
    se: bool


def stage_depths(cfg: ReXNetConfig) -> List[int]:
    return [int(math.ceil(d * cfg.depth_mult)) for d in STAGE_DEPTHS]


def block_widths(cfg: ReXNetConfig, n_blocks: int) -> List[int]:
    """Output width of every block: round(running * wm), running += 180 / n per block."""
    wm = cfg.width_mult
    running = INPUT_CH / wm if wm < 1.0 else INPUT_CH
    step = FINAL_CH / (n_blocks * 1.0)
    widths = [int(round(running * wm))]
    for _ in range(1, n_blocks):
        running += step
        widths.append(int(round(running * wm)))
    return widths


def stem_width(cfg: ReXNetConfig) -> int:
    wm = cfg.width_mult
    return int(round((STEM_CH / wm if wm < 1.0 else STEM_CH) * wm))


def head_width(cfg: ReXNetConfig) -> int:
    return int(HEAD_CH * cfg.width_mult)


def blocks(cfg: ReXNetConfig) -> List[BlockPlan]:
    """Every block's stage, widths, expansion, stride and SE flag, in order."""
    plan = []
    for s, (depth, stride, se) in enumerate(zip(stage_depths(cfg), STAGE_STRIDES, STAGE_HAS_SE)):
        for j in range(depth):
            plan.append((s + 1, FIRST_STAGE_EXP if s == 0 else EXP, stride if j == 0 else 1,
                         se and cfg.use_se))
    widths = block_widths(cfg, len(plan))
    w_ins = [stem_width(cfg)] + widths[:-1]
    return [BlockPlan(st, w_in, w_out, exp, stride, se)
            for (st, exp, stride, se), w_in, w_out in zip(plan, w_ins, widths)]


# -- the graph ----------------------------------------------------------------------------------
STYLE = MobileStyle(expand_act="silu", dw_act="", se_act="relu", se_bn=True,
                    post_se_act="relu6", partial_skip=True)


def expand(spec, b: GraphBuilder) -> None:  # type: ignore[no-untyped-def]
    cfg: ReXNetConfig = spec.config
    with b.scope(stage="stem"):
        conv_bn(b, stem_width(cfg), 3, 2, name="conv", act="silu")
    index_in_stage = {}
    for block in blocks(cfg):
        j = index_in_stage[block.stage] = index_in_stage.get(block.stage, 0) + 1
        with b.scope(stage=f"s{block.stage}"), b.scope(block=f"s{block.stage}.b{j}"):
            w_dw = block.w_in * block.exp
            w_se = w_dw // cfg.se_ratio if block.se else 0
            inverted_bottleneck(b, block.w_out, w_dw, 3, block.stride, w_se, STYLE)
    with b.scope(stage="head"):
        conv_bn(b, head_width(cfg), 1, name="conv", act="silu")
        b.gap()
        b.dropout(cfg.dropout)
        # The official classifier is a 1x1 conv with bias on the pooled 1x1 map (not a Linear).
        b.conv(spec.num_classes, 1, bias=True, name="fc")


# -- parsing ------------------------------------------------------------------------------------
def parse(fields: Fields) -> ReXNetConfig:
    cfg = ReXNetConfig(
        width_mult=fields.float("width_mult", 1.0, lo=1 / 16, hi=64.0),
        depth_mult=fields.float("depth_mult", 1.0, lo=1 / 16, hi=64.0),
        se_ratio=fields.int("se_ratio", 12, lo=1, hi=MAX_CHANNELS),
        use_se=fields.bool("use_se", True),
        dropout=fields.float("dropout", 0.2, lo=0.0, hi=1.0),
    )
    plan = blocks(cfg)
    widest = max([head_width(cfg)] + [p.w_in * p.exp for p in plan])
    if widest > MAX_CHANNELS:
        raise fields.error("width_mult", f"makes a layer {widest} channels wide "
                                         f"(limit {MAX_CHANNELS})")
    narrow = next((p for p in plan if p.se and p.w_in * p.exp // cfg.se_ratio < 1), None)
    if narrow is not None:
        raise fields.error("se_ratio", f"{cfg.se_ratio} leaves an SE without channels "
                                       f"(expanded width {narrow.w_in * narrow.exp})")
    return cfg


register(Family("rexnet", parse, expand))
