"""Each op rule against hand-derived numbers, and the convention identities of conventions.md.

The two example graph specs together use every op of the layer graph. Their counts are derived
by hand below (k*k*c_in/groups*c_out*h*w MACs per conv, etc.), so every rule of every convention
is checked against arithmetic a reader can redo.
"""
import pytest

import netcalc
from netcalc.graph import GraphBuilder
from netcalc.ops.spatial import window_out
from netcalc.ops import OPS
from netcalc.ops.conv import conv_attrs
from netcalc.ops.linear import linear_attrs
from netcalc.ops.pool import pool_attrs
from netcalc.ops.shape import FLATTEN
from netcalc.ops.simple import NO_ATTRS
from netcalc.rules import CONVENTIONS, FVCORE, PYCLS, TORCH

from conftest import spec_path

TINY = spec_path("specs/examples/tiny_cnn.yaml")
SE_MOBILE = spec_path("specs/examples/se_mobile_block.yaml")


def node(op, c_in, hw_in, attrs=NO_ATTRS, flat=False, operands=None):
    """One node of ``op`` reading a c_in x hw_in x hw_in map (a flat (1, c_in) tensor if flat),
    as many times as it takes operands (``operands``, else its most)."""
    b = GraphBuilder("t", c_in, hw_in)
    if flat:
        b.flatten()
    b.node(op, attrs, inputs=[b.current] * (operands or max(OPS[op].arity)))
    return b.layers[-1]


def costs(convention, n):
    """(flops, params, acts) of node ``n`` under a convention."""
    return tuple(rule(n.in_shapes, n.shape, n.attrs) for rule in convention.table()[n.op])


def test_out_size_floors_odd_inputs():
    # (225 + 2*1 - 3) // 2 + 1 = 113; a 7x7/2 stem at 224 gives 112; a 3x3/2 max-pool then 56.
    assert window_out(225, 3, 2, 1) == 113
    assert window_out(224, 7, 2, 3) == 112
    assert window_out(112, 3, 2, 1) == 56


def test_grouped_conv_rules():
    # 3x3/2 conv, 64 -> 128 channels in 4 groups, 56x56 in, 28x28 output, with bias:
    # MACs = 3*3*(64/4)*128*28*28 = 14,450,688; params = 3*3*16*128 + 128 = 18,560.
    conv = node("conv", 64, 56, conv_attrs(128, 3, 2, 1, groups=4, bias=True), operands=1)
    assert conv.shape == (1, 128, 28, 28)
    assert costs(PYCLS, conv) == (14_450_688 + 128, 18_560, 128 * 28 * 28)  # bias once per channel
    assert costs(FVCORE, conv) == (14_450_688, 18_560, 128 * 28 * 28)       # fvcore: no bias
    assert costs(TORCH, conv)[0] == 2 * 14_450_688                          # torch: 2 per MAC


def test_linear_bn_pool_rules():
    fc = node("linear", 2048, 1, linear_attrs(1000, True), flat=True, operands=1)
    assert fc.shape == (1, 1000)
    assert costs(PYCLS, fc) == (2_049_000, 2048 * 1000 + 1000, 1000)
    assert costs(FVCORE, fc)[0] == 2_048_000 and costs(TORCH, fc)[0] == 4_096_000
    bn = node("bn", 64, 56)
    assert costs(PYCLS, bn) == (0, 128, 0)                                  # gamma and beta
    assert costs(FVCORE, bn)[0] == 2 * 64 * 56 * 56                         # eval: 2 per element
    gap = node("gap", 2048, 7)
    assert costs(FVCORE, gap)[0] == 2048 * 49 and costs(PYCLS, gap)[0] == 0
    pool = node("maxpool", 64, 112, pool_attrs(3, 2, 1))
    assert costs(PYCLS, pool)[2] == 64 * 56 * 56 and costs(FVCORE, pool)[2] == 0


@pytest.mark.parametrize("op", ["relu", "relu6", "silu", "sigmoid", "add", "mul", "flatten",
                                "dropout", "avgpool", "identity"])
def test_free_ops_cost_nothing(op):
    attrs = {"flatten": FLATTEN, "avgpool": pool_attrs(2, 2, 0)}.get(op) or OPS[op].Attrs()
    free = node(op, 32, 8, attrs)
    for convention in CONVENTIONS.values():
        assert costs(convention, free) == (0, 0, 0)


def test_every_op_has_rules_in_every_convention():
    for convention in CONVENTIONS.values():
        assert set(OPS) == set(convention.flops) == set(convention.acts) == set(convention.table())


def totals(path, convention):
    report = netcalc.count(path, convention=convention)
    return report.flops, report.params, report.acts


def test_tiny_cnn_by_hand():
    # stem 3->16 k3 @32: 9*3*16*1024 = 442,368 MACs; max-pool 2/2 -> 16x16 (4,096 outputs);
    # a 16->32 k3/2 @8: 294,912; b 32->32 k3 @8: 589,824; proj 16->32 k1/2 @8: 32,768;
    # fc 32->10 + bias: 320 + 10.
    macs = 442_368 + 294_912 + 589_824 + 32_768 + 320
    params = 432 + 32 + 4_608 + 64 + 9_216 + 64 + 512 + 64 + 330
    acts = 16_384 + 4_096 + 3 * 2_048 + 10
    bn_elems = 16 * 32 * 32 + 3 * 32 * 8 * 8
    gap_elems = 32 * 8 * 8
    assert totals(TINY, "pycls") == (macs + 10, params, acts) == (1_360_202, 15_322, 26_634)
    assert totals(TINY, "fvcore") == (macs + 2 * bn_elems + gap_elems, params, acts - 4_096)
    assert totals(TINY, "fvcore")[0] == 1_407_296
    assert totals(TINY, "torch")[0] == 2 * macs == 2_720_384


