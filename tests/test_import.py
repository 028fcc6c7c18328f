"""``netcalc import`` / ``netcalc.from_torch``: captured ATen calls to spec nodes, the refusals, the
CLI.

Counts of imported torchvision models against their traces are in test_import_torchvision.py.
"""
import os
import textwrap

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402

import netcalc  # noqa: E402
from netcalc.cli import main  # noqa: E402

from netcalc.torch.importer import ImportFailure, convert  # noqa: E402


def ops_of(module, resolution=32, **kw):
    return [(layer["name"], layer["op"]) for layer in
            convert(module, resolution, **kw).data["layers"]]


class ReluForms(nn.Module):
    """The same op written six ways: each must become one relu node."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.act(self.conv(x))
        x = F.relu(x)
        x = torch.relu(x)
        x = x.relu()
        x = x.relu_()
        return F.relu(x, inplace=True)


def test_every_form_of_relu_is_one_relu_node():
    """Named by the module they run in: the leaf module's name, else the ATen op in its parent."""
    assert ops_of(ReluForms()) == [("conv", "conv"), ("act", "relu"), ("relu", "relu"),
                                   ("relu-2", "relu"), ("relu-3", "relu"), ("relu-4", "relu"),
                                   ("relu-5", "relu")]


class Shuffle(nn.Module):
    """ShuffleNetV2's unit: chunk, size arithmetic in a view, transpose, contiguous, cat."""

    def __init__(self):
        super().__init__()
        self.branch = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, self.branch(b)), dim=1)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(n, -1, h, w).mean((2, 3))


def test_chunk_becomes_slices_and_size_arithmetic_folds_into_the_reshape():
    layers = convert(Shuffle(), (24, 40), in_channels=8).data["layers"]
    assert [(l["name"], l["op"]) for l in layers] == [
        ("chunk", "slice"), ("chunk-2", "slice"), ("branch", "conv"), ("cat", "concat"),
        ("view", "reshape"), ("transpose", "transpose"), ("view-2", "reshape"),
        ("mean", "mean")]
    first, second = layers[0], layers[1]
    assert (first["dim"], first.get("start"), first["stop"]) == (1, None, 4)
    assert (second["input"], second["start"], second.get("stop")) == ("input", 4, None)
    assert layers[3]["inputs"] == ["chunk", "branch"]
    # n and channels stay constants; h and w follow the input's dims 2 and 3 (then 3 and 4)
    assert layers[4]["shape"] == [1, 2, 4, "d2", "d3"]
    assert layers[6]["shape"] == [1, 8, "d3", "d4"]
    assert layers[7]["dim"] == [2, 3]


