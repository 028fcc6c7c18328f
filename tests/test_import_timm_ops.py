"""The ops and import forms timm's transformers and hybrids need (issue 17's sweep): each checked
on a small torch module written by hand here (not built by netcalc), against fvcore 0.1.5
(autograd on) and FlopCounterMode traces of that module at two sizes, with the expected numbers
derived by hand in each test. The timm models that needed them: tests/test_import_timm.py.
"""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import netcalc  # noqa: E402
from netcalc.torch.importer import import_checked, imported_totals, traced_totals  # noqa: E402


def ops(spec):
    return [layer["op"] for layer in spec.raw["layers"]]


def assert_as_traced(module, sizes):
    """Import ``module`` at the first size; the spec counts what the tools trace at each."""
    spec, _ = import_checked(module.eval(), sizes[0])
    for size in sizes:
        assert imported_totals(spec, size) == traced_totals(module, size), size
    return spec


class BicubicBranch(nn.Module):
    """CrossViT's second branch: the image resized to a fixed 12 x 12 by bicubic interpolation
    before its own patch embedding."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 4, 4)

    def forward(self, x):
        return self.conv(F.interpolate(x, size=(12, 12), mode="bicubic", align_corners=False))


def test_bicubic_resize_costs_nothing_in_fvcore_and_flopcountermode():
    spec = assert_as_traced(BicubicBranch(), ((16, 16), (19, 26)))
    assert "upsample" in ops(spec)
    # fvcore has no handle for aten::upsample_bicubic2d (0 flops, 0 acts), FlopCounterMode no
    # formula: the conv alone, 3 x 3 outputs of 4 channels, 48 MACs each (params 4*48 + 4)
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (9 * 4 * 48, 9 * 4, 196)
    assert netcalc.count(spec, "torch", (16, 16)).flops == 2 * 9 * 4 * 48


class Norms(nn.Module):
    """Tokens through an RMS norm (deepseek_vit, EVA-02) and a layer norm without bias, each
    with and without a learned weight."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.rms = nn.RMSNorm(8)
        self.rms_plain = nn.RMSNorm(8, elementwise_affine=False)
        self.ln = nn.LayerNorm(8, bias=False)
        self.ln_plain = nn.LayerNorm(8, elementwise_affine=False, bias=False)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        return self.ln_plain(self.ln(self.rms_plain(self.rms(x))))


def test_rms_norm_and_layer_norm_without_bias():
    spec = assert_as_traced(Norms(), ((16, 16), (20, 28)))
    assert ops(spec).count("rms_norm") == 2 and ops(spec).count("layer_norm") == 2
    # 16 tokens of 8: the conv 16*8*48 MACs (acts 128); fvcore has no handle for rms_norm (0) and
    # prices each layer norm 5 per element with a weight, 4 without: 9 * 128. Params: the conv
    # 8*48 + 8, one RMS weight and one layer-norm weight of 8 each
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 48 + 9 * 128, 128, 392 + 16)
    assert netcalc.count(spec, "torch", (16, 16)).flops == 2 * 16 * 8 * 48


class JoinedQkvBias(nn.Module):
    """BEiT's attention input: q, k, v from one linear layer whose bias is joined in forward
    from a learned q bias, a zero k bias (a buffer) and a learned v bias."""

    def __init__(self, dim=8):
        super().__init__()
        self.conv = nn.Conv2d(3, dim, 4, 4)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.rand(dim))
        self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
        self.v_bias = nn.Parameter(torch.rand(dim))

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
        return F.linear(x, self.qkv.weight, bias)


def test_a_linear_bias_joined_in_forward_is_a_second_operand():
    spec = assert_as_traced(JoinedQkvBias(), ((16, 16), (20, 28)))
    linear = next(layer for layer in spec.raw["layers"] if layer["op"] == "linear")
    assert len(linear["inputs"]) == 2 and ops(spec).count("param") == 2
    # 16 tokens: the conv 16*8*48 MACs, the linear 16*8*24 (fvcore and FlopCounterMode ignore
    # the bias); acts 16*8 + 16*24. Params: the conv 392, the weight 24*8 and the two learned
    # biases of 8 (the zero k bias is a buffer)
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * (48 + 24), 16 * 32,
                                                           392 + 192 + 16)
    assert netcalc.count(spec, "torch", (16, 16)).flops == 2 * 16 * 8 * (48 + 24)
