"""EfficientNet: published figures, the derived configs, compound scaling, real-module checks.

References: model_zoo.csv (pycls MODEL_ZOO for B0-B5, with acts; EfficientNet paper Table 2 for
B6/B7), the official coefficient table and rounding rules (docs/efficientnet_rexnet.md), pycls's effnet.py (what
its complexity counts: stem, every MBConv with SE, head conv, FC; dropout and pooling cost 0).
"""
import json
import math

import pytest

import netcalc
from netcalc.families import efficientnet as effnet

from conftest import printed, spec_path, zoo_rows

ROWS = zoo_rows({"efficientnet"})
PYCLS_ROWS = [r for r in ROWS if r["stage_depths"]]   # B0-B5 carry the pycls stage columns


def test_zoo_has_eight_efficientnets():
    assert [r["model"] for r in ROWS] == [f"EfficientNet-B{i}" for i in range(8)]
    assert len(PYCLS_ROWS) == 6


@pytest.mark.parametrize("row", ROWS, ids=[r["model"] for r in ROWS])
def test_published_figures(row):
    report = netcalc.count(spec_path(row["spec_file"]), convention="pycls")
    assert report.name == row["model"]
    # The variant sets the resolution: the spec files name none.
    assert report.resolution == int(row["resolution"])
    assert printed(report.params, row["params_M_published"], 1e6) == row["params_M_published"]
    if row["acts_M_published"]:
        assert printed(report.acts, row["acts_M_published"], 1e6) == row["acts_M_published"]
    if row["note"]:
        # B7: "published 37 GF is truncated: a direct count ... gives about 37.7 G".
        assert row["model"] == "EfficientNet-B7"
        assert math.floor(report.flops / 1e9) == int(row["flops_G_published"]) == 37
        assert round(report.flops / 1e9, 1) == 37.7
    else:
        assert printed(report.flops, row["flops_G_published"], 1e9) == row["flops_G_published"]


# Exact pycls counts (flops, params, acts). Params equal torchvision's efficientnet_b0..b7
# (5,288,548 ... 66,347,960, its model table); flops are pinned here after the fvcore checks
# below tie the same graphs to traced modules (pycls = fvcore - biases - 2*BN - pool inputs).
EXACT = {
    "b0": (385_825_092, 5_288_548, 6_748_036),
    "b1": (686_817_992, 7_794_184, 10_884_328),
    "b2": (993_578_282, 9_109_994, 13_832_834),
    "b3": (1_827_162_472, 12_233_232, 23_831_296),
    "b4": (4_393_801_064, 19_341_616, 49_489_032),
    "b5": (10_266_426_072, 30_389_784, 98_857_400),
    "b6": (19_067_647_136, 43_040_704, 167_393_400),
    "b7": (37_745_958_392, 66_347_960, 289_939_464),
}


@pytest.mark.parametrize("variant", sorted(EXACT))
def test_exact_counts(variant):
    report = netcalc.count(spec_path(f"specs/efficientnet_{variant}.yaml"))
    assert (report.flops, report.params, report.acts) == EXACT[variant]


@pytest.mark.parametrize("row", PYCLS_ROWS, ids=[r["model"] for r in PYCLS_ROWS])
def test_derived_config_equals_pycls_config(row):
    # round_filters / round_repeats on the B0 base must give pycls's EN-Bx configs exactly.
    cfg = netcalc.load_spec(spec_path(row["spec_file"])).config
    stages = effnet.stages(cfg)
    joined = lambda xs: " ".join(str(x) for x in xs)  # noqa: E731
    assert joined(s.depth for s in stages) == row["stage_depths"]
    assert joined(s.width for s in stages) == row["stage_widths"]
    assert joined(s.stride for s in stages) == row["stage_strides"]
    assert joined(s.kernel for s in stages) == row["stage_kernels"]
    assert joined(s.exp_r for s in stages) == row["stage_exp_ratios"]
    assert effnet.stem_width(cfg) == int(row["stem_w"])
    assert effnet.head_width(cfg) == int(row["head_w"])
    assert cfg.se_r == float(row["se_r"])


