"""A lock that guards a torch model (issue 16): `netcalc lock --import TARGET` records the imported
graph layer by layer, `netcalc check --lock` imports it again and names the attribute that changed;
`assert_matches_lock` is the pytest twin.

The model is TinyNet below: conv 3->8 (kernel k, bias) + relu + global average pool + linear 8->10,
at 32 px. By hand, pycls convention (a conv's bias is one flop per output channel, a linear's one
per output): kernel 1 is 3*8*32*32 + 8 = 24,584 conv flops and 8*10 + 10 = 90 linear flops, 24,674
in all; params 3*8 + 8 + 8*10 + 10 = 122; acts 8*32*32 + 10 = 8,202. Kernel 3 (padding 1) is
3*8*9*32*32 + 8 + 90 = 221,282 flops and 3*8*9 + 8 + 90 = 314 params; acts unchanged.

Each import starts a child process that imports torch (a failing one 1 to 3 s, a successful
capture longer): one failing case is in the fast tier, the others in the slow tier. The graph diff and the lock reader are tested on data (no torch).
"""
import json
import textwrap

import pytest
from click.testing import CliRunner

from netcalc.cli import main
from netcalc.errors import ArgumentError, SpecError
from netcalc.lockfile import dump_lock, lock_differences, make_lock, read_lock_file
from netcalc.locked_imports import ImportOptions, graph_changes, import_entry
from netcalc.spec import load_spec
from netcalc.testing import assert_matches_lock

MODEL_PY = textwrap.dedent("""
    import time
    from torch import nn

    class TinyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, kernel_size=1)
            self.relu = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))

    def build():
        return TinyNet()

    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.gate = nn.Conv2d(3, 8, 1), nn.Conv2d(1, 8, 1)

        def forward(self, x, mask):
            return self.conv(x) * self.gate(mask)

    def gated():
        return Gated()

    def broken():
        raise RuntimeError("no weights here")

    def slow():
        time.sleep(60)
""")
KERNEL_3 = "kernel_size=3, padding=1"
TARGET = "model.py:build"
# TinyNet at 32 px, as netcalc import writes it (layer names from the module's attributes)
GRAPH = {"family": "graph", "name": "TinyNet", "resolution": 32, "in_channels": 3, "layers": [
    {"name": "conv", "op": "conv", "stage": "conv", "block": "conv", "out": 8, "kernel": 1,
     "stride": 1, "bias": True, "padding": 0},
    {"name": "relu", "op": "relu", "stage": "relu", "block": "relu"},
    {"name": "pool", "op": "adaptive_avgpool", "stage": "pool", "block": "pool",
     "output_size": 1},
    {"name": "flatten", "op": "flatten", "stage": "top", "block": "top", "start_dim": 1,
     "end_dim": -1},
    {"name": "fc", "op": "linear", "stage": "fc", "block": "fc", "out": 10}]}
