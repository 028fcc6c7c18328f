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
from netcalc.torch.builder import build  # noqa: E402
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


class RelativeBias(nn.Module):
    """Attention logits over a 2x2 window of pooled positions plus a relative-position bias: a
    (3 * 3, heads) table looked up by a 4x4 index buffer, reshaped and permuted (Swin's and
    MaxViT's form)."""

    def __init__(self, heads=2):
        super().__init__()
        self.conv = nn.Conv2d(3, heads, 1)
        self.table = nn.Parameter(torch.rand(9, heads))
        offsets = torch.stack(torch.meshgrid(torch.arange(2), torch.arange(2), indexing="ij"))
        relative = (offsets.flatten(1)[:, :, None] - offsets.flatten(1)[:, None, :]) + 1
        self.register_buffer("index", relative[0] * 3 + relative[1])

    def forward(self, x):
        tokens = nn.functional.adaptive_avg_pool2d(self.conv(x), 2).flatten(2)   # (1, heads, 4)
        logits = tokens.unsqueeze(-1) @ tokens.unsqueeze(-2)                      # (1, heads, 4, 4)
        bias = self.bias_table()[self.index.view(-1)].view(4, 4, -1).permute(2, 0, 1)
        return (logits + bias.unsqueeze(0)).softmax(-1)

    def bias_table(self):
        return self.table


class RelativeBiasMLP(RelativeBias):
    """The table computed by an MLP from a buffer of the 3x3 relative coordinates (Swin v2's
    continuous position bias): real linear layers that run on no data of the input."""

    def __init__(self, heads=2):
        super().__init__(heads)
        del self.table
        self.mlp = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, heads, bias=False))
        self.register_buffer("coords", torch.rand(1, 3, 3, 2))

    def bias_table(self):
        return torch.sigmoid(self.mlp(self.coords)).view(-1, 2) * 16


def test_a_table_indexed_and_reshaped_counts_its_own_elements_once():
    module = RelativeBias().eval()
    spec, _ = import_checked(module, (10, 15))
    table = [layer for layer in spec.raw["layers"] if layer["op"] == "param"]
    assert [layer["param_shape"] for layer in table] == [[9, 2]]
    assert "index" in ops(spec)
    # params: the 1x1 conv 3->2 (6 weights, 2 biases) and the table's 18 entries, not the 32
    # biases it is looked up into
    assert netcalc.count(spec, "torch", (10, 15)).params == 6 + 2 + 18
    for size in ((10, 15), (16, 16)):
        assert imported_totals(spec, size) == traced_totals(module, size)


def test_an_mlp_run_on_a_buffer_counts_its_linear_layers():
    module, with_table = RelativeBiasMLP().eval(), RelativeBias().eval()
    spec, _ = import_checked(module, (10, 15))
    assert ops(spec).count("constant") == 1 and ops(spec).count("linear") == 2
    # the MLP runs on the 9 coordinates: 9 * 2 * 8 + 9 * 8 * 2 = 288 MACs and 9 * 8 + 9 * 2 = 90
    # outputs of linear layers (fvcore counts both); params 2 * 8 + 8 + 8 * 2 = 40 replace the
    # table's 18
    table = netcalc.count(import_checked(with_table, (10, 15))[0], "fvcore", (10, 15))
    mlp = netcalc.count(spec, "fvcore", (10, 15))
    assert (mlp.flops - table.flops, mlp.acts - table.acts, mlp.params - table.params) == (
        288, 90, 40 - 18)
    for size in ((10, 15), (16, 16)):
        assert imported_totals(spec, size) == traced_totals(module, size)


class StandardisedConv(nn.Conv2d):
    """Scaled weight standardisation (NF-Nets): the conv's weight normalised per output channel
    with batch norm's batch statistics and scaled by a learned gain, in forward."""

    def __init__(self, cin, cout, kernel):
        super().__init__(cin, cout, kernel)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x):
        weight = nn.functional.batch_norm(
            self.weight.reshape(1, self.out_channels, -1), None, None,
            weight=(self.gain * 0.5).view(-1), training=True, momentum=0., eps=1e-6,
        ).reshape_as(self.weight)
        return nn.functional.conv2d(x, weight, self.bias)


def test_a_standardised_conv_weight_counts_its_gain_and_its_normalisation():
    module = StandardisedConv(3, 4, 3).eval()
    spec, _ = import_checked(module, (12, 17))
    assert ops(spec) == ["param", "param", "mul", "reshape", "bn_batch_stats", "reshape", "conv"]
    # params: 4 * 27 weights, 4 biases, 4 gains; the 10x15 map has 4 * 150 = 600 outputs of 27
    # MACs; fvcore prices the batch norm of the (1, 4, 27) weights 5 per element (with a
    # weight), FlopCounterMode nothing
    fvcore = netcalc.count(spec, "fvcore", (12, 17))
    assert (fvcore.flops, fvcore.params, fvcore.acts) == (600 * 27 + 5 * 108, 108 + 4 + 4, 600)
    assert netcalc.count(spec, "torch", (12, 17)).flops == 2 * 600 * 27
    for size in ((12, 17), (16, 16)):
        assert imported_totals(spec, size) == traced_totals(module, size)
    # netcalc's own module of the spec (its conv reads the weight operand) traces the same
    assert traced_totals(build(spec, (12, 17)), (12, 17)) == traced_totals(module, (12, 17))


class TimesIdentity(nn.Module):
    """A pooled 4x4 map multiplied by ``torch.eye(4)`` built in forward (BAT's bilinear
    attention transform keeps the diagonal so)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return nn.functional.adaptive_avg_pool2d(self.conv(x), 4) * torch.eye(4)


def test_a_tensor_built_in_forward_multiplied_in_is_a_constant_node():
    module = TimesIdentity().eval()
    spec, _ = import_checked(module, (9, 13))
    assert ops(spec)[-2:] == ["constant", "mul"]
    assert spec.raw["layers"][-2]["shape"] == [4, 4]
    for size in ((9, 13), (16, 16)):
        assert imported_totals(spec, size) == traced_totals(module, size)
