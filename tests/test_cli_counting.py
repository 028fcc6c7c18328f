"""The counting commands end to end, through a real ``python -m netcalc`` process."""
import csv
import io
import json
import subprocess
import sys

import pytest

from conftest import ROOT, run_cli
from reference_numbers import REGNETX_800MF, REGNETX_800MF_FVCORE_FLOPS

SPEC = "specs/regnetx_800mf.yaml"
PYCLS = REGNETX_800MF._asdict()


@pytest.mark.parametrize("quantity", ["flops", "params", "acts"])
def test_single_quantity_json(quantity):
    result = run_cli(quantity, SPEC, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == {"name": "RegNetX-800MF", "spec": SPEC, "convention": "pycls",
                    "resolution": 224, quantity: PYCLS[quantity]}


def test_count_json_with_stage_breakdown():
    data = json.loads(run_cli("count", SPEC, "--format", "json").stdout)
    assert {k: data[k] for k in PYCLS} == PYCLS
    assert [row["name"] for row in data["breakdown"]] == ["stem", "s1", "s2", "s3", "s4", "head"]
    assert sum(row["flops"] for row in data["breakdown"]) == PYCLS["flops"]


def test_fvcore_convention_json():
    data = json.loads(run_cli("flops", SPEC, "--convention", "fvcore", "--format", "json").stdout)
    assert data["flops"] == REGNETX_800MF_FVCORE_FLOPS and data["convention"] == "fvcore"


def test_table_shows_human_units_and_convention():
    out = run_cli("count", SPEC).stdout
    assert "pycls convention" in out and "224 px" in out
    assert "799.70 M" in out and "7.26 M" in out and "5.15 M" in out


def test_layer_csv_has_exact_integers():
    out = run_cli("count", SPEC, "--by", "layer", "--format", "csv").stdout
    *rows, total = csv.DictReader(io.StringIO(out))
    assert sum(int(r["flops"]) for r in rows) == int(total["flops"]) == PYCLS["flops"]
    assert rows[0]["name"] == "stem.conv" and rows[0]["level"] == "layer"
    assert total["level"] == "total"


def test_resolution_option():
    at_224 = json.loads(run_cli("flops", SPEC, "--format", "json").stdout)["flops"]
    at_225 = json.loads(run_cli("flops", SPEC, "--resolution", "225", "--format", "json").stdout)
    # 225 is odd: the stem (3x3/2) gives 113 instead of 112, so the count must change.
    assert at_225["resolution"] == 225 and at_225["flops"] > at_224


def test_many_specs_give_json_lines():
    out = run_cli("flops", SPEC, "specs/resnet50.yaml", "--format", "json").stdout
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert names == ["RegNetX-800MF", "ResNet-50"]


def test_console_script_and_help_examples():
    result = subprocess.run([sys.executable, "-m", "netcalc", "count", "--help"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "Examples:" in result.stdout and "--convention" in result.stdout


def test_core_path_imports_nothing_heavy():
    # The analytic path must not import torch, fvcore, sympy or numpy.
    code = ("import sys, netcalc; netcalc.count('specs/regnetx_800mf.yaml'); "
            "from netcalc.cli import main; "
            "print(sorted(m for m in ('torch', 'fvcore', 'sympy', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_core_install_requires_no_torch():
    import configparser

    config = configparser.ConfigParser()
    config.read(f"{ROOT}/setup.cfg")
    core = config["options"]["install_requires"].lower()
    assert "torch" not in core and "fvcore" not in core
    assert "torch" in config["options.extras_require"]["torch"]


def test_efficientnet_reports_say_b1_b7_are_not_compound_scaling():
    # Issue 4: output and docs state that the official B1-B7 coefficients do not follow alpha^phi.
    phi = json.loads(run_cli("flops", "specs/examples/efficientnet_phi3.yaml", "--format", "json").stdout)
    assert phi["resolution"] == 341  # round(224 * 1.15**3) = round(340.68)
    assert "not follow alpha^phi" in phi["notes"][0] and "not B3" in phi["notes"][0]
    table = run_cli("count", "specs/efficientnet_b3.yaml").stdout
    assert "note: official B3 coefficients (width 1.2, depth 1.4, 300 px)" in table
    b0 = json.loads(run_cli("flops", "specs/efficientnet_b0.yaml", "--format", "json").stdout)
    assert "notes" not in b0


def test_lazy_command_table_matches_the_registered_commands():
    # Commands outside counting.py load on first use; the table must name every one of them.
    import importlib

    from netcalc.cli import NetcalcGroup, main

    for module in set(NetcalcGroup.LAZY_COMMANDS.values()):
        importlib.import_module(f"netcalc.cli.{module}")
    registered = set(main.commands)
    assert registered == {"flops", "params", "acts", "count"} | set(NetcalcGroup.LAZY_COMMANDS)