class Fixed(nn.Module):
    """A classifier whose view hard-codes the feature map of a 32 x 32 input."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * 16 * 16, 10)

    def forward(self, x):
        return self.fc(self.conv(x).view(1, 4 * 16 * 16))


def test_a_view_with_constants_is_held_to_the_sides_it_runs_at():
    """torch.export keeps h and w symbolic, but records the view's check of the 16 x 16 map as
    a guard: it holds for sides 31 and 32 (the stride-2 conv's map is 16 at both), and at 30
    and 33 the model does not run. The spec's range says so, and its linear layer keeps its
    1024 input features."""
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    module = Fixed().eval()
    spec, _ = import_checked(module, 32)
    assert spec.raw["layers"][2]["in_features"] == 1024
    assert spec.raw["resolution_range"] == {"h": [31, 32], "w": [31, 32]}
    assert "holds for h up to 32: at 33x32 the model does not run" in spec.raw["notes"]
    assert imported_totals(spec, (31, 32)) == traced_totals(module, (31, 32))
    with pytest.raises(netcalc.SpecError, match="65x65 is outside resolution_range"):
        netcalc.count(spec, "torch", 65)


class Tokens(nn.Module):
    """A reshape whose size is h * w: -1, so it stays exact at every resolution."""

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w).transpose(1, 2)


def test_a_resolution_dependent_product_becomes_minus_one():
    data = convert(Tokens(), 16).data
    assert data["layers"][0]["shape"] == [1, 3, -1]
    assert data["notes"] == ["size rules from torch.export's symbolic shapes (dynamic h and w)"]


class Angle(nn.Module):
    """An op netcalc has no definition for, reading a parameter."""

    def __init__(self):
        super().__init__()
        self.offset = nn.Parameter(torch.ones(4, 1, 1))

    def forward(self, x):
        return torch.atan2(x, self.offset)


class Unknowns(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.angle = Angle()

    def forward(self, x):
        return torch.erf(self.angle(self.conv(x)))


def test_unsupported_ops_are_all_named_with_node_and_module():
    with pytest.raises(ImportFailure) as err:
        convert(Unknowns(), 32)
    message = str(err.value)
    assert "no netcalc op for aten.atan2 at node atan2 in module angle" in message
    assert "unsupported ops in the whole model: aten.atan2, aten.erf" in message
    assert "\n" not in message


def test_allow_unknown_records_free_identity_ops_in_the_notes():
    from netcalc.torch.importer import import_checked

    spec, imported = import_checked(Unknowns(), 32, allow_unknown=True)
    assert [(l["name"], l["op"]) for l in spec.raw["layers"]] == [
        ("conv", "conv"), ("angle", "identity"), ("erf", "identity")]
    assert spec.raw["notes"][1:] == [
        "free stand-in (identity) for unsupported aten.atan2 (4 parameters not counted) at node "
        "atan2 in module angle",
        "free stand-in (identity) for unsupported aten.erf at node erf"]
    # the conv's 3*3*3*4 + 4 parameters are counted, the angle's 4 are not
    assert netcalc.count(spec, "torch").params == 112 and imported.numel == 116
    assert netcalc.count(spec).notes == tuple(spec.raw["notes"])


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_control_flow_on_tensor_values_is_a_clear_error():
    with pytest.raises(ImportFailure, match="torch.export cannot capture it .*data-dependent.*"
                                            "Python control flow on tensor values"):
        convert(Branchy(), 32)


def test_netcalc_import_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, netcalc; netcalc.to_yaml({'a': 1}); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True).stdout.strip() == "False"


# -- hostile targets: one line, exit 2 ------------------------------------------------------------
MODELS_PY = textwrap.dedent("""
    import torch
    from torch import nn

    VALUE = 3

    def net():
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

    def needs_args(width):
        return nn.Conv2d(3, width, 3)

    def not_a_module():
        return [1, 2]

    def raises():
        raise ValueError("no weights here")

    class BadStr(Exception):
        def __str__(self):
            raise RuntimeError("a __str__ that fails")

    def bad_str():
        raise BadStr()

    def needs_real_tensors():
        width = int(torch.ones(1).sum().item()) * 4      # fails on the meta device
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU())

    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    def branchy():
        return Branchy()

    def mismatched_torchvision():
        raise RuntimeError("operator torchvision::nms does not exist")
