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
    """A group norm without bias (PoolFormer v2's GroupNorm1NoBias), then tokens through an RMS
    norm (deepseek_vit, EVA-02) and a layer norm without bias, each with and without a learned
    weight."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.gn = nn.GroupNorm(1, 8, bias=False)
        self.rms = nn.RMSNorm(8)
        self.rms_plain = nn.RMSNorm(8, elementwise_affine=False)
        self.ln = nn.LayerNorm(8, bias=False)
        self.ln_plain = nn.LayerNorm(8, elementwise_affine=False, bias=False)

    def forward(self, x):
        x = self.gn(self.conv(x)).flatten(2).transpose(1, 2)
        return self.ln_plain(self.ln(self.rms_plain(self.rms(x))))


@pytest.mark.slow
def test_rms_norm_and_norms_without_bias():
    spec = assert_as_traced(Norms(), ((16, 16), (20, 28)))
    assert ops(spec).count("rms_norm") == 2 and ops(spec).count("layer_norm") == 2
    # 16 tokens of 8: the conv 16*8*48 MACs (acts 128); fvcore has no handle for rms_norm (0) and
    # prices the group norm and each layer norm 5 per element with a weight, 4 without:
    # 14 * 128. Params: the conv 8*48 + 8, the group norm's, one RMS and one layer-norm weight
    # of 8 each
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 48 + 14 * 128, 128, 392 + 24)
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


class GatedMix(nn.Module):
    """ConViT's gating, ``(1 - sigmoid(gate)) * a + sigmoid(gate) * b``, here of the sine and
    cosine of the tokens: ``rsub`` of a number and a tensor computed from a parameter."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.gate = nn.Parameter(torch.rand(2))

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2).unflatten(2, (2, 4))
        gate = torch.sigmoid(self.gate).view(1, 1, 2, 1)
        return (1.0 - gate) * x.sin() + gate * x.cos()


def test_rsub_sin_and_cos_cost_nothing():
    spec = assert_as_traced(GatedMix(), ((16, 16), (20, 28)))
    assert {"neg", "sin", "cos"} <= set(ops(spec))
    # the conv alone counts (16*8*48 MACs, 128 acts); params its 392 and the gate's 2
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 48, 128, 394)


class WindowsOfBlocks(nn.Module):
    """HaloNet's key-value blocks: ``Tensor.unfold`` over h and w (windows of 4 every 2), then a
    linear layer over the last window dim."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, 2)
        self.linear = nn.Linear(4, 5)

    def forward(self, x):
        return self.linear(self.conv(x).unfold(2, 4, 2).unfold(3, 4, 2))


@pytest.mark.slow
def test_unfold_windows_follow_the_resolution():
    spec = assert_as_traced(WindowsOfBlocks(), ((16, 16), (20, 28)))
    assert ops(spec).count("unfold") == 2
    # at 16: the conv's 8x8 map of 8 channels (12 MACs each: 6,144) gives (8 - 4) // 2 + 1 = 3
    # windows a side: (1, 8, 3, 3, 4, 4), 1,152 elements, each 4-row times 5 (5,760 MACs) into
    # 1,440 outputs; at 20x28 the 10x14 map gives 4 x 6 windows. Params 104 + 25
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (6144 + 5760, 512 + 1440, 129)
    assert netcalc.count(spec, "fvcore", (20, 28)).acts == 8 * 10 * 14 + 8 * 4 * 6 * 4 * 5


class TiledWindowEmbedding(nn.Module):
    """SAM2's Hiera position embedding: a learned 2x2 window embedding tiled over the token
    grid (its counts follow the input) and added to a learned embedding resized to the grid; and
    GC ViT's global query (here: the first window, a row of tokens) repeated for every window
    (``repeat_interleave`` by a count that follows the input)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.pos_embed = nn.Parameter(torch.rand(1, 8, 3, 3))
        self.pos_embed_window = nn.Parameter(torch.rand(1, 8, 2, 2))

    def forward(self, x):
        x = self.conv(x)
        h, w = x.shape[-2:]
        pos = F.interpolate(self.pos_embed, size=(h, w), mode="bicubic")
        pos = pos + self.pos_embed_window.tile([a // b for a, b in zip(
            pos.shape, self.pos_embed_window.shape)])
        x = x + pos + x[:, :, :1].tile(1, 1, h, 1)         # the first row over every row
        windows = x.transpose(1, 2).flatten(0, 1)          # a window per row: (h, 8, w)
        query = windows[:1].repeat_interleave(windows.shape[0], dim=0)
        return windows @ query.transpose(1, 2)


@pytest.mark.slow
def test_tile_and_repeat_interleave_by_counts_that_follow_the_input():
    spec = assert_as_traced(TiledWindowEmbedding(), ((16, 16), (24, 40)))
    # the window embedding is tiled from one parameter alone: a resampled param_add of it
    layers = {layer["op"]: layer for layer in spec.raw["layers"]}
    assert layers["param_add"]["param_shape"] == [1, 8, 2, 2]
    assert layers["repeat"]["repeats"] == [1, 1, "d2", 1]
    # the rows' count is dim 1 of the first tensor ending in (h, 8, w): (1, h, 8, w)
    assert layers["repeat_interleave"]["repeats"] == "d1"
    # at 16: a 4x4 grid, 4 windows (rows) of 4 tokens of 8: the matmul 4*8*8*4 = 1,024 MACs (fvcore
    # and FlopCounterMode), 256 outputs; the conv 16*8*48. Params: the conv 392 and the two
    # learned embeddings 72 + 32, each once
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 48 + 1024, 128 + 256, 496)


