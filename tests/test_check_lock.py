"""`netcalc check` (budgets, lock files) and `netcalc lock`: the CI gates other repos run.

Reference figures: RegNetX-800MF at 224 px (tests/reference_numbers.py). Changes to a spec are
derived by hand.
"""
import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from netcalc.cli import main
from netcalc.testing import read_lock

from conftest import ROOT
from reference_numbers import REGNETX_800MF, REGNETX_800MF_FVCORE_FLOPS

R800 = "specs/regnetx_800mf.yaml"


@pytest.fixture
def run(monkeypatch):
    """The CLI in-process, from the repository root (specs given as relative paths)."""
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


# -- budgets --------------------------------------------------------------------------------------
def test_budget_is_inclusive_and_exact(run):
    assert run("check", R800, "--max-flops", str(REGNETX_800MF.flops)).exit_code == 0
    result = run("check", R800, "--max-flops", str(REGNETX_800MF.flops - 1))
    assert result.exit_code == 1
    assert "OVER by 1 (0.00%)" in result.stdout and "budget: 0 ok, 1 over" in result.stdout


def test_budgets_with_si_quantities(run):
    # 7.26M params = 7,260,000 >= 7,259,656; 5.1M acts < 5,148,744 by 48,744 (0.96% of 5.1M).
    result = run("check", R800, "--max-flops", "800M", "--max-params", "7.26M",
                 "--max-acts", "5.1M")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any("flops" in l and l.rstrip().endswith("ok") for l in lines)
    assert any("params" in l and l.rstrip().endswith("ok") for l in lines)
    assert any("acts" in l and "OVER by 48,744 (0.96%)" in l for l in lines)