def test_round_filters_rules():
    # docs/efficientnet_rexnet.md: max(8, int(f*w + 4) // 8 * 8), plus 8 when that loses more than 10%.
    assert effnet.round_filters(32, 1.2) == 40        # 38.4 + 4 = 42.4 -> 40
    assert effnet.round_filters(1280, 1.1) == 1408    # 1408 exactly
    assert effnet.round_filters(16, 1.4) == 24        # 22.4 + 4 = 26.4 -> 24
    assert effnet.round_filters(32, 0.6) == 24        # 19.2 -> 16 < 0.9*19.2 = 17.28 -> 24
    assert effnet.round_filters(16, 0.25) == 8        # 4 -> 8 (the minimum)
    assert effnet.round_repeats(3, 1.4) == 5          # ceil(4.2); 1.4*3 is 4.199... in floats
    assert effnet.round_repeats(4, 3.1) == 13         # ceil(12.4)


def test_se_width_comes_from_block_input():
    # TF/pycls: SE reduced width = int(0.25 * block INPUT width), not of the expanded width.
    graph = netcalc.expand(spec_path("specs/efficientnet_b0.yaml"))
    se = {l.block: l for l in graph.layers if l.name.endswith("se.reduce")}
    assert se["s2.b1"].in_shapes[0][1] == 96 and se["s2.b1"].shape[1] == 4     # w_in 16 -> 4
    assert se["s7.b1"].in_shapes[0][1] == 1152 and se["s7.b1"].shape[1] == 48  # w_in 192 -> 48
    # Skip only when stride 1 and widths equal: 16 blocks, 9 adds in B0.
    assert sum(l.op == "add" for l in graph.layers) == 9


def test_block_op_order():
    # pycls MBConv, expansion 6, stride 1: expand conv+BN+SiLU, depthwise conv+BN+SiLU, SE
    # (pool, conv, SiLU, conv, sigmoid, multiply), project conv+BN (no activation), skip add.
    # The first block (expansion 1) has no expand conv.
    graph = netcalc.expand(spec_path("specs/efficientnet_b0.yaml"))
    ops = lambda block: [l.op for l in graph.layers if l.block == block]  # noqa: E731
    assert ops("s2.b2") == ["conv", "bn", "silu", "conv", "bn", "silu", "gap", "conv", "silu",
                            "conv", "sigmoid", "mul", "conv", "bn", "add"]
    assert ops("s1.b1") == ["conv", "bn", "silu", "gap", "conv", "silu", "conv", "sigmoid",
                            "mul", "conv", "bn"]
    head = [l.op for l in graph.layers if l.stage == "head"]
    assert head == ["conv", "bn", "silu", "gap", "flatten", "dropout", "linear"]


# -- discrepancies of the paper's Table 2 (docs/efficientnet_rexnet.md) -----------------------
def bn_channels(graph):
    return sum(l.in_shapes[0][1] for l in graph.layers if l.op == "bn")


def test_b2_paper_params_include_bn_statistics():
    # Paper: 9.2 M; pycls / a direct count: 9,109,994 (9.1 M). BN running mean and variance add
    # 2 values per BN channel (33,784 BN channels): 9,177,562 = 9.2 M. B1 (7.8 M) and B7 (66 M)
    # in the same table do NOT include them: with them they would print 7.9 M and 67 M.
    for variant, params, with_stats, paper in (("b2", 9_109_994, 9_177_562, "9.2"),
                                               ("b1", 7_794_184, 7_856_232, "7.8"),
                                               ("b7", 66_347_960, 66_658_680, "66")):
        report = netcalc.count(spec_path(f"specs/efficientnet_{variant}.yaml"))
        stats = 2 * bn_channels(report.graph)
        assert (report.params, report.params + stats) == (params, with_stats)
        matches_with = printed(with_stats, paper, 1e6) == paper
        matches_without = printed(params, paper, 1e6) == paper
        assert (matches_with, matches_without) == ((True, False) if variant == "b2"
                                                   else (False, True))


def test_b4_b5_paper_flops_about_four_percent_low():
    # Paper: 4.2 B and 9.9 B; direct counts 4,393,801,064 and 10,266,426,072 (pycls, as printed
    # by pycls MODEL_ZOO: 4.4 and 10.3). The paper sits 4.4% and 3.6% below.
    for variant, paper in (("b4", 4.2e9), ("b5", 9.9e9)):
        flops = netcalc.count(spec_path(f"specs/efficientnet_{variant}.yaml")).flops
        assert 0.03 < 1 - paper / flops < 0.05