""")


@pytest.fixture
def models_py(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS_PY)
    (tmp_path / "broken.py").write_text("import no_such_package_anywhere\n")
    return str(path)


@pytest.mark.parametrize("suffix,expected", [
    (":VALUE", "VALUE is a int, not a callable"),
    (":needs_args", "calling it with no arguments raised TypeError: needs_args() missing 1"),
    (":not_a_module", "returned a list, not a torch.nn.Module"),
    (":raises", "calling it with no arguments raised ValueError: no weights here"),
    (":branchy", "torch.export cannot capture it on a (1, 3, 224, 224) input: "
                 "GuardOnDataDependentSymNode"),
    (":mismatched_torchvision", "torch and torchvision must come from the same build"),
    (":bad_str", "calling it with no arguments raised BadStr"),
    (":missing", "has no attribute 'missing'"),
])
def test_hostile_targets_are_one_line_errors(models_py, suffix, expected):
    """What the child process of `netcalc import` raises (tests/test_import_isolation.py runs
    it for real): in-process here, since each child imports torch afresh."""
    from netcalc.torch.target import import_target

    with pytest.raises(netcalc.SpecError) as caught:
        import_target(models_py + suffix)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_malformed_target_fails_before_any_child():
    result = CliRunner().invoke(main, ["import", "models.py"])
    assert result.exit_code == 2
    assert result.output == ("error: models.py: TARGET: must be package.module:callable or "
                             "path/to/file.py:callable\n")


def test_a_file_target_imports_even_when_it_needs_real_tensors(models_py):
    """Built on the meta device when it allows, else on the CPU: same spec either way."""
    from netcalc.torch.target import import_target

    for factory in ("net", "needs_real_tensors"):
        spec = import_target(f"{models_py}:{factory}", (8, 12))
        assert [layer["op"] for layer in spec.raw["layers"]] == ["conv", "relu"]
        assert spec.raw["layers"][0]["out"] == 4
        assert spec.name == "Sequential"        # the module's class, not the factory's name


@pytest.mark.parametrize("target,expected", [
    ("no_such_module_xyz:net", "importing no_such_module_xyz raised ModuleNotFoundError"),
    ("{dir}/broken.py:net", "raised ModuleNotFoundError: No module named "
                            "'no_such_package_anywhere'"),
    ("{dir}/absent.py:net", "absent.py: no such file"),
])
def test_targets_that_do_not_import(models_py, target, expected):
    from netcalc.torch.target import import_target

    with pytest.raises(netcalc.SpecError) as caught:
        import_target(target.format(dir=os.path.dirname(models_py)))
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_bad_resolution_is_one_line():
    result = CliRunner().invoke(main, ["import", "x:y", "--resolution", "12by4"])
    assert result.exit_code == 2
    assert "Invalid value for '--resolution': '12by4' is not N or HxW" in result.output


# -- the example other repository: its imported, locked model guards its Python source ------------
@pytest.mark.slow
def test_changing_a_layer_of_the_python_model_fails_its_test_with_a_per_layer_diff(tmp_path):
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(ROOT, "tests", "example_other_repo"), repo,
                    ignore=shutil.ignore_patterns("__pycache__"))
    model = repo / "tiny_shuffle_model.py"
    source = model.read_text()
    depthwise = "nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False)"
    assert depthwise in source
    model.write_text(source.replace(depthwise, depthwise.replace("3, padding=1", "5, padding=2")))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_edge_net_complexity.py", "-k", "imports_as_its_spec"],
                          cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    # both units' depthwise convs, 3x3 -> 5x5 on 12 channels at 24x24: flops 9 -> 25 per
    # position and channel, params 9*12 -> 25*12; their output shapes and acts are unchanged
    for unit in (0, 1):
        assert (f"~ units.{unit}.branch.3 (conv) flops: 62,208 -> 172,800 (+110,592)"
                in done.stdout)
        assert f"~ units.{unit}.branch.3 (conv) params: 108 -> 300 (+192)" in done.stdout
    assert "tiny_shuffle no longer imports as" in done.stdout


# -- every form of the table, imported from a small module, counts what the tools count ----------
class Probe(nn.Module):
    """A 3x3 conv to 8 channels, then ``fn(x, self)``; ``modules`` and ``params`` are attributes
    fn may use (so modules are call_module nodes and parameters get_attr nodes)."""

    def __init__(self, fn, params=None, **modules):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fn = fn
        for name, module in modules.items():
            setattr(self, name, module)
        for name, shape in (params or {}).items():
            setattr(self, name, nn.Parameter(torch.ones(shape)))

    def forward(self, x):
        return self.fn(self.conv(x), self)


def activations(x, m):
    x = torch.sigmoid(F.silu(m.a(m.b(x))))
    x = F.gelu(torch.tanh(F.hardsigmoid(F.hardswish(x))), approximate="tanh")
    return F.softplus(m.e(F.elu(m.d(F.leaky_relu(m.c(x), 0.2)), 0.5)), beta=2.0)


def shapes(x):
    a, b = torch.split(x, [3, 5], 1)
    c, d = x.chunk(2, dim=1)
    x = torch.cat([b, a, d, x.view(1, 2, 4, 16, 16).reshape(1, 8, 16, 16),
                   torch.permute(c, (0, 1, 3, 2))], dim=1)
    return x.mean(dim=(2, 3), keepdim=True)


def upsample(x, m):
    big = F.interpolate(m.a(x), scale_factor=2.0, mode="bilinear", align_corners=True)
    return big + F.interpolate(F.max_pool2d(x, 4), size=big.shape[-2:])     # FPN's form


def tokens(x):
    return x.flatten(2).transpose(1, 2)        # (1, H*W, 8)


FORMS = {
    "conv": Probe(lambda x, m: m.a(m.b(m.c(x))), a=nn.Conv2d(4, 8, (3, 5), 2, (1, 2), bias=True),
                  b=nn.Conv2d(8, 4, 3, padding=2, dilation=2, groups=4),
                  c=nn.Conv2d(8, 8, 3, padding=1)),
    "bn": Probe(lambda x, m: m.a(x), a=nn.BatchNorm2d(8)),
    "bn1d": Probe(lambda x, m: m.a(x.mean((2, 3))), a=nn.BatchNorm1d(8)),
    "linear": Probe(lambda x, m: F.linear(m.a(x.mean((2, 3))), m.w, m.bias_),
                    params={"w": (5, 6), "bias_": (5,)}, a=nn.Linear(8, 6)),
    "linear_tokens": Probe(lambda x, m: m.a(tokens(x)), a=nn.Linear(8, 3, bias=False)),
    "relu": Probe(lambda x, m: torch.relu_(F.relu(torch.relu(x).relu()).relu_())),
    "relu6": Probe(lambda x, m: F.hardtanh(m.a(x), 0.0, 6.0), a=nn.ReLU6()),
    "activations": Probe(lambda x, m: activations(x, m), a=nn.SiLU(), b=nn.Mish(),
                         c=nn.PReLU(8), d=nn.GELU(), e=nn.LeakyReLU()),
    "softmax": Probe(lambda x, m: m.a(F.softmax(x.softmax(1), dim=-1)), a=nn.Softmax(dim=2)),
    "identity": Probe(lambda x, m: F.dropout(m.b(m.a(x)), 0.1, training=False),
                      a=nn.Dropout(0.2), b=nn.Identity()),
    "pools": Probe(lambda x, m: F.avg_pool2d(F.max_pool2d(m.a(m.b(x)), 3, 2, 1,
                                                          ceil_mode=True), 2),
                   a=nn.MaxPool2d(2, 1), b=nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    "adaptive": Probe(lambda x, m: torch.cat([F.adaptive_avg_pool2d(x, 1).flatten(1),
                                              m.a(x).flatten(1), m.b(x).flatten(1)], 1),
                      a=nn.AdaptiveAvgPool2d((3, 5)), b=nn.AdaptiveMaxPool2d(2)),
    "flatten": Probe(lambda x, m: m.a(torch.flatten(x, 2)), a=nn.Flatten()),
    "norms": Probe(lambda x, m: m.c(m.a(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
                   + F.layer_norm(x, (8, 16, 16)), c=nn.GroupNorm(2, 8), a=nn.LayerNorm(8)),
    "layer_norm_2d": Probe(lambda x, m: F.layer_norm(x.permute(0, 2, 3, 1), (8,), m.w, m.b)
                           .permute(0, 3, 1, 2), params={"w": (8,), "b": (8,)}),
    "shapes": Probe(lambda x, m: shapes(x)),
    "slices": Probe(lambda x, m: x[:, 2:6, 1:] + x[:, :4, :-1, ...] + x[:, 0:1, 1:] * 2),
    "shuffle": Probe(lambda x, m: m.a(x) + x.transpose(2, 3), a=nn.ChannelShuffle(2)),
    "upsample": Probe(lambda x, m: upsample(x, m), a=nn.Upsample(scale_factor=2)),
    "upsample_size": Probe(lambda x, m: F.interpolate(x, size=(64, 48))),
    "pad": Probe(lambda x, m: F.pad(x, (1, 2, 0, 1), value=0.5)),
    "matmul": Probe(lambda x, m: torch.bmm(tokens(x), tokens(x).transpose(1, 2))
                    @ tokens(x)),
    "arith": Probe(lambda x, m: ((x + 1) * x - x / 2).sub(x).div_(3) * m.scale + m.shift,
                   params={"scale": (8, 1, 1), "shift": (8, 1, 1)}),
}


FAST_FORMS = ("conv", "activations", "shapes", "upsample", "arith")


@pytest.mark.parametrize("name", [name if name in FAST_FORMS else pytest.param(
    name, marks=pytest.mark.slow) for name in FORMS])
def test_each_form_counts_what_fvcore_and_flopcountermode_count(name):
    pytest.importorskip("fvcore")
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    module = FORMS[name]
    spec, _ = import_checked(module, 16, name)
    assert imported_totals(spec) == traced_totals(module, 16)


def test_conv_with_padding_same_is_fvcores_blind_spot_and_a_note():
    """fvcore 0.1.5 has no handle for aten::_convolution_mode (Conv2d(padding='same')) and
    counts 0: so does the fvcore convention, and the spec's note names the 72*8*256 flops it
    leaves out; the torch convention counts the conv (padding 1 for a 3x3) as FlopCounterMode."""
    pytest.importorskip("fvcore")
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals
    from netcalc.torch.validate import run_measures

    module = Probe(lambda x, m: m.a(x), a=nn.Conv2d(8, 8, 3, padding="same"))
    spec, _ = import_checked(module, 16)
    assert spec.raw["layers"][1]["padding"] == 1
    counted, traced = imported_totals(spec), traced_totals(module, 16)
    assert counted["torch.flops"] == traced["torch.flops"] == 2 * (27 + 72) * 8 * 256
    measured = run_measures(module, (torch.zeros(1, 3, 16, 16),), ["fvcore.flops"])
    assert dict(measured["fvcore.flops"].unsupported) == {"aten::_convolution_mode": 1}
    assert counted["fvcore.flops"] == traced["fvcore.flops"] == 27 * 8 * 256
    assert spec.raw["notes"][-1] == (
        "the fvcore convention counts 0 flops for 1 conv(s) padded 'same' or 'valid' by name (a):"
        " fvcore 0.1.5 has no handle for aten::_convolution_mode; it leaves out 147,456 flops at "
        "the spec's resolution (the torch convention counts them)")


def test_the_docs_table_of_supported_aten_ops_is_the_registrys():
    """docs/your_own_model.md holds the table the registry generates, unchanged."""
    from conftest import ROOT
    from netcalc.ops import all_ops
    from netcalc.ops.aten import supported_table

    with open(os.path.join(ROOT, "docs", "your_own_model.md")) as handle:
        doc = handle.read()
    assert supported_table(all_ops()) in doc


class Shared(nn.Module):
    """One conv applied twice: its parameters count once, its flops and acts at each call."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


