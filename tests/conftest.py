import csv
import os
import subprocess
import sys

import pytest
from hypothesis import settings

from netcalc.zoo import PUBLISHED_CSV

# Property tests draw the same examples on every run ("ci", the default): a failure is reproduced
# by running the test again, and a landing is not decided by which examples a run happened to
# draw. HYPOTHESIS_PROFILE=explore draws fresh examples on each run, to look for new bugs (run by
# hand; a random draw found fvcore's einsum "+1", tests/test_ops_transformer.py).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_CSV = PUBLISHED_CSV


def zoo_rows(families=None):
    """Rows of the published figures shipped with netcalc (netcalc/data/model_zoo.csv)."""
    with open(ZOO_CSV) as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows if families is None or r["family"] in families]


def printed(value, published, unit):
    """``value`` as a published table prints it: as many decimals as the published figure shows
    (RegNet/pycls print round(x/1e9, 1) GF and round(x/1e6, 1) M)."""
    decimals = len(published.split(".")[1]) if "." in published else 0
    return f"{value / unit:.{decimals}f}"


def spec_path(relative):
    return os.path.join(ROOT, relative)


def run_cli(*args, input=None):
    """Run ``python -m netcalc`` in a subprocess (real exit codes, real stderr)."""
    return subprocess.run([sys.executable, "-m", "netcalc", *args], cwd=ROOT, input=input,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def cli():
    return run_cli


# One spec of each family and every hand-written example: what the fast tier sweeps when a test
# runs over every shipped spec; the rest of the zoo runs in the slow tier (`pytest -m slow`).
FAST_TIER_SPECS = {"specs/regnetx_800mf.yaml", "specs/regnety_200mf.yaml", "specs/resnet50.yaml",
                   "specs/resnext50_32x4d.yaml", "specs/efficientnet_b0.yaml",
                   "specs/rexnet_1.0.yaml"}


# examples whose closed forms take seconds each (a 12-block transformer's): the slow tier's
# (tests/test_vit_resolution.py keeps a small ViT's closed form in the fast tier)
SLOW_EXAMPLES = {"specs/examples/vit_b_16.yaml"}


def tiered(paths):
    """``paths`` as pytest params: zoo specs beyond FAST_TIER_SPECS are marked slow, and so are
    the SLOW_EXAMPLES."""
    return [pytest.param(p, id=os.path.basename(p), marks=() if _fast(p) else pytest.mark.slow)
            for p in paths]


def _fast(path):
    return path in FAST_TIER_SPECS or ("/examples/" in path and path not in SLOW_EXAMPLES)
