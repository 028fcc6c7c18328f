"""A vision transformer at many resolutions (issue 17): a position embedding resampled to the token
grid (``param_add ... resampled: true``) against a fixed one, the closed forms in (h, w) (degree 2
in the token count, from attention's L x L scores) against the counts, and ``solve`` on the
shipped ViT-B/16 (specs/examples/vit_b_16.yaml, timm's ``dynamic_img_size`` model) against
fvcore's and FlopCounterMode's traces of the real model.

The traced numbers below were measured on timm 1.0's ``vit_base_patch16_224`` built with
``dynamic_img_size=True``, in eval with autograd on (as fvcore's users call it) and the math
attention backend (FlopCounterMode then counts attention as its CUDA formula does); the slow
tests trace them again.
"""
import json
import os
import re

import pytest
import yaml

import netcalc
from netcalc.errors import GraphError, SpecError
from netcalc.ops import all_ops
from netcalc.ops.aten import PARAM, Dim, NotModelled, Tensor, aten_table
from netcalc.ops.elementwise import binary_from_aten
from netcalc.symbolic import count_symbolic
from netcalc.symbolic.render import render_table

from conftest import ROOT, run_cli, spec_path
from test_ops_transformer import call, convert, vit_spec

VIT_B_16 = "specs/examples/vit_b_16.yaml"
# five sizes the model accepts (h and w multiples of the 16-pixel patch), two rectangular
SIZES = ((224, 224), (240, 320), (384, 384), (160, 448), (512, 256))
# (fvcore flops, fvcore acts, FlopCounterMode flops) of the traced model; params 86,567,656
TRACED = {(224, 224): (16_867_412_736, 16_491_496, 35_127_656_448),
          (240, 320): (25_771_942_656, 25_197_544, 54_826_008_576),
          (384, 384): (49_403_195_136, 48_302_056, 110_968_700_928),
          (160, 448): (24_059_533_056, 23_523_304, 50_975_932_416),
          (512, 256): (43_923_484_416, 42_944_488, 97_449_934_848)}
PARAMS = 86_567_656


def small_vit(resampled):
    return vit_spec(patch=16, hidden=64, depth=1, heads=2, mlp=128, classes=10, resampled=resampled)


# -- the resampled position embedding ----------------------------------------------------------
def test_a_parameter_resized_to_the_tokens_imports_as_resampled():
    """timm's ``dynamic_img_size``: the position embedding (1, 197, 768) is resized in forward
    to (1, 1 + h/16 * w/16, 768); the add keeps the parameter's own shape and says so."""
    tokens = Dim(197, "1 + h//16 * w//16")
    embedding = Tensor((1, tokens, 768), PARAM, "pos_embed", learned=(1, 197, 768))
    data = Tensor((1, tokens, 768))
    node = binary_from_aten(call("add", ((1, tokens, 768),), self=data, other=embedding))
    assert node.op == "param_add" and dict(node.attrs) == {"param_shape": [1, 197, 768],
                                                           "resampled": True}
    # a tensor of another rank than its parameter is no param_add of it (NaFlexViT's (1, C, h,
    # w) grid resized and read as tokens): the ops computing it are written instead, which
    # needs the importer (here, with no importer behind the call, it is refused)
    grid = Tensor((1, tokens, 128), PARAM, "grid", learned=(1, 128, 14, 14))
    with pytest.raises(NotModelled, match="add of a param tensor"):
        binary_from_aten(call("add", ((1, tokens, 128),), self=Tensor((1, tokens, 128)),
                              other=grid))
    fixed = Tensor((1, 197, 768), PARAM, "pos_embed")
    node = binary_from_aten(call("add", ((1, 197, 768),), self=Tensor((1, 197, 768)), other=fixed))
    assert dict(node.attrs) == {"param_shape": [1, 197, 768]}


