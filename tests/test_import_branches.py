"""Models whose code branches on the input size: where the spec of one import holds.

torch.export records each check the model's code makes of a size; where one fails, the model
may run another branch there. The counts expected here are what fvcore and FlopCounterMode trace
on the module itself at each size (``traced_totals``), or a hand derivation where stated.
"""
import math
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import sympy  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils._sympy.functions import FloorDiv, Mod  # noqa: E402

import netcalc  # noqa: E402
from netcalc.symbolic.closed_form import count_symbolic  # noqa: E402
from netcalc.torch.guards import all_hold, inside, nearest_failures  # noqa: E402
from netcalc.torch.importer import import_checked, imported_totals, traced_totals  # noqa: E402

H, W = sympy.symbols("s0 s1", integer=True, positive=True)
PADDED = FloorDiv(H, 4) + Mod(7 - Mod(FloorDiv(H, 4), 7), 7)    # h/4 padded to whole windows
# the kinds of check Swin's export records: a comparison, a disjunction, a product's residue
CHECKS = [sympy.Le(PADDED, 7), sympy.Ne(FloorDiv(PADDED, 7), 0),
          sympy.Or(sympy.Eq(Mod(PADDED * FloorDiv(W, 4), 7), 0), sympy.Ne(W, 3))]


def test_checks_are_evaluated_as_sympy_evaluates_them():
    draw = random.Random(0)
    for _ in range(200):
        size = (draw.randint(2, 64), draw.randint(2, 64))
        expected = all(bool(check.subs({H: size[0], W: size[1]})) for check in CHECKS)
        assert all_hold(CHECKS, (H, W), size) == expected, size


def test_nearest_failing_sizes_along_each_side():
    # at h = 20 the padded h/4 is 7: it stays 7 up to h = 31 (h/4 = 7), is 14 from 32 and 0
    # below 4; w appears in the disjunction only, which holds at every w (at w = 3 the product
    # is 0, a multiple of 7): no failing size along w
    failures = nearest_failures(CHECKS, (H, W), (20, 24), 2)
    assert failures == [(0, 31, (32, 24)), (0, 4, (3, 24))]
    # a second size to check the capture at: h at the farthest odd side it holds
    assert inside(CHECKS, (H, W), (20, 24), failures) == (31, 24)


