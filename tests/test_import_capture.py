"""How an import finds its size rules and where they hold (issue 16): the static fallback's probe
sizes see a pad that depends on the parity of a side, and the range torch.export derives for
each side becomes the spec's ``resolution_range``, outside which counting is a one-line error.

Expected numbers are FlopCounterMode's and fvcore's traces of the module (``measured``) and the
hand derivations in the docstrings."""
import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import netcalc  # noqa: E402
from netcalc.torch.capture import SlowExport, bounded, probe_sizes  # noqa: E402
from netcalc.torch.importer import import_checked  # noqa: E402
from test_ops_torch_modules import measured  # noqa: E402


def tf_same(size, kernel, stride):
    """TF's total "same" padding of a side, as timm's pad_same computes it from x.shape."""
    return max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)


class PadSameConvs(nn.Module):
    """Two stride-2 3x3 convs, each padded TF-"same" by amounts computed from the input's shape:
    1 or 2 rows by the parity of the side, so two sizes of one parity pad alike."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2)

    def forward(self, x):
        for conv in (self.conv1, self.conv2):
            pad_h, pad_w = (tf_same(side, 3, 2) for side in x.shape[-2:])
            x = conv(F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)))
        return x


class BranchOnSize(nn.Module):
    """A head that pools small maps and convolves large ones (timm's vgg ConvMlp does this)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.head = nn.Conv2d(4, 6, 7)

    def forward(self, x):
        x = self.stem(x)
        if x.shape[-2] < 7:
            x = F.adaptive_avg_pool2d(x, 7)
        return self.head(x)


def halvings(side, rounding):
    return [rounding(side / 2 ** i) % 2 for i in range(6)]


def test_the_probe_sizes_flip_the_parity_of_every_halving():
    """The 2nd size has the other parity at each of 6 ceil-halvings (stride-2 convs), the 3rd
    at each of 6 floor-halvings (2x2 pools); h and w move by different offsets."""
    for hw in ((224, 224), (37, 50), (1, 8192), (193, 257)):
        asked, ceil_flip, floor_flip = probe_sizes(hw)
        assert asked == hw and ceil_flip[0] - hw[0] != ceil_flip[1] - hw[1]
        for side, second, third in zip(hw, ceil_flip, floor_flip):
            assert all(a != b for a, b in zip(halvings(side, math.ceil),
                                              halvings(second, math.ceil)))
            assert all(a != b for a, b in zip(halvings(side, math.floor),
                                              halvings(third, math.floor)))


@pytest.mark.slow
@pytest.mark.parametrize("symbolic_timeout", [0, 1e-3])
def test_a_parity_dependent_pad_is_found_from_the_probe_sizes(symbolic_timeout):
    """Static fallback: the pads differ at the three probe sizes (of other parities at every
    halving), and the pad op finds TF's "same" rule that gives them: at 37x50 pads (2, 1) then
    (2, 2) give 19x25 and 10x13 maps, fvcore 27*8*19*25 + 72*8*10*13 = 177,480 flops (a
    two-odd-sizes capture wrote the pads of 37x51 and counted 171,720); exact against fvcore
    and FlopCounterMode at sizes of every parity, 65x65 included (401,688 fvcore flops, where
    constant pads counted 384,768)."""
    module = PadSameConvs().eval()
    spec, imported = import_checked(module, (37, 50), symbolic_timeout=symbolic_timeout)
    assert imported.how == "static sizes" and "resolution_range" not in spec.raw
    assert netcalc.count(spec, "fvcore").flops == 177_480
    assert netcalc.count(spec, "fvcore", 65).flops == 401_688
    for size in ((37, 50), (38, 51), (64, 64), (65, 65)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]


def test_a_branch_on_the_input_size_bounds_the_specs_sizes():
    """Imported at 32: the stem's 16x16 map takes the conv branch, and torch.export records
    h >= 13 (ceil(h/2) >= 7); w is held >= 13 by the 7x7 head. Exact at 13x14 and 33x47
    (FlopCounterMode and fvcore); at 12x20 the module pools instead: an error, not a count."""
    module = BranchOnSize().eval()
    spec, _ = import_checked(module, 32)
    assert spec.raw["resolution_range"] == {"h": [13, None], "w": [13, None]}
    for size in ((13, 14), (33, 47)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]
    with pytest.raises(netcalc.SpecError, match=r"12x20 is outside resolution_range \(h 13\.\., "
                                                r"w 13\.\.\).*elsewhere the imported model "
                                                "branches on its input size"):
        netcalc.count(spec, "fvcore", (12, 20))


@pytest.mark.parametrize("limits,message", [
    ({"h": [224]}, "resolution_range.h: expected 2 to 2 entries, got 1"),
    ({"h": [0, None], "w": [1, 2]}, "resolution_range.h: 0 is below the minimum 1"),
    ({"h": [5, 3], "w": [1, 2]}, "resolution_range.h: 3 is below the minimum 5"),
    ({"h": [1, None], "w": [1, 2], "x": [1, 1]}, "resolution_range.x: unknown field"),
    ({"h": [1, None], "w": [1, 2], "d": [1, 1]},
     "resolution_range: names the axes d, h, w; this spec's input has h, w"),
    ([1, 2], "resolution_range: expected a mapping, got a list"),
    ({"h": ["a", 3], "w": [1, 2]}, "resolution_range.h: expected an integer, got string 'a'"),
    ({"h": [300, None], "w": [1, None]}, "resolution: 224x224 is outside resolution_range"),
])
def test_a_bad_resolution_range_is_a_one_line_error(limits, message):
    data = {"family": "graph", "resolution": 224, "resolution_range": limits,
            "layers": [{"op": "conv", "out": 4, "kernel": 3}]}
    with pytest.raises(netcalc.SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        netcalc.load_spec(data)


@pytest.mark.slow
def test_a_parity_dependent_pad_imports_exact_at_every_parity_with_symbolic_sizes():
    """The symbolic export sees TF's rule: exact at odd and even sides (fvcore and
    FlopCounterMode traces), no resolution_range."""
    module = PadSameConvs().eval()
    spec, imported = import_checked(module, (37, 50))
    assert imported.how == "symbolic" and "resolution_range" not in spec.raw
    for size in ((37, 50), (38, 51), (64, 64), (65, 65)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]


@pytest.mark.slow
def test_timms_vgg11_holds_where_its_head_convolves():
    """timm's vgg11 imported at 224: its ConvMlp convolves maps of 7 or more (h, w >= 224) and
    pools smaller ones. Exact (FlopCounterMode on fake tensors) at 224, 240x250 and 257x257;
    193x257 is outside the range, an error naming it (it was 'conv pre_logits.fc1 leaves no
    output positions')."""
    import library_models as lib
    import tv

    if tv.import_timm() is None:
        pytest.skip("timm is not installed")
    module = lib.timm_model("vgg11").build()
    spec, imported = import_checked(module.eval(), 224)
    assert spec.raw["resolution_range"] == {"h": [224, None], "w": [224, None]}
    for size in ((224, 224), (240, 250), (257, 257)):
        assert netcalc.count(spec, "torch", size).flops == fake_flops(module, size)
    with pytest.raises(netcalc.SpecError, match=r"193x257 is outside resolution_range \(h 224"):
        netcalc.count(spec, "torch", (193, 257))


def fake_flops(module, size):
    """FlopCounterMode's flops of the module on a fake input (nothing allocated)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            module(torch.empty(1, 3, *size))
    return counter.get_total_flops()


class SpaceToDepthStem(nn.Module):
    """tresnet's stem: 4x4 blocks of the image to channels, so the first conv reads 48."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(48, 8, 3, padding=1)

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.view(n, c, h // 4, 4, w // 4, 4).permute(0, 3, 5, 1, 2, 4)
        return self.conv(x.reshape(n, c * 16, h // 4, w // 4))


@pytest.mark.slow
def test_an_input_the_first_conv_does_not_read_is_captured_on_3_channels():
    """The first conv's 48 input channels do not run (a (1, 48, 32, 32) input has no 4x4
    blocks of 3 channels to make 48 from); 3 do, and the spec and a note say so. fvcore:
    432 * 8 * 8 * 8 = 221,184 flops at 32x32, as traced."""
    module = SpaceToDepthStem().eval()
    spec, _ = import_checked(module, 32)
    assert spec.raw["in_channels"] == 3
    assert any(note.startswith("captured on a (1, 3, h, w) input: the first conv's 48 input "
                               "channels did not run") for note in spec.raw["notes"])
    fvcore, by_torch = netcalc.count(spec, "fvcore"), netcalc.count(spec, "torch")
    assert fvcore.flops == 221_184
    for size in ((32, 32), (36, 44)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]
    # h // 4 and w // 4 of the view are "d2/4" and "d3/4"; torch.export's h // (h // 4) for
    # the block's side is the 4 it is at every h the view accepts
    assert spec.raw["layers"][0]["shape"] == [1, 3, "d2/4", 4, "d3/4", 4]


SPLIT = {"family": "graph", "resolution": [32, 40], "in_channels": 3, "layers": [
    {"op": "reshape", "shape": [1, 3, "d2/4", 4, "d3/4", 4]}]}


def test_a_dim_split_in_n_follows_the_resolution_and_refuses_what_torch_refuses():
    """(1, 3, 32, 40) -> (1, 3, 8, 4, 10, 4); at 36x44 (9, 11); 37 is no multiple of 4: torch's
    view refuses it, and so does the spec."""
    assert netcalc.expand(SPLIT).layers[0].shape == (1, 3, 8, 4, 10, 4)
    assert netcalc.expand(SPLIT, (36, 44)).layers[0].shape == (1, 3, 9, 4, 11, 4)
    with pytest.raises(netcalc.SpecError, match=r"layers\[0\].shape: reshape 'reshape_0': "
                                                r"'d2/4': dim 2 is 37, not a multiple of 4"):
        netcalc.expand(SPLIT, (37, 44))
    for bad in ("d2/1", "d2/x", "d2/", "d/4"):
        with pytest.raises(netcalc.SpecError, match=r"layers\[0\].shape\[2\]: .* is not an int"):
            netcalc.expand({**SPLIT, "layers": [{"op": "reshape", "shape": [1, 3, bad, -1]}]})


@pytest.mark.slow
def test_given_input_channels_are_the_only_ones_tried():
    with pytest.raises(netcalc.SpecError, match=r"cannot capture it on a \(1, 48, 32, 32\)"):
        import_checked(SpaceToDepthStem().eval(), 32, in_channels=48)


# -- the input's shape ---------------------------------------------------------------------------
GRAY = "def build():\n    from torch import nn\n    return nn.Sequential(nn.Conv2d(1, 4, 3), " \
       "nn.ReLU())\n"


def test_an_input_shape_sets_the_channels_and_the_resolution():
    """(1, 1, 20, 30) into a 1-channel 3x3 conv: fvcore 9*4*18*28 = 18,144 flops, as traced."""
    module = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()).eval()
    spec = netcalc.from_torch(module, inputs=(1, 1, 20, 30))
    assert (spec.raw["resolution"], spec.raw["in_channels"]) == ([20, 30], 1)
    fvcore, by_torch = netcalc.count(spec, "fvcore"), netcalc.count(spec, "torch")
    assert fvcore.flops == 18_144
    assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
        measured(module, (1, 1, 20, 30))[:4]
    assert netcalc.from_torch(module, inputs=torch.empty(1, 1, 9, 9)).raw["resolution"] == 9


@pytest.mark.parametrize("inputs,extra,message", [
    ((1, 1), {}, r"\[1, 1\] has 2 dims: netcalc's first input is a 1D signal \(1, C, L\), "
                 r"an image \(1, C, H, W\) or a volume \(1, C, D, H, W\)"),
    ((1, 1, 4, 5, 6, 7), {}, r"\[1, 1, 4, 5, 6, 7\] has 6 dims"),
    ([(1, 1, 8, 8), (1, 2, 8, 8)] * 9, {}, "18 inputs: at most 16"),
    ((2, 1, 8, 8), {}, "batch 2: the shape's first dim must be 1"),
    ((1, 1, 8, 8), {"resolution": 8}, "give the resolution or the inputs' shape, not both"),
    ((1, 1, 8, 8), {"in_channels": 3}, "1 channels, but in_channels is 3"),
    ("x", {}, "expected a shape \\(1, C, H, W\\), got string 'x'"),
    ((1, 1, 0, 8), {}, "0 is below the minimum 1"),
])
def test_a_bad_input_shape_is_a_one_line_error_before_anything_runs(inputs, extra, message):
    module = nn.Sequential(nn.Conv2d(1, 4, 3))
    with pytest.raises(netcalc.ArgumentError, match="^inputs: " + message):
        netcalc.from_torch(module, inputs=inputs, **extra)


@pytest.mark.parametrize("inputs,message", [
    ([(1, 1, 8, 8), (2, 16)], r"^inputs\[1\]: batch 2: the shape's first dim must be 1"),
    ([(1, 1, 8, 8), (1, 0)], r"^inputs\[1\]: size 0 is outside 1..8192"),
    ([(1, 1, 8, 8), (1,) * 9], r"^inputs\[1\]: \[1, 1, 1, 1, 1, 1, 1, 1, 1\] has 9 dims"),
    ([(1, 8), (1, 1, 8, 8)], r"^inputs\[0\]: \[1, 8\] has 2 dims: netcalc's first input is"),
])
def test_a_bad_further_input_is_named_by_its_place(inputs, message):
    with pytest.raises(netcalc.ArgumentError, match=message):
        netcalc.from_torch(nn.Sequential(nn.Conv2d(1, 4, 3)), inputs=inputs)


# -- statistics of a map: EvoNorm, FilterResponseNorm ----------------------------------------------
class MapStatistics(nn.Module):
    """timm's EvoNorm (a variance over each map), FilterResponseNorm (the map's inverse rms
    expanded to the map's shape, ``rms.expand(x.shape)``, then ``torch.maximum`` with a learned
    threshold), and a std and a minimum besides."""

    def __init__(self):
        super().__init__()
        self.conv, self.tau = nn.Conv2d(3, 8, 3), nn.Parameter(torch.zeros(1, 8, 1, 1))

    def forward(self, x):
        x = self.conv(x)
        var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
        rms = x.square().mean(dim=(2, 3), keepdim=True).rsqrt().expand(x.shape)
        y = torch.maximum(x * rms / (var + 1) + x.std(dim=1, keepdim=True), self.tau)
        return torch.minimum(y, x)


def test_map_statistics_count_as_traced_at_every_size():
    """var, std, maximum and minimum cost nothing in either tool; the expand takes its sizes
    from the map, so the spec counts at 37x51 as at 32x32 (fvcore: the conv's 27*8*30*30 =
    194,400 flops at 32x32)."""
    module = MapStatistics().eval()
    spec = netcalc.from_torch(module, 32)
    assert netcalc.count(spec, "fvcore").flops == 194_400
    for size in ((32, 32), (37, 51)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]
    expand = next(layer for layer in spec.raw["layers"] if layer["op"] == "expand")
    assert expand["shape"] == [-1, -1, "d2", "d3"] and len(expand["inputs"]) == 2


class ResponseNorms(nn.Module):
    """``torch.addcmul`` as ConvNeXt-V2's global response norm calls it (a learned input and
    factor), of two computed tensors with a value, and a linear layer over 16,384 * 5 outputs
    (CondConv mixes its experts' kernels so: out beyond 65,536)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.weight, self.bias = nn.Parameter(torch.ones(1, 8, 1, 1)), nn.Parameter(
            torch.zeros(1, 8, 1, 1))
        self.wide = nn.Linear(8, 81_920, bias=False)

    def forward(self, x):
        x = self.conv(x)
        y = torch.addcmul(self.bias, self.weight, x)
        y = torch.addcmul(x, y, x.sigmoid(), value=0.5)
        return self.wide(y.mean((2, 3)))


def test_addcmul_and_a_linear_layer_wider_than_any_channel_count_are_exact():
    """fvcore: the conv's 27*8*30*30 = 194,400 flops and the linear's 8*81,920 = 655,360 at
    32x32; addcmul is no flop in either tool. Params: the conv's 224, 16 learned, 655,360."""
    module = ResponseNorms().eval()
    spec = netcalc.from_torch(module, 32)
    assert (netcalc.count(spec, "fvcore").flops, netcalc.count(spec, "fvcore").params) == (
        194_400 + 655_360, 224 + 16 + 655_360)
    for size in ((32, 32), (37, 51)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]


class ResizedEmbedding(nn.Module):
    """A class token and a position embedding learned for a 4x4 grid, of shape (17, 8) with no
    batch dim, resized in forward to the grid of the input (bicubic, as timm's CLIP attention
    pool does): the embedding's 136 elements count once, at every size."""

    def __init__(self):
        super().__init__()
        self.conv, self.pos = nn.Conv2d(3, 8, 4, stride=4), nn.Parameter(torch.zeros(17, 8))

    def forward(self, x):
        x = self.conv(x)
        h, w = x.shape[-2:]
        tokens = x.flatten(2).transpose(1, 2)
        tokens = torch.cat([tokens.mean(1, keepdim=True), tokens], 1)
        grid = self.pos[1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bicubic").permute(0, 2, 3, 1).flatten(1, 2)
        return tokens + torch.cat([self.pos[:1].unsqueeze(0), grid], 1)


def test_an_embedding_resized_to_the_input_counts_once_at_every_size():
    """params: the conv's 3*16*8 + 8 = 392 and the embedding's 136; the flops are the conv's
    (fvcore 48*8*16 = 6,144 at 16x16), at 20x28 as traced."""
    module = ResizedEmbedding().eval()
    spec = netcalc.from_torch(module, 16)
    assert netcalc.count(spec, "fvcore").params == 392 + 136
    assert netcalc.count(spec, "fvcore").flops == 6_144
    for size in ((16, 16), (20, 28)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, (1, 3) + size)[:4]


# -- several inputs ------------------------------------------------------------------------------
class MaskedAndConditioned(nn.Module):
    """forward(image, mask, vector): a conv of the image gated by a 1x1 conv of the mask (the
    image's size), pooled, plus a linear of the vector."""

    def __init__(self):
        super().__init__()
        self.conv, self.gate = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(1, 8, 1)
        self.fc = nn.Linear(16, 8)

    def forward(self, x, mask, vector):
        return (self.conv(x) * torch.sigmoid(self.gate(mask))).mean((2, 3)) + self.fc(vector)


class Siamese(nn.Module):
    """forward(a, b): one conv (shared weights) on each image, pooled, joined, classified; the
    two images never meet before pooling, so torch.export does not tie their sizes."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Linear(16, 2)

    def forward(self, a, b):
        return self.head(torch.cat([self.conv(a).mean((2, 3)), self.conv(b).mean((2, 3))], 1))


def _at(shapes, size):
    """The inputs at another size: a shape of the first input's rank takes its sides."""
    return [tuple(s[:2]) + size if len(s) == len(shapes[0]) else s for s in shapes]


@pytest.mark.parametrize("module,shapes", [
    (MaskedAndConditioned, [(1, 3, 64, 64), (1, 1, 64, 64), (1, 16)]),
    (Siamese, [(1, 3, 64, 64), (1, 3, 64, 64)]),
])
@pytest.mark.parametrize("symbolic_timeout", [
    20, pytest.param(0, marks=pytest.mark.slow)], ids=["symbolic", "static"])
def test_a_model_of_several_inputs_counts_as_traced_at_each_size(module, shapes,
                                                                 symbolic_timeout):
    """Every further input is an ``input`` node; an image-sized one follows the resolution.
    By hand, MaskedAndConditioned at 64x64 is 2*27*8*4096 + 2*8*4096 + 2*16*8 = 1,835,264
    FlopCounterMode flops; at 37x51 the traces give what the spec counts there."""
    module = module().eval()
    spec = netcalc.from_torch(module, inputs=shapes, symbolic_timeout=symbolic_timeout)
    inputs = [layer for layer in spec.raw["layers"] if layer["op"] == "input"]
    assert len(inputs) == len(shapes) - 1
    for size in ((64, 64), (37, 51)):
        fvcore, by_torch = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch", size)
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, _at(shapes, size))[:4]
    if module.__class__ is MaskedAndConditioned:
        assert netcalc.count(spec, "torch").flops == 1_835_264
        assert [layer["shape"] for layer in inputs] == [[1, 1, "d2", "d3"], [1, 16]]


def test_netcalc_import_passes_the_input_shape_and_writes_it_in_the_header(monkeypatch):
    from click.testing import CliRunner

    from netcalc import isolation
    from netcalc.cli import main

    seen = {}

    def imported(target, resolution, name, allow_unknown, timeout, verbose, inputs,
                 symbolic_timeout):
        seen.update(resolution=resolution, inputs=inputs, symbolic_timeout=symbolic_timeout)
        return netcalc.load_spec({"family": "graph", "resolution": [32, 48], "in_channels": 1,
                                  "layers": [{"op": "relu"}]})

    monkeypatch.setattr(isolation, "import_isolated", imported)
    result = CliRunner().invoke(main, ["import", "m.py:build", "--input-shape", "1x1x32x48",
                                       "--symbolic-timeout", "90"])
    assert result.exit_code == 0, result.output
    assert seen == {"resolution": None, "inputs": [1, 1, 32, 48], "symbolic_timeout": 90.0}
    assert result.stdout.splitlines()[0] == "# netcalc import m.py:build --input-shape 1x1x32x48"
    for args, message in ((["--input-shape", "1x1"], "has 2 dims"),
                          (["--input-shape", "1x1x8x8", "--resolution", "8"],
                           "give --resolution or --input-shape, not both"),
                          (["--input-shape", "1xax3"], "is not a shape like 1x3x224x224"),
                          (["--symbolic-timeout", "-1"], "-1 is not a number of seconds from 0 "
                                                         "(static exports only)")):
        result = CliRunner().invoke(main, ["import", "m.py:build"] + args)
        assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.slow
def test_netcalc_import_of_a_one_channel_model(tmp_path):
    """The real child process: a 1-channel model imported at 1x1x32x48 (9*4*30*46 = 49,680
    fvcore flops)."""
    from click.testing import CliRunner

    from netcalc.cli import main

    (tmp_path / "gray.py").write_text(GRAY)
    out = tmp_path / "gray.yaml"
    result = CliRunner().invoke(main, ["import", f"{tmp_path}/gray.py:build", "--input-shape",
                                       "1x1x32x48", "--out", str(out)])
    assert result.exit_code == 0, result.output
    spec = netcalc.load_spec(str(out))
    assert (spec.in_channels, spec.resolution) == (1, (32, 48))
    assert netcalc.count(spec, "fvcore").flops == 49_680


# -- 1D signals and 3D volumes -------------------------------------------------------------------
SIGNAL = {"family": "graph", "resolution": [100], "in_channels": 2,
          "layers": [{"op": "conv", "out": 4, "kernel": 3},
                     {"op": "maxpool", "kernel": 2, "stride": 2, "padding": 0}]}
VOLUME = {"family": "graph", "resolution": [8, 16, 16], "in_channels": 1,
          "layers": [{"op": "conv", "out": 4, "kernel": 3}]}


def test_a_graph_spec_of_a_1d_or_3d_input_counts_at_every_axis_a_resolution_names():
    """(1, 2, 100) through a 3-tap conv padded 1: 2*3*4*100 = 2,400 fvcore flops; at 50,
    1,200. (1, 1, 8, 16, 16) through a 3x3x3 conv: 27*4*8*16*16 = 221,184; one side 10 is
    every axis: 27*4*1,000 = 108,000; a list names each axis, and must name all of them."""
    signal = netcalc.count(SIGNAL, "fvcore")
    assert signal.graph.input_shape == (1, 2, 100) and signal.flops == 2_400
    assert netcalc.count(SIGNAL, "fvcore", 50).graph.output.shape == (1, 4, 25)
    assert netcalc.count(SIGNAL, "fvcore", 50).flops == 1_200
    assert netcalc.count(VOLUME, "fvcore").flops == 221_184
    assert netcalc.count(VOLUME, "fvcore", 10).flops == 108_000
    assert netcalc.count(VOLUME, "fvcore", (4, 10, 25)).graph.output.shape == (1, 4, 4, 10, 25)
    with pytest.raises(netcalc.SpecError, match=r"^<dict>: resolution: expected an integer or "
                                                r"\[d, h, w\] for this spec's input, got 2 "):
        netcalc.count(VOLUME, "fvcore", (10, 10))
    with pytest.raises(netcalc.SpecError, match=r"resolution: expected an integer or \[h, w\] "
                                                r"for this spec's input, got 3 entries"):
        netcalc.count("resnet50", "fvcore", (10, 10, 10))


def test_netcalc_count_of_a_volume_at_dxhxw(tmp_path):
    from click.testing import CliRunner

    import yaml

    from netcalc.cli import main

    path = tmp_path / "volume.yaml"
    path.write_text(yaml.safe_dump(VOLUME))
    result = CliRunner().invoke(main, ["count", str(path), "--convention", "fvcore",
                                       "--resolution", "4x10x25", "--format", "json",
                                       "--by", "total"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["resolution"], shown["flops"]) == ([4, 10, 25], 27 * 4 * 4 * 10 * 25)


class Signal(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(2, 8, 5, stride=2, padding=2), nn.BatchNorm1d(8),
                                  nn.ReLU(), nn.MaxPool1d(3, 2), nn.Conv1d(8, 8, 3))
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.body(x).mean(-1))


class Volume(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(1, 4, 3, stride=(1, 2, 2), padding=1),
                                  nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),
                                  nn.Conv3d(4, 8, 3))

    def forward(self, x):
        return self.body(x)


@pytest.mark.slow
@pytest.mark.parametrize("module,shape,others", [
    (Signal, (1, 2, 1001), ((1, 2, 500), (1, 2, 1777))),
    (Volume, (1, 1, 9, 33, 47), ((1, 1, 16, 64, 64), (1, 1, 11, 29, 31))),
])
@pytest.mark.parametrize("symbolic_timeout,how", [(20, "symbolic"), (0, "static sizes")])
def test_a_1d_and_a_3d_model_import_exact_at_other_sizes(module, shape, others, symbolic_timeout,
                                                         how):
    """Imported on one shape, counted at others: fvcore's flops and acts, FlopCounterMode's
    flops and numel of the traced module at each, with symbolic sides and with the static
    fallback."""
    module = module().eval()
    spec, imported = import_checked(module, inputs=shape, symbolic_timeout=symbolic_timeout)
    assert imported.how == how and spec.raw["resolution"] == list(shape[2:])
    for size in (shape,) + others:
        fvcore = netcalc.count(spec, "fvcore", size[2:])
        by_torch = netcalc.count(spec, "torch", size[2:])
        assert (fvcore.flops, fvcore.acts, by_torch.flops, by_torch.params) == \
            measured(module, size)[:4]


def test_a_lock_of_a_1d_spec_checks(tmp_path, monkeypatch):
    """The lock records resolution [100] and reads it back: unchanged, exit 0."""
    from click.testing import CliRunner
    import yaml

    from netcalc.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "signal.yaml").write_text(yaml.safe_dump(SIGNAL))
    locked = CliRunner().invoke(main, ["lock", "signal.yaml", "--convention", "fvcore"])
    assert locked.exit_code == 0, locked.output
    assert '"resolution": [100], "flops": 2400' in locked.stdout
    (tmp_path / "netcalc.lock").write_text(locked.stdout)
    checked = CliRunner().invoke(main, ["check", "--lock", "netcalc.lock"])
    assert checked.exit_code == 0 and "unchanged" in checked.output, checked.output


def test_the_symbolic_exports_bound_is_cpu_time_which_waiting_does_not_spend():
    # a machine busy with other processes slows an export down in wall-clock time, not in the
    # CPU time the export spends: the bound counts the latter, so where the symbolic export
    # finishes does not depend on the machine's load
    import time

    with bounded(0.05):
        time.sleep(0.2)
    with pytest.raises(SlowExport):
        with bounded(0.05):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pass


def test_a_bound_that_expires_where_python_drops_the_exception_still_stops_the_export():
    # the alarm may fire in a garbage collector's callback, where Python reports the exception
    # as unraisable and goes on: the export then finishes, and the bound raises after it
    import gc
    import time

    def busy(phase, info):
        deadline = time.process_time() + 0.1
        while time.process_time() < deadline:
            pass

    gc.callbacks.append(busy)
    try:
        with pytest.raises(SlowExport):
            with bounded(0.02):
                gc.collect()
    finally:
        gc.callbacks.remove(busy)