class WeightedHeads(nn.Module):
    """EfficientViM's head: outputs of two linear heads weighted by the entries of a learned
    softmax, each entry ``weights[i]`` a 0-d tensor."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.heads = nn.ModuleList([nn.Linear(8, 5), nn.Linear(8, 5)])
        self.weights = nn.Parameter(torch.rand(2))

    def forward(self, x):
        x = self.conv(x).mean((2, 3))
        weights = self.weights.softmax(-1)
        return sum(weights[i] * head(x) for i, head in enumerate(self.heads))


def test_an_entry_of_a_vector_is_a_0d_reshape():
    spec = assert_as_traced(WeightedHeads(), ((16, 16), (20, 28)))
    assert {"shape": []}.items() <= next(
        layer for layer in spec.raw["layers"] if layer["op"] == "reshape").items()
    # the conv 16*8*48 MACs and the two heads 8*5 each; acts 128 + 5 + 5; params 392, 2 * 45, 2
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 48 + 80, 138, 484)


class TableProducts(nn.Module):
    """MViTv2's relative-position terms: an einsum of the tokens with a learned table, and a
    matmul with a tensor computed from a parameter (the table transposed and scaled)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.table = nn.Parameter(torch.rand(4, 8))

    def forward(self, x):
        tokens = self.conv(x).flatten(2).transpose(1, 2)
        return torch.einsum("blc,kc->blk", tokens, self.table) + tokens @ (self.table.t() * 2)


def test_einsum_and_matmul_of_a_tensor_computed_from_a_parameter():
    spec = assert_as_traced(TableProducts(), ((16, 16), (20, 28)))
    # the table read as (4, 8) and, transposed, as (8, 4): its second param node shares the first's
    tables = [layer for layer in spec.raw["layers"] if layer["op"] == "param"]
    assert [layer.get("shares") for layer in tables] == [None, tables[0]["name"]]
    # 16 tokens: the conv 16*8*48 MACs, the einsum and the matmul 16*4*8 each (fvcore prices
    # numpy's 2 * 512 path cost // 2, exactly); acts 128 + 64 + 64; params 392 + 32 (once)
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 48 + 2 * 512, 256, 424)


class PaddedWindows(nn.Module):
    """Swin's and EfficientViT-M's window padding: a (1, H, W, C) map padded after H and W up to
    multiples of a 3-token window, then a linear layer per token."""

    def __init__(self, window=3):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.linear = nn.Linear(8, 5)
        self.window = window

    def forward(self, x):
        x = self.conv(x).permute(0, 2, 3, 1)
        _, h, w, _ = x.shape
        pad_h, pad_w = (self.window - h % self.window) % self.window, (
            self.window - w % self.window) % self.window
        return self.linear(F.pad(x, (0, 0, 0, pad_w, 0, pad_h)))


