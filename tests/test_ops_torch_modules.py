"""The ops a sweep of torch's and timm's models needs (windows over 1, 2 or 3 axes, transposed
convs, every padding, instance norm, stack, reductions, elementwise math) against torch's own
modules.

Each row is a module torch (or timm) defines, not one netcalc built, traced as users call the
tools: fvcore 0.1.5 with autograd on, FlopCounterMode, and ``numel`` of its parameters. The
numbers written in each row are those measurements (and a hand derivation in the comment); the
test checks that netcalc's rules give them and that the tools still measure them.
"""
import pytest

from netcalc.fields import Fields
from netcalc.ops import all_ops
from netcalc.ops.pad import SamePadding, same_pads
from netcalc.rules import CONVENTIONS

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from torch import nn  # noqa: E402

from netcalc.torch.validate import quiet_fvcore  # noqa: E402

import tv  # noqa: E402


def netcalc_counts(op, attrs, in_shape, operands=1):
    """(fvcore flops, fvcore acts, torch flops, params, output shape) of one node reading
    ``operands`` tensors of ``in_shape``."""
    definition = all_ops()[op]
    fields = Fields(dict(attrs), "<test>", "layers[0]")
    parsed = definition.parse(fields)
    fields.finish()
    ins = (tuple(in_shape),) * operands
    out = definition.infer_shape(ins, parsed)
    fvcore, torch_table = CONVENTIONS["fvcore"].table()[op], CONVENTIONS["torch"].table()[op]
    flops, params, acts = (rule(ins, out, parsed) for rule in fvcore)
    return flops, acts, torch_table[0](ins, out, parsed), params, out


def measured(module, in_shape):
    """What fvcore (autograd on, as users call it), FlopCounterMode and numel say of a module
    (``in_shape``: the input's shape, or a list of the shapes of several inputs)."""
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    module.eval()
    xs = tuple(torch.rand(*shape) for shape in (
        in_shape if isinstance(in_shape, list) else [in_shape]))
    with torch.enable_grad(), quiet_fvcore():
        flops = FlopCountAnalysis(module, xs).unsupported_ops_warnings(False).total()
        acts = ActivationCountAnalysis(module, xs).unsupported_ops_warnings(False).total()
        counter = FlopCounterMode(display=False)
        with counter:
            out = module(*xs)
    return (flops, acts, counter.get_total_flops(), sum(p.numel() for p in module.parameters()),
            tuple(out.shape))


