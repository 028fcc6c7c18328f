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
        self.norm = nn.InstanceNorm2d(4)

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
    data = convert(Unknowns(), 32, allow_unknown=True).data
    assert [(l["name"], l["op"]) for l in data["layers"]] == [
        ("conv", "conv"), ("norm", "identity"), ("erf", "identity")]
    assert len(data["notes"]) == 2 and data["notes"][1].startswith(
        "free stand-in (identity) for unsupported torch.erf at fx node erf")


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

    def loops():
        while True:
            pass

    class Loop(nn.Module):
        def forward(self, x):
            while True:
                pass

    def loops_in_forward():
        return Loop()
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
    (":loops", "did not finish within 1 s"),
    (":loops_in_forward", "did not finish within 1 s"),
    (":missing", "has no attribute 'missing'"),
    ("", "must be package.module:callable or path/to/file.py:callable"),
])
def test_hostile_targets_are_one_line_exit_2(models_py, suffix, expected):
    result = CliRunner().invoke(main, ["import", models_py + suffix, "--timeout", "1"])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")


@pytest.mark.parametrize("target,expected", [
    ("no_such_module_xyz:net", "importing no_such_module_xyz raised ModuleNotFoundError"),
    ("{dir}/broken.py:net", "raised ModuleNotFoundError: No module named "
                            "'no_such_package_anywhere'"),
    ("{dir}/absent.py:net", "absent.py: no such file"),
])
def test_targets_that_do_not_import(models_py, target, expected):
    target = target.format(dir=os.path.dirname(models_py))
    result = CliRunner().invoke(main, ["import", target])
    assert result.exit_code == 2 and expected in result.output
    assert result.output.count("\n") == 1


def test_bad_resolution_is_one_line():
    result = CliRunner().invoke(main, ["import", "x:y", "--resolution", "12by4"])
    assert result.exit_code == 2
    assert result.output == "error: --resolution: '12by4' is not an int or HxW (e.g. 224, " \
                            "192x256)\n"


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