def test_padding_up_to_a_multiple_of_a_window():
    spec = assert_as_traced(PaddedWindows(), ((16, 16), (20, 36), (36, 28)))
    pad = next(layer for layer in spec.raw["layers"] if layer["op"] == "pad")
    assert pad["pad"] == {"mode": "multiple", "of": [1, 3, 3]}
    # at 16: a 4x4 map padded to 6x6, 36 tokens through the linear layer (8*5 MACs each); at
    # 20x36: 5x9 padded to 6x9, 54 tokens
    for size, tokens in (((16, 16), 36), ((20, 36), 54)):
        fvcore = netcalc.count(spec, "fvcore", size)
        conv = size[0] // 4 * size[1] // 4 * 8 * 48
        assert (fvcore.flops, fvcore.acts) == (conv + tokens * 40, conv // 48 + tokens * 5)


class TableBiasedAttention(nn.Module):
    """CoAtNet's (MaxViT's) attention: a relative-position bias looked up in a learned table by
    a buffer of indices, passed to the fused attention as its mask."""

    def __init__(self, tokens=16):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.table = nn.Parameter(torch.rand(7, 2))
        self.register_buffer("index", torch.randint(0, 7, (tokens * tokens,)))
        self.tokens = tokens

    def forward(self, x):
        q = self.conv(x).flatten(2).transpose(1, 2).unflatten(2, (2, 4)).transpose(1, 2)
        bias = self.table[self.index].view(self.tokens, self.tokens, 2).permute(2, 0, 1)
        return F.scaled_dot_product_attention(q, q, q, attn_mask=bias.unsqueeze(0))


def test_an_attention_mask_looked_up_in_a_learned_table_counts_its_parameters():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    module = TableBiasedAttention().eval()
    with sdpa_kernel(SDPBackend.MATH):
        spec, _ = import_checked(module, (16, 16))
        assert imported_totals(spec, (16, 16)) == traced_totals(module, (16, 16))
    sdpa = next(layer for layer in spec.raw["layers"] if layer["op"] == "sdpa")
    assert len(sdpa["inputs"]) == 4
    # params: the conv 392 and the table's 14 (the index is a buffer); FlopCounterMode: the conv
    # 2*16*8*48 and attention 2*2*16*16*(4 + 4) over 2 heads of 4 (fvcore: no handle)
    torch_count = netcalc.count(spec, "torch", (16, 16))
    assert (torch_count.params, torch_count.flops) == (406, 2 * 16 * 8 * 48 + 2 * 2 * 256 * 8)


class OutlookWindows(nn.Module):
    """VOLO's outlook attention in outline: every 3x3 window of the map as a column
    (``F.unfold``), a linear layer over the window's taps, and the columns summed back into the
    map (``F.fold`` to the map's own size)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, 2)
        self.linear = nn.Linear(9, 9)

    def forward(self, x):
        x = self.conv(x)
        h, w = x.shape[-2:]
        columns = F.unfold(x, 3, padding=1, stride=2)             # (1, 8 * 9, L)
        columns = self.linear(columns.unflatten(1, (8, 9)).transpose(2, 3)).transpose(2, 3)
        return F.fold(columns.flatten(1, 2), (h, w), 3, padding=1, stride=2)


@pytest.mark.slow
def test_im2col_and_col2im_follow_the_resolution():
    spec = assert_as_traced(OutlookWindows(), ((16, 16), (20, 28)))
    assert {"im2col", "col2im"} <= set(ops(spec))
    # at 16: the conv's 8x8 map of 8 channels (12 MACs each: 6,144); windows every 2 with
    # padding 1: 4 x 4 = 16 positions, 8 * 16 columns of 9 taps through the linear layer
    # (81 MACs each: 10,368), 8 * 16 * 9 outputs; params 104 + 90
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (6144 + 10_368, 512 + 1152, 194)


class CumulativePositions(nn.Module):
    """EdgeNeXt's and XCiT's Fourier position encoding in outline: positions counted with
    ``cumsum`` (an op netcalc lacks) over a grid of ones of the map's size, their sines and
    cosines projected by a 1x1 conv and added; the same sines and cosines, repeated, also
    multiply the map (a rotary embedding's role)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.projection = nn.Conv2d(2, 8, 1)

    def forward(self, x):
        x = self.conv(x)
        rows = x.new_ones(1, *x.shape[-2:]).cumsum(1)
        waves = torch.stack((rows.sin(), rows.cos()), 1)            # (1, 2, h, w)
        return x * waves.repeat(1, 4, 1, 1) + self.projection(waves)


@pytest.mark.slow
def test_a_constant_computed_by_ops_netcalc_lacks_is_one_constant_node():
    spec = assert_as_traced(CumulativePositions(), ((16, 16), (20, 28)))
    # the counted rows are one constant node; the sines, cosines and the rest read it
    assert ops(spec)[:4] == ["conv", "constant", "sin", "cos"]
    # at 16: the conv 16*8*48 MACs, the projection of the constant 16*8*2 (fvcore and
    # FlopCounterMode count a conv of a constant too); acts 2 * 128; params 392 + 24
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * (48 + 2), 256, 416)


class NoPrefixTokens(nn.Module):
    """Qwen3-ViT's rotary step with no prefix tokens: ``cat([q[:, :0], rotated(q[:, 0:])])``,
    the first part empty."""

    def __init__(self, prefix=0):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.prefix = prefix

    def forward(self, x):
        q = self.conv(x).flatten(2).transpose(1, 2)
        return torch.cat([q[:, :self.prefix], q[:, self.prefix:].sin()], dim=1)


def test_an_empty_slice_is_no_node_and_adds_nothing_to_a_concat():
    spec = assert_as_traced(NoPrefixTokens(), ((16, 16), (20, 28)))
    # the slice of no tokens leaves no node, the concat of the rest alone none either
    assert "concat" not in ops(spec) and netcalc.count(spec, "fvcore", (16, 16)).flops == 16 * 8 * 48


class ClampedLinear(nn.Module):
    """Gemma 4's clamped projection: the input and the output of a linear layer clamped between
    scalar buffers (±inf until a checkpoint sets them)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.linear = nn.Linear(8, 5)
        for name, value in (("input_min", -1.0), ("input_max", 1.0), ("output_min", -2.0)):
            self.register_buffer(name, torch.tensor(value))

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        x = self.linear(torch.clamp(x, self.input_min, self.input_max))
        return torch.clamp(x, min=self.output_min)


def test_a_clamp_between_buffers_reads_them_as_operands():
    spec = assert_as_traced(ClampedLinear(), ((16, 16), (20, 28)))
    clamps = [layer for layer in spec.raw["layers"] if layer["op"] == "clamp"]
    assert [len(layer["inputs"]) for layer in clamps] == [3, 2]
    # the conv 16*8*48 and the linear 16*8*5 MACs, acts 128 + 80, params 392 + 45 (the bounds
    # are buffers)
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * 53, 208, 437)


class RelativeRows(nn.Module):
    """SAM's and MViTv2's decomposed relative position: a learned table looked up by relative
    coordinates computed in forward from aranges (no index buffer), then an einsum of the
    queries with it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 4, 4)
        self.table = nn.Parameter(torch.rand(7, 2))

    def forward(self, x):
        q = self.conv(x).permute(0, 2, 3, 1)                       # (1, 4, 4, 2) at 16 px
        coords = torch.arange(4)
        relative = self.table[(coords[:, None] - coords[None, :] + 3).long()]    # (4, 4, 2)
        return torch.einsum("bhwc,hkc->bhwk", q, relative)