# -- compound scaling ---------------------------------------------------------------------------
def test_official_coefficients_do_not_follow_compound_scaling():
    # B1-B7 were picked by hand: none equals (beta^phi, alpha^phi, round(224 * gamma^phi)).
    for phi in range(1, 8):
        official = effnet.VARIANTS[f"b{phi}"]
        width, depth, resolution = effnet.compound(phi)
        assert (official.width, official.depth, official.resolution) != (width, depth, resolution)
    assert effnet.compound(3) == (1.1 ** 3, 1.2 ** 3, 341)    # B3 is (1.2, 1.4, 300)


def test_phi_flops_ratio_over_b0():
    # Measured pycls flops of phi = 1..4 over B0 (385,825,092): 2.57, 4.69, 8.43, 16.38, i.e.
    # about 2^phi. Theory gives (alpha * beta^2 * gamma^2)^phi = 1.920^phi (1.92, 3.69, 7.08,
    # 13.60); the count runs above it because round_repeats rounds depths UP (phi = 1 doubles
    # the two single-block stages) and round_filters rounds widths to multiples of 8.
    b0 = netcalc.count(spec_path("specs/efficientnet_b0.yaml")).flops
    ratios = [netcalc.count({"family": "efficientnet", "phi": phi}).flops / b0
              for phi in (1, 2, 3, 4)]
    assert [round(r, 2) for r in ratios] == [2.57, 4.69, 8.43, 16.38]
    for phi, ratio in zip((1, 2, 3, 4), ratios):
        assert 2 ** phi * 0.95 < ratio < 2 ** phi * 1.3


def test_phi_zero_is_b0_and_phi_one_is_b2_architecture():
    b0 = netcalc.count(spec_path("specs/efficientnet_b0.yaml"))
    assert netcalc.count({"family": "efficientnet", "phi": 0}).totals() == b0.totals()
    # phi = 1: width 1.1, depth 1.2 -- B2's coefficients, not B1's -- at round(257.6) = 258 px.
    phi1 = netcalc.count({"family": "efficientnet", "phi": 1})
    b2 = netcalc.count(spec_path("specs/efficientnet_b2.yaml"))
    assert phi1.resolution == 258 and phi1.params == b2.params == 9_109_994
    assert netcalc.count(spec_path("specs/efficientnet_b2.yaml"), resolution=258).flops \
        == phi1.flops


def test_cli_counts_a_phi_spec(cli):
    # specs/examples/efficientnet_phi3.yaml: phi 3 -> depth 1.728, width 1.331, 341 px.
    # By hand: depths ceil(1.728 * [1,2,2,3,3,4,1]) = [2,4,4,6,6,7,2]; widths round_filters of
    # [16,24,40,80,112,192,320] * 1.331 = [24,32,56,104,152,256,424]; head 1704.
    spec = netcalc.load_spec(spec_path("specs/examples/efficientnet_phi3.yaml"))
    assert [s.depth for s in effnet.stages(spec.config)] == [2, 4, 4, 6, 6, 7, 2]
    assert [s.width for s in effnet.stages(spec.config)] == [24, 32, 56, 104, 152, 256, 424]
    assert effnet.head_width(spec.config) == 1704
    result = cli("count", "specs/examples/efficientnet_phi3.yaml", "--by", "total",
                 "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["resolution"] == 341
    b0 = netcalc.count(spec_path("specs/efficientnet_b0.yaml")).flops
    assert round(out["flops"] / b0, 2) == 8.43     # about 2^3
    assert "phi = 3" in spec.raw["description"] and "NOT EfficientNet-B3" in spec.raw["description"]


def test_se_r_zero_removes_the_se():
    # se_r: 0 means no squeeze-excite (as in AnyNet specs), not an SE of width max(1, 0) = 1.
    graph = netcalc.expand({"family": "efficientnet", "se_r": 0})
    assert not any(l.op in ("mul", "gap") for l in graph.layers if l.stage != "head")


def test_spec_resolution_overrides_the_variant():
    assert netcalc.count({"family": "efficientnet", "variant": "b3", "resolution": 224}) \
        .resolution == 224
    assert netcalc.count({"family": "efficientnet", "variant": "B3"}).resolution == 300


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, field, message", [
    ({"variant": "b3", "phi": 3}, "phi", "give only one of"),
    ({"variant": "b9"}, "variant", "is not one of"),
    ({"phi": 40}, "phi", "above the maximum"),
    ({"phi": "3"}, "phi", "expected a number"),
    ({"phi": 16, "alpha": 4.0}, "phi", "beyond 1024 blocks"),
    ({"width_mult": 64.0}, "width_mult", "channel limit"),
    ({"variant": "b0", "depth_mult": 2}, "depth_mult", "unknown field"),
])
def test_bad_specs(spec, field, message):
    with pytest.raises(netcalc.SpecError) as err:
        netcalc.load_spec({"family": "efficientnet", **spec})
    assert err.value.field == field and message in str(err.value)


