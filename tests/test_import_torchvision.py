"""Imported torchvision models: netcalc's counts of the spec equal the traces of the real module.

The expected numbers are not typed in: they are what fvcore (FlopCountAnalysis,
ActivationCountAnalysis) and torch (FlopCounterMode, p.numel()) report for the torchvision
module itself, at the same input size. The spec is counted without torch.

The default suite imports a fast subset at small sizes (one square, one rectangular). The sweep
of the whole classification list of torchvision 0.28 (68 models) at 224 (inception_v3 at 299) and
192x256 is marked slow, so the slow tier runs it (`python -m pytest -q -m slow`; 4 min 36 s on an
idle 2-core machine):
    python -m pytest -q -m slow tests/test_import_torchvision.py
"""
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import netcalc  # noqa: E402
from netcalc.torch.importer import import_checked, imported_totals, traced_totals  # noqa: E402

from tv import CLASSIFIERS, DEFAULT_RESOLUTION, torchvision_models  # noqa: E402

FAST = [("resnet18", 64), ("shufflenet_v2_x0_5", 64), ("mobilenet_v3_small", (64, 96))]
RECTANGULAR = (192, 256)


def build(name):
    module = getattr(torchvision_models(), name)()
    return module.eval()


def assert_counts_match(name, resolution):
    """fvcore flops and acts, FlopCounterMode flops and numel, imported vs traced."""
    module = build(name)
    spec, imported = import_checked(module, resolution, name)
    counted = imported_totals(spec)
    traced = traced_totals(module, resolution)
    # the eval forward never reads some parameters (GoogLeNet's and Inception's aux heads): the
    # spec leaves them out and says so in its notes
    unused = sum(imported.unused_params.values())
    assert counted == {**traced, "torch.numel": traced["torch.numel"] - unused}
    if unused:
        assert any("not used by the eval forward" in note for note in spec.raw["notes"])
    return spec


@pytest.mark.parametrize("name,resolution", FAST)
def test_imported_counts_equal_the_traces(name, resolution):
    assert_counts_match(name, resolution)


@pytest.mark.slow       # about 4 s: GoogLeNet imported and traced
def test_aux_heads_are_left_out_and_named():
    module = build("googlenet")
    spec, imported = import_checked(module, 64)
    assert imported.unused_params == {
        "aux1": sum(p.numel() for p in module.aux1.parameters()),
        "aux2": sum(p.numel() for p in module.aux2.parameters())}
    assert netcalc.count(spec, "torch").params == sum(p.numel() for p in module.parameters()) \
        - sum(imported.unused_params.values())


def test_imported_spec_is_exact_at_other_resolutions():
    """The spec keeps each op's rule (adaptive pools, reshapes with "dK"), so counting it at
    another size equals tracing the module there."""
    module = build("shufflenet_v2_x0_5")
    spec, _ = import_checked(module, 64)
    # one rectangular size moves both sides (the square 72 runs in the slow tier's sweep of
    # imports at 224 and 192x256)
    resolution = (56, 88)
    assert imported_totals(spec, resolution) == traced_totals(module, resolution)


SQUARE = (64, 97, 128, 161, 224)
RECTANGLES = ((64, 96), (97, 129), (160, 121))


@pytest.mark.parametrize("name", ["shufflenet_v2_x0_5"] + [pytest.param(
    name, marks=pytest.mark.slow) for name in ("resnet18", "mobilenet_v3_small", "densenet121",
                                               "convnext_tiny", "inception_v3")])
def test_closed_forms_of_imported_specs_equal_the_counts(name):
    """--symbolic (in r, and in h and w) evaluated at five square and three rectangular sizes
    equals the concrete counts there (inception_v3 needs 75 px and more)."""
    from netcalc.symbolic.closed_form import count_symbolic

    spec, _ = import_checked(build(name), 299 if name == "inception_v3" else 64, name)
    small = 75 if name == "inception_v3" else 0
    for convention in ("fvcore", "torch"):
        for axes, sizes in (("r", SQUARE), ("hw", RECTANGLES)):
            closed = count_symbolic(spec, convention, axes)
            for size in sizes:
                if min(size if axes == "hw" else (size,)) < small:
                    continue
                report = netcalc.count(spec, convention, size)
                assert [closed.evaluate(closed.total(q), size) for q in
                        ("flops", "params", "acts")] == [report.flops, report.params,
                                                         report.acts], (convention, size)


