"""RegNet: an AnyNet whose per-block widths follow a quantized linear rule.

The generation follows pycls's ``generate_regnet`` exactly: continuous widths
``u_j = w0 + wa*j``, exponents rounded half to even, widths quantized to multiples of ``q`` (half
to even), equal widths merged into stages, then the (w, b, g) compatibility adjustment.
Pure Python floats give the same values as pycls's numpy here (IEEE log/pow, banker's rounding).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

from ..caches import memoised
from ..fields import Fields
from ..limits import MAX_CHANNELS, MAX_REGNET_DEPTH
from . import Family, register
from .anynet import AnyNetConfig, StageConfig, check_se_widths, expand_anynet, parse_common



@dataclass(frozen=True)
class RegNetConfig:
    depth: int
    w0: int
    wa: float
    wm: float
    group_w: int
    bot_mul: float = 1.0
    q: int = 8
    stride: int = 2
    stem_type: str = "simple"
    stem_w: int = 32
    block_type: str = "res_bottleneck"
    se_r: float = 0.0
    head_w: int = 0


def block_exponents(w0: int, wa: float, wm: float, depth: int) -> List[int]:
    """Per-block exponents s_j of the quantized linear rule (steps 2-3 of the generation).

    ``max + 1`` is the number of stages the rule aims at; design-space samplers (pycls's sweep)
    reject draws where fewer distinct widths come out (a skipped exponent).
    """
    log_wm = math.log(wm)
    return [round(math.log((j * wa + w0) / w0) / log_wm) for j in range(depth)]


def block_widths(w0: int, wa: float, wm: float, depth: int, q: int = 8) -> List[int]:
    """Per-block widths of the quantized linear rule (steps 2-4 of the generation)."""
    return [int(round(w0 * math.pow(wm, s) / q)) * q for s in block_exponents(w0, wa, wm, depth)]


def stages_from_widths(widths: List[int]) -> Tuple[List[int], List[int]]:
    """Distinct widths in increasing order and how many blocks have each."""
    distinct = sorted(set(widths))
    return distinct, [widths.count(w) for w in distinct]


def adjust_compatibility(widths: List[int], bot_muls: List[float],
                         group_ws: List[int]) -> Tuple[List[int], List[int]]:
    """pycls's adjust_block_compatibility: make w*b divisible by g (step 6)."""
    out_w, out_g = [], []
    for w, b, g in zip(widths, bot_muls, group_ws):
        v = int(max(1, w * b))
        g = int(min(g, v))
        m = math.lcm(g, int(b)) if b > 1 else g
        v = max(m, int(round(v / m) * m))
        out_w.append(int(v / b))
        out_g.append(g)
    return out_w, out_g


def stages(cfg: RegNetConfig) -> List[StageConfig]:
    """The generated stages: depth, width, group width per stage, after compatibility."""
    widths, depths = stages_from_widths(block_widths(cfg.w0, cfg.wa, cfg.wm, cfg.depth, cfg.q))
    n = len(widths)
    widths, group_ws = adjust_compatibility(widths, [cfg.bot_mul] * n, [cfg.group_w] * n)
    return [StageConfig(d, w, cfg.stride, cfg.bot_mul, g)
            for d, w, g in zip(depths, widths, group_ws)]


@memoised(maxsize=256)
def to_anynet(cfg: RegNetConfig) -> AnyNetConfig:
    """The AnyNet a RegNet config generates (memoised: parse and every expansion ask for it)."""
    return AnyNetConfig(cfg.stem_type, cfg.stem_w, cfg.block_type, tuple(stages(cfg)),
                        cfg.se_r, cfg.head_w)


def parse(fields: Fields) -> RegNetConfig:
    common = parse_common(fields, "simple", 32)
    q = fields.int("q", 8, lo=1, hi=1024)
    w0 = fields.int("w0", lo=1, hi=MAX_CHANNELS)
    if w0 % q:
        raise fields.error("w0", f"{w0} is not a multiple of q = {q}")
    cfg = RegNetConfig(
        depth=fields.int("depth", lo=1, hi=MAX_REGNET_DEPTH),
        w0=w0,
        wa=fields.float("wa", lo=0.0, hi=float(MAX_CHANNELS)),
        wm=fields.float("wm", lo=1.0 + 1e-9, hi=64.0),
        group_w=fields.int("group_w", lo=1, hi=MAX_CHANNELS),
        bot_mul=fields.float("bot_mul", 1.0, lo=1 / 64, hi=64.0),
        q=q,
        stride=fields.int("stride", 2, lo=1, hi=64),
        **common,
    )
    generated = to_anynet(cfg)
    widest = max(stage.width for stage in generated.stages)
    if widest > MAX_CHANNELS:
        raise fields.error("wa", f"generates a stage of width {widest} (limit {MAX_CHANNELS})")
    check_se_widths(fields, generated)
    return cfg


def expand(spec, b) -> None:  # type: ignore[no-untyped-def]
    expand_anynet(to_anynet(spec.config), spec.num_classes, b)


register(Family("regnet", parse, expand))