def test_a_fixed_position_embedding_refuses_another_size_and_a_resampled_one_follows():
    """The fixed table fits 224 x 224 only (a clear error naming the field at 384); resampled,
    the same spec counts every size, with the table's 197 x 64 params at each."""
    fixed, resampled = small_vit(False), small_vit(True)
    with pytest.raises(SpecError, match=r"layers\[4\]\.param_shape: param_add 'block0': param_shape "
                                        r"\(1, 197, 64\) does not broadcast to the input shape "
                                        r"\(1, 577, 64\)"):
        netcalc.count(fixed, "torch", 384)
    at_224 = netcalc.count(fixed, "torch", 224).totals()
    assert netcalc.count(resampled, "torch", 224).totals() == at_224
    # attention's L x L scores: 2 flops per MAC, twice (q @ k^T and the weights @ v), per head
    # d = 32, over 2 heads: 8 * L^2 * 32 per layer at L = 1 + 24 * 24 tokens, beyond 224's
    big = netcalc.count(resampled, "torch", 384)
    assert big.params == at_224["params"]
    assert big.flops > 8 * 577 ** 2 * 32


def test_an_imported_one_size_spec_says_so_in_the_error():
    """An import whose notes say it fits one size (torchvision's vit_b_16: ``fits only
    224x224``) names that in the error at another size."""
    spec = {**small_vit(False), "notes": ["fits only 224x224: at 257x257 param_add 'block0': ..."]}
    with pytest.raises(SpecError, match=r"\(1, 577, 64\) \(the spec fits only 224x224, as its notes "
                                        r"say\)$"):
        netcalc.count(spec, "torch", 384)


def test_closed_form_in_h_and_w_equals_the_counts_at_five_sizes():
    """Degree 2 in the token count (h/16 * w/16): the closed form in h and w of the small ViT
    equals its concrete counts, square and rectangular, in every convention."""
    spec = small_vit(True)
    for convention in ("pycls", "fvcore", "torch"):
        form = count_symbolic(spec, convention, "hw")
        for hw in SIZES:
            assert form.accepts(hw)
            expected = netcalc.count(spec, convention, hw).totals()
            assert {q: form.evaluate(form.total(q), hw) for q in expected} == expected, hw


def test_a_fixed_spec_says_its_polynomial_form_needs_its_one_size():
    """The polynomial form of a spec that fits one size carries that condition too (it is not
    exact at every multiple of 16)."""
    text = render_table([count_symbolic(small_vit(False), "torch", "hw")], "total", ("flops",))
    assert ("polynomial form, exact when h and w are each a multiple of 16 and "
            "floor(h/16)*floor(w/16) + 1 = 197:") in text


# -- the shipped ViT-B/16 ------------------------------------------------------------------------
def test_shipped_vit_b_16_counts_the_traced_numbers():
    """specs/examples/vit_b_16.yaml at the five sizes equals the traces of timm's model."""
    spec = netcalc.load_spec(spec_path(VIT_B_16))
    for hw, (fv_flops, fv_acts, torch_flops) in TRACED.items():
        fvcore, torch_count = netcalc.count(spec, "fvcore", hw), netcalc.count(spec, "torch", hw)
        assert (fvcore.flops, fvcore.acts, torch_count.flops) == (fv_flops, fv_acts, torch_flops)
        assert fvcore.params == torch_count.params == PARAMS


# FlopCounterMode's flops of the traced model at the answer of ``solve --flops 100G --convention
# torch --multiple-of 16`` and at the next size the model accepts (it refuses 367: "Input height
# (367) should be divisible by patch size (16)")
SOLVED = {352: 91_630_436_352, 368: 101_011_402_752}


@pytest.mark.slow
def test_shipped_closed_form_equals_the_counts_at_five_sizes():
    spec = spec_path(VIT_B_16)
    for convention in ("pycls", "fvcore", "torch"):
        form = count_symbolic(spec, convention, "hw")
        for hw in SIZES:
            expected = netcalc.count(spec, convention, hw).totals()
            assert {q: form.evaluate(form.total(q), hw) for q in expected} == expected, hw


