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
    (r"^TRACED_CONVENTIONS\b.*=", "netcalc/extras.py"),
])
def test_one_definition(pattern, home):
    defined = [path for path, text in SOURCES.items() if re.search(pattern, text, re.M)]
    assert defined == [home]


def test_every_bound_is_defined_once_in_limits_and_documented():
    """Every ``MAX_*`` constant (and any defined on its line) lives in netcalc/limits.py, once,
    and docs/limits.md names it."""
    definition = re.compile(r"^((?:[A-Z_]+, )*[A-Z_]*MAX_[A-Z_]*(?:, [A-Z_]+)*)\s*=", re.M)
    defined = {path: [name for names in definition.findall(text) for name in names.split(", ")]
               for path, text in SOURCES.items()}
    assert {path for path, names in defined.items() if names} == {"netcalc/limits.py"}
    names = defined["netcalc/limits.py"]
    assert len(names) == len(set(names)) > 40
    documented = open(os.path.join(ROOT, "docs", "limits.md"), encoding="utf-8").read()
    assert [name for name in names if f"`{name}`" not in documented] == []


def test_no_resolution_limit_literal():
    # the CLI's --resolution bounds come from MAX_RESOLUTION, not a copy of its value
    assert [path for path, text in SOURCES.items() if "8192" in text] == ["netcalc/limits.py"]


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


def test_every_cache_is_owned_by_netcalc_caches():
    """No module but netcalc/caches.py memoises with functools or resets a cache: everything
    kept between calls is registered there and emptied by ``netcalc.caches.clear()``."""
    owners = [path for path, text in SOURCES.items()
              if re.search(r"lru_cache|functools\.cache\b|cache_clear", text)]
    assert owners == ["netcalc/caches.py"]


def test_clear_empties_every_cache():
    import netcalc
    from netcalc import caches
    from netcalc.families.regnet import to_anynet
    from netcalc.ops.conv import conv_attrs

    netcalc.count("regnetx_200mf")
    assert caches._templates and caches._node_costs and conv_attrs.cache_info().currsize
    caches.clear()
    assert not (caches._templates or caches._template_inputs or caches._node_costs)
    assert caches.expansions._graphs == {} and to_anynet.cache_info().currsize == 0
    assert all(cached.cache_info().currsize == 0 for cached in caches._memoised)


def test_one_close_match_helper_and_no_spec_zoo_cycle():
    """Suggestions come from fields.closest only; spec.py finds shipped specs through shipped.py
    and never imports the zoo table (which imports spec.py)."""
    assert [path for path, text in SOURCES.items() if "difflib" in text] == ["netcalc/fields.py"]
    assert "zoo" not in re.findall(r"^\s*from \.(\w+) import", SOURCES["netcalc/spec.py"], re.M)