def test_budget_in_the_fvcore_convention(run):
    # fvcore flops of RegNetX-800MF: 810M + 28,128.
    result = run("check", R800, "--max-flops", "810M", "--convention", "fvcore",
                 "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["lock_changes"] == []
    assert data["budget"] == [{"spec": R800, "name": "RegNetX-800MF", "quantity": "flops",
                               "count": REGNETX_800MF_FVCORE_FLOPS, "max": 810_000_000, "ok": False}]


def test_budget_over_several_specs(run):
    # ResNet-50 needs 4.1 GF (pycls MODEL_ZOO); the gate at 1G passes RegNetX-800MF only.
    result = run("check", R800, "specs/resnet50.yaml", "--max-flops", "1G")
    assert result.exit_code == 1
    assert "budget: 1 ok, 1 over" in result.stdout and "ResNet-50" in result.stdout


@pytest.mark.parametrize("args,message", [
    ((R800,), "give a budget"),
    (("--max-flops", "1G"), "--max-* budgets need at least one SPEC"),
])
def test_usage_errors_exit_2(run, args, message):
    result = run("check", *args)
    assert result.exit_code == 2 and message in result.output


def test_bad_quantity_is_one_line_exit_2(cli):
    result = cli("check", R800, "--max-flops", "1.6Q")
    assert result.returncode == 2
    assert result.stderr == ("error: --max-flops: '1.6Q' is not a quantity like 400M, 1.6G or "
                             "12000\n")


# -- lock files -----------------------------------------------------------------------------------
def test_lock_records_exact_counts_convention_resolution(run):
    result = run("lock", R800, "specs/examples/tiny_cnn.yaml", "--convention", "pycls",
                 "--convention", "fvcore", "--resolution", "225")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["netcalc_lock"] == 1
    models = data["models"]
    assert [(m["spec"], m["convention"], m["resolution"]) for m in models] == [
        (R800, "pycls", 225), (R800, "fvcore", 225),
        ("specs/examples/tiny_cnn.yaml", "pycls", 225),
        ("specs/examples/tiny_cnn.yaml", "fvcore", 225)]
    for m in models:
        assert all(isinstance(m[q], int) for q in ("flops", "params", "acts"))
        for q in ("flops", "params", "acts"):                   # stages add up to the total
            assert sum(s[q] for s in m["stages"]) == m[q]
    assert models[0]["params"] == models[1]["params"] == REGNETX_800MF.params   # any resolution


def test_lock_then_check_unchanged(run, tmp_path):
    lock = tmp_path / "netcalc.lock"
    lock.write_text(run("lock", R800, "specs/resnet50.yaml").stdout)
    result = run("check", "--lock", str(lock))
    assert result.exit_code == 0 and result.stdout.strip() == f"lock {lock}: unchanged"
    # Budgets and the lock in one gate.
    assert run("check", R800, "--max-flops", "800M", "--lock", str(lock)).exit_code == 0


def test_changed_spec_fails_with_a_diff(run, tmp_path):
    # Lock a copy of RegNetX-800MF, then give it a 10-class head. Its fc is 672 -> classes with
    # bias: params and pycls flops drop by 990*672 + 990 = 666,270, acts by 990, in the head.
    spec = tmp_path / "net.yaml"
    shutil.copy(f"{ROOT}/{R800}", spec)
    lock = tmp_path / "netcalc.lock"
    lock.write_text(run("lock", str(spec)).stdout)
    spec.write_text(spec.read_text() + "num_classes: 10\n")
    result = run("check", "--lock", str(lock))
    assert result.exit_code == 1
    rows = [l.split() for l in result.stdout.splitlines()[3:]]
    assert [r[3:] for r in rows] == [
        ["total", "flops", f"{REGNETX_800MF.flops:,}", "799,034,442", "-666,270"],
        ["total", "params", f"{REGNETX_800MF.params:,}", "6,593,386", "-666,270"],
        ["total", "acts", f"{REGNETX_800MF.acts:,}", "5,147,754", "-990"],
        ["head", "flops", "673,000", "6,730", "-666,270"],
        ["head", "params", "673,000", "6,730", "-666,270"],
        ["head", "acts", "1,000", "10", "-990"]]
    assert result.stdout.startswith(f"lock {lock}: 6 changes")


def test_check_named_specs_against_the_lock(run, tmp_path):
    lock = tmp_path / "netcalc.lock"
    lock.write_text(run("lock", R800).stdout)
    assert run("check", R800, "--lock", str(lock)).exit_code == 0
    result = run("check", "specs/resnet50.yaml", "--lock", str(lock))
    assert result.exit_code == 1
    assert "not in the lock file: specs/resnet50.yaml" in result.stdout


def test_lock_paths_resolve_beside_the_lock_file(tmp_path):
    # `netcalc lock net.yaml > netcalc.lock` inside a project; CI checks it from elsewhere.
    shutil.copy(f"{ROOT}/specs/examples/tiny_cnn.yaml", tmp_path / "net.yaml")
    lock = subprocess.run([sys.executable, "-m", "netcalc", "lock", "net.yaml"], cwd=tmp_path,
                          capture_output=True, text=True)
    (tmp_path / "netcalc.lock").write_text(lock.stdout)
    result = subprocess.run([sys.executable, "-m", "netcalc", "check", "--lock",
                             str(tmp_path / "netcalc.lock")], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_lock(str(tmp_path / "netcalc.lock"))[0].counts["flops"] == 1_360_202  # TinyCNN


@pytest.mark.parametrize("text,message", [
    ("not json", "not a JSON lock file"),
    ('{"netcalc_lock": 3, "models": []}', "netcalc_lock: format 3 is not 1 or 2"),
    ('{"netcalc_lock": 2, "models": []}', "imports: is required"),     # format 2 adds imports
    ('{"netcalc_lock": 1, "models": [{"spec": "specs/resnet50.yaml", "convention": "pycls", '
     '"resolution": 224, "flops": 1, "params": 2}]}', "models[0].acts: is required"),
    ('{"netcalc_lock": 1, "models": [{"spec": "specs/resnet50.yaml", "convention": "pycls", '
     '"resolution": 224, "flops": 1, "params": 2, "acts": "3"}]}',
     "models[0].acts: expected an integer"),
])
def test_malformed_lock_is_one_line_exit_2(cli, tmp_path, text, message):
    lock = tmp_path / "bad.lock"
    lock.write_text(text)
    result = cli("check", "--lock", str(lock))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {lock}: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_check_and_lock_import_no_torch(tmp_path):
    code = ("import sys\nfrom netcalc.cli import main\n"
            f"main(['lock', {R800!r}], standalone_mode=False)\n"
            f"main(['check', {R800!r}, '--max-flops', '1G'], standalone_mode=False)\n"
            "print(sorted(m for m in ('torch', 'fvcore', 'numpy') if m in sys.modules), "
            "file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "[]"