def test_a_table_indexed_by_coordinates_computed_in_forward():
    spec = assert_as_traced(RelativeRows(), ((16, 16),))
    assert "index" in ops(spec) and ops(spec).count("param") == 1
    # the conv 16*2*48 MACs; the einsum 4*4*4*2 = 128 (numpy's path cost 256 // 2), acts 32 + 64;
    # params: the conv 98 and the table's 14
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 2 * 48 + 128, 96, 112)


class RotaryGrid(nn.Module):
    """DINOv3's rotary embedding in outline: a grid of patch coordinates from float aranges
    (``torch.arange(0.5, h)``: its size a rule written unlike the patch grid's, equal to it at
    every size) and ``meshgrid`` (an op netcalc lacks), its cosines and sines multiplying the
    tokens."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)

    def forward(self, x):
        x = self.conv(x)
        h, w = x.shape[-2:]
        rows, cols = torch.meshgrid(torch.arange(0.5, h), torch.arange(0.5, w), indexing="ij")
        angles = torch.stack((rows, cols), -1).flatten(0, 1).repeat(1, 4)      # (h * w, 8)
        tokens = x.flatten(2).transpose(1, 2)
        return tokens * angles.cos() + tokens * angles.sin()


@pytest.mark.slow
def test_a_rotary_grid_follows_the_patch_grid_its_size_rule_equals():
    spec = assert_as_traced(RotaryGrid(), ((16, 16), (20, 28)))
    grids = [layer for layer in spec.raw["layers"] if layer["op"] == "constant"]
    assert [layer["shape"] for layer in grids] == [["d2", "d3"]] * 2     # the conv's h and w
    assert netcalc.count(spec, "fvcore", (20, 28)).flops == 5 * 7 * 8 * 48


class OneHotPositions(nn.Module):
    """Gemma 4's position embedding: token positions as one-hot rows (``F.one_hot``, an op
    netcalc lacks) times a learned table, a product of a parameter that both tools price (not a
    resize of it)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.table = nn.Parameter(torch.rand(64, 8))

    def forward(self, x):
        tokens = self.conv(x).flatten(2).transpose(1, 2)
        positions = F.one_hot(torch.arange(tokens.shape[1]), 64).float()
        return tokens + positions @ self.table


@pytest.mark.slow
def test_a_product_of_a_parameter_is_counted_not_taken_for_a_resize():
    spec = assert_as_traced(OneHotPositions(), ((16, 16), (20, 28)))
    # the product by the 2-D table is the bias-free linear layer it equals
    assert "param_add" not in ops(spec) and ops(spec)[-2:] == ["linear", "add"]
    # 16 tokens: the conv 16*8*48 and the product 16*64*8 MACs; acts 128 + 128; params 392 + 512
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (16 * 8 * (48 + 64), 256, 904)


class ClassTokenUpdated(nn.Module):
    """CaiT's class-attention block in outline: the class token joined to the tokens (a cat)
    and updated by an add, two ops reading one parameter."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.cls_token = nn.Parameter(torch.rand(1, 1, 8))
        self.linear = nn.Linear(8, 8)

    def forward(self, x):
        tokens = self.conv(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        joined = torch.cat((cls, tokens), dim=1)
        return cls + self.linear(joined).mean(1, keepdim=True)


def test_a_parameter_two_ops_read_is_one_param_node():
    spec = assert_as_traced(ClassTokenUpdated(), ((16, 16), (20, 28)))
    assert ops(spec).count("param") == 1 and {"concat", "add"} <= set(ops(spec))
    # 17 tokens through the linear layer (8*8 MACs each), the conv 16*8*48; params: the conv
    # 392, the class token 8 (once), the linear 72
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.params) == (16 * 8 * 48 + 17 * 64, 472)


class FourierPositions(nn.Module):
    """XCiT's position encoding: a grid of the patch grid's size built in forward from
    ``arange(1, h + 1)`` and ``arange(1, w + 1)`` (each repeated across the other side), sin and
    cos of it, then a learned 1x1 conv, added to the tokens."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.project = nn.Conv2d(4, 8, 1)

    def forward(self, x):
        x = self.patch(x)
        h, w = x.shape[2:]
        rows = torch.arange(1, h + 1).float().unsqueeze(1).repeat(1, 1, w)
        cols = torch.arange(1, w + 1).float().repeat(1, h, 1)
        grid = torch.cat([rows.sin(), rows.cos(), cols.sin(), cols.cos()]).unsqueeze(0)
        return (x + self.project(grid)).flatten(2)


