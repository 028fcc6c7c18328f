"""The ops added with the op registry, against the real torch ops, fvcore 0.1.5 and FlopCounterMode.

Each op has a hand-written graph spec (tests/new_op_specs.py) that validates exactly, per node
and in total, in the fvcore and torch conventions at a square and a rectangular resolution: the
expected numbers are what fvcore and FlopCounterMode report for the module netcalc builds, two
independent computations. The two example networks are also checked against the traces of
torchvision's own modules. Hand derivations: tests/test_ops_counts.py; bad input:
tests/test_ops_bad_input.py.
"""
import pytest

import netcalc
from netcalc.ops import all_ops

from new_op_specs import (CASES, NETWORKS, NEW_OPS, RECTANGLE, SLOW_SWEEP_CASES, SQUARE,
                          assert_exact, spec)

SLOW_CASES = {"sdpa"}       # about 2 s a resolution: the slow tier (tests/test_ops_transformer.py
                            # checks sdpa against nn.MultiheadAttention in the fast tier)

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from netcalc.torch import validate_conventions  # noqa: E402



def test_every_new_op_is_registered_and_has_a_case():
    ops_in_cases = {layer["op"] for layers in CASES.values() for layer in layers}
    assert set(NEW_OPS) <= set(all_ops())
    assert set(NEW_OPS) <= ops_in_cases


def _case_params():
    """Every case at both resolutions; a sweep case beyond the fast three runs its square one in
    the slow tier (tests/new_op_specs.py), and sdpa (about 2 s a resolution) runs in the slow tier
    (tests/test_ops_transformer.py checks it against nn.MultiheadAttention in the fast tier)."""
    for op in sorted(CASES):
        slow = (pytest.mark.slow,) if op in SLOW_CASES else ()
        yield pytest.param(op, RECTANGLE, id=f"{op}-rectangle", marks=slow)
        marks = (pytest.mark.slow,) if op in SLOW_SWEEP_CASES or op in SLOW_CASES else ()
        yield pytest.param(op, SQUARE, id=f"{op}-square", marks=marks)


@pytest.mark.parametrize("op, resolution", list(_case_params()))
def test_case_matches_fvcore_and_flopcountermode(op, resolution):
    assert_exact(validate_conventions(spec(op, resolution), ("fvcore", "torch")))


# the rectangles of the two networks: slow tier (issue 19); every op's own rectangle is fast
@pytest.mark.parametrize("resolution", [224, pytest.param((193, 255), marks=pytest.mark.slow)],
                         ids=["square", "rectangle"])
@pytest.mark.parametrize("path", NETWORKS)
def test_network_matches_fvcore_and_flopcountermode(path, resolution):
    assert_exact(validate_conventions(path, ("fvcore", "torch"), resolution))


def import_torchvision():
    """torchvision beside CPU torch: its compiled ops do not load, so their schemas are declared
    first (only nms and qnms are needed to import it)."""
    try:
        for op in ("nms", "qnms"):
            torch.library.define(f"torchvision::{op}",
                                 "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    except RuntimeError:        # declared already in this process
        pass
    return pytest.importorskip("torchvision")


def torchvision_mobilenetv3_small(torchvision):
    return torchvision.models.mobilenet_v3_small()


def torchvision_densenet_block(torchvision):
    """torchvision's own dense block and transition modules, wired as the spec describes."""
    from torch import nn
    from torchvision.models.densenet import _DenseBlock, _Transition

    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        _DenseBlock(4, 64, 4, 32, 0.0), _Transition(192, 96), _DenseBlock(2, 96, 4, 32, 0.0),
        nn.BatchNorm2d(160), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(160, 1000))


TORCHVISION_MODULES = {NETWORKS[0]: (torchvision_mobilenetv3_small, 2_542_856),
                       NETWORKS[1]: (torchvision_densenet_block, 499_752)}


@pytest.mark.parametrize("resolution", [(224, 224), pytest.param((193, 255),
                                                                  marks=pytest.mark.slow)],
                         ids=["square", "rectangle"])
@pytest.mark.parametrize("path", NETWORKS)
def test_network_counts_what_the_tools_find_in_torchvisions_modules(path, resolution):
    """Modules written by others: torchvision's mobilenet_v3_small (2,542,856 params, its
    published figure) and a network of torchvision's DenseNet blocks, traced by fvcore and
    FlopCounterMode, give the spec's counts in total."""
    from netcalc.torch.validate import run_measures

    build, params = TORCHVISION_MODULES[path]
    module = build(import_torchvision())
    measured = run_measures(module, (torch.zeros(1, 3, *resolution),),
                            ["fvcore.flops", "fvcore.acts", "torch.flops", "torch.numel"])
    fvcore = netcalc.count(path, "fvcore", resolution)
    assert (fvcore.flops, fvcore.acts, fvcore.params) == (
        measured["fvcore.flops"].total, measured["fvcore.acts"].total, params)
    assert netcalc.count(path, "torch", resolution).flops == measured["torch.flops"].total
    assert measured["torch.numel"].total == params


@pytest.mark.parametrize("resolution", [28, (28, 30), (28, 33)])
def test_an_upsample_only_where_resized_is_skipped_as_the_model_does(resolution):
    # the module built for 28 (and 28 x 30) is the identity where the 7 x 7 map needs no
    # resize: fvcore and FlopCounterMode see no upsample, as the spec counts; at 28 x 33 (7 x 8)
    # it resizes
    assert_exact(validate_conventions(spec("upsample_if_resized", resolution),
                                      ("fvcore", "torch")))