@pytest.mark.slow      # 14 s of CPU: three interpreters, torchvision, four traces (issue 19)
def test_import_cli_writes_a_spec_that_counts_and_solves(tmp_path):
    """The CLI end to end: import to a file, count it without torch, solve a budget on it."""
    out = tmp_path / "mnv3.yaml"
    # the child process that runs the target imports torchvision through the tests' helper
    (tmp_path / "tv_models.py").write_text("import tv\ntv.import_torchvision()\n"
                                           "from torchvision.models import mobilenet_v3_small\n")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))}
    target = f"{tmp_path / 'tv_models.py'}:mobilenet_v3_small"
    done = subprocess.run([sys.executable, "-m", "netcalc", "import", target,
                           "--resolution", "64x96", "--out", str(out)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == f"wrote {out}"
    assert out.read_text().startswith(f"# netcalc import {target} --resolution 64x96\n"
                                      "family: graph\nname: MobileNetV3\n")
    module = build("mobilenet_v3_small")
    traced = traced_totals(module, (64, 96))
    counted = subprocess.run([sys.executable, "-m", "netcalc", "count", str(out), "--convention",
                              "fvcore", "--format", "json"], capture_output=True, text=True)
    assert counted.returncode == 0, counted.stderr
    import json

    totals = json.loads(counted.stdout.splitlines()[0])
    assert (totals["flops"], totals["params"], totals["acts"]) == (
        traced["fvcore.flops"], traced["torch.numel"], traced["fvcore.acts"])
    solved = subprocess.run([sys.executable, "-m", "netcalc", "solve", str(out), "--flops",
                             "20M", "--convention", "fvcore", "--format", "json"],
                            capture_output=True, text=True)
    assert solved.returncode == 0, solved.stderr
    answer = json.loads(solved.stdout)
    within, over = answer["within"], answer["over"]
    assert over["value"] == within["value"] + 1
    # the answer is right for the real module: fvcore's trace at r fits, at r + 1 it does not
    assert traced_totals(module, within["value"])["fvcore.flops"] == within["flops"] <= 20e6
    assert traced_totals(module, over["value"])["fvcore.flops"] == over["flops"] > 20e6


@pytest.mark.slow
@pytest.mark.parametrize("name,sizes", [
    ("swin_t", (224, (193, 257))), ("swin_v2_t", (224, (193, 257))),
    # MaxViT's 7x7 grid is laid out for the input_size it is built for: it runs at 224 only
    ("maxvit_t", (224,))])
def test_relative_position_biases_are_exact(name, sizes):
    """The relative-position bias of Swin and MaxViT: a parameter table gathered by an index
    buffer, reshaped, added to the logits (Swin v2: the table computed by an MLP from a buffer of
    coordinates). The importer writes it as ``param``/``constant`` nodes and the ops after
    them: the table counts once, the MLP's linear layers count as fvcore and FlopCounterMode
    count them. One import counts both sizes: at 224 Swin's last stage is one window, which
    it does not shift, and its maps need no pad (Swin V2's 8-wide windows: the last three
    stages pad); the spec comes from static exports at sizes where every stage pads and
    shifts, whose pads are 0 at 224 and whose shift costs nothing there in any convention."""
    module = build(name)
    spec, _ = import_checked(module, sizes[0], name)
    for resolution in sizes:
        assert imported_totals(spec, resolution) == traced_totals(module, resolution)


@pytest.mark.slow
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_torchvision_sweep(name):
    resolution = DEFAULT_RESOLUTION.get(name, 224)
    assert_counts_match(name, resolution)
    assert_counts_match(name, RECTANGULAR)


SEGMENTATION = ("fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")


@pytest.mark.slow
@pytest.mark.parametrize("name", SEGMENTATION)
def test_segmentation_models_are_exact_at_odd_sizes(name):
    """Their heads interpolate back to the input's size (``size=input.shape[-2:]``): exact at
    225 and 193x257, where a scale factor of 8 or 16 would be pixels off."""
    module = getattr(torchvision_models().segmentation, name)(
        weights=None, weights_backbone=None).eval()
    spec, imported = import_checked(module, 225, name)
    for resolution in (225, (193, 257)):
        traced = traced_totals(module, resolution)
        traced["torch.numel"] -= sum(imported.unused_params.values())
        assert imported_totals(spec, resolution) == traced
