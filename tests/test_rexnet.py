"""ReXNet: published figures, the linear channel rule, and checks against real modules.

References: model_zoo.csv (ReXNet paper Tables 4-5, official README), docs/efficientnet_rexnet.md, and the
official rexnetv1.py (clovaai/rexnet) for what the model contains: SE width dw // 12 with a BN
inside, ReLU6 after the SE, linear depthwise, partial residual, 1x1-conv classifier with bias.
"""
import math

import pytest

import netcalc
from netcalc.families import rexnet

from conftest import printed, spec_path, zoo_rows

ROWS = zoo_rows({"rexnet"})


def test_zoo_has_six_rexnets():
    assert [r["model"] for r in ROWS] == [f"ReXNet-x{m}" for m in
                                          ("0.9", "1.0", "1.3", "1.5", "2.0", "3.0")]


@pytest.mark.parametrize("row", ROWS, ids=[r["model"] for r in ROWS])
def test_published_figures(row):
    report = netcalc.count(spec_path(row["spec_file"]), convention="pycls")
    assert report.name == row["model"]
    assert report.resolution == int(row["resolution"]) == 224
    assert printed(report.flops, row["flops_G_published"], 1e9) == row["flops_G_published"]
    if row["model"] == "ReXNet-x3.0":
        # Note: "published 34 M is truncated: a direct count of the official model gives about
        # 34.7 M" -- 34,708,792 params.
        assert math.floor(report.params / 1e6) == int(row["params_M_published"]) == 34
        assert round(report.params / 1e6, 1) == 34.7
    else:
        assert printed(report.params, row["params_M_published"], 1e6) == row["params_M_published"]


def test_x15_paper_and_readme_flops_both_hold():
    # Note: "the paper prints 0.9 B, the official README 0.88 B": 875,842,587 flops is both.
    flops = netcalc.count(spec_path("specs/rexnet_1.5.yaml")).flops
    assert (f"{flops / 1e9:.1f}", f"{flops / 1e9:.2f}") == ("0.9", "0.88")


# Exact pycls counts (flops, params, acts); params equal sum(p.numel()) of the official
# ReXNetV1(width_mult=m), which the module test below rebuilds for 1.0x.
EXACT = {
    "0.9": (347_700_621, 4_091_257, 7_111_302),
    "1.0": (398_380_347, 4_796_873, 7_440_707),
    "1.3": (662_241_743, 7_557_091, 9_714_302),
    "1.5": (875_842_587, 9_728_593, 11_209_071),
    "2.0": (1_528_869_694, 16_366_620, 14_905_553),
    "3.0": (3_396_008_488, 34_708_792, 22_403_473),
}


@pytest.mark.parametrize("mult", sorted(EXACT))
def test_exact_counts(mult):
    report = netcalc.count(spec_path(f"specs/rexnet_{mult}.yaml"))
    assert (report.flops, report.params, report.acts) == EXACT[mult]


# -- the channel rule ---------------------------------------------------------------------------
def config(**kw):
    return netcalc.load_spec({"family": "rexnet", **kw}).config


def test_widths_at_1x_half_to_even():
    # docs/efficientnet_rexnet.md: round(16 + 11.25 i), half to even: 38.5 -> 38, 83.5 -> 84, 128.5 -> 128,
    # 173.5 -> 174.
    assert [b.w_out for b in rexnet.blocks(config())] == [
        16, 27, 38, 50, 61, 72, 84, 95, 106, 117, 128, 140, 151, 162, 174, 185]


def test_widths_below_1x():
    # wm < 1: round(16 + 11.25 * i * 0.9) = round(16 + 10.125 i); ties at i = 4 (56.5 -> 56)
    # and i = 12 (137.5 -> 138); stem stays 32.
    cfg = config(width_mult=0.9)
    assert [b.w_out for b in rexnet.blocks(cfg)] == [
        16, 26, 36, 46, 56, 67, 77, 87, 97, 107, 117, 127, 138, 148, 158, 168]
    assert (rexnet.stem_width(cfg), rexnet.head_width(cfg)) == (32, 1152)


def test_stem_and_head_rules():
    # stem round(32 * wm): 1.3 -> round(41.6) = 42; head int(1280 * wm): 1.3 -> 1664.
    assert (rexnet.stem_width(config(width_mult=1.3)), rexnet.head_width(config(width_mult=1.3))) \
        == (42, 1664)
    assert (rexnet.stem_width(config(width_mult=3.0)), rexnet.head_width(config(width_mult=3.0))) \
        == (96, 3840)