def test_a_module_called_twice_shares_its_parameters():
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    module = Shared()
    spec, imported = import_checked(module, 17)
    assert [(l["name"], l.get("shares")) for l in spec.raw["layers"]] == [("conv", None),
                                                                           ("conv-2", "conv")]
    assert imported.shared_params == {"conv-2": 84}       # 3*3*3*3 weights + 3 biases
    # params are the module's numel; flops count both calls: 2 calls x 2 x 81 MACs (3x3 kernel,
    # 3 in, 3 out channels) per position of the 17x23 map
    assert imported_totals(spec, (17, 23)) == traced_totals(module, (17, 23))
    assert netcalc.count(spec, "torch", (17, 23)).params == 84
    assert netcalc.count(spec, "torch", (17, 23)).flops == 2 * 2 * 81 * 17 * 23


def test_a_converter_bug_is_an_internal_error_not_an_unsupported_op():
    """A converter that raises anything but NotModelled has a bug: the import says so, naming
    the converter and the node, instead of listing the op as unsupported."""
    from netcalc.ops import register_op, unregister_op
    from netcalc.ops.simple import FreeElementwise

    def broken(call):
        return call.named["no_such_argument"]

    register_op(type("Erf", (FreeElementwise,), {"name": "erf_toy", "module": "Identity",
                                                 "aten": {"erf": broken}}))
    try:
        with pytest.raises(ImportFailure) as err:
            convert(Probe(lambda x, m: torch.erf(x)), 16)
    finally:
        unregister_op("erf_toy")
    message = str(err.value)
    assert "internal error: netcalc's converter of aten.erf (op erf_toy) failed on node erf: " \
           "KeyError: 'no_such_argument'" in message
    assert "no netcalc op" not in message


