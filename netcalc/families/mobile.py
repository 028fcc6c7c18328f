"""Mobile inverted bottlenecks (MBConv), shared by EfficientNet and ReXNet.

Both families build the same block: [1x1 expand + BN + act] -> kxk depthwise (stride) + BN ->
squeeze-excite -> 1x1 projection + BN, with a skip when shapes allow. They differ only in
details that change counts or the built module, which :class:`MobileStyle` names:

=====================  ===============================  ==========================================
detail                 EfficientNet (TF / pycls)        ReXNet (official rexnetv1.py)
=====================  ===============================  ==========================================
after depthwise BN     SiLU                             nothing (linear)
SE reduced width       int(0.25 * block input width)    expanded width // 12
inside the SE          conv, SiLU, conv                 conv, BN, ReLU, conv
after the SE           nothing                          ReLU6
skip                   stride 1 and w_in == w_out       stride 1 and w_in <= w_out, added to the
                                                        first w_in output channels
=====================  ===============================  ==========================================

The SE width is computed by the family and passed in (0 = no SE): the rules differ in base width
and rounding, and only the family knows which one its reference code uses.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..graph import GraphBuilder
from .anynet import conv_bn, squeeze_excite


@dataclass(frozen=True)
class MobileStyle:
    expand_act: str = "silu"      # after the 1x1 expansion's BN
    dw_act: str = "silu"          # after the depthwise BN; "" for a linear depthwise (ReXNet)
    se_act: str = "silu"          # between the SE's two 1x1 convs
    se_bn: bool = False           # BN after the SE's reducing conv (ReXNet)
    post_se_act: str = ""         # after the SE, before the projection (ReXNet: relu6)
    partial_skip: bool = False    # ReXNet: add the input into the first w_in of w_out >= w_in


def has_skip(w_in: int, w_out: int, stride: int, partial: bool) -> bool:
    """Whether the block input is added to its output (shape permitting)."""
    return stride == 1 and (w_in <= w_out if partial else w_in == w_out)


def inverted_bottleneck(b: GraphBuilder, w_out: int, w_exp: int, kernel: int, stride: int,
                        w_se: int, style: MobileStyle) -> int:
    """One MBConv block from the builder's current tensor; ``w_exp == w_in`` means no expansion."""
    x = b.current
    w_in = b.channels
    if w_exp != w_in:
        conv_bn(b, w_exp, 1, name="exp", act=style.expand_act)
    conv_bn(b, w_exp, kernel, stride, groups=w_exp, name="dwise", act=style.dw_act)
    if w_se > 0:
        squeeze_excite(b, w_se, act=style.se_act, bn=style.se_bn)
    if style.post_se_act:
        b.act(style.post_se_act)
    branch = conv_bn(b, w_out, 1, name="proj")
    if has_skip(w_in, w_out, stride, style.partial_skip):
        return b.add(x, src=branch, partial=style.partial_skip)
    return branch
