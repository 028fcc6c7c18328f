"""AnyNet: stem, stages of identical blocks, head (pycls's anynet.py, as a layer graph).

ResNet and ResNeXt are AnyNet configs; RegNet generates one (see regnet.py). Stems, blocks and
heads are small functions in registries, so a new block type is one function and one entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from ..fields import Fields
from ..graph import GraphBuilder
from ..limits import MAX_CHANNELS, MAX_STAGE_DEPTH, MAX_TOTAL_DEPTH
from . import Family, register



@dataclass(frozen=True)
class StageConfig:
    depth: int
    width: int
    stride: int = 2
    bot_mul: float = 1.0
    group_w: int = 1


@dataclass(frozen=True)
class AnyNetConfig:
    stem_type: str
    stem_w: int
    block_type: str
    stages: Tuple[StageConfig, ...]
    se_r: float = 0.0
    head_w: int = 0


# -- stems ----------------------------------------------------------------------------------------
def simple_stem(b: GraphBuilder, width: int) -> None:
    """3x3 conv, stride 2 + BN + ReLU (RegNet)."""
    b.conv(width, 3, 2)
    b.bn()
    b.act("relu")


def res_stem(b: GraphBuilder, width: int) -> None:
    """7x7 conv, stride 2 + BN + ReLU + 3x3 max-pool, stride 2 (ResNet/ResNeXt)."""
    b.conv(width, 7, 2)
    b.bn()
    b.act("relu")
    b.pool("maxpool", 3, 2)


def res_cifar_stem(b: GraphBuilder, width: int) -> None:
    """3x3 conv, stride 1 + BN + ReLU (CIFAR ResNets)."""
    b.conv(width, 3, 1)
    b.bn()
    b.act("relu")


STEMS: Dict[str, Callable[[GraphBuilder, int], None]] = {
    "simple": simple_stem, "res": res_stem, "res_cifar": res_cifar_stem,
}
STEM_ALIASES = {"simple_stem_in": "simple", "res_stem_in": "res", "res_stem_cifar": "res_cifar"}


# -- blocks -----------------------------------------------------------------------------------
def bottleneck_width(width: int, bot_mul: float) -> int:
    return int(round(width * bot_mul))


def conv_bn(b: GraphBuilder, width: int, kernel: int, stride: int = 1, groups: int = 1, *,
            name: str, act: str = "") -> int:
    b.conv(width, kernel, stride, groups=groups, name=name)
    index = b.bn(name=f"{name}_bn")
    return b.act(act, name=f"{name}_{act}") if act else index


def squeeze_excite(b: GraphBuilder, w_se: int, act: str = "relu", bn: bool = False) -> int:
    """Global avg pool -> 1x1 conv (bias) -> [BN] -> act -> 1x1 conv (bias) -> sigmoid -> multiply.

    ``bn``: ReXNet normalises the reduced features before the activation.
    """
    x = b.current
    b.gap(name="se.pool")
    b.conv(w_se, 1, bias=True, name="se.reduce")
    if bn:
        b.bn(name="se.bn")
    b.act(act, name=f"se.{act}")
    b.conv(b.channels_of(x), 1, bias=True, name="se.expand")
    gate = b.act("sigmoid", name="se.sigmoid")
    return b.mul(gate, name="se.mul", src=x)


def residual(b: GraphBuilder, x: int, w_out: int, stride: int) -> int:
    """Add the block input, through a 1x1 projection + BN when the shape changes."""
    branch = b.current
    if b.channels_of(x) != w_out or stride != 1:
        b.conv(w_out, 1, stride, name="proj", src=x)
        x = b.bn(name="proj_bn")
    b.add(x, src=branch)
    return b.act("relu")


def vanilla_block(b: GraphBuilder, w_out: int, stride: int, stage: StageConfig,
                  cfg: AnyNetConfig) -> None:
    conv_bn(b, w_out, 3, stride, name="a", act="relu")
    conv_bn(b, w_out, 3, name="b", act="relu")


def res_basic_block(b: GraphBuilder, w_out: int, stride: int, stage: StageConfig,
                    cfg: AnyNetConfig) -> None:
    x = b.current
    conv_bn(b, w_out, 3, stride, name="a", act="relu")
    conv_bn(b, w_out, 3, name="b")
    residual(b, x, w_out, stride)


def res_bottleneck_block(b: GraphBuilder, w_out: int, stride: int, stage: StageConfig,
                         cfg: AnyNetConfig) -> None:
    """X block (Y with se_r > 0): 1x1, 3x3 grouped (stride), [SE], 1x1, residual."""
    x = b.current
    w_in = b.channels_of(x)
    w_b = bottleneck_width(w_out, stage.bot_mul)
    conv_bn(b, w_b, 1, name="a", act="relu")
    conv_bn(b, w_b, 3, stride, w_b // stage.group_w, name="b", act="relu")
    if cfg.se_r > 0:
        squeeze_excite(b, rounded_se_width(w_in, cfg.se_r))
    conv_bn(b, w_out, 1, name="c")
    residual(b, x, w_out, stride)


def rounded_se_width(w_in: int, se_r: float) -> int:
    """Reduced SE width of a Y block: round(se_r * w_in) from the block's INPUT width."""
    return int(round(se_r * w_in))