def test_a_3d_model_at_an_image_resolution_and_a_4_element_resolution_are_netcalc_errors():
    from netcalc.errors import NetcalcError

    with pytest.raises(NetcalcError, match=r"first convolution is 3-d, the input has 2 spatial "
                                           r"side\(s\): give the input's shape"):
        convert(nn.Sequential(nn.Conv3d(1, 2, 3)), 16)
    with pytest.raises(NetcalcError, match=r"expected an integer or \[l\], \[h, w\] or "
                                           r"\[d, h, w\], got 4 entries"):
        convert(ReluForms(), (8, 8, 8, 8))


def test_from_torch_and_to_yaml_are_netcalc_api():
    spec = netcalc.from_torch(Shuffle(), (16, 24), name="shuffle", in_channels=8)
    assert spec.name == "shuffle" and spec.family == "graph"
    text = netcalc.to_yaml(spec)
    assert text.splitlines()[:7] == ["family: graph", "name: shuffle", "resolution: [16, 24]",
                                     "in_channels: 8", "notes:", "- size rules from torch.export's "
                                     "symbolic shapes (dynamic h and w)", "layers:"]
    assert text.splitlines()[7] == "- {name: chunk, op: slice, stage: top, block: top, dim: 1, " \
                                   "stop: 4}"
    assert netcalc.load_spec(__import__("yaml").safe_load(text)).raw == spec.raw