# (module, input shape, netcalc op, its attributes, (fvcore flops, fvcore acts, torch flops,
#  params, output shape))
ROWS = {
    # taps 6 * C_out/groups 3 * numel(in) 140 = 2,520 (the INPUT's positions); params 6*4*3 + 6
    "conv_transpose2d": (
        lambda: nn.ConvTranspose2d(4, 6, (3, 2), (2, 3), (1, 0), (1, 2), 2, True, (1, 2)),
        (1, 4, 5, 7), "conv_transpose",
        {"out": 6, "kernel": [3, 2], "stride": [2, 3], "padding": [1, 0],
         "output_padding": [1, 2], "groups": 2, "bias": True, "dilation": [1, 2]},
        (2_520, 1_380, 5_040, 78, (1, 6, 10, 23))),
    # 3 * 6 * 36 = 648; out (9 - 1)*2 - 2 + 2 + 1 + 1 = 18
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(4, 6, 3, 2, 1, 1, bias=False), (1, 4, 9),
                         "conv_transpose",
                         {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1},
                         (648, 108, 1_296, 72, (1, 6, 18))),
    # 27 * 3 * 240 = 19,440; params 27*4*3 + 6 = 330
    "conv_transpose3d": (lambda: nn.ConvTranspose3d(4, 6, 3, 2, 1, groups=2), (1, 4, 3, 4, 5),
                         "conv_transpose",
                         {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "groups": 2,
                          "bias": True},
                         (19_440, 1_890, 38_880, 330, (1, 6, 5, 7, 9))),
    # 3 * 2 * 30 = 180
    "conv1d": (lambda: nn.Conv1d(4, 6, 3, 2, 1, groups=2), (1, 4, 9), "conv",
               {"out": 6, "kernel": 3, "stride": 2, "groups": 2, "bias": True},
               (180, 30, 360, 42, (1, 6, 5))),
    # 27 * 4 * 72 = 7,776
    "conv3d": (lambda: nn.Conv3d(4, 6, 3, 2, 1), (1, 4, 3, 4, 5), "conv",
               {"out": 6, "kernel": 3, "stride": 2, "bias": True},
               (7_776, 72, 15_552, 654, (1, 6, 2, 2, 3))),
    # depthwise: taps 9 * C_in/groups 1 * numel(out) 360 = 3,240
    "conv3d_anisotropic": (lambda: nn.Conv3d(4, 4, (1, 3, 3), (1, 2, 1), (0, 1, 1), (1, 1, 2),
                                             groups=4, bias=False),
                           (1, 4, 3, 9, 8), "conv",
                           {"out": 4, "kernel": [1, 3, 3], "stride": [1, 2, 1],
                            "padding": [0, 1, 1], "dilation": [1, 1, 2], "groups": 4},
                           (3_240, 360, 6_480, 36, (1, 4, 3, 5, 6))),
    # no pool costs anything in fvcore (unsupported) or FlopCounterMode
    "maxpool1d": (lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True), (1, 4, 10), "maxpool",
                  {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                  (0, 0, 0, 0, (1, 4, 6))),
    "maxpool3d": (lambda: nn.MaxPool3d(3, 2, 1, dilation=(1, 2, 1)), (1, 4, 5, 6, 7), "maxpool",
                  {"kernel": 3, "stride": 2, "padding": 1, "dilation": [1, 2, 1]},
                  (0, 0, 0, 0, (1, 4, 3, 2, 4))),
    "avgpool1d": (lambda: nn.AvgPool1d(3, 2, 1, count_include_pad=False), (1, 4, 9), "avgpool",
                  {"kernel": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                  (0, 0, 0, 0, (1, 4, 5))),
    "avgpool3d": (lambda: nn.AvgPool3d((2, 3, 3), (1, 2, 2)), (1, 4, 5, 6, 7), "avgpool",
                  {"kernel": [2, 3, 3], "stride": [1, 2, 2], "padding": 0},
                  (0, 0, 0, 0, (1, 4, 4, 2, 3))),
    # fvcore has a handle for adaptive_avg_pool2d only: its 1D and 3D twins count 0
    "adaptive_avgpool1d": (lambda: nn.AdaptiveAvgPool1d(2), (1, 4, 9), "adaptive_avgpool",
                           {"output_size": 2}, (0, 0, 0, 0, (1, 4, 2))),
    "adaptive_avgpool3d": (lambda: nn.AdaptiveAvgPool3d((2, 1, 3)), (1, 4, 5, 6, 7),
                           "adaptive_avgpool", {"output_size": [2, 1, 3]},
                           (0, 0, 0, 0, (1, 4, 2, 1, 3))),
    "adaptive_avgpool2d": (lambda: nn.AdaptiveAvgPool2d(2), (1, 4, 5, 7), "adaptive_avgpool",
                           {"output_size": 2}, (140, 0, 0, 0, (1, 4, 2, 2))),
    "adaptive_maxpool3d": (lambda: nn.AdaptiveMaxPool3d(2), (1, 4, 5, 6, 7), "adaptive_maxpool",
                           {"output_size": 2}, (0, 0, 0, 0, (1, 4, 2, 2, 2))),
    "gap1d": (lambda: nn.AdaptiveAvgPool1d(1), (1, 4, 9), "gap", {}, (0, 0, 0, 0, (1, 4, 1))),
    "gap3d": (lambda: nn.AdaptiveAvgPool3d(1), (1, 4, 3, 5, 7), "gap", {},
              (0, 0, 0, 0, (1, 4, 1, 1, 1))),
    # fvcore's batch_norm handle in eval: 2 per element, any rank
    "bn3d": (lambda: nn.BatchNorm3d(4), (1, 4, 3, 5, 7), "bn", {}, (840, 0, 0, 8, (1, 4, 3, 5, 7))),
    # every padding module is aten::pad: unsupported in fvcore (0), nothing in FlopCounterMode
    "zero_pad2d": (lambda: nn.ZeroPad2d((1, 2, 3, 4)), (1, 4, 5, 7), "pad",
                   {"pad": [1, 2, 3, 4]}, (0, 0, 0, 0, (1, 4, 12, 10))),
    "reflection_pad2d": (lambda: nn.ReflectionPad2d((1, 2, 3, 4)), (1, 4, 5, 7), "pad",
                         {"pad": [1, 2, 3, 4], "mode": "reflect"}, (0, 0, 0, 0, (1, 4, 12, 10))),
    "replication_pad3d": (lambda: nn.ReplicationPad3d((1, 2, 3, 4, 0, 1)), (1, 4, 3, 5, 7),
                          "pad", {"pad": [1, 2, 3, 4, 0, 1], "mode": "replicate"},
                          (0, 0, 0, 0, (1, 4, 4, 12, 10))),
    "circular_pad1d": (lambda: nn.CircularPad1d((3, 1)), (1, 4, 5), "pad",
                       {"pad": [3, 1], "mode": "circular"}, (0, 0, 0, 0, (1, 4, 9))),
    "constant_pad_value": (lambda: nn.ConstantPad2d((0, 1, 2, 0), -1.5), (1, 4, 5, 7), "pad",
                           {"pad": [0, 1, 2, 0], "value": -1.5}, (0, 0, 0, 0, (1, 4, 7, 8))),
    # aten::instance_norm: 4 per element, 5 with affine (4 * 140 = 560, 5 * 140 = 700); 2C params
    "instance_norm2d": (lambda: nn.InstanceNorm2d(4), (1, 4, 5, 7), "instance_norm", {},
                        (560, 0, 0, 0, (1, 4, 5, 7))),
    "instance_norm2d_tracked": (lambda: nn.InstanceNorm2d(4, affine=True,
                                                          track_running_stats=True),
                                (1, 4, 5, 7), "instance_norm",
                                {"affine": True, "track_running_stats": True},
                                (700, 0, 0, 8, (1, 4, 5, 7))),
    "instance_norm1d": (lambda: nn.InstanceNorm1d(4, affine=True), (1, 4, 7), "instance_norm",
                        {"affine": True}, (140, 0, 0, 8, (1, 4, 7))),
    "instance_norm3d": (lambda: nn.InstanceNorm3d(4), (1, 4, 3, 5, 7), "instance_norm", {},
                        (1_680, 0, 0, 0, (1, 4, 3, 5, 7))),
    # reductions and elementwise math: unsupported in fvcore (0), nothing in FlopCounterMode
    "sum": (lambda: Call(lambda x: x.sum((2, 3), keepdim=True)), (1, 4, 5, 7), "sum",
            {"dim": [2, 3], "keepdim": True}, (0, 0, 0, 0, (1, 4, 1, 1))),
    "torch_sum": (lambda: Call(lambda x: torch.sum(x, -3)), (1, 4, 5, 7), "sum", {"dim": -3},
                  (0, 0, 0, 0, (1, 5, 7))),
    "amax": (lambda: Call(lambda x: x.amax((1, 3))), (1, 4, 5, 7), "amax", {"dim": [1, 3]},
             (0, 0, 0, 0, (1, 5))),
    "max_values": (lambda: Call(lambda x: x.max(1, keepdim=True)[0]), (1, 4, 5, 7), "amax",
                   {"dim": 1, "keepdim": True}, (0, 0, 0, 0, (1, 1, 5, 7))),
    "amin": (lambda: Call(lambda x: x.amin(-1)), (1, 4, 5, 7), "amin", {"dim": -1},
             (0, 0, 0, 0, (1, 4, 5))),
    "flip": (lambda: Call(lambda x: x.flip((1, -1))), (1, 4, 5, 7), "flip", {"dims": [1, -1]},
             (0, 0, 0, 0, (1, 4, 5, 7))),
    "expand": (lambda: Call(lambda x: x.expand(2, -1, -1, 3, -1)), (1, 4, 1, 7), "expand",
               {"shape": [2, -1, -1, 3, -1]}, (0, 0, 0, 0, (2, 1, 4, 3, 7))),
    **{name: (lambda name=name: Call(getattr(torch, name)), (1, 4, 5, 7), name, {},
              (0, 0, 0, 0, (1, 4, 5, 7))) for name in ("abs", "neg", "sqrt", "rsqrt", "exp", "log")},
    "pow": (lambda: Call(lambda x: x ** 0.5), (1, 4, 5, 7), "pow", {"exponent": 0.5},
            (0, 0, 0, 0, (1, 4, 5, 7))),
    "square": (lambda: Call(torch.square), (1, 4, 5, 7), "pow", {}, (0, 0, 0, 0, (1, 4, 5, 7))),
}