class WindowsPaddedWhereNeeded(nn.Module):
    """Twins' and DaViT's window attention, in two stages: the (B, H, W, C) map padded to whole
    7 x 7 windows only where a side needs it (``if pad_r > 0 or pad_b > 0``), attention within
    each window, and the crop back. At 112 x 112 (maps of 28 and 14) no stage pads."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.down = nn.Conv2d(8, 16, 2, 2)
        self.mix = nn.ModuleList([nn.Linear(8, 8), nn.Linear(16, 16)])

    @staticmethod
    def windows(x, mix):
        b, h, w, c = x.shape
        pad_r, pad_b = (7 - w % 7) % 7, (7 - h % 7) % 7
        if pad_r > 0 or pad_b > 0:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = x.shape[1], x.shape[2]
        x = x.view(b, hp // 7, 7, wp // 7, 7, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 49, c)
        x = mix(x)
        x = (x @ x.transpose(1, 2)).softmax(-1) @ x
        x = x.view(b, hp // 7, wp // 7, 7, 7, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if pad_r > 0 or pad_b > 0:
            x = x[:, :h, :w, :].contiguous()
        return x

    def forward(self, x):
        x = self.windows(self.patch(x).permute(0, 2, 3, 1), self.mix[0])
        x = self.down(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.windows(x, self.mix[1])


SIZES = ((112, 112), (97, 129), (150, 171))


@pytest.mark.slow       # 9 s; torchvision's Swins (slow tier) take the same path
def test_windows_padded_where_needed_count_at_every_size_from_one_import():
    # the symbolic export taken for too slow (as Twins' takes minutes): at 112 x 112 the static
    # exports of other sizes pad where 112 does not, so the spec comes from static exports at
    # another size, whose pads are 0 at 112, checked there and at one more size
    module = WindowsPaddedWhereNeeded().eval()
    spec, _ = import_checked(module, SIZES[0], symbolic_timeout=0.001)
    assert spec.raw["notes"][0].startswith("size rules from a capture at ")
    assert "resolution_range" not in spec.raw
    assert sum(layer["op"] == "pad" for layer in spec.raw["layers"]) == 2
    for size in SIZES:
        assert imported_totals(spec, size) == traced_totals(module, size), size
    # at 97 x 129 the maps are 24 x 32, padded to 28 x 35 (20 windows), and 12 x 16, padded to
    # 14 x 21 (6 windows): FlopCounterMode's two batched products per window are
    # 2 * 2 * 49 * 49 * c flops each, beside the convs and linears
    attention = 2 * 2 * 49 * 49 * (20 * 8 + 6 * 16)
    convs = 2 * 24 * 32 * 8 * 48 + 2 * 12 * 16 * 16 * 32
    linears = 2 * 28 * 35 * 8 * 8 + 2 * 14 * 21 * 16 * 16
    assert netcalc.count(spec, "torch", (97, 129)).flops == attention + convs + linears


def test_a_static_capture_whose_pads_run_at_some_probe_sizes_only():
    # captured at 97 x 129, where both stages pad: the static exports of other sizes skip a
    # pad and its crop where their maps fill whole windows; those ops are the identity there
    module = WindowsPaddedWhereNeeded().eval()
    spec, imported = import_checked(module, SIZES[1], symbolic_timeout=0)
    assert imported.absent and "resolution_range" not in spec.raw
    for size in SIZES:
        assert imported_totals(spec, size) == traced_totals(module, size), size


class PositionGridResized(nn.Module):
    """Qwen3-ViT's position embedding in outline: a learned grid of 16 x 16 input pixels'
    patches (``patch`` wide) added to the tokens, resized bilinearly to the patch grid
    (``where_needed``: only where the two differ)."""

    def __init__(self, where_needed=True, patch=4, multiple_of=1):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, patch, patch)
        self.side = 16 // patch
        self.pos = nn.Parameter(torch.randn(1, self.side ** 2, 8))
        self.where_needed = where_needed
        self.multiple_of = multiple_of      # the sides it takes (Qwen3-ViT: multiples of 32)

    def forward(self, x):
        x = self.conv(x)
        rows, cols = x.shape[-2:]
        torch._assert(rows % self.multiple_of == 0 and cols % self.multiple_of == 0,
                      "sides must be whole multiples")
        pos = self.pos
        if (rows, cols) != (self.side, self.side) or not self.where_needed:
            grid = self.pos.reshape(1, self.side, self.side, 8).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(rows, cols), mode="bilinear", align_corners=True)
            pos = grid.permute(0, 2, 3, 1).reshape(1, rows * cols, 8)
        return x.flatten(2).transpose(1, 2) + pos


def test_a_parameter_resized_by_a_priced_interpolation_is_written_as_its_ops():
    # fvcore prices aten::upsample_bilinear2d at 4 per output element: the resize is no free
    # resampling of the parameter (before, the symbolic capture dropped it there and the
    # fvcore convention counted 0, while a static capture wrote the op)
    module = PositionGridResized(where_needed=False).eval()
    spec, _ = import_checked(module, 16)
    for size in ((16, 16), (20, 28)):
        assert imported_totals(spec, size) == traced_totals(module, size), size
    ops = [layer["op"] for layer in spec.raw["layers"]]
    assert "upsample" in ops and "param_add" not in ops
    # at 20 x 28 the grid is 5 x 7: the conv 35*8*48 MACs and the resize 4 * 8*35; acts 8*35
    fvcore = netcalc.count(spec, "fvcore", (20, 28))
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (35 * 8 * 48 + 4 * 8 * 35, 280, 392 + 128)


def test_a_resize_the_model_skips_at_the_asked_size_counts_everywhere_else():
    # 1 x 1 patches: imported at 16 (a 16 x 16 grid: no resize), the spec fits 16 x 16 alone
    # (torch.export's checks pin both sides), so the import captures the model where the grid
    # is resized and keeps that spec, its upsample marked to run only where it resizes: it
    # counts what 16 x 16's own capture counts there. Before, the spec held for 16 x 16 alone
    spec, _ = import_checked(PositionGridResized(patch=1).eval(), 16)
    resize = [layer for layer in spec.raw["layers"] if layer["op"] == "upsample"]
    assert [layer.get("only_if_resized") for layer in resize] == [True]
    for size in ((16, 16), (16, 19), (20, 28), (17, 23)):
        assert imported_totals(spec, size) == traced_totals(
            PositionGridResized(patch=1).eval(), size), size
    # fvcore prices the resize at 4 per output element: at 20 x 28, 4 * 8 * 560 beside the 1 x 1
    # conv's 560 * 8 * 3 MACs; at 16 x 16 the conv alone
    assert netcalc.count(spec, "fvcore", (20, 28)).flops == 560 * 8 * 3 + 4 * 8 * 560
    assert netcalc.count(spec, "fvcore", (16, 16)).flops == 256 * 8 * 3
    # the closed form counts the resize: 16 x 16 is outside its domain
    closed = count_symbolic(spec, "fvcore", axes="hw")
    assert closed.domain.endswith("(h, w) != (16, 16)")
    assert closed.evaluate(closed.total("flops"), (20, 28)) == 560 * 8 * 3 + 4 * 8 * 560


def test_a_model_that_takes_multiples_only_is_captured_for_its_other_branch_at_one():
    # the probe sizes of 16 (odd sides) are refused; the other branch's capture is taken at
    # the first multiple of 8 above one of them (as Qwen3-ViT's of 32 above 833 x 897)
    module = PositionGridResized(patch=1, multiple_of=8).eval()
    spec, _ = import_checked(module, 16)
    assert spec.raw["notes"][0].startswith("size rules from a capture at ")
    for size in ((16, 16), (24, 32)):
        assert imported_totals(spec, size) == traced_totals(module, size), size


class PatchesResizedWhereNeeded(nn.Module):
    """MobileViT's block in outline: the map resized bilinearly up to whole 2 x 2 patches only
    where a side is odd (``if new_h != H or new_w != W``), each patch position's tokens mixed,
    and (``back``, v1) resized back to the map's own sides where it was resized; v2 keeps the
    rounded sides. At 32 x 32 (a map of 16) nothing is resized."""

    def __init__(self, back=True):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 2, 2)
        self.mix = nn.Linear(8, 8)
        self.head = nn.Conv2d(8, 4, 3, 2, 1)
        self.back = back

    def forward(self, x):
        x = self.stem(x)
        _, channels, rows, cols = x.shape
        new_rows, new_cols = math.ceil(rows / 2) * 2, math.ceil(cols / 2) * 2
        resized = new_rows != rows or new_cols != cols
        if resized:
            x = F.interpolate(x, size=(new_rows, new_cols), mode="bilinear", align_corners=False)
        patches = x.reshape(1, channels, new_rows // 2, 2, new_cols // 2, 2).permute(0, 3, 5, 2, 4, 1)
        x = self.mix(patches).permute(0, 5, 3, 1, 4, 2).reshape(1, channels, new_rows, new_cols)
        if resized and self.back:
            x = F.interpolate(x, size=(rows, cols), mode="bilinear", align_corners=False)
        return self.head(x)


# the fast tier: the static exports of v1 (MobileViT's path in the sweep); the slow tier the rest
@pytest.mark.parametrize("back, symbolic_timeout", [
    pytest.param(True, 0.0, id="static-v1"),
    pytest.param(False, 0.0, id="static-v2", marks=pytest.mark.slow),
    pytest.param(True, 20.0, id="symbolic-v1", marks=pytest.mark.slow),
    pytest.param(False, 20.0, id="symbolic-v2", marks=pytest.mark.slow)])
def test_a_map_resized_to_whole_patches_where_a_side_needs_it(back, symbolic_timeout):
    # imported at 32 x 32, where the model resizes nothing: the spec rounds each side up to a
    # multiple of 2 (``multiple_of``), a resize that costs nothing where the side is even already
    # (``only_if_resized``); it counts what fvcore and FlopCounterMode trace at sizes where both,
    # one or no side is resized. Before, the spec held for 32 x 32 alone
    module = PatchesResizedWhereNeeded(back).eval()
    spec, _ = import_checked(module, 32, symbolic_timeout=symbolic_timeout)
    resizes = [layer for layer in spec.raw["layers"] if layer["op"] == "upsample"]
    assert resizes[0]["multiple_of"] == 2 and all(r["only_if_resized"] for r in resizes)
    assert len(resizes) == (2 if back else 1)
    for size in ((32, 32), (34, 38), (34, 40), (30, 26), (66, 50)):
        assert imported_totals(spec, size) == traced_totals(module, size), size
    # at 34 x 38 (a 17 x 19 map, resized to 18 x 20): the stem's 17*19*8 outputs of 12 MACs, the
    # mix's 18*20 tokens of 8*8, the head's 9*10*4 outputs of 72; fvcore prices each bilinear
    # resize at 4 per output element, the one back to 17 x 19 too (v1)
    fvcore = netcalc.count(spec, "fvcore", (34, 38))
    macs = 17 * 19 * 8 * 12 + 18 * 20 * 8 * 8 + 9 * 10 * 4 * 72
    assert fvcore.flops == macs + 4 * 8 * 18 * 20 + (4 * 8 * 17 * 19 if back else 0)
