"""Issue 19: `netcalc import` runs the user's code in a child process. Whatever the model does
(print, exit, crash, loop where no signal reaches it) stays out of the spec and the terminal
and ends as one `error:` line, exit 2, within --timeout plus a second.

Each case is a real `python -m netcalc import` whose child imports torch afresh (about 2 s):
one case is in the fast tier, the others in the slow tier (docs/testing_and_ci.md lists them).
"""
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from hostile_harness import ROOT, one_error_line

MODEL_PY = textwrap.dedent("""
    import ctypes, os, signal, sys, time
    from torch import nn

    print("model file imported")                      # Python's stdout
    os.write(1, b"\\x1b[2Jraw bytes from C-level code\\n")

    class Net(nn.Module):
        def __init__(self, mode=""):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.mode = mode

        def forward(self, x):
            print("forward ran", file=sys.stderr)
            if self.mode == "exit0":
                sys.exit(0)
            if self.mode == "exit5":
                raise SystemExit(5)
            if self.mode == "os_exit":
                os._exit(3)
            if self.mode == "segfault":
                ctypes.string_at(0)
            if self.mode == "stubborn":     # no SIGALRM, no SIGTERM, no exception stops it
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                while True:
                    try:
                        time.sleep(10)
                    except BaseException:
                        pass
            return self.conv(x).relu()

    def build():
        return Net()

    def exit0():
        return Net("exit0")

    def exit5():
        return Net("exit5")

    def os_exit():
        return Net("os_exit")

    def segfault():
        return Net("segfault")

    def stubborn():
        return Net("stubborn")

    def loops():
        while True:
            pass
""")


@pytest.fixture
def model_py(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL_PY)
    return str(path)


def run_import(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "netcalc", "import", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_what_the_model_prints_stays_out_of_the_spec_and_the_terminal(model_py):
    result = run_import(f"{model_py}:build", "--resolution", "8")
    assert result.returncode == 0, result.stderr
    # netcalc's own note on how the size rules were found, and nothing of the model's
    assert result.stderr == "note: size rules from torch.export's symbolic shapes (dynamic h and w)\n"
    lines = result.stdout.splitlines()
    assert lines[0] == f"# netcalc import {model_py}:build --resolution 8"
    spec = yaml.safe_load(result.stdout)
    assert spec["name"] == "Net"                    # the model's class, not the factory
    assert [layer["op"] for layer in spec["layers"]] == ["conv", "relu"]


@pytest.mark.slow
def test_verbose_shows_what_the_model_prints_on_stderr_escaped(model_py):
    result = run_import(f"{model_py}:build", "--resolution", "8", "--verbose")
    assert result.returncode == 0
    assert yaml.safe_load(result.stdout)["name"] == "Net"
    assert "model file imported" in result.stderr and "forward ran" in result.stderr
    assert "\\x1b[2Jraw bytes from C-level code" in result.stderr and "\x1b" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("factory,expected", [
    ("exit0", "the module's code called sys.exit(0) while it was traced"),
    ("exit5", "the module's code called sys.exit(5) while it was traced"),
    ("os_exit", "the model's code ended the import process (exit status 3) before the spec "
                "was made; --verbose shows its output"),
    ("segfault", "the import process was killed by SIGSEGV (Segmentation fault) while running "
                 "the model's code; --verbose shows its output"),
])
def test_an_exit_or_crash_of_the_model_is_one_line(model_py, factory, expected):
    result = run_import(f"{model_py}:{factory}", "--resolution", "8")
    assert one_error_line(result) == f"error: {model_py}:{factory}: {expected}"
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("factory", ["stubborn", "loops"])
def test_the_timeout_is_a_hard_limit(model_py, factory):
    start = time.monotonic()
    result = run_import(f"{model_py}:{factory}", "--resolution", "8", "--timeout", "4")
    elapsed = time.monotonic() - start
    assert one_error_line(result) == (f"error: {model_py}:{factory}: did not finish within 4 s "
                                      "and was stopped (a loop in the model's code?); raise "
                                      "--timeout if it is only slow")
    assert elapsed < 4 + 1 + 1      # + 1 s the issue allows, + this process's own start


def test_from_torch_turns_the_models_sys_exit_into_an_error():
    """In the caller's process, from_torch must not end it."""
    import netcalc
    from torch import nn

    class Exits(nn.Module):
        def forward(self, x):
            sys.exit(0)

    with pytest.raises(netcalc.SpecError, match=r"^Exits: the module's code called "
                                                r"sys.exit\(0\) while it was traced$"):
        netcalc.from_torch(Exits(), 8)


@pytest.mark.parametrize("args,expected", [
    ((None,), "module: expected a torch.nn.Module, got NoneType"),
    (("conv", ()), "resolution: expected an integer or [l], [h, w] or [d, h, w], got 0 "
                   "entries"),
    (("conv", (8, 8, 8, 8)), "resolution: expected an integer or [l], [h, w] or [d, h, w], "
                             "got 4 entries"),
    (("conv", (8, 0)), "resolution[1]: 0 is below the minimum 1"),
])
def test_from_torch_checks_its_arguments_first(args, expected):
    import netcalc
    from torch import nn

    module, *rest = args
    module = nn.Conv2d(3, 4, 1) if module == "conv" else module
    with pytest.raises(netcalc.NetcalcError) as caught:
        netcalc.from_torch(module, *rest)
    assert str(caught.value) == expected