class Call(nn.Module):
    """A module that applies a function (how models call torch functions and methods)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


@pytest.mark.parametrize("row", sorted(ROWS))
def test_netcalc_counts_what_the_tools_measure_on_torchs_module(row):
    build, in_shape, op, attrs, expected = ROWS[row]
    assert netcalc_counts(op, attrs, in_shape) == expected
    assert measured(build(), in_shape) == expected


def test_stack_adds_a_dim_and_costs_nothing():
    """``torch.stack([x, x, x], 2)`` of (1, 4, 5, 7) maps: (1, 4, 3, 5, 7); aten::stack is
    skipped by fvcore and FlopCounterMode."""
    module = Call(lambda x: torch.stack([x, x, x], 2))
    expected = (0, 0, 0, 0, (1, 4, 3, 5, 7))
    assert netcalc_counts("stack", {"dim": 2}, (1, 4, 5, 7), operands=3) == expected
    assert measured(module, (1, 4, 5, 7)) == expected


def test_a_conv_padding_mode_is_a_pad_then_an_unpadded_conv():
    """``Conv2d(padding_mode='reflect')`` pads with aten::pad (0) and convolves the padded map:
    fvcore 3*3*4 * 6*5*7 = 7,560, the count of a reflect pad node and a conv with padding 0."""
    in_shape = (1, 4, 5, 7)
    for mode in ("reflect", "replicate", "circular"):
        module = nn.Conv2d(4, 6, 3, padding=1, padding_mode=mode)
        pad = netcalc_counts("pad", {"pad": [1, 1, 1, 1], "mode": mode}, in_shape)
        conv = netcalc_counts("conv", {"out": 6, "kernel": 3, "padding": 0, "bias": True},
                              pad[-1])
        together = tuple(p + c for p, c in zip(pad[:4], conv[:4])) + (conv[-1],)
        assert together == measured(module, in_shape) == (7_560, 210, 15_120, 222, (1, 6, 5, 7))


def test_same_padding_is_tensorflows_at_every_size():
    """``same_pads`` gives TensorFlow's "SAME" amounts (timm's ``get_same_padding``: total
    ``max((ceil(x/s) - 1)*s + (k - 1)*d + 1 - x, 0)``, the odd unit after) for every size 1..40,
    kernel 1..5, stride 1..3 and dilation 1..2, windows shorter than their stride included."""
    for k in range(1, 6):
        for s in range(1, 4):
            for d in (1, 2):
                for size in range(1, 41):
                    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
                    pads = same_pads((size,), SamePadding(k, s, d))
                    assert pads == (total // 2, total - total // 2), (size, k, s, d)
    assert same_pads((9, 8), SamePadding((3, 2), 2)) == (0, 0, 1, 1)      # w first, as F.pad


@pytest.mark.slow
@pytest.mark.parametrize("resolution", [(9, 8), (17, 26)], ids=["small", "odd"])
def test_timms_same_padded_conv_and_pool_count_as_a_same_pad_then_the_window(resolution):
    """timm's ``Conv2dSame`` and ``MaxPool2dSame`` (TF ports): a ``pad`` with ``mode: same``
    before an unpadded window gives their output shape and fvcore's and FlopCounterMode's counts
    at sizes the strides do not divide."""
    import netcalc

    tv.import_torchvision()         # timm imports torchvision
    timm_layers = pytest.importorskip("timm.layers")
    from timm.layers.pool2d_same import MaxPool2dSame
    module = nn.Sequential(timm_layers.Conv2dSame(4, 6, 3, stride=2),
                           MaxPool2dSame(3, stride=2),
                           timm_layers.Conv2dSame(6, 8, (2, 5), stride=(3, 1), dilation=(1, 2)))
    same = {"mode": "same"}
    spec = {"family": "graph", "in_channels": 4, "resolution": list(resolution), "layers": [
        {"op": "pad", "pad": {**same, "kernel": 3, "stride": 2}},
        {"op": "conv", "out": 6, "kernel": 3, "stride": 2, "padding": 0, "bias": True},
        {"op": "pad", "pad": {**same, "kernel": 3, "stride": 2}, "value": float("-inf")},
        {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 0},
        {"op": "pad", "pad": {**same, "kernel": [2, 5], "stride": [3, 1], "dilation": [1, 2]}},
        {"op": "conv", "out": 8, "kernel": [2, 5], "stride": [3, 1], "dilation": [1, 2],
         "padding": 0, "bias": True}]}
    fvcore, torch_count = netcalc.count(spec, "fvcore"), netcalc.count(spec, "torch")
    tools = measured(module, (1, 4) + resolution)
    assert (fvcore.flops, fvcore.acts, torch_count.flops, fvcore.params,
            fvcore.graph.output.shape) == tools