def test_a_position_grid_built_from_the_patch_grids_sides_follows_the_resolution():
    spec = assert_as_traced(FourierPositions(), ((16, 16), (20, 28)))
    # each arange (the rows' one unsqueezed) is a constant sized by the patch grid's side (the
    # patch conv's output), and its repeat grows to the grid's other side, read from the grid
    constants = [layer["shape"] for layer in spec.raw["layers"] if layer["op"] == "constant"]
    assert constants == [["d2", 1], ["d3"]]
    repeats = [layer["repeats"] for layer in spec.raw["layers"] if layer["op"] == "repeat"]
    assert repeats == [[1, 1, "d3"], [1, "d2", 1]]
    # at 20x28 the grid is 5x7: the patch conv 35*8*48 and the projection 35*8*4 MACs (fvcore)
    assert netcalc.count(spec, "fvcore", (20, 28)).flops == 35 * 8 * 48 + 35 * 8 * 4


class RelativePositions(nn.Module):
    """MViTv2's relative positions: keys pooled to a grid half the queries', a learned table
    looked up by the distances between the two grids' rows (built in forward from their sizes),
    and the attention viewed as (1, qh, qw, kh, kw) to add them, written back in place."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.pool = nn.Conv2d(8, 8, 2, 2)
        self.table = nn.Parameter(torch.rand(64, 8))

    def forward(self, x):
        q = self.patch(x)
        k = self.pool(q)
        (qh, qw), (kh, kw) = q.shape[2:], k.shape[2:]
        attn = q.flatten(2).transpose(1, 2) @ k.flatten(2)
        distance = torch.arange(qh)[:, None] - torch.arange(kh)[None, :] + kh - 1
        rows = torch.einsum("bhwc,hkc->bhwk", q.permute(0, 2, 3, 1), self.table[distance])
        attn[:, :] = (attn.view(1, qh, qw, kh, kw) + rows[..., None]).view(1, qh * qw, kh * kw)
        return attn.softmax(-1)


def test_relative_positions_between_two_grids_follow_the_resolution():
    spec = assert_as_traced(RelativePositions(), ((16, 16), (20, 28)))
    layers = {layer["name"]: layer for layer in spec.raw["layers"]}
    # the index is (qh, kh): the queries' grid's height (dim 1 of the permuted queries), then
    # the keys' (dim 2 of the pooled grid, after the queries' 4 dims)
    assert layers["index-2"]["inputs"][1:] == ["permute", "pool"]
    assert layers["index-2"]["index_shape"] == ["d1", "d6"]
    # the view's (qh, qw, kh) are the einsum's last three dims, kw the pooled grid's last
    assert layers["view"]["inputs"] == ["matmul", "einsum", "pool"]
    assert layers["view"]["shape"] == [1, "d1", "d2", "d3", "d7"]
    # at 20x28: queries 5x7, keys 2x3 (35 and 6 tokens). fvcore's MACs: the patch conv 35*8*48,
    # the pool 6*8*32, q @ k 35*6*8, the einsum 5*7*2*8 (the adds and the copy cost nothing)
    assert netcalc.count(spec, "fvcore", (20, 28)).flops == (
        35 * 8 * 48 + 6 * 8 * 32 + 35 * 6 * 8 + 5 * 7 * 2 * 8)


class Float32Attention(nn.Module):
    """EfficientViT's linear attention, computed in float32 under ``torch.autocast(...,
    enabled=False)``: torch.export keeps the block as a higher-order call of a subgraph."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)

    def forward(self, x):
        tokens = self.patch(x).flatten(2)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=False):
            context = tokens.float() @ tokens.transpose(1, 2).float()
        with torch.set_grad_enabled(False):
            return context @ tokens


def test_blocks_under_autocast_or_set_grad_enabled_are_their_ops():
    spec = assert_as_traced(Float32Attention(), ((16, 16), (20, 28)))
    assert ops(spec).count("matmul") == 2
    # at 20x28, 35 tokens of 8: the patch conv 35*8*48, then (8 x 35) @ (35 x 8) and
    # (8 x 8) @ (8 x 35): 8*8*35 MACs each (fvcore)
    assert netcalc.count(spec, "fvcore", (20, 28)).flops == 35 * 8 * 48 + 2 * 8 * 8 * 35


