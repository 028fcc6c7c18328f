"""``netcalc import`` / ``netcalc.from_torch``: fx node forms to spec nodes, the refusals, the CLI.

Counts of imported torchvision models against their traces are in test_import_torchvision.py.
"""
import operator
import os
import textwrap

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402

import netcalc  # noqa: E402
from netcalc.cli import main  # noqa: E402
from netcalc.torch import op_table  # noqa: E402
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
    assert ops_of(ReluForms()) == [("conv", "conv"), ("act", "relu"), ("relu", "relu"),
                                   ("relu_1", "relu"), ("relu_2", "relu"), ("relu_", "relu"),
                                   ("relu_3", "relu")]


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
        ("getitem", "slice"), ("getitem_1", "slice"), ("branch", "conv"), ("cat", "concat"),
        ("view", "reshape"), ("transpose", "transpose"), ("view_1", "reshape"),
        ("mean", "mean")]
    first, second = layers[0], layers[1]
    assert (first["dim"], first["start"], first["stop"]) == (1, 0, 4)
    assert (second["input"], second["start"], second["stop"]) == ("input", 4, 8)
    assert layers[3]["inputs"] == ["getitem", "branch"]
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


def test_a_view_with_constants_is_marked_as_fitting_one_resolution_only():
    data = convert(Fixed(), 32).data
    assert data["layers"][1]["shape"] == [1, 1024]
    assert any(note.startswith("fits only 32x32: view") for note in data["notes"])


class Tokens(nn.Module):
    """A reshape whose size is h * w: -1, so it stays exact at every resolution."""

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w).transpose(1, 2)


def test_a_resolution_dependent_product_becomes_minus_one():
    data = convert(Tokens(), 16).data
    assert data["layers"][0]["shape"] == [1, 3, -1]
    assert "notes" not in data


class Unknowns(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.InstanceNorm2d(4, affine=True)

    def forward(self, x):
        return torch.erf(self.norm(self.conv(x)))


def test_unsupported_ops_are_all_named_with_node_and_module():
    with pytest.raises(ImportFailure) as err:
        convert(Unknowns(), 32)
    message = str(err.value)
    assert "no netcalc op for torch.nn.modules.instancenorm.InstanceNorm2d at fx node norm in " \
           "module norm" in message
    assert "unsupported ops in the whole model: torch.nn.modules.instancenorm.InstanceNorm2d, " \
           "torch.erf" in message
    assert "\n" not in message


def test_allow_unknown_records_free_identity_ops_in_the_notes():
    from netcalc.torch.importer import import_checked

    spec, imported = import_checked(Unknowns(), 32, allow_unknown=True)
    assert [(l["name"], l["op"]) for l in spec.raw["layers"]] == [
        ("conv", "conv"), ("norm", "identity"), ("erf", "identity")]
    assert spec.raw["notes"] == [
        "free stand-in (identity) for unsupported torch.nn.modules.instancenorm.InstanceNorm2d "
        "(8 parameters not counted) at fx node norm in module norm",
        "free stand-in (identity) for unsupported torch.erf at fx node erf"]
    # the conv's 3*3*3*4 + 4 parameters are counted, the norm's 2*4 are not
    assert netcalc.count(spec, "torch").params == 112 and imported.numel == 120
    assert netcalc.count(spec).notes == tuple(spec.raw["notes"])


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_control_flow_on_tensor_values_is_a_clear_error():
    with pytest.raises(ImportFailure, match="torch.fx cannot trace Branchy: .*control flow"):
        convert(Branchy(), 32)


def test_every_table_form_is_listed_once():
    """One table: no fx form maps to two entries (a later entry would silently win)."""
    seen = {}
    for entry in op_table.TABLE:
        for form in entry.modules + entry.functions + tuple(f"Tensor.{m}" for m in
                                                            entry.methods):
            assert form not in seen, f"{form} is in the entries of {seen[form]} and {entry.op}"
            seen[form] = entry.op
    assert seen[operator.getitem] == "slice" and seen[nn.ReLU] == "relu"


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


@pytest.mark.parametrize("name", FORMS)
def test_each_form_counts_what_fvcore_and_flopcountermode_count(name):
    pytest.importorskip("fvcore")
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    module = FORMS[name]
    spec, _ = import_checked(module, 16, name)
    assert imported_totals(spec) == traced_totals(module, 16)


def test_conv_with_padding_same_is_counted_where_fvcore_skips_it():
    """fvcore 0.1.5 has no handle for aten::_convolution_mode (Conv2d(padding='same')) and
    counts 0; netcalc counts the conv it is (padding 1 for a 3x3), as FlopCounterMode does."""
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
    assert counted["fvcore.flops"] == traced["fvcore.flops"] + 72 * 8 * 256


def test_the_docs_list_every_form_of_the_table():
    from conftest import ROOT

    with open(os.path.join(ROOT, "docs", "your_own_model.md")) as handle:
        doc = handle.read()
    for entry in op_table.TABLE:
        names = [f"nn.{m.__name__}" for m in entry.modules] + [f"x.{m}()" for m in entry.methods]
        names += [getattr(f, "__name__", f).rpartition(".")[2] for f in entry.functions]
        missing = [n for n in names if n not in doc]
        assert not missing, f"docs/your_own_model.md does not list {missing} ({entry.op})"


class Shared(nn.Module):
    """One conv applied twice: the spec counts its parameters at each call, and says so."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


def test_a_module_called_twice_is_counted_per_call_and_noted():
    from netcalc.torch.importer import import_checked

    spec, imported = import_checked(Shared(), 16)
    assert [l["name"] for l in spec.raw["layers"]] == ["conv", "conv-2"]
    assert imported.reused_params == {"conv": 84}       # 3*3*3*3 weights + 3 biases
    assert netcalc.count(spec, "torch").params == 2 * 84
    assert spec.raw["notes"] == ["parameters counted at each of several calls: conv (+84)"]


def test_from_torch_and_to_yaml_are_netcalc_api():
    spec = netcalc.from_torch(Shuffle(), (16, 24), name="shuffle", in_channels=8)
    assert spec.name == "shuffle" and spec.family == "graph"
    text = netcalc.to_yaml(spec)
    assert text.splitlines()[:5] == ["family: graph", "name: shuffle", "resolution: [16, 24]",
                                     "in_channels: 8", "layers:"]
    assert text.splitlines()[5] == "- {name: getitem, op: slice, stage: top, block: top, dim: 1, " \
                                   "start: 0, stop: 4}"
    assert netcalc.load_spec(__import__("yaml").safe_load(text)).raw == spec.raw


def test_an_upsample_to_another_tensors_size_keeps_its_scale():
    """FPN's interpolate(size=y.shape[-2:]) is a factor of its input at every resolution: the
    spec says scale_factor, so other resolutions stay exact; a literal size stays a size."""
    def sizes(name):
        return [{k: v for k, v in layer.items() if k in ("size", "scale_factor")}
                for layer in convert(FORMS[name], 16).data["layers"] if layer["op"] == "upsample"]

    assert sizes("upsample") == [{"scale_factor": 2}, {"scale_factor": 2}, {"scale_factor": 16}]
    assert sizes("upsample_size") == [{"size": [64, 48]}]


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
