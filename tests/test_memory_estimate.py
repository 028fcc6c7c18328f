"""The memory estimate (netcalc.limits.module_memory) against measured peaks of real modules.

``validate`` and ``bench`` refuse a spec by this one estimate before torch builds anything, so it
must cover what a run holds: a tracer keeps every output, an inference forward frees them. Peaks
are measured with bench's :class:`LiveTensorBytes` (every storage an op returns, from creation to
its last reference, weights and input included) on

* the module netcalc builds from the spec, run with every layer's output kept alive (what a
  tracer holds): the estimate must bound it and be within 1% of it (it counts every node);
* the same module run as an inference forward (what ``bench`` times): bounded by the estimate;
* torchvision's own ResNet-50 (a module netcalc did not build) with every leaf output kept:
  bounded by the estimate of netcalc's spec.

Cases: square (ResNet-50 at 224), rectangular (ResNet-50 at 224x448, where a ``c * h^2`` estimate
gave 252,475,456 bytes, below the measured peak) and an 8x upsample (whose output dominates and
which an estimate from pycls acts left out).
"""
import pytest
import torch

import netcalc
from netcalc.limits import module_memory
from netcalc.torch.bench import LiveTensorBytes
from netcalc.torch.builder import build, example_input

from conftest import spec_path
from tv import torchvision_models

pytestmark = pytest.mark.slow

UPSAMPLE = {"name": "Upsample8", "family": "graph", "resolution": 32, "layers": [
    {"op": "conv", "out": 16, "kernel": 3},
    {"op": "upsample", "scale_factor": 8},
    {"op": "conv", "out": 4, "kernel": 3}]}
CASES = {"resnet50-224": (spec_path("specs/resnet50.yaml"), 224),
         "resnet50-224x448": (spec_path("specs/resnet50.yaml"), (224, 448)),
         "upsample-8x": (UPSAMPLE, None)}


def peak_keeping_outputs(module, x, leaves):
    """Peak live bytes of one forward in which every module in ``leaves`` keeps its output."""
    kept = []
    hooks = [leaf.register_forward_hook(lambda m, i, out: kept.append(out)) for leaf in leaves]
    try:
        with torch.no_grad(), LiveTensorBytes([*module.parameters(), *module.buffers(), x]) as live:
            module(x)
    finally:
        for hook in hooks:
            hook.remove()
    return live.peak


def inference_peak(module, x):
    with torch.inference_mode(), \
            LiveTensorBytes([*module.parameters(), *module.buffers(), x]) as live:
        module(x)
    return live.peak


@pytest.mark.parametrize("case", CASES)
def test_estimate_bounds_a_trace_of_the_built_module(case):
    spec, resolution = CASES[case]
    report = netcalc.count(spec, resolution=resolution)
    estimate = module_memory(report).total
    module = build(report.graph, init=False)
    x = example_input(report.graph)
    kept = peak_keeping_outputs(module, x, module.layers)
    # BN running statistics are buffers, not parameters: the peak holds them, the estimate not
    buffers = 4 * sum(b.numel() for b in module.buffers())
    assert kept - buffers <= estimate
    assert kept >= 0.99 * estimate, (kept, estimate)
    assert inference_peak(module, x) <= estimate


def test_rectangular_resnet50_from_node_shapes():
    """224x448: 25,557,032 params and 75,118,568 output elements in the node shapes (the issue's
    402,702,400 bytes), plus the 3x224x448 input; the measured peaks above bound it."""
    memory = module_memory(netcalc.count(spec_path("specs/resnet50.yaml"), resolution=(224, 448)))
    assert memory.params_bytes + memory.outputs_bytes == 402_702_400
    assert memory.input_bytes == 4 * 3 * 224 * 448


@pytest.mark.parametrize("resolution", [224, (224, 448)])
def test_estimate_bounds_torchvisions_resnet50(resolution):
    models = torchvision_models()
    module = models.resnet50().eval()
    report = netcalc.count(spec_path("specs/resnet50.yaml"), resolution=resolution)
    side = (resolution, resolution) if isinstance(resolution, int) else resolution
    x = torch.zeros(1, 3, *side)
    leaves = [m for m in module.modules() if not list(m.children())]
    kept = peak_keeping_outputs(module, x, leaves)
    buffers = 4 * sum(b.numel() for b in module.buffers())
    assert kept - buffers <= module_memory(report).total