class UpsampledAndCropped(nn.Module):
    """LowFormer's attention output: a map upsampled by a transposed conv, which overshoots an
    odd side, cropped back to the block input's sides with ``o[..., :H, :W]``."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 2, 2)
        self.down = nn.Conv2d(8, 8, 3, 2, 1)
        self.up = nn.ConvTranspose2d(8, 8, 4, 2, 1, groups=8)

    def forward(self, x):
        x = self.patch(x)
        h, w = x.shape[-2:]
        return x + self.up(self.down(x))[..., :h, :w]


def test_a_map_cropped_to_an_earlier_maps_sides():
    spec = assert_as_traced(UpsampledAndCropped(), ((16, 16), (18, 30)))
    crops = [layer for layer in spec.raw["layers"] if layer["op"] == "slice"]
    assert [(c["inputs"][1], c["stop"]) for c in crops] == [("patch", "d2"), ("patch", "d3")]
    # at 18x30 the map is 9x15, halved to 5x8 and upsampled to 10x16 before the crop: fvcore's
    # MACs are the patch conv 135*8*12, the down conv 40*8*72 and the transposed conv, which
    # fvcore prices per input element, 40*8*16
    assert netcalc.count(spec, "fvcore", (18, 30)).flops == 135 * 96 + 40 * 576 + 40 * 128


class NaFlexPatches(nn.Module):
    """NaFlexViT's patch embedding: the image cut into 4x4 patches by a view and a permute (no
    map of the patch grid's shape ever exists), a linear layer, and a learned 3x3 grid of
    position embeddings resized to the patch grid with antialiased bicubic interpolation."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(48, 8)
        self.positions = nn.Parameter(torch.rand(1, 8, 3, 3))

    def forward(self, x):
        gh, gw = x.shape[2] // 4, x.shape[3] // 4
        patches = x.view(1, 3, gh, 4, gw, 4).permute(0, 2, 4, 3, 5, 1)
        tokens = self.embed(patches.reshape(1, gh * gw, 48))
        grid = F.interpolate(self.positions, size=(gh, gw), mode="bicubic", antialias=True)
        return tokens + grid.flatten(2).transpose(1, 2)


def test_a_position_grid_resized_to_a_patch_grid_only_a_view_holds():
    spec = assert_as_traced(NaFlexPatches(), ((16, 16), (20, 28)))
    resize = next(layer for layer in spec.raw["layers"] if layer["op"] == "upsample")
    # the grid's sides are dims 1 and 2 of the permuted patches, (1, gh, gw, 4, 4, 3)
    assert (resize["mode"], resize["size"], resize["inputs"][1]) == ("bicubic", ["d1", "d2"],
                                                                      "permute")
    # at 20x28, 35 patches: the linear 35*8*48 MACs in fvcore; the resize costs nothing in
    # either tool; params the linear 392 and the grid 72
    fvcore = netcalc.count(spec, "fvcore", (20, 28))
    assert (fvcore.flops, fvcore.params) == (35 * 8 * 48, 392 + 72)


class Float32RmsNorm(nn.Module):
    """timm's ``RmsNormFp32`` (DeepSeek's ViT): ``rms_norm(x.float(), ..., self.weight.float())``,
    where torch.export checks the weight's dtype before the cast (an assertion that reads it)."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.weight = nn.Parameter(torch.rand(8))

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        return F.rms_norm(tokens.float(), (8,), self.weight.float(), 1e-6)


def test_a_weight_cast_to_float32_is_still_the_norms_parameter():
    spec = assert_as_traced(Float32RmsNorm(), ((16, 16), (20, 28)))
    norm = next(layer for layer in spec.raw["layers"] if layer["op"] == "rms_norm")
    assert norm.get("elementwise_affine", True) is True
    # params: the conv 392 and the norm's weight 8; the norm costs no flops in either tool
    fvcore = netcalc.count(spec, "fvcore", (20, 28))
    assert (fvcore.flops, fvcore.params) == (35 * 8 * 48, 392 + 8)


class FixedBasis(nn.Module):
    """CSATv2's DCT stem, in small: a map upsampled to the sides of an earlier 5-D tensor (no map
    of that size exists), then a linear layer whose weight is a fixed buffer, not a parameter."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 3, 4, 4, bias=False)
        self.register_buffer("basis", torch.rand(5, 3))

    def forward(self, x):
        half = x.reshape(1, 3, 1, *x.shape[2:])[..., ::2, ::2]
        up = F.interpolate(self.down(x), size=half.shape[-2:], mode="bilinear")
        return F.linear(up.flatten(2).transpose(1, 2), self.basis)


def test_a_linear_by_a_buffer_and_an_upsample_to_a_5d_tensors_sides():
    spec = assert_as_traced(FixedBasis(), ((16, 16), (20, 28)))
    layers = {layer["op"]: layer for layer in spec.raw["layers"]}
    assert layers["upsample"]["size"] == ["d3", "d4"]
    # the buffer is a constant node (no params), transposed, then the matmul's second operand
    constant, transposed, product = spec.raw["layers"][-3:]
    assert [constant["op"], transposed["op"], product["op"]] == ["constant", "transpose",
                                                                 "matmul"]
    assert constant["shape"] == [5, 3] and product["inputs"][1] == transposed["name"]
    # at 20x28: the conv 5*7*3*48 MACs, the bilinear upsample to 10x14 fvcore's 4 per output
    # 3*10*14*4, the linear by the buffer 140 rows * 3 * 5; params: the conv's 144 only
    fvcore = netcalc.count(spec, "fvcore", (20, 28))
    assert (fvcore.flops, fvcore.params) == (35 * 3 * 48 + 3 * 140 * 4 + 140 * 3 * 5, 144)


