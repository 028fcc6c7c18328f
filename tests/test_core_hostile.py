"""Hostile and malformed specs: exit 2, one line naming file and field, never a traceback,
never code execution, never a hang."""
import json

import pytest

import netcalc

from conftest import run_cli, spec_path

REGNET = "family: regnet\nw0: 24\nwa: 36.44\nwm: 2.49\ngroup_w: 8\n"
BOMB = "\n".join(
    [f'a0: &a0 [{",".join(["lol"] * 9)}]']
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["family: graph", "layers: *a8"]) + "\n"

CASES = {
    "python_tag": ('family: regnet\ndepth: !!python/object/apply:os.system ["touch {marker}"]\n',
                   "invalid YAML"),
    "python_name_tag": ("family: !!python/name:os.system\n", "invalid YAML"),
    "injection_in_number": (REGNET + "depth: \"__import__('os').system('touch {marker}')\"\n",
                            "depth: expected an integer"),
    "depth_1e30": (REGNET + "depth: 1.0e+30\n", "depth: expected an integer"),
    "depth_huge_int": (REGNET + f"depth: {10 ** 30}\n", "depth: 1000000000000000000000000000000 is above"),
    "deep_nesting": ("family: graph\nlayers: " + "[" * 20000 + "]" * 20000 + "\n", "nesting"),
    "alias_bomb": (BOMB, "document too large"),
    "wrong_type_list": ("family: anynet\nstages: 5\n", "stages: expected a list"),
    "wrong_type_bool": (REGNET + "depth: true\n", "depth: expected an integer, got boolean"),
    "unknown_key": (REGNET + "depth: 13\ndpeth: 13\n", "dpeth: unknown field (did you mean 'depth'?)"),
    "unknown_family": ("family: regnett\n", "family: string 'regnett' is not one of"),
    "missing_field": ("family: regnet\ndepth: 13\n", "w0: is required"),
    "group_width": ("family: anynet\nstages:\n  - {depth: 1, width: 64}\n  - {depth: 1, width: 128}\n"
                    "  - {depth: 1, width: 60, group_w: 24}\n",
                    "stages[2].group_w: 24 does not divide bottleneck width 60"),
    "w0_not_multiple": ("family: regnet\ndepth: 13\nw0: 20\nwa: 36\nwm: 2.5\ngroup_w: 8\n",
                        "w0: 20 is not a multiple of q = 8"),
    "wm_below_one": (REGNET.replace("wm: 2.49", "wm: 0.5") + "depth: 13\n", "wm: 0.5 is below"),
    "nan": (REGNET.replace("wa: 36.44", "wa: .nan") + "depth: 13\n", "wa: expected a finite number"),
    "empty": ("", "expected a mapping, got nothing"),
    "top_level_list": ("- 1\n- 2\n", "expected a mapping, got a list"),
    "bad_yaml": ("family: [regnet\n", "invalid YAML: line"),
    "graph_bad_ref": ("family: graph\nlayers:\n  - {op: conv, out: 8}\n  - {op: add, with: ghost}\n",
                      "layers[1].with: 'ghost' is not the name of an earlier layer"),
    "graph_kernel_too_big": ("family: graph\nresolution: 8\nlayers:\n"
                             "  - {op: conv, out: 8, kernel: 9, padding: 0}\n",
                             "layers[0].kernel: conv 'conv_0': leaves no output positions"),
    "graph_groups": ("family: graph\nlayers:\n  - {op: conv, out: 8, kernel: 3, groups: 3}\n",
                     "layers[0].groups: conv 'conv_0': groups 3 must divide"),
    "graph_add_shapes": ("family: graph\nlayers:\n  - {op: conv, out: 8, name: x}\n"
                         "  - {op: conv, out: 16}\n  - {op: add, with: x}\n",
                         "layers[2].inputs: add"),
    "graph_linear_in_features": ("family: graph\nlayers:\n  - {op: linear, out: 8, in_features: 5}\n",
                                 "layers[0].in_features: linear 'linear_0': expects 5 input features, got 224"),
    "graph_pool_padding": ("family: graph\nlayers:\n  - {op: maxpool, name: p, kernel: 3, padding: 2}\n",
                           "layers[0].padding: maxpool 'p': padding 2 exceeds half the kernel 3"),
    "graph_duplicate_name": ("family: graph\nlayers:\n  - {op: relu, name: a}\n  - {op: relu, name: a}\n",
                             "layers[1].name: 'a' is already the name of layers[0]"),
    "resolution_huge": (REGNET + "depth: 13\nresolution: 100000\n", "resolution: 100000 is above"),
    "se_without_channels": ("family: anynet\nstem_w: 2\nse_r: 0.25\nstages:\n  - {depth: 1, width: 8}\n",
                            "se_r: 0.25 leaves the squeeze-excite of a block with 2 input channels"),
    "too_many_blocks": ("family: anynet\nstages:\n" + "  - {depth: 1000, width: 8}\n" * 5,
                        "stages: 5000 blocks in all"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_spec_exits_2_with_one_line(name, tmp_path):
    text, expected = CASES[name]
    marker = tmp_path / "executed"
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace("{marker}", str(marker)))
    result = run_cli("count", str(path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {path}: ")
    assert expected in lines[0]
    assert not marker.exists()


def test_json_spec_with_deep_nesting(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"family": "graph", "layers": ' + "[" * 20000 + "]" * 20000 + "}")
    result = run_cli("flops", str(path))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {path}: nesting")


def test_invalid_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"family": "graph",')
    result = run_cli("flops", str(path))
    assert result.returncode == 2 and "invalid JSON: line 1" in result.stderr


@pytest.mark.parametrize("args,expected", [
    (["count", "missing.yaml"], "error: missing.yaml: no such file"),
    (["count", "specs"], "error: specs: is a directory, not a spec file"),
])
def test_unreadable_paths(args, expected):
    result = run_cli(*args)
    assert result.returncode == 2 and result.stderr.strip() == expected


def test_bad_option_exits_2():
    result = run_cli("count", spec_path("specs/regnetx_800mf.yaml"), "--convention", "nope")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_api_raises_spec_error_with_path():
    with pytest.raises(netcalc.SpecError) as info:
        netcalc.load_spec({"family": "anynet", "stages": [{"depth": 1, "width": "wide"}]})
    assert str(info.value) == "<dict>: stages[0].width: expected an integer, got string 'wide'"
    assert info.value.field == "stages[0].width"


def test_binary_file(tmp_path):
    path = tmp_path / "junk.yaml"
    path.write_bytes(bytes(range(256)))
    result = run_cli("count", str(path))
    assert result.returncode == 2 and "not UTF-8" in result.stderr


def test_json_and_yaml_share_one_schema(tmp_path):
    data = {"name": "X", "family": "regnet", "depth": 16, "w0": 56, "wa": 35.73, "wm": 2.28,
            "group_w": 16}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    assert netcalc.count(str(path)).flops == netcalc.count(spec_path("specs/regnetx_800mf.yaml")).flops