@pytest.mark.slow
def test_solve_answers_what_the_trace_measures():
    result = run_cli("solve", VIT_B_16, "--flops", "100G", "--convention", "torch",
                     "--multiple-of", "16", "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    within, over = answer["within"], answer["over"]
    assert (within["value"], over["value"]) == (352, 368)
    assert {352: within["flops"], 368: over["flops"]} == SOLVED
    assert SOLVED[352] <= 100e9 < SOLVED[368]


def traced_model(hw):
    """(fvcore flops, fvcore acts, FlopCounterMode flops) of timm's model at ``hw``."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from netcalc.torch.validate import MEASURES
    from trace_pins import vit_base_patch16_dynamic

    model = vit_base_patch16_dynamic().eval()
    x = torch.zeros(1, 3, *hw)
    with sdpa_kernel(SDPBackend.MATH):
        return tuple(MEASURES[name](model, (x,)).total
                     for name in ("fvcore.flops", "fvcore.acts", "torch.flops"))


@pytest.mark.slow
@pytest.mark.parametrize("hw", SIZES, ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_the_traced_numbers(hw):
    assert traced_model(hw) == TRACED[hw]


@pytest.mark.slow
@pytest.mark.parametrize("r", sorted(SOLVED))
def test_the_traced_numbers_at_the_solved_sizes(r):
    assert traced_model((r, r))[2] == SOLVED[r]


@pytest.mark.slow
def test_a_fresh_import_equals_the_shipped_spec(tmp_path):
    """netcalc import of the model today writes the shipped spec's layers (its comments aside)."""
    out = tmp_path / "vit.yaml"
    result = run_cli("import", "tests/trace_pins.py:vit_base_patch16_dynamic", "--resolution",
                     "224", "--name", "vit_b_16", "--out", str(out))
    assert result.returncode == 0, result.stderr
    fresh = yaml.safe_load(out.read_text())
    assert fresh == yaml.safe_load(open(spec_path(VIT_B_16)))


def test_the_page_states_the_closed_forms_shares():
    """docs/transformers.md: attention's share at 224 and 384 is the spec's sdpa layers' flops
    over the total (torch convention)."""
    text = open(os.path.join(ROOT, "docs", "transformers.md")).read()
    stated = re.search(r"at 224 x 224 \(L = 197\) attention is ([\d,]+) of ([\d,]+) flops "
                       r"\(([\d.]+) %\); at 384 x 384\n\(L = 577\) ([\d,]+) of ([\d,]+) \(([\d.]+) %\)",
                       text)
    assert stated, "the shares sentence of docs/transformers.md"
    spec = netcalc.load_spec(spec_path(VIT_B_16))
    for r, (part, total, share) in zip((224, 384), (stated.groups()[:3], stated.groups()[3:])):
        report = netcalc.count(spec, "torch", r)
        attention = sum(row["flops"] for row in report.breakdown("layer") if row["op"] == "sdpa")
        assert (int(part.replace(",", "")), int(total.replace(",", ""))) == (attention,
                                                                             report.flops)
        assert attention == 12 * 3072 * ((r // 16) ** 2 + 1) ** 2      # 12 layers of 3072 L^2
        assert share == f"{100 * attention / report.flops:.2f}"


# -- what the transformer sweep found ------------------------------------------------------------
def test_multi_query_attention_broadcasts_k_and_v_over_qs_heads():
    """MobileNetV5's attention: 8 query heads, one k and v head. FlopCounterMode's trace of
    F.scaled_dot_product_attention (math backend) of q (1, 8, 5, 6), k (1, 1, 7, 6),
    v (1, 1, 7, 3): 5,040 = 2 x 8 heads x 5 x 7 x (6 + 3)."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from netcalc.ops.attention import ScaledDotProductAttention, SdpaAttrs

    shapes = ((1, 8, 5, 6), (1, 1, 7, 6), (1, 1, 7, 3))
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(*(torch.zeros(s) for s in shapes))
    sdpa, attrs = ScaledDotProductAttention(), SdpaAttrs()
    assert sdpa.infer_shape(shapes, attrs) == tuple(out.shape) == (1, 8, 5, 3)
    assert sdpa.conditions(shapes, (1, 8, 5, 3), attrs) == ()
    assert sdpa.flops["torch"](shapes, (1, 8, 5, 3), attrs) == counter.get_total_flops() == 5_040
    with pytest.raises(GraphError, match="must share their batch dims"):
        sdpa.infer_shape(((1, 8, 5, 6), (1, 2, 7, 6), (1, 2, 7, 3)), attrs)


def test_reshape_as_imports_as_a_reshape():
    """LeViT's ``bn(x.flatten(0, 1)).reshape_as(x)``: a reshape to the other tensor's shape,
    written as a rule of the tokens."""
    tokens = Dim(196, "h//16 * w//16")
    node = convert("reshape_as", ((1, tokens, 64),), self=Tensor((tokens, 64)),
                   other=Tensor((1, tokens, 64)))
    assert node.op == "" and dict(node.attrs) == {"shape": [1, "d0", 64]}


def test_a_matmul_with_a_2d_parameter_imports_as_a_bias_free_linear():
    """SwiftFormer's additive attention, ``query @ self.w_g`` with w_g (D, 1)."""
    tokens = Dim(196, "h//16 * w//16")
    node = convert("matmul", ((1, tokens, 1),), self=Tensor((1, tokens, 48)),
                   other=Tensor((48, 1), PARAM, "w_g"))
    assert node.op == "linear" and dict(node.attrs) == {"out": 1, "bias": False}


@pytest.mark.slow
def test_a_matmul_with_a_parameter_counts_what_the_tools_trace():
    """A patch embedding, then tokens @ w (48, 5): netcalc import equals fvcore's
    and FlopCounterMode's traces, at the import size and at a rectangle."""
    import torch
    from torch import nn

    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    class Additive(nn.Module):
        def __init__(self):
            super().__init__()
            self.patches = nn.Conv2d(3, 48, 16, 16)
            self.w = nn.Parameter(torch.randn(48, 5))

        def forward(self, x):
            return self.patches(x).flatten(2).transpose(1, 2) @ self.w

    module = Additive().eval()
    spec, _ = import_checked(module, 64, "additive")
    assert [layer["op"] for layer in spec.raw["layers"]][-1] == "linear"
    for size in (64, (48, 80)):
        assert imported_totals(spec, size) == traced_totals(module, size)


def test_tokens_folded_back_into_a_grid_read_its_sizes_from_an_earlier_map():
    """``(1, 48, L) -> (1, 48, h/4, w/4)``: neither h/4 nor w/4 is a dim of the tokens, so the
    reshape names the earlier (1, 48, h/4, w/4) map as its second operand (SwiftFormer, SHViT)."""
    h, w = Dim(56, "h//4"), Dim(56, "w//4")
    grid = Tensor((1, 48, h, w), name="conv")
    view = aten_table(all_ops())["view"][1]
    node = view(call("view", ((1, 48, h, w),), lambda sizes: grid if sizes == (h, w) else None,
                     self=Tensor((1, 48, Dim(3136, "h//4*w//4"))), size=(1, 48, h, w)))
    assert dict(node.attrs) == {"shape": [1, 48, "d2", "d3"]} and node.inputs[1] is grid
    spec = {"family": "graph", "name": "fold", "resolution": 64, "layers": [
        {"op": "conv", "out": 8, "kernel": 4, "stride": 4, "padding": 0, "name": "grid"},
        {"op": "flatten", "start_dim": 2, "name": "tokens"},
        {"op": "reshape", "inputs": ["tokens", "grid"], "shape": [1, 8, "d2", "d3"], "name": "fold"},
        {"op": "add", "with": "grid"}]}
    for hw in ((64, 64), (48, 80)):
        shapes = {layer.name: layer.shape for layer in netcalc.expand(spec, hw).layers}
        assert shapes["fold"] == (1, 8, hw[0] // 4, hw[1] // 4)


@pytest.mark.slow
def test_a_fold_back_imports_for_every_size():
    """A token mixer between two convs, tokens reshaped back with the grid's own h and w: the
    import counts what fvcore and FlopCounterMode trace at the import size and at odd sizes."""
    import torch
    from torch import nn

    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    class Folded(nn.Module):
        def __init__(self):
            super().__init__()
            self.patches = nn.Conv2d(3, 16, 4, 4)
            self.mix = nn.Linear(16, 16)
            self.head = nn.Conv2d(16, 8, 3, padding=1)

        def forward(self, x):
            grid = self.patches(x)
            n, c, h, w = grid.shape
            tokens = self.mix(grid.flatten(2).transpose(1, 2))
            return self.head(tokens.transpose(1, 2).reshape(n, c, h, w))

    module = Folded().eval()
    spec, _ = import_checked(module, 64, "folded")
    assert not any(note.startswith("fits only") for note in spec.raw["notes"])
    for size in (64, (49, 83)):
        assert imported_totals(spec, size) == traced_totals(module, size)