class FactoredPositions(nn.Module):
    """NaFlexViT's factored position embedding: a row table and a column table, each resized to
    the patch grid's side by 1D linear interpolation, added as a (1, h, 1, C) column and a
    (1, 1, w, C) row that broadcast to the grid."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.rows = nn.Parameter(torch.rand(1, 3, 8))
        self.cols = nn.Parameter(torch.rand(1, 3, 8))

    def forward(self, x):
        grid = self.patch(x).permute(0, 2, 3, 1)
        gh, gw = grid.shape[1:3]
        rows = F.interpolate(self.rows.transpose(1, 2), size=gh, mode="linear").transpose(1, 2)
        cols = F.interpolate(self.cols.transpose(1, 2), size=gw, mode="linear").transpose(1, 2)
        return grid + (rows.unsqueeze(2) + cols.unsqueeze(1))


def test_row_and_column_tables_resized_by_1d_linear_interpolation():
    spec = assert_as_traced(FactoredPositions(), ((16, 16), (20, 28)))
    resizes = [layer for layer in spec.raw["layers"] if layer["op"] == "upsample"]
    # each table's length is a side of an earlier map (its second operand): the rows' the grid's
    # height (dim 1 of the channel-last grid), the columns' its width (dim 3 of the conv's map)
    assert [(r["mode"], r["size"]) for r in resizes] == [("linear", ["d1"]), ("linear", ["d3"])]
    assert [r["inputs"][1] for r in resizes] == ["permute", "patch"]
    # the tables are param nodes (24 params each), the conv 392; fvcore prices neither the 1D
    # interpolation nor the adds: at 20x28 only the conv, 35*8*48 MACs
    fvcore = netcalc.count(spec, "fvcore", (20, 28))
    assert (fvcore.flops, fvcore.params) == (35 * 8 * 48, 392 + 2 * 24)


class LatentQueryPool(nn.Module):
    """timm's attention pool (``attn_pool`` of SigLIP-style ViTs): a learned latent query attends
    over the tokens, fused ``scaled_dot_product_attention`` with a parameter as its query."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.latent = nn.Parameter(torch.rand(1, 1, 8))
        self.kv = nn.Linear(8, 16)

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        k, v = self.kv(tokens).unsqueeze(1).chunk(2, dim=-1)
        return F.scaled_dot_product_attention(self.latent.unsqueeze(1), k, v)


def test_attention_with_a_learned_query_counts_its_parameters():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    # the math backend: FlopCounterMode has no formula for CPU's fused kernel (0)
    with sdpa_kernel(SDPBackend.MATH):
        spec = assert_as_traced(LatentQueryPool(), ((16, 16), (20, 28)))
    sdpa = next(layer for layer in spec.raw["layers"] if layer["op"] == "sdpa")
    assert len(sdpa["inputs"]) == 3
    # at 20x28, 35 tokens: FlopCounterMode's attention is 2 * (1 * 35 * 8) * 2 = 1,120 flops
    # (q @ k^T and the weights @ v), beside the conv 2*35*8*48 and the linear 2*35*8*16; the
    # latent's 8 params count once
    torch_counts = netcalc.count(spec, "torch", (20, 28))
    assert torch_counts.flops == 2 * 35 * 8 * 48 + 2 * 35 * 8 * 16 + 2 * 35 * 8 * 2
    assert torch_counts.params == 392 + 8 + 144


class PadWhereNeeded(nn.Module):
    """CPU-Bone's attention input: padded up to a multiple of 4 only where a side needs it
    (``if pad_h or pad_w``): at 16 x 16 the code runs without the pad, and torch.export records
    that check as a guard on the sides, not as a range."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 2, 2)
        self.down = nn.Conv2d(8, 8, 4, 4)

    def forward(self, x):
        x = self.patch(x)
        pad_h, pad_w = (-x.shape[2]) % 4, (-x.shape[3]) % 4
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        return self.down(x)


def test_a_size_check_that_fails_elsewhere_is_checked_by_a_capture_there():
    # captured at 16 x 16 without the pad; at the sizes of other residues the recorded check
    # fails, a capture there counts otherwise (with the pad), so the spec of 16 x 16 is held to
    # it and the import takes the capture of such a size, which counts the same at 16 x 16
    spec = assert_as_traced(PadWhereNeeded(), ((16, 16), (18, 30), (22, 26), (32, 40)))
    assert spec.raw["notes"][0].startswith("size rules from a capture at ")
    assert "pad" in ops(spec) and "resolution_range" not in spec.raw
    # at 18 x 30 the map is 9 x 15, padded to 12 x 16: the down conv 3*4*8*128 MACs (fvcore)
    # after the patch conv 9*15*8*12
    assert netcalc.count(spec, "fvcore", (18, 30)).flops == 3 * 4 * 8 * 128 + 9 * 15 * 8 * 12


class DifferentialMix(nn.Module):
    """timm's DiffAttention: a weight computed from parameters in forward (``exp(sum(q1 * k1))
    - exp(sum(q2 * k2))``), cast like the queries with ``type_as``, scales one of two maps."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.lambda_q, self.lambda_k = nn.Parameter(torch.randn(4)), nn.Parameter(torch.randn(4))

    def forward(self, x):
        q = self.conv(x).flatten(2)
        weight = torch.exp(torch.sum(self.lambda_q * self.lambda_k, dim=-1)).type_as(q)
        return q.relu() - weight * q.sigmoid()


def test_a_cast_like_another_tensor_is_the_cast_tensor():
    # type_as(q) is the weight in q's dtype, not q: before, the import read q there, and the
    # spec of timm's vit_dwee_patch16_reg1_gap_256 failed to load (a mul of two maps of
    # different shapes); the weight is one value, so the mul is elementwise over the map
    spec = assert_as_traced(DifferentialMix(), ((16, 16), (19, 26)))
    assert netcalc.count(spec, "torch", (16, 16)).params == 8 * 48 + 8 + 4 + 4