def test_se_placement_and_width():
    # No SE in the first two stages (blocks 0-2); SE reduced width = expanded width // 12.
    graph = netcalc.expand(spec_path("specs/rexnet_1.0.yaml"))
    se = [l for l in graph.layers if l.name.endswith("se.reduce")]
    assert len(se) == 13 and se[0].block == "s3.b1"
    assert (se[0].in_shapes[0][1], se[0].shape[1]) == (38 * 6, 38 * 6 // 12)      # 228 -> 19
    assert sum(l.name.endswith("se.bn") for l in graph.layers) == 13


def test_block_op_order():
    # rexnetv1.py LinearBottleneck with SE, stride 1: expand conv+BN+swish, depthwise conv+BN
    # (no activation), SE (pool, conv, BN, ReLU, conv, sigmoid, multiply), ReLU6, project
    # conv+BN (no activation), then the partial add.
    graph = netcalc.expand(spec_path("specs/rexnet_1.0.yaml"))
    ops = [l.op for l in graph.layers if l.block == "s3.b2"]
    assert ops == ["conv", "bn", "silu", "conv", "bn", "gap", "conv", "bn", "relu", "conv",
                   "sigmoid", "mul", "relu6", "conv", "bn", "add"]
    dwise = next(l for l in graph.layers if l.block == "s3.b2" and l.op == "conv"
                 and l.attrs.groups > 1)
    assert (dwise.attrs.kernel, dwise.attrs.groups, dwise.in_shapes[0][1], dwise.shape[1]) == \
        ((3, 3), 300, 300, 300)     # 50*6


def test_partial_residual_placement():
    # Stride 1 and w_in <= w_out: every stride-1 block, the first (32 -> 16) excluded: 11 adds.
    graph = netcalc.expand(spec_path("specs/rexnet_1.0.yaml"))
    adds = [l for l in graph.layers if l.op == "add"]
    assert len(adds) == 11
    assert all(graph.layers[l.inputs[1]].shape[1] < l.shape[1] for l in adds)   # always partial here


def test_depth_mult():
    # depth_mult 1.5: stage depths ceil(1.5 * [1,2,2,3,3,5]) = [2,3,3,5,5,8] (26 blocks); the
    # increment becomes 180/26, and SE still skips the first two stages (5 blocks).
    cfg = config(depth_mult=1.5)
    plan = rexnet.blocks(cfg)
    assert rexnet.stage_depths(cfg) == [2, 3, 3, 5, 5, 8]
    assert [b.se for b in plan] == [False] * 5 + [True] * 21
    assert plan[-1].w_out == round(16 + 25 * 180 / 26)


def test_published_params_include_the_classifier():
    # The 1x1 conv classifier (1280 * 1000 + 1000 = 1,281,000 params at 1.0x) is counted in
    # the published 4.8 M: without it the model has 3.5 M.
    report = netcalc.count(spec_path("specs/rexnet_1.0.yaml"))
    fc = report.graph.layers[-1]
    assert (fc.op, fc.attrs.kernel, fc.attrs.bias, fc.in_shapes[0][1], fc.shape[1]) == \
        ("conv", (1, 1), True, 1280, 1000)
    assert printed(report.params - 1_281_000, "4.8", 1e6) == "3.5"


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, field, message", [
    ({"width_mult": 0}, "width_mult", "below the minimum"),
    ({"width_mult": 64.0}, "width_mult", "channels wide"),
    ({"se_ratio": 5000}, "se_ratio", "leaves an SE without channels"),
    ({"depth_mult": 65.0}, "depth_mult", "above the maximum"),
    ({"width": 1.0}, "width", "unknown field"),
])
def test_bad_specs(spec, field, message):
    with pytest.raises(netcalc.SpecError) as err:
        netcalc.load_spec({"family": "rexnet", **spec})
    assert err.value.field == field and message in str(err.value)


# -- real modules -------------------------------------------------------------------------------
WIDTHS_1X = [16, 27, 38, 50, 61, 72, 84, 95, 106, 117, 128, 140, 151, 162, 174, 185]


def official_rexnet_1x():
    """ReXNet 1.0x written after the official rexnetv1.py, with the widths of docs/efficientnet_rexnet.md."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, w_in, w_out, t, stride, use_se):
            super().__init__()
            dw = w_in * t
            layers = ([nn.Conv2d(w_in, dw, 1, bias=False), nn.BatchNorm2d(dw), nn.SiLU()]
                      if t != 1 else [])
            layers += [nn.Conv2d(dw, dw, 3, stride, 1, groups=dw, bias=False), nn.BatchNorm2d(dw)]
            self.pre = nn.Sequential(*layers)
            self.se = (nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw, dw // 12, 1),
                                     nn.BatchNorm2d(dw // 12), nn.ReLU(),
                                     nn.Conv2d(dw // 12, dw, 1), nn.Sigmoid())
                       if use_se else None)
            self.post = nn.Sequential(nn.ReLU6(), nn.Conv2d(dw, w_out, 1, bias=False),
                                      nn.BatchNorm2d(w_out))
            self.w_in = w_in
            self.shortcut = stride == 1 and w_in <= w_out

        def forward(self, x):
            out = self.pre(x)
            out = self.post(out * self.se(out) if self.se is not None else out)
            if self.shortcut:
                out[:, :self.w_in] += x
            return out

    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU()]
    w = 32
    for i, (w_out, s) in enumerate(zip(WIDTHS_1X, strides)):
        layers.append(Block(w, w_out, 1 if i == 0 else 6, s, use_se=i >= 3))
        w = w_out
    layers += [nn.Conv2d(w, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.SiLU(),
               nn.AdaptiveAvgPool2d(1), nn.Dropout(0.2), nn.Conv2d(1280, 1000, 1)]
    return nn.Sequential(*layers).eval()


def test_matches_official_structure_module():
    # fvcore's trace and the parameter count of an independently written 1.0x module equal
    # netcalc's fvcore counts of specs/rexnet_1.0.yaml (414,561,072 flops, 4,796,873 params).
    import torch
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    module = official_rexnet_1x()
    x = torch.zeros(1, 3, 224, 224)
    report = netcalc.count(spec_path("specs/rexnet_1.0.yaml"), "fvcore")
    assert sum(p.numel() for p in module.parameters()) == report.params == 4_796_873
    with torch.no_grad():
        flops = FlopCountAnalysis(module, x).unsupported_ops_warnings(False).total()
        acts = ActivationCountAnalysis(module, x).unsupported_ops_warnings(False).total()
    assert (flops, acts) == (report.flops, report.acts) == (414_561_072, 7_440_707)


# The torch builder's module of every shipped spec, traced at three resolutions in both
# traceable conventions: tests/test_torch_validation.py (the fast tier traces a representative set).