BLOCKS = {"vanilla": vanilla_block, "res_basic": res_basic_block,
          "res_bottleneck": res_bottleneck_block}
BLOCK_ALIASES = {f"{name}_block": name for name in BLOCKS}


# -- head ---------------------------------------------------------------------------------------
def classifier_head(b: GraphBuilder, head_w: int, num_classes: int) -> None:
    """[1x1 conv + BN + ReLU when head_w > 0] -> global avg pool -> flatten -> FC with bias."""
    if head_w > 0:
        conv_bn(b, head_w, 1, name="conv", act="relu")
    b.gap()
    b.flatten()
    b.linear(num_classes)


def expand_anynet(cfg: AnyNetConfig, num_classes: int, b: GraphBuilder) -> None:
    with b.scope(stage="stem"):
        STEMS[cfg.stem_type](b, cfg.stem_w)
    block = BLOCKS[cfg.block_type]
    for i, stage in enumerate(cfg.stages, start=1):
        with b.scope(stage=f"s{i}"):
            for j in range(stage.depth):
                stride = stage.stride if j == 0 else 1
                # everything a block function reads: its width and stride, the stage's
                # bottleneck and group widths, the network's SE ratio
                key = (block, stage.width, stride, stage.bot_mul, stage.group_w, cfg.se_r)
                b.cached_block(key, lambda: block(b, stage.width, stride, stage, cfg),
                               block=f"s{i}.b{j + 1}")
    with b.scope(stage="head"):
        classifier_head(b, cfg.head_w, num_classes)


# -- parsing ------------------------------------------------------------------------------------
def parse_common(fields: Fields, stem_default: str, stem_w_default: int) -> dict:
    """Fields AnyNet shares with the families that generate AnyNets (RegNet)."""
    stem = fields.str("stem", stem_default, choices=list(STEMS) + list(STEM_ALIASES))
    block = fields.str("block", "res_bottleneck", choices=list(BLOCKS) + list(BLOCK_ALIASES))
    return dict(
        stem_type=STEM_ALIASES.get(stem, stem),
        stem_w=fields.int("stem_w", stem_w_default, lo=1, hi=MAX_CHANNELS),
        block_type=BLOCK_ALIASES.get(block, block),
        se_r=fields.float("se_r", 0.0, lo=0.0, hi=4.0),
        head_w=fields.int("head_w", 0, lo=0, hi=MAX_CHANNELS),
    )


def check_group_width(fields: Fields, width: int, bot_mul: float, group_w: int,
                      key: str = "group_w") -> None:
    w_b = bottleneck_width(width, bot_mul)
    if w_b < 1:
        raise fields.error("bot_mul", f"{bot_mul} leaves no bottleneck channels at width {width}")
    if w_b % group_w:
        raise fields.error(key, f"{group_w} does not divide bottleneck width {w_b}")


def parse_stage(fields: Fields, block_type: str) -> StageConfig:
    stage = StageConfig(
        depth=fields.int("depth", lo=1, hi=MAX_STAGE_DEPTH),
        width=fields.int("width", lo=1, hi=MAX_CHANNELS),
        stride=fields.int("stride", 2, lo=1, hi=64),
        bot_mul=fields.float("bot_mul", 1.0, lo=1 / 64, hi=64.0),
        group_w=fields.int("group_w", 1, lo=1, hi=MAX_CHANNELS),
    )
    fields.finish()
    if block_type == "res_bottleneck":
        check_group_width(fields, stage.width, stage.bot_mul, stage.group_w)
    return stage


def check_se_widths(fields: Fields, cfg: AnyNetConfig) -> None:
    """A squeeze-excite must keep at least one channel at every block input width."""
    if cfg.se_r <= 0 or cfg.block_type != "res_bottleneck":
        return
    narrowest = min([cfg.stem_w] + [stage.width for stage in cfg.stages])
    if rounded_se_width(narrowest, cfg.se_r) < 1:
        raise fields.error("se_r", f"{cfg.se_r} leaves the squeeze-excite of a block with "
                                   f"{narrowest} input channels without channels")


def parse(fields: Fields) -> AnyNetConfig:
    common = parse_common(fields, "simple", 32)
    stages = tuple(parse_stage(f, common["block_type"])
                   for f in fields.items("stages", min_len=1, max_len=64))
    total = sum(stage.depth for stage in stages)
    if total > MAX_TOTAL_DEPTH:
        raise fields.error("stages", f"{total} blocks in all; the limit is {MAX_TOTAL_DEPTH}")
    cfg = AnyNetConfig(stages=stages, **common)
    check_se_widths(fields, cfg)
    return cfg


register(Family("anynet", parse, lambda spec, b: expand_anynet(spec.config, spec.num_classes, b)))
