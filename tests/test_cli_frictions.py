"""The small things a newcomer trips over, each as a user of click CLIs expects it.

Missing extras fail before the work with one wording; every file written is announced on stderr;
status and progress lines appear on a terminal only (checked here under a pseudo-terminal) and
stay short; misspellings get suggestions; CSV breakdowns end with their total.
"""
import csv
import io
import os
import pty
import subprocess
import sys
import threading

import pytest

import netcalc

from conftest import ROOT, run_cli
from reference_numbers import REGNETX_800MF


def hidden(module, *args, cwd=ROOT):
    """The CLI in a subprocess where ``module`` cannot be imported (as if not installed)."""
    code = (f"import sys\nsys.modules[{module!r}] = None\n"
            f"from netcalc.cli import main\nmain({list(args)!r})\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def on_terminal(*args, cwd=ROOT):
    """(exit status, stdout, what reached the terminal) of the CLI with stderr on a pty."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "netcalc", *args], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []

    def drain():                      # read while it runs: a full pty buffer would block it
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = process.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    return process.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


# -- optional extras: checked first, one wording ------------------------------------------------
PLOT_LINE = "needs the plot extra (matplotlib is missing): pip install 'netcalc-cnn[plot]'"


@pytest.mark.parametrize("args", [
    ["sample", "anynetx_a", "--n", "5", "--flops", "360M:400M", "--plot", "edf.png"],
    ["fit", "48", "104", "104", "208", "--plot", "fit.png"],
    ["trends", "specs/regnetx_200mf.yaml", "specs/regnetx_400mf.yaml", "--plot", "t.png"],
])
def test_missing_plot_extra_fails_before_the_work(args, tmp_path):
    result = hidden("matplotlib", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""                     # nothing sampled, fitted or counted first
    assert result.stderr == f"error: --plot: {PLOT_LINE}\n"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args", [["validate", "specs/examples/tiny_cnn.yaml"],
                                  ["import", "torchvision.models:resnet18"]])
def test_missing_torch_extra_names_the_readme_line(args):
    result = hidden("torch", *args)
    assert result.returncode == 2
    line = "pip install torch==2.13.0 && pip install 'netcalc-cnn[torch]'"
    assert result.stderr == f"error: {args[0]}: needs the torch extra (torch is missing): {line}\n"
    with open(os.path.join(ROOT, "README.md")) as handle:
        assert line in handle.read()                 # the same line the README gives


def test_install_lines_name_this_distribution():
    # `netcalc` on the package index is an unrelated project: every install line names ours
    with open(os.path.join(ROOT, "setup.cfg")) as handle:
        assert "\nname = netcalc-cnn\n" in handle.read()
    for page in ["README.md"] + [os.path.join("docs", p) for p in os.listdir(os.path.join(ROOT, "docs"))]:
        with open(os.path.join(ROOT, page)) as handle:
            text = handle.read()
        assert "'netcalc[" not in text and "pip install netcalc " not in text, page
        assert "pip install netcalc\n" not in text, page


# -- files written --------------------------------------------------------------------------------
def test_every_file_written_is_announced(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "out").mkdir()
    result = run_cli("fit", "48", "104", "104", "208", "--plot", str(tmp_path / "out" / "fit"))
    assert result.returncode == 0, result.stderr
    # a bare name gets the .png matplotlib would add, and the name written is the name announced
    assert result.stderr == f"wrote {tmp_path / 'out' / 'fit.png'}\n"
    assert os.listdir(tmp_path / "out") == ["fit.png"]
    result = run_cli("sample", "anynetx_a", "--n", "3", "--flops", "360M:400M",
                     "--out", str(tmp_path / "a.jsonl"), "--plot", str(tmp_path / "edf.png"))
    assert result.stdout == ""
    assert result.stderr == (f"wrote {tmp_path / 'a.jsonl'} (3 models)\n"
                             f"wrote {tmp_path / 'edf.png'}\n")
    result = run_cli("lock", "regnetx_800mf", "resnet50", "-o", str(tmp_path / "netcalc.lock"))
    assert result.stdout == "" and result.stderr == f"wrote {tmp_path / 'netcalc.lock'} (2 specs)\n"
    assert run_cli("check", "--lock", str(tmp_path / "netcalc.lock")).returncode == 0


def test_missing_output_folder_fails_before_the_work(tmp_path):
    result = run_cli("sample", "anynetx_a", "--n", "3", "--flops", "360M:400M",
                     "--out", str(tmp_path / "no" / "a.jsonl"))
    assert result.returncode == 2
    assert result.stderr == (f"error: {tmp_path / 'no' / 'a.jsonl'}: --out: no such folder "
                             f"'{tmp_path / 'no'}'\n")


# -- terminal-only status and progress ------------------------------------------------------------
def test_validate_shows_its_progress_on_a_terminal_only():
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    status, stdout, terminal = on_terminal("validate", "specs/examples/tiny_cnn.yaml")
    assert status == 0 and "identical" in stdout
    # click's progress bar, as every command's: the torch import, then each spec traced
    assert "validate" in terminal and "importing torch and fvcore" in terminal
    assert "tracing specs/examples/tiny_cnn.yaml" in terminal and "100%" in terminal
    # in a pipe: nothing at all -- tests/test_torch_validation.py checks that (stderr == ""
    # of a validate run), so no second torch start here


def test_steps_progress_bar_names_no_piece():
    # 52 pieces of ReXNet's width between 0.99 and 1.01: a bar, redrawn per piece, but with no
    # piece's repr (a full spec each) beside it.
    status, stdout, terminal = on_terminal("steps", "rexnet_1.0", "--for", "width",
                                           "--from", "0.99", "--to", "1.01")
    assert status == 0 and "52 pieces" in stdout
    assert "counting pieces" in terminal
    assert "Piece(" not in terminal and "Spec(" not in terminal
    assert max(len(line) for line in terminal.replace("\r", "\n").splitlines()) < 80


# -- the command line itself ----------------------------------------------------------------------
def test_shell_completion_completes_commands_and_names():
    env = dict(os.environ, _NETCALC_COMPLETE="bash_complete", COMP_WORDS="netcalc co",
               COMP_CWORD="1")
    result = subprocess.run([sys.executable, "-m", "netcalc"], env=env, capture_output=True,
                            text=True, cwd=ROOT)
    assert "plain,count" in result.stdout.splitlines()


def test_csv_by_stage_ends_with_the_total():
    result = run_cli("count", "regnetx_800mf", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    stages, total = rows[:-1], rows[-1]
    assert [r["name"] for r in stages] == ["stem", "s1", "s2", "s3", "s4", "head"]
    assert (total["level"], total["name"]) == ("total", "RegNetX-800MF")
    assert int(total["flops"]) == sum(int(r["flops"]) for r in stages) == REGNETX_800MF.flops


def test_plain_netcalc_prints_help_and_exits_0():
    result = run_cli()
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == run_cli("--help").stdout
    assert "netcalc zoo lists them" in " ".join(result.stdout.split())


@pytest.mark.parametrize("spec, message", [
    # a misspelt required field names the typo
    ({"family": "regnet", "dpeth": 16, "w0": 56, "wa": 35.73, "wm": 2.28, "group_w": 16},
     "depth: is required (found 'dpeth': did you mean 'depth'?)"),
    # an abbreviation finds the family it abbreviates (difflib alone says rexnet)
    ({"family": "effnet", "variant": "b0"},
     "family: string 'effnet' is not one of anynet, efficientnet, graph, regnet, rexnet "
     "(did you mean 'efficientnet'?)"),
])
def test_did_you_mean(spec, message):
    with pytest.raises(netcalc.SpecError) as caught:
        netcalc.load_spec(spec)
    assert str(caught.value) == f"<dict>: {message}"


def test_license_matches_setup_cfg():
    with open(os.path.join(ROOT, "setup.cfg")) as handle:
        assert "license = MIT\n" in handle.read()
    with open(os.path.join(ROOT, "LICENSE")) as handle:
        assert handle.readline().strip() == "MIT License"
