"""Rectangular inputs: ``resolution: [h, w]`` in every family, ``--resolution HxW``, the API,
and closed forms in (h, w) (``--symbolic hw``)."""
import glob
import json
import os

import pytest

import netcalc

from conftest import ROOT, run_cli, spec_path, tiered

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


# -- closed forms in h and w --------------------------------------------------------------------
SHIPPED = sorted(os.path.relpath(p, ROOT) for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
                 for p in glob.glob(os.path.join(ROOT, pattern)))
SQUARE = (161, 224, 225, 257, 320)
RECTANGLES = ((224, 161), (193, 257), (800, 1333))


@pytest.mark.parametrize("path", tiered(SHIPPED))
def test_hw_closed_form_equals_concrete_counts(path):
    # One closed form in (h, w) per spec (fvcore: every op with a cost); the reference is the
    # concrete count, itself validated against fvcore traces at square and rectangular sizes.
    from netcalc.symbolic import count_symbolic

    form = count_symbolic(spec_path(path), "fvcore", "hw")
    assert form.axes == "hw" and len(form.min_resolution) == 2
    for hw in [(r, r) for r in SQUARE] + list(RECTANGLES):
        assert form.accepts(hw)
        report = netcalc.count(spec_path(path), "fvcore", hw)
        assert {q: form.evaluate(form.total(q), hw) for q in ("flops", "params", "acts")} \
            == report.totals(), hw


def test_cli_symbolic_hw_json():
    result = run_cli("count", "specs/resnet50.yaml", "--symbolic", "hw", "--format", "json",
                     "--by", "total", "--convention", "fvcore")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["resolution"] == ["h", "w"] and out["domain"] == "h >= 1 and w >= 1"
    # ResNet-50 strides every side by 32: when 32 divides h and w, fvcore flops are
    # 81901*h*w + 2048000 (the 2048 x 1000 classifier); 224x224 gives 4,111,514,624.
    assert out["polynomial"]["flops"] == "81901*h*w + 2048000"
    assert 81901 * 224 * 224 + 2048000 == netcalc.count(
        spec_path("specs/resnet50.yaml"), "fvcore").flops


def test_rectangle_below_a_kernel_names_the_node():
    # TinyCNN's 2x2/2 max-pool needs 2 rows: a 1-row input leaves it no output position.
    with pytest.raises(netcalc.SpecError, match=r"layers\[3\]\.kernel: maxpool 'pool': leaves "
                                                r"no output positions \(input \(1, 16, 1, 32\)"):
        netcalc.count(spec_path("specs/examples/tiny_cnn.yaml"), resolution=(1, 32))
    result = run_cli("count", "specs/examples/tiny_cnn.yaml", "--resolution", "1x32")
    assert result.returncode == 2 and "layers[3].kernel: maxpool 'pool'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_expand_takes_h_w():
    graph = netcalc.expand(spec_path("specs/examples/tiny_cnn.yaml"), [32, 48])
    assert graph.input_shape == (1, 3, 32, 48) and graph.output.shape == (1, 10)


def test_lock_files_keep_a_rectangle(tmp_path):
    from netcalc.lockfile import dump_lock, lock_changes, make_lock, read_lock

    path = spec_path("specs/examples/tiny_cnn.yaml")
    lock = tmp_path / "netcalc.lock"
    lock.write_text(dump_lock(make_lock([path], ("fvcore",), (32, 48))))
    assert json.loads(lock.read_text())["models"][0]["resolution"] == [32, 48]
    (model,) = read_lock(str(lock))
    assert model.resolution == (32, 48)
    assert model.counts["flops"] == netcalc.count(path, "fvcore", (32, 48)).flops
    assert lock_changes(str(lock)) == []


@pytest.mark.parametrize("path", ["specs/examples/se_mobile_block.yaml", "specs/regnety_200mf.yaml",
                                  "specs/rexnet_0.9.yaml"])
def test_rectangular_counts_equal_the_traces(path):
    # fvcore and FlopCounterMode on the built module at 64x96, node by node
    pytest.importorskip("fvcore")
    from netcalc.torch import validate_conventions

    for v in validate_conventions(spec_path(path), ("fvcore", "torch"), (64, 96)):
        assert v.ok and v.resolution == (64, 96), v.convention
