"""Every shipped spec keeps its integers, in every convention, across rewrites of the core.

tests/data/pinned_counts.json was generated ONCE, from the code before the op registry replaced the
layer tables (issue "one definition per op"), by counting each spec of specs/ and specs/examples/
at its own resolution. Those integers are the published figures and the fvcore / FlopCounterMode
traces that earlier sessions validated layer by layer (tests/test_zoo_regnet_resnet.py,
tests/test_efficientnet.py, tests/test_rexnet.py, tests/test_torch_validation.py), so any
difference here is a regression, never a refresh: do not regenerate this file to make it pass.
"""
import glob
import json
import os

import pytest

import netcalc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PINNED = json.load(open(os.path.join(ROOT, "tests", "data", "pinned_counts.json")))
SHIPPED = sorted(os.path.relpath(p, ROOT) for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
                 for p in glob.glob(os.path.join(ROOT, pattern)))


def test_every_shipped_spec_is_pinned():
    assert sorted(PINNED) == SHIPPED or set(SHIPPED) >= set(PINNED)
    assert len(PINNED) == 47


@pytest.mark.parametrize("path", sorted(PINNED))
def test_counts_unchanged(path):
    spec = netcalc.load_spec(os.path.join(ROOT, path))
    expected = PINNED[path]
    assert spec.resolution == expected["resolution"]
    for convention in ("pycls", "fvcore", "torch"):
        report = netcalc.count(spec, convention)
        assert [report.flops, report.params, report.acts] == expected[convention], convention