TOTALS_K1 = {"flops": 24_674, "params": 122, "acts": 8_202}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A repository with model.py, as the current folder."""
    (tmp_path / "model.py").write_text(MODEL_PY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args))


def locked_text(graph=GRAPH, target=TARGET):
    """A lock of TARGET made from its graph as data (no torch, no child process)."""
    entry = import_entry(target, ("pycls",), ImportOptions(resolution=32), load_spec(graph))
    return dump_lock({"netcalc_lock": 2, "netcalc_version": "0", "models": [],
                      "imports": [entry]})


def with_kernel_3(graph):
    changed = json.loads(json.dumps(graph))
    changed["layers"][0].update(kernel=3, padding=1)
    return changed


# -- the diff, on data -----------------------------------------------------------------------------
def test_the_diff_names_each_changed_attribute_layer_and_field():
    now = with_kernel_3(GRAPH)
    now["in_channels"] = 1
    now["layers"][4]["op"] = "identity"
    del now["layers"][4]["out"]
    now["layers"].insert(1, {"name": "bn", "op": "batchnorm"})
    del now["layers"][3]                                     # pool
    now["layers"][1], now["layers"][2] = now["layers"][2], now["layers"][1]   # relu before bn
    lines = [str(c) for c in graph_changes(TARGET, GRAPH, now)]
    assert lines == ["in_channels 3 -> 1", "pool: removed (was adaptive_avgpool)",
                     "conv: kernel 1 -> 3", "conv: padding 0 -> 1", "bn: added (batchnorm)",
                     "fc: op linear -> identity", "fc: out 10 -> (unset)"]
    assert graph_changes(TARGET, GRAPH, json.loads(json.dumps(GRAPH))) == []


def test_a_moved_layer_is_named_once():
    now = json.loads(json.dumps(GRAPH))
    now["layers"][1], now["layers"][2] = now["layers"][2], now["layers"][1]
    assert [str(c) for c in graph_changes(TARGET, GRAPH, now)] == ["pool: position 3 -> 2"]


def test_changed_names_are_escaped():
    now = json.loads(json.dumps(GRAPH))
    now["layers"][0]["name"] = "conv\x1b[2J"
    lines = [str(c) for c in graph_changes(TARGET, GRAPH, now)]
    assert "conv\\x1b[2J: added (conv)" in lines and all("\x1b" not in line for line in lines)


# -- the lock file ---------------------------------------------------------------------------------
def test_the_lock_records_target_options_counts_and_one_line_per_layer(tmp_path):
    text = locked_text()
    assert text.count("\n") == 6 + len(GRAPH["layers"]) + 3    # a git diff shows the layer
    assert '      {"name": "conv", "op": "conv", ' in text
    path = tmp_path / "netcalc.lock"
    path.write_text(text)
    (locked,) = read_lock_file(str(path)).imports
    assert (locked.target, locked.options.resolution, locked.options.allow_unknown) == (
        TARGET, 32, False)
    assert locked.counts == {"pycls": TOTALS_K1} and locked.graph == GRAPH


def test_a_lock_of_specs_only_is_format_1_as_before():
    lock = make_lock(["specs/examples/tiny_cnn.yaml"])
    assert lock["netcalc_lock"] == 1 and "imports" not in lock


@pytest.mark.parametrize("old,new,field,message", [
    (TARGET, "/etc/passwd:build", "imports[0].target",
     "package.module:callable or path/to/file.py:callable targets only"),
    (TARGET, "model.py:not a name", "imports[0].target", "'not a name' is not a Python name"),
    (TARGET, "model.py\\nx:build", "imports[0].target", "one line of printable text"),
    ('"kernel": 1', '"kernel": "x"', "imports[0].graph.layers[0].kernel", "expected an integer"),
    ('"kernel": 1', '"kernel": 1000', "imports[0].graph.layers[0].kernel",
     "above the maximum 64"),
    ('"name": "relu", ', "", "imports[0].graph.layers[1].name", "is required in a locked graph"),
    ('"family": "graph"', '"family": "regnet"', "imports[0].graph.family",
     "a spec of family graph"),
    ('"pycls": {', '"pyclz": {', "imports[0].counts.pyclz", "not a convention"),
    ('"flops": 24674', '"flops": -1', "imports[0].counts.pycls.flops", "below the minimum 0"),
    ('"resolution": 32, "allow', '"resolution": 0, "allow', "imports[0].resolution", ""),
    ('"netcalc_lock": 2', '"netcalc_lock": 1', "imports", "import targets need netcalc_lock 2"),
    ('"allow_unknown"', '"input_shape": [1, 3], "allow_unknown"', "imports[0].input_shape",
     ""),
    ('"allow_unknown"', '"input_shape": [2, 3, 32, 32], "allow_unknown"',
     "imports[0].input_shape", ""),
])
def test_a_malformed_import_entry_is_one_line_naming_file_and_field(folder, old, new, field,
                                                                     message):
    (folder / "bad.lock").write_text(locked_text().replace(old, new))
    result = run("check", "--lock", "bad.lock")
    assert result.exit_code == 2
    line = result.output
    assert line.startswith(f"error: bad.lock: {field}: ") and message in line, line
    assert len(line.splitlines()) == 1


def test_a_target_not_in_the_lock_is_a_change_found_without_importing(folder):
    (folder / "netcalc.lock").write_text(locked_text())
    result = run("check", "other.py:build", "--lock", "netcalc.lock")
    assert result.exit_code == 1
    assert result.output == ("lock netcalc.lock: 1 change\n"
                             "not in the lock file: other.py:build (run netcalc lock again)\n")


def test_a_lock_check_cannot_read_is_not_written(monkeypatch):
    monkeypatch.setattr("netcalc.limits.MAX_FILE_BYTES", 800)    # TinyNet's lock: 828 bytes
    with pytest.raises(SpecError, match="would be 828 bytes; check reads lock files of at "
                                        "most 800 bytes"):
        locked_text()


@pytest.mark.parametrize("args,field", [((42, "netcalc.lock"), "target_or_module"),
                                        (("model.py:build", None), "lock_path")])
def test_assert_matches_lock_checks_its_arguments(folder, args, field):
    with pytest.raises(ArgumentError, match=f"^{field}: expected "):
        assert_matches_lock(*args)


def test_assert_matches_lock_fails_on_a_target_the_lock_does_not_record(folder):
    (folder / "netcalc.lock").write_text(locked_text())
    with pytest.raises(AssertionError, match=r"^other.py:build is not an import target of "
                                             r"netcalc.lock \(it records: model.py:build\)"):
        assert_matches_lock("other.py:build", "netcalc.lock")


def test_checking_an_import_target_without_torch_says_which_extra(folder, monkeypatch):
    monkeypatch.setattr("netcalc.extras.missing", lambda extra, packages=None: ["torch"])
    (folder / "netcalc.lock").write_text(locked_text())
    result = run("check", "--lock", "netcalc.lock")
    assert result.exit_code == 2
    assert "needs the torch extra (torch is missing): " in result.output
    assert len(result.output.splitlines()) == 1


# -- end to end: the child process imports the model -----------------------------------------------
@pytest.mark.slow
def test_lock_records_the_imported_graph_of_a_target(folder):
    """The target as an argument (netcalc lock SPEC|TARGET...), as --import TARGET would."""
    result = run("lock", TARGET, "--resolution", "32", "-o", "netcalc.lock")
    assert result.exit_code == 0, result.output
    (locked,) = read_lock_file("netcalc.lock").imports
    assert locked.graph == GRAPH and locked.counts == {"pycls": TOTALS_K1}


@pytest.mark.slow
def test_an_input_shape_is_recorded_and_imported_again(folder):
    """--input-shape 1x3x32x40: TinyNet at 32x40, by hand 3*8*32*40 + 8 + 90 = 30,818 flops
    (pycls); the lock records the shape and check imports it the same way."""
    result = run("lock", TARGET, "--input-shape", "1x3x32x40", "-o", "netcalc.lock")
    assert result.exit_code == 0, result.output
    (locked,) = read_lock_file("netcalc.lock").imports
    assert locked.options.input_shape == (1, 3, 32, 40) and locked.options.resolution == (32, 40)
    assert locked.counts["pycls"]["flops"] == 30_818
    assert len(lock_differences("netcalc.lock")) == 0


@pytest.mark.slow
def test_several_input_shapes_are_recorded_and_imported_again(folder):
    """Gated(x, mask) on 1x3x32x40 and a 1x1x32x40 mask, by hand (pycls): the convs
    3*8*1280 + 8 and 8*1280 + 8 (the product is no flop in pycls): 40,976 flops; params
    32 + 16 = 48.
    The lock records both shapes; check imports with both again."""
    result = run("lock", "model.py:gated", "--input-shape", "1x3x32x40", "--input-shape",
                 "1x1x32x40", "-o", "netcalc.lock")
    assert result.exit_code == 0, result.output
    (locked,) = read_lock_file("netcalc.lock").imports
    assert locked.options.input_shape == ((1, 3, 32, 40), (1, 1, 32, 40))
    assert locked.options.resolution == (32, 40)
    assert (locked.counts["pycls"]["flops"], locked.counts["pycls"]["params"]) == (40_976, 48)
    assert len(lock_differences("netcalc.lock")) == 0


@pytest.mark.slow
def test_check_passes_then_names_the_changed_kernel(folder):
    assert run("lock", "--import", TARGET, "--resolution", "32", "--convention", "pycls",
               "-o", "netcalc.lock").exit_code == 0
    unchanged = run("check", "--lock", "netcalc.lock")
    assert (unchanged.exit_code, unchanged.output) == (0, "lock netcalc.lock: unchanged\n")
    (folder / "model.py").write_text(MODEL_PY.replace("kernel_size=1", KERNEL_3))
    result = run("check", "--lock", "netcalc.lock")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:4] == ["lock netcalc.lock: 4 changes",
                         f"{TARGET}: 2 changes in the imported graph",
                         "  conv: kernel 1 -> 3", "  conv: padding 0 -> 1"]
    assert lines[6].split() == [TARGET, "pycls", "32", "total", "flops", "24,674", "221,282",
                                "+196,608"]
    assert lines[7].split() == [TARGET, "pycls", "32", "total", "params", "122", "314", "+192"]
    data = json.loads(run("check", "--lock", "netcalc.lock", "--format", "json").output)
    assert data["layer_changes"][0] == {"target": TARGET, "layer": "conv", "field": "kernel",
                                        "locked": 1, "now": 3}


@pytest.mark.slow
def test_assert_matches_lock_gives_the_same_diff_for_a_target_and_a_module(folder):
    import sys

    assert run("lock", "--import", TARGET, "--resolution", "32", "-o",
               "netcalc.lock").exit_code == 0
    assert_matches_lock(TARGET, "netcalc.lock")
    (folder / "model.py").write_text(MODEL_PY.replace("kernel_size=1", KERNEL_3))
    with pytest.raises(AssertionError) as by_target:
        assert_matches_lock(TARGET, "netcalc.lock")
    sys.path.insert(0, str(folder))
    try:
        import model
        with pytest.raises(AssertionError) as by_module:
            assert_matches_lock(model.build(), "netcalc.lock")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("model", None)
    assert str(by_target.value) == str(by_module.value)
    assert "\n  conv: kernel 1 -> 3\n" in str(by_target.value)


@pytest.mark.slow
def test_the_pytest_update_rewrites_the_import(folder):
    from netcalc.testing.plugin import LockFixture

    assert run("lock", "--import", TARGET, "--resolution", "32", "-o",
               "netcalc.lock").exit_code == 0
    (folder / "model.py").write_text(MODEL_PY.replace("kernel_size=1", KERNEL_3))
    LockFixture(update=True).check("netcalc.lock")
    (locked,) = read_lock_file("netcalc.lock").imports
    assert locked.graph == with_kernel_3(GRAPH) and locked.counts["pycls"]["flops"] == 221_282
    assert len(lock_differences("netcalc.lock")) == 0


def test_an_argument_is_a_target_when_it_names_a_callable_and_no_file(folder):
    from netcalc.isolation import is_import_target

    assert is_import_target("model.py:build") and is_import_target("pkg.models:resnet.build")
    assert not is_import_target("regnetx_800mf") and not is_import_target("net.yaml")
    assert not is_import_target("model.py:") and not is_import_target("my net.py:build x")
    with open("odd:name.yaml", "w") as handle:      # a file of that name is a spec
        handle.write("x")
    assert not is_import_target("odd:name.yaml")


def test_a_missing_target_is_one_line(folder):
    result = run("lock", "model.py:nope")
    assert result.exit_code == 2
    assert result.output == "error: model.py:nope: TARGET: model.py has no attribute 'nope'\n"


@pytest.mark.slow
@pytest.mark.parametrize("args,message", [
    (["lock", "--import", "model.py:broken"], "error: model.py:broken: TARGET: calling it with "
                                              "no arguments raised RuntimeError: no weights "
                                              "here"),
    (["lock", "--import", "model.py:slow", "--timeout", "1"],
     "error: model.py:slow: did not finish within 1 s and was stopped"),
])
def test_an_import_failure_is_one_line(folder, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.startswith(message) and len(result.output.splitlines()) == 1


@pytest.mark.slow
def test_a_target_gone_from_the_repository_is_one_line(folder):
    (folder / "netcalc.lock").write_text(locked_text())
    (folder / "model.py").unlink()
    result = run("check", "--lock", "netcalc.lock", "--timeout", "60")
    assert result.exit_code == 2
    assert result.output.endswith("model.py: no such file\n")
    assert len(result.output.splitlines()) == 1
