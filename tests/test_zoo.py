"""The zoo by name: shipped specs count from any folder, a path wins, `netcalc zoo` lists them.

Expected counts: RegNetX-800MF's reference figures (tests/reference_numbers.py), ResNet-50's
4,089,185,256 pycls flops (the README's; tests/data/traced_counts.json pins its fvcore and torch
counts from torchvision's module).
"""
import csv
import io
import json
import os
import subprocess
import sys

import pytest

import netcalc
from netcalc import shipped

from conftest import ROOT, run_cli, spec_path
from reference_numbers import REGNETX_800MF


def netcalc_in(folder, *args, input=None):
    """The CLI run from ``folder`` (not the repository), as an installed user runs it."""
    return subprocess.run([sys.executable, "-m", "netcalc", *args], cwd=folder, input=input,
                          capture_output=True, text=True, timeout=120)


def test_one_copy_of_every_spec_and_space():
    # specs/ is a link to the package data, never a second copy.
    assert os.path.islink(os.path.join(ROOT, "specs"))
    assert os.path.realpath(os.path.join(ROOT, "specs")) == shipped.SPECS_DIR
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode:
        pytest.skip("not a git checkout")
    # docs/import_sweep.csv is the import sweep's measurements (its table's source), no spec
    outside = [f for f in tracked.stdout.splitlines() if f.endswith((".yaml", ".csv"))
               and not f.startswith(("netcalc/data/", "tests/example_other_repo/"))
               and f != "docs/import_sweep.csv"]
    assert outside == []


def test_count_by_name_from_any_folder(tmp_path):
    assert netcalc.count("regnetx_800mf").flops == REGNETX_800MF.flops
    assert netcalc.count("resnet50").flops == 4_089_185_256
    assert netcalc.load_spec("resnet50").name == "ResNet-50"
    result = netcalc_in(tmp_path, "count", "regnetx_800mf", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["spec"], data["flops"], data["params"]) == ("regnetx_800mf", REGNETX_800MF.flops,
                                                             REGNETX_800MF.params)


def test_a_path_wins_over_a_name(tmp_path):
    # A file called resnet50 in the working folder is what the user means.
    with open(spec_path("specs/examples/tiny_cnn.yaml")) as handle:
        (tmp_path / "resnet50").write_text(handle.read())
    result = netcalc_in(tmp_path, "flops", "resnet50", "--format", "json")
    assert json.loads(result.stdout)["name"] == "TinyCNN"
    # Paths keep their "no such file" message; names get suggestions.
    assert netcalc_in(tmp_path, "count", "nets/resnet50.yaml").stderr == (
        "error: nets/resnet50.yaml: no such file\n")


@pytest.mark.parametrize("typed, expected", [
    ("regnetx_80", "regnetx_800mf, regnetx_8.0gf, regnety_800mf"),
    ("effnet_b7", "efficientnet_b7"),
    ("resnet_50", "resnet50"),
])
def test_unknown_name_suggests_the_closest(typed, expected):
    result = run_cli("count", typed)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith(f"error: {typed}: no such file or shipped model (did you mean ")
    assert expected in line and "\n" not in line


def test_zoo_lists_every_shipped_spec_with_published_figures():
    result = run_cli("zoo", "--format", "json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["name"] for r in rows) == sorted(shipped.shipped_specs())
    assert len(rows) == 50                     # 44 zoo models (model_zoo.csv) + 6 examples
    # by family, then by netcalc's flops: RegNetX from 200MF to 32GF (issue 19), examples last
    names = [r["name"] for r in rows]
    regnetx = [n for n in names if n.startswith("regnetx_")]
    assert regnetx[:5] == ["regnetx_200mf", "regnetx_400mf", "regnetx_600mf", "regnetx_800mf",
                           "regnetx_1.6gf"] and regnetx[-1] == "regnetx_32gf"
    assert names.index("regnetx_32gf") < names.index("regnety_200mf")
    assert all(r["source"] == "" for r in rows[44:])
    by_name = {r["name"]: r for r in rows}
    # RegNetX-800MF: 0.8 GF, 7.3 M params, 5.1 M acts (RegNet paper / pycls MODEL_ZOO), and
    # netcalc's exact pycls counts beside them (README)
    assert by_name["regnetx_800mf"] == {
        "name": "regnetx_800mf", "model": "RegNetX-800MF", "family": "regnet", "resolution": 224,
        "flops": 799_700_712, "params": 7_259_656, "acts": 5_148_744,
        "flops_G_published": 0.8, "params_M_published": 7.3, "acts_M_published": 5.1,
        "source": "RegNet paper / pycls MODEL_ZOO"}
    assert by_name["efficientnet_b7"]["resolution"] == 600
    assert by_name["tiny_cnn"]["flops_G_published"] is None
    table = run_cli("zoo").stdout.splitlines()
    assert table[0].split()[:3] == ["name", "family", "px"] and len(table) == 2 + 50
    rows_csv = list(csv.DictReader(io.StringIO(run_cli("zoo", "--format", "csv").stdout)))
    assert rows_csv[0]["name"] == rows[0]["name"] and len(rows_csv) == 50


def test_stdin_spec():
    with open(spec_path("specs/resnet50.yaml")) as handle:
        text = handle.read()
    result = run_cli("flops", "-", "--format", "json", input=text)
    assert json.loads(result.stdout)["flops"] == 4_089_185_256
    assert json.loads(result.stdout)["spec"] == "<stdin>"
    bad = run_cli("count", "-", input="family: regnet\ndepth: [\n")
    assert bad.returncode == 2 and bad.stderr.startswith("error: <stdin>: invalid YAML: line 3")