def test_se_mobile_by_hand():
    # stem 3->8 k3/2 + bias @32: 221,184 MACs (+8 bias in pycls: once per channel, not per position);
    # expand 8->32 @32: 262,144; depthwise 3x3 32 groups @32: 294,912; SE 32->8->32 with biases at
    # 1x1: 256 + 8 and 256 + 32; project 32->8 @32: 262,144; fc 8->5 without bias: 40.
    macs = 221_184 + 262_144 + 294_912 + 256 + 256 + 262_144 + 40
    params = 224 + 256 + 64 + 288 + 64 + 264 + 288 + 256 + 16 + 40
    acts = 8_192 + 32_768 + 32_768 + 8 + 32 + 8_192 + 5
    bn_elems = 32 * 1024 + 32 * 1024 + 8 * 1024
    gap_elems = 32 * 1024 + 8 * 16 * 16                  # SE pool and the final pool
    assert totals(SE_MOBILE, "pycls") == (macs + 8 + 8 + 32, params, acts)
    assert totals(SE_MOBILE, "pycls") == (1_040_984, 1_760, 81_965)
    assert totals(SE_MOBILE, "fvcore") == (macs + 2 * bn_elems + gap_elems, params, acts)
    assert totals(SE_MOBILE, "fvcore")[0] == 1_223_208
    assert totals(SE_MOBILE, "torch")[0] == 2 * macs == 2_081_872


def conv_terms(report):
    """(C, bias terms pycls added, L, Lb, BN, P, MP) of a graph, from its layers."""
    layers = report.graph.layers
    pick = lambda op: [l for l in layers if l.op == op]  # noqa: E731
    c_in = lambda l: l.in_shapes[0][1]  # noqa: E731
    c_out = lambda l: l.shape[1]  # noqa: E731
    positions = lambda shape: shape[2] * shape[3]  # noqa: E731
    # a window attribute is one int for both axes, or one entry per axis
    taps = lambda k: k * k if isinstance(k, int) else k[0] * k[1]  # noqa: E731
    C = sum(taps(l.attrs.kernel) * c_in(l) // l.attrs.groups * c_out(l)
            * positions(l.shape) for l in pick("conv"))
    Cb = sum(c_out(l) for l in pick("conv") if l.attrs.bias)
    L = sum(c_in(l) * c_out(l) for l in pick("linear"))
    Lb = sum(c_out(l) for l in pick("linear") if l.attrs.bias)
    BN = sum(c_in(l) * positions(l.in_shapes[0]) for l in pick("bn"))
    P = sum(c_in(l) * positions(l.in_shapes[0]) for l in pick("gap"))
    MP = sum(c_out(l) * positions(l.shape) for l in pick("maxpool"))
    return C, Cb, L, Lb, BN, P, MP


@pytest.mark.parametrize("path", [TINY, SE_MOBILE, spec_path("specs/resnet50.yaml"),
                                  spec_path("specs/regnety_800mf.yaml")])
def test_convention_identities(path):
    # conventions.md: fvcore_flops = pycls_flops - Cb - Lb + 2*BN + P; fvcore_acts = pycls_acts - MP;
    # params equal; torch_flops = 2*(C + L).
    pycls, fvcore, torch = (netcalc.count(path, convention=c) for c in ("pycls", "fvcore", "torch"))
    C, Cb, L, Lb, BN, P, MP = conv_terms(pycls)
    assert pycls.flops == C + Cb + L + Lb
    assert fvcore.flops == pycls.flops - Cb - Lb + 2 * BN + P
    assert fvcore.acts == pycls.acts - MP
    assert pycls.params == fvcore.params == torch.params
    assert torch.flops == 2 * (C + L)


def test_resnet50_stem_shapes():
    graph = netcalc.expand(spec_path("specs/resnet50.yaml"))
    stem = [l for l in graph.layers if l.stage == "stem"]
    assert [(l.op, l.shape[2]) for l in stem] == [("conv", 112), ("bn", 112), ("relu", 112),
                                                ("maxpool", 56)]


def test_breakdowns_sum_to_totals():
    report = netcalc.count(spec_path("specs/regnety_400mf.yaml"))
    for level in ("stage", "block", "layer"):
        rows = report.breakdown(level)
        assert sum(r["flops"] for r in rows) == report.flops
        assert sum(r["params"] for r in rows) == report.params
        assert sum(r["acts"] for r in rows) == report.acts
    assert [r["name"] for r in report.breakdown("stage")] == ["stem", "s1", "s2", "s3", "s4", "head"]
    # RegNetY-400MF has 1+3+6+6 = 16 blocks (model_zoo.csv), plus stem and head rows.
    assert len(report.breakdown("block")) == 16 + 2


def test_resolution_override():
    # ResNet-50 at 448 px: every spatial size doubles, so conv/linear-free parts scale by 4 exactly.
    base = netcalc.count(spec_path("specs/resnet50.yaml"))
    big = netcalc.count(spec_path("specs/resnet50.yaml"), resolution=448)
    head_macs = 2048 * 1000 + 1000
    assert big.flops - head_macs == 4 * (base.flops - head_macs)
    assert big.params == base.params
