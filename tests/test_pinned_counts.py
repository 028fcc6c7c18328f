"""Every shipped spec is pinned to counts netcalc did not compute, and keeps its integers.

Independent pins, tests/data/traced_counts.json: for every spec of specs/ and specs/examples/,
fvcore 0.1.5 and torch's FlopCounterMode traced a module netcalc did not build -- torchvision's
ResNet, ResNeXt, RegNet, EfficientNet, MobileNetV3 and DenseNet builders, timm's ReXNet, or a
module written by hand in tests/trace_pins.py for the two small example graphs -- at the spec's
own resolution; each entry names its module. netcalc's fvcore and torch conventions must give
those integers exactly. Regenerate an entry only with tests/trace_pins.py (never from netcalc).

Regression pins, tests/data/pinned_counts.json: netcalc's own counts of 47 specs, in all three
conventions, recorded once before the op registry replaced the layer tables; they guard the pycls
convention, which no tracer measures (its published figures are checked to the printed digits
in tests/test_zoo*.py, and RegNetX-800MF to the unit in tests/reference_numbers.py).
"""
import glob
import json
import os

import pytest

import netcalc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRACED = json.load(open(os.path.join(ROOT, "tests", "data", "traced_counts.json")))
PINNED = json.load(open(os.path.join(ROOT, "tests", "data", "pinned_counts.json")))
SHIPPED = sorted(os.path.relpath(p, ROOT) for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
                 for p in glob.glob(os.path.join(ROOT, pattern)))


def unpinned(shipped, pins):
    """The shipped specs that have no pin."""
    return sorted(set(shipped) - set(pins))


def test_every_shipped_spec_is_pinned_by_a_trace():
    assert unpinned(SHIPPED, TRACED) == []
    assert set(TRACED) <= set(SHIPPED)          # no pin of a spec that is gone


def test_a_missing_pin_fails_the_check():
    pins = {path: pin for path, pin in TRACED.items() if path != SHIPPED[0]}
    assert unpinned(SHIPPED, pins) == [SHIPPED[0]]


@pytest.mark.parametrize("path", SHIPPED)
def test_counts_equal_the_independent_trace(path):
    pin = TRACED[path]
    spec = netcalc.load_spec(os.path.join(ROOT, path))
    assert spec.resolution == pin["resolution"]
    for convention in ("fvcore", "torch"):
        report = netcalc.count(spec, convention)
        assert [report.flops, report.params, report.acts] == pin[convention], \
            f"{convention}: {pin['module']}"


@pytest.mark.parametrize("path", sorted(PINNED))
def test_counts_unchanged(path):
    spec = netcalc.load_spec(os.path.join(ROOT, path))
    expected = PINNED[path]
    assert spec.resolution == expected["resolution"]
    for convention in ("pycls", "fvcore", "torch"):
        report = netcalc.count(spec, convention)
        assert [report.flops, report.params, report.acts] == expected[convention], convention
