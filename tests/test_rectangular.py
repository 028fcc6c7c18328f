"""Rectangular inputs: ``resolution: [h, w]`` in every family, ``--resolution HxW``, the API."""
import json

import pytest

import netcalc

from conftest import run_cli, spec_path

FAMILY_SPECS = ["specs/regnetx_400mf.yaml", "specs/resnet50.yaml", "specs/efficientnet_b0.yaml",
                "specs/rexnet_1.0.yaml", "specs/examples/tiny_cnn.yaml"]


@pytest.mark.parametrize("path", FAMILY_SPECS)
def test_every_family_takes_h_w(path):
    import yaml

    data = yaml.safe_load(open(spec_path(path)))
    square = netcalc.count(spec_path(path), "fvcore", resolution=96)
    assert netcalc.count({**data, "resolution": [96, 96]}, "fvcore").totals() == square.totals()
    rect = netcalc.count({**data, "resolution": [96, 160]}, "fvcore")
    assert rect.to_dict()["resolution"] == [96, 160]
    assert rect.totals() == netcalc.count(spec_path(path), "fvcore", resolution=(96, 160)).totals()
    # wider input, same params; every map is 96 high and wider, so flops grow
    assert rect.params == square.params and rect.flops > square.flops


def test_resnet50_rectangular_by_hand():
    # The 7x7/2 stem conv at 800x1333: out 400x667; 7*7*3*64 MACs per output position.
    graph = netcalc.expand(spec_path("specs/resnet50.yaml"), (800, 1333))
    assert graph.input_shape == (1, 3, 800, 1333)
    stem = graph.layers[0]
    assert stem.shape == (1, 64, 400, 667) and graph.layers[3].shape == (1, 64, 200, 334)
    report = netcalc.count(spec_path("specs/resnet50.yaml"), "fvcore", (800, 1333))
    assert report.breakdown("layer")[0]["flops"] == 7 * 7 * 3 * 64 * 400 * 667


@pytest.mark.parametrize("bad, message", [
    (True, "got boolean True"), (224.0, "got 224.0"), ("224", "got string '224'"),
    (float("nan"), "got nan"), ((1, 2, 3), "got 3 entries"), (0, "below the minimum 1"),
    ((224, 10 ** 6), r"resolution\[1\]: 1000000 is above the maximum"),
])
def test_api_resolution_is_checked(bad, message):
    with pytest.raises(netcalc.SpecError, match=message):
        netcalc.count(spec_path("specs/resnet50.yaml"), resolution=bad)


def test_spec_resolution_pair_is_checked():
    bad = {"family": "graph", "resolution": [32, "wide"], "layers": [{"op": "relu"}]}
    with pytest.raises(netcalc.SpecError, match=r"resolution\[1\]: expected an integer"):
        netcalc.load_spec(bad)


def test_cli_resolution_h_x_w():
    result = run_cli("count", "specs/resnet50.yaml", "--resolution", "800x1333", "--format",
                     "json", "--by", "total")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["resolution"] == [800, 1333]
    assert out["flops"] == netcalc.count(spec_path("specs/resnet50.yaml"), "pycls",
                                         (800, 1333)).flops
    bad = run_cli("count", "specs/resnet50.yaml", "--resolution", "800x")
    assert bad.returncode == 2 and "is not N or HxW" in bad.stderr
