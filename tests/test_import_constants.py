"""Tensors computed without the input (from parameters, buffers and constants only) that a data op
reads: the importer writes their computation into the spec (``param`` and ``constant`` nodes, then
the ops after them), so every reference counts it as it counts the running model and every
parameter counts once, however it is reshaped or indexed.

Each module here is written by hand in torch (not built by netcalc); the expected numbers are
derived by hand in the comments and checked against fvcore and FlopCounterMode traces of the module
(``traced_totals``) at a square and an odd rectangular size.
"""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
from torch import nn  # noqa: E402

import netcalc  # noqa: E402
from netcalc.torch.importer import import_checked, imported_totals, traced_totals  # noqa: E402


def ops(spec):
    return [layer["op"] for layer in spec.raw["layers"]]


class FrozenNorm(nn.Module):
    """A batch norm frozen into buffers, applied as ``x * scale + shift`` with both computed in
    forward from the buffers (torchvision's FrozenBatchNorm2d computes it this way)."""

    def __init__(self, channels):
        super().__init__()
        for name in ("weight", "bias", "running_mean", "running_var"):
            self.register_buffer(name, torch.rand(channels))

    def forward(self, x):
        scale = self.weight.reshape(1, -1, 1, 1) * (self.running_var.reshape(1, -1, 1, 1)
                                                    + 1e-5).rsqrt()
        shift = self.bias.reshape(1, -1, 1, 1) - self.running_mean.reshape(1, -1, 1, 1) * scale
        return x * scale + shift


def test_a_scale_computed_from_buffers_is_written_as_constant_nodes():
    module = nn.Sequential(nn.Conv2d(3, 8, 3), FrozenNorm(8)).eval()
    spec, _ = import_checked(module, (16, 17))
    # the four buffers are constants; rsqrt, mul, sub and add run on them as the model runs them
    assert ops(spec).count("constant") == 4 and "rsqrt" in ops(spec)
    # conv 3->8, 3x3 on 16x17: a 14x15 map, 8 * 14 * 15 = 1,680 outputs of 27 MACs each; the
    # frozen norm's muls and adds count in no convention; params: 8 * 27 weights + 8 biases
    fvcore = netcalc.count(spec, "fvcore", (16, 17))
    assert (fvcore.flops, fvcore.params, fvcore.acts) == (1680 * 27, 224, 1680)
    assert netcalc.count(spec, "torch", (16, 17)).flops == 2 * 1680 * 27
    for size in ((16, 17), (19, 26)):
        assert imported_totals(spec, size) == traced_totals(module, size)


class ScalarGains(nn.Module):
    """Scalar (0-d) parameters: a skip-init gain multiplied in, a learned offset added."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.gain = nn.Parameter(torch.tensor(0.5))
        self.offset = nn.Parameter(torch.tensor(0.1))

    def forward(self, x):
        return self.conv(x) * self.gain + self.offset


def test_scalar_parameters_are_param_ops_of_an_empty_shape():
    module = ScalarGains().eval()
    spec, _ = import_checked(module, (9, 14))
    assert [(layer["op"], layer.get("param_shape")) for layer in spec.raw["layers"][1:]] == [
        ("param_mul", []), ("param_add", [])]
    # conv 3->4, 1x1: 4 * 3 weights + 4 biases, and the two scalars
    assert netcalc.count(spec, "torch", (9, 14)).params == 4 * 3 + 4 + 2
    for size in ((9, 14), (16, 16)):
        assert imported_totals(spec, size) == traced_totals(module, size)


class ShiftedPath(nn.Module):
    """NASNet's second path: the map shifted by one pixel (padded after, cropped before), then
    pooled and convolved; ``F.pad`` by negative amounts is a crop."""

    def __init__(self):
        super().__init__()
        self.shift = nn.ZeroPad2d((-1, 1, -1, 1))
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.conv(nn.functional.pad(self.shift(x), (0, -2, -1, 0)))


def test_negative_padding_crops():
    module = ShiftedPath().eval()
    spec, _ = import_checked(module, (11, 16))
    assert [layer.get("pad") for layer in spec.raw["layers"][:2]] == [[-1, 1, -1, 1],
                                                                      [0, -2, -1, 0]]
    # the shift keeps 11x16, the crop takes 2 columns and a row: a 10x14 map into the 1x1 conv,
    # 4 * 10 * 14 = 560 outputs of 3 MACs; fvcore and FlopCounterMode count no padding
    fvcore = netcalc.count(spec, "fvcore", (11, 16))
    assert (fvcore.flops, fvcore.acts) == (560 * 3, 560)
    for size in ((11, 16), (16, 16)):
        assert imported_totals(spec, size) == traced_totals(module, size)