class RelativePositionLookup(nn.Module):
    """lambda_resnet26rpt's relative positions in outline: a (7, 7, 4) table indexed by two
    index buffers (the rows' and the columns' offsets of each pair of a 4 x 4 grid), then a
    matmul with the queries."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 4, 4)
        self.pos_emb = nn.Parameter(torch.randn(7, 7, 4))
        grid = torch.stack(torch.meshgrid(torch.arange(4), torch.arange(4), indexing="ij"))
        offsets = grid.flatten(1)[:, None, :] - grid.flatten(1)[:, :, None] + 3
        self.register_buffer("offsets", offsets, persistent=False)

    def forward(self, x):
        queries = self.conv(x).flatten(2).unsqueeze(1)              # (1, 1, 4, 16)
        return self.pos_emb[self.offsets[0], self.offsets[1]] @ queries


def test_a_table_indexed_by_two_index_buffers_is_one_lookup_of_its_merged_dims():
    # before: "indexing with several index tensors"; now the table's first two dims are merged
    # (49, 4) and looked up once, to (16, 16, 4): shapes and counts as the model's
    spec = assert_as_traced(RelativePositionLookup(), ((16, 16),))
    assert ops(spec)[-4:] == ["param", "reshape", "index", "matmul"]
    # the matmul (16, 16, 4) @ (1, 1, 4, 16): 16 * 16 * 16 outputs of 4 MACs; params 4*48 + 4
    # and the table's 196
    fvcore = netcalc.count(spec, "fvcore", (16, 16))
    assert (fvcore.flops, fvcore.params) == (16 * 4 * 48 + 16 ** 3 * 4, 196 + 196)


class RowsThroughAnLstm(nn.Module):
    """Sequencer's bidirectional LSTM in outline: each row of the map a sequence."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, 4)
        self.rnn = nn.LSTM(8, 6, batch_first=True, bidirectional=True)

    def forward(self, x):
        x = self.conv(x).permute(0, 2, 3, 1)
        batch, rows, cols, channels = x.shape
        out, _ = self.rnn(x.reshape(-1, cols, channels))
        return out.reshape(batch, rows, cols, -1)


def test_an_lstm_over_the_rows_of_a_map():
    # torch.export fixes an LSTM's sequence length (its kernel steps through it), so the sizes
    # come from static exports, as for timm's Sequencer, whose symbolic export takes over 20 s;
    # FlopCounterMode counts the unfused kernel (the CPU's oneDNN one has no formula), as on
    # the meta device
    module = RowsThroughAnLstm().eval()
    spec, _ = import_checked(module, 16, symbolic_timeout=0.001)
    assert "lstm" in ops(spec)
    with torch.backends.mkldnn.flags(enabled=False):
        for size in ((16, 16), (20, 28), (17, 23)):
            assert imported_totals(spec, size) == traced_totals(module, size), size
    # at 20 x 28: 5 sequences of 7 steps, 2 directions of 4 gates of 6 reading 8 + 6 features:
    # 35 * 2 * 24 * 14 MACs, 2 per MAC in FlopCounterMode; fvcore has no handle (0)
    torch_count = netcalc.count(spec, "torch", (20, 28))
    conv_flops = 2 * 35 * 8 * 48
    assert torch_count.flops - conv_flops == 2 * 35 * 2 * 24 * 14
    assert torch_count.params == 8 * 48 + 8 + 2 * (24 * 14 + 2 * 24)
    assert netcalc.count(spec, "fvcore", (20, 28)).flops == 35 * 8 * 48


class RelativeLogitsShifted(nn.Module):
    """BoTNet's relative logits in outline: each row of a (W, 2*7 - 1) table of logits padded by
    one, flattened and padded by the table's length less the map's width, a pad that follows the
    input by no rule netcalc writes (neither TF's 'same' padding nor up to a multiple)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 4, 4)
        self.rel = nn.Parameter(torch.randn(13, 4))

    def forward(self, x):
        x = self.conv(x).permute(0, 2, 3, 1)            # (1, H, W, 4)
        width = x.shape[2]
        logits = (x @ self.rel.t()).reshape(-1, width, 13)
        shifted = F.pad(F.pad(logits, [0, 1]).flatten(1), [0, 13 - width])
        return shifted.sum(dim=1)


def test_a_pad_by_no_rule_netcalc_writes_fits_the_traced_size():
    # before, the import stopped at the pad ("no netcalc op for aten.pad"); now the spec holds
    # the traced size's amounts, which differ from the model's at the import's second check
    # size: the spec fits the traced size alone, as its notes and its range say, exact there
    module = RelativeLogitsShifted().eval()
    spec = assert_as_traced(module, ((28, 28),))
    assert any(note.startswith("fits only the traced resolution: ") and "pad" in note
               for note in spec.raw["notes"])
    with pytest.raises(netcalc.SpecError, match="fits only"):
        netcalc.count(spec, "torch", (32, 28))
