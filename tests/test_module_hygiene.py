"""Modules a newcomer can find their way in: one definition of each shared constant, and the CLI's
analytic commands free of test code."""
import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

SOURCES = {os.path.relpath(p, ROOT): open(p, encoding="utf-8").read()
           for p in glob.glob(os.path.join(ROOT, "netcalc", "**", "*.py"), recursive=True)}


@pytest.mark.parametrize("pattern, home", [
    (r"^QUANTITIES\s*=", "netcalc/report.py"),
    (r"^MAX_RESOLUTION\s*=", "netcalc/spec.py"),
    (r"^TRACED_CONVENTIONS\b.*=", "netcalc/extras.py"),
])
def test_one_definition(pattern, home):
    defined = [path for path, text in SOURCES.items() if re.search(pattern, text, re.M)]
    assert defined == [home]


def test_no_resolution_limit_literal():
    # the CLI's --resolution bounds come from MAX_RESOLUTION, not a copy of its value
    assert [path for path, text in SOURCES.items() if "8192" in text] == ["netcalc/spec.py"]


def test_check_and_lock_use_no_test_code(tmp_path):
    code = ("import sys\nfrom netcalc.cli import main\n"
            "try:\n    main(['lock', 'regnetx_800mf', '-o', 'n.lock'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['check', '--lock', 'n.lock', '--max-flops', '1G', 'resnet50'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('netcalc.testing')))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_traced_conventions_are_the_measured_ones():
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from netcalc.extras import TRACED_CONVENTIONS
    from netcalc.torch.validate import SOURCES as MEASURED

    assert tuple(MEASURED) == TRACED_CONVENTIONS