def test_bad_spec_cli_one_line(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("family: efficientnet\nvariant: b3\nphi: 2\n")
    result = cli("count", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: phi: give only one of variant, phi, width_mult (found variant and phi)"]


# -- real modules -------------------------------------------------------------------------------
def pycls_effnet(row):
    """An EfficientNet written after pycls's effnet.py, configured from the csv row alone."""
    from torch import nn

    class MBConv(nn.Module):
        def __init__(self, w_in, exp_r, k, stride, w_out):
            super().__init__()
            w_exp, w_se = int(w_in * exp_r), int(w_in * 0.25)
            expand = ([nn.Conv2d(w_in, w_exp, 1, bias=False), nn.BatchNorm2d(w_exp), nn.SiLU()]
                      if w_exp != w_in else [])
            self.body = nn.Sequential(*expand, nn.Conv2d(w_exp, w_exp, k, stride, k // 2,
                                                         groups=w_exp, bias=False),
                                      nn.BatchNorm2d(w_exp), nn.SiLU())
            self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(w_exp, w_se, 1), nn.SiLU(),
                                    nn.Conv2d(w_se, w_exp, 1), nn.Sigmoid())
            self.proj = nn.Sequential(nn.Conv2d(w_exp, w_out, 1, bias=False),
                                      nn.BatchNorm2d(w_out))
            self.skip = stride == 1 and w_in == w_out

        def forward(self, x):
            f = self.body(x)
            f = self.proj(f * self.se(f))
            return x + f if self.skip else f

    ints = lambda key: [int(v) for v in row[key].split()]  # noqa: E731
    w, head = int(row["stem_w"]), int(row["head_w"])
    layers = [nn.Conv2d(3, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.SiLU()]
    for d, w_out, s, k, e in zip(*map(ints, ("stage_depths", "stage_widths", "stage_strides",
                                             "stage_kernels", "stage_exp_ratios"))):
        for j in range(d):
            layers.append(MBConv(w, e, k, s if j == 0 else 1, w_out))
            w = w_out
    layers += [nn.Conv2d(w, head, 1, bias=False), nn.BatchNorm2d(head), nn.SiLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(head, 1000)]
    return nn.Sequential(*layers).eval()


@pytest.mark.parametrize("model", ["EfficientNet-B0",
                                   pytest.param("EfficientNet-B2", marks=pytest.mark.slow)])
def test_matches_pycls_style_module(model):
    # fvcore's trace of an independently written module (pycls structure, csv config) must
    # equal netcalc's fvcore count of the spec, and its parameter count the spec's params.
    import torch
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    row = next(r for r in PYCLS_ROWS if r["model"] == model)
    module = pycls_effnet(row)
    res = int(row["resolution"])
    x = torch.zeros(1, 3, res, res)
    flops = FlopCountAnalysis(module, x).unsupported_ops_warnings(False)
    acts = ActivationCountAnalysis(module, x).unsupported_ops_warnings(False)
    report = netcalc.count(spec_path(row["spec_file"]), "fvcore")
    assert sum(p.numel() for p in module.parameters()) == report.params
    assert (flops.total(), acts.total()) == (report.flops, report.acts)


# The torch builder's module of every shipped spec, traced at three resolutions in both
# traceable conventions: tests/test_torch_validation.py (the fast tier traces a representative set).