def test_an_upsample_to_another_tensors_size_keeps_its_scale():
    """FPN's interpolate(size=y.shape[-2:]) is a factor of its input at every resolution: the
    spec says scale_factor, so other resolutions stay exact; a literal size stays a size."""
    def sizes(name):
        return [{k: v for k, v in layer.items() if k in ("size", "scale_factor")}
                for layer in convert(FORMS[name], 16).data["layers"] if layer["op"] == "upsample"]

    assert sizes("upsample") == [{"scale_factor": 2}, {"scale_factor": 2}, {}]
    assert sizes("upsample_size") == [{"size": [64, 48]}]


class InterpolateToInput(nn.Module):
    """The issue's trap: a stride-2 conv, then bilinear interpolation back to the input's size,
    which is not twice the conv's at odd sizes (225 -> 113 -> 225, not 226)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)

    def forward(self, x):
        return F.interpolate(self.conv(x), size=x.shape[-2:], mode="bilinear")


@pytest.mark.parametrize("symbolic_timeout,how", [(20, "symbolic"), (0, "static sizes")])
def test_an_interpolation_to_the_input_size_follows_the_input(symbolic_timeout, how):
    """The spec takes the upsample's size from the input (``inputs: [conv, input]``), so it is
    exact at odd sizes: at 225 fvcore counts 27*8*113*113 (conv) + 4*8*225*225 (bilinear) =
    4,378,104 flops, the issue's figure; scale_factor 2 would give 226x226 and 4,392,536. The
    rule is found from the symbolic shapes, and from static exports at two odd sizes."""
    pytest.importorskip("fvcore")
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    module = InterpolateToInput()
    spec, imported = import_checked(module, 225, symbolic_timeout=symbolic_timeout)
    assert imported.how == how
    assert spec.raw["layers"][1]["inputs"] == ["conv", "input"]
    assert netcalc.count(spec, "fvcore").flops == 4_378_104
    for size in (225, (193, 257)):
        assert imported_totals(spec, size) == traced_totals(module, size)


def test_the_docs_spec_excerpt_is_the_example_repos_imported_spec():
    from conftest import ROOT

    with open(os.path.join(ROOT, "docs", "your_own_model.md")) as handle:
        doc = handle.read()
    excerpt = doc[doc.index("```yaml\n# netcalc import tiny_shuffle"):].split("```")[1]
    with open(os.path.join(ROOT, "tests", "example_other_repo", "specs", "tiny_shuffle.yaml")) \
            as handle:
        spec = handle.read().splitlines()
    shown = [line for line in excerpt.splitlines()[1:] if line and line != "..."]
    assert all(line in spec for line in shown), [line for line in shown if line not in spec]


def test_the_header_comment_and_notes_escape_the_users_text(monkeypatch, tmp_path):
    """A target with a newline or ESC stays one comment line; notes and `wrote` are escaped."""
    import yaml

    from netcalc import isolation

    data = {"family": "graph", "name": "net", "resolution": 8, "notes": ["bell\x07 here"],
            "layers": [{"op": "relu"}]}
    monkeypatch.setattr(isolation, "import_isolated",
                        lambda *args: netcalc.load_spec(data))
    target = "models\nname: forged\x1b[2J.py:build"
    result = CliRunner().invoke(main, ["import", target])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ("# netcalc import models\\x0aname: forged\\x1b[2J"
                                             ".py:build --resolution 224")
    assert yaml.safe_load(result.stdout)["name"] == "net"       # no forged key
    assert result.stderr == "note: bell\\x07 here\n"
    out = tmp_path / "a\x1bb.yaml"
    written = CliRunner().invoke(main, ["import", target, "--out", str(out)])
    assert written.stderr.endswith(f"wrote {tmp_path}/a\\x1bb.yaml\n")


def test_a_forward_raising_an_exception_whose_str_fails_is_one_line():
    """The model's own exception, whose ``__str__`` raises too (torch.export's own handling then
    meets that second error): one line, a NetcalcError, no traceback (issue 19)."""
    class BadStr(Exception):
        def __str__(self):
            raise RuntimeError("a __str__ that fails")

    class Raises(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            raise BadStr()

    with pytest.raises(netcalc.NetcalcError) as caught:
        netcalc.from_torch(Raises(), 16)
    message = str(caught.value)
    assert message.startswith("Raises: resolution: torch.export cannot capture it on a "
                              "(1, 3, 16, 16) input: ") and "\n" not in message
