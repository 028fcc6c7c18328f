"""The ops added with the op registry, against the real torch ops, fvcore 0.1.5 and FlopCounterMode.

Each op has a hand-written graph spec (tests/new_op_specs.py) that validates exactly, per node
and in total, in the fvcore and torch conventions at a square and a rectangular resolution: the
expected numbers are what fvcore and FlopCounterMode report for the module netcalc builds, two
independent computations. A few counts are also derived by hand below, to pin the rules that
differ between counters (matmul broadcasting, norms, upsampling, adaptive pooling).
"""
import json

import pytest

import netcalc
from netcalc.ops import OPS

from conftest import run_cli
from new_op_specs import CASES, RECTANGLE, SQUARE, spec

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from netcalc.torch import validate_conventions  # noqa: E402

NEW_OPS = ("hardswish", "hardsigmoid", "gelu", "tanh", "softmax", "leaky_relu", "elu", "prelu",
           "mish", "softplus", "sub", "div", "concat", "slice", "reshape", "permute", "transpose",
           "channel_shuffle", "mean", "adaptive_avgpool", "adaptive_maxpool", "upsample",
           "matmul", "pad", "layer_norm", "group_norm", "param_mul", "param_add")
NETWORKS = ("specs/examples/mobilenetv3_small_blocks.yaml", "specs/examples/densenet_block.yaml")


def test_every_new_op_is_registered_and_has_a_case():
    ops_in_cases = {layer["op"] for layers in CASES.values() for layer in layers}
    assert set(NEW_OPS) <= set(OPS)
    assert set(NEW_OPS) <= ops_in_cases


def assert_exact(validations):
    for v in validations:
        assert v.ok, [(m.layer, m.quantity, m.netcalc, m.measured) for m in v.mismatches]
        assert v.measured["flops"] > 0 and v.measured["params"] > 0


@pytest.mark.parametrize("resolution", [SQUARE, RECTANGLE], ids=["square", "rectangle"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_case_matches_fvcore_and_flopcountermode(op, resolution):
    assert_exact(validate_conventions(spec(op, resolution), ("fvcore", "torch")))


@pytest.mark.parametrize("resolution", [224, (193, 255)], ids=["square", "rectangle"])
@pytest.mark.parametrize("path", NETWORKS)
def test_network_matches_fvcore_and_flopcountermode(path, resolution):
    assert_exact(validate_conventions(path, ("fvcore", "torch"), resolution))


# -- hand derivations of the rules where the counters differ -----------------------------------------
def node_costs(op, convention, resolution=SQUARE):
    report = netcalc.count(spec(op, resolution), convention)
    return {layer.name: dict(zip(("flops", "params", "acts"), cost))
            for layer, cost in zip(report.graph.layers, report.costs)}


def test_matmul_broadcast_over_the_second_operand():
    """(1, 400, 8) @ (2, 8, 1) at 20x20: fvcore counts prod(A) * N = 400 * 8 * 1 = 3,200, the
    true MACs are 2 * 400 * 8 = 6,400 (pycls), FlopCounterMode 2 per MAC = 12,800."""
    last = "matmul_12"
    assert node_costs("matmul", "fvcore")[last]["flops"] == 3_200
    assert node_costs("matmul", "pycls")[last]["flops"] == 6_400
    assert node_costs("matmul", "torch")[last]["flops"] == 12_800
    assert node_costs("matmul", "fvcore")[last]["acts"] == 2 * 400


def test_attention_matmul():
    """q (1, 400, 8) @ k^T (1, 8, 400): 400 * 400 * 8 = 1,280,000 MACs in fvcore and pycls."""
    assert node_costs("matmul", "fvcore")["matmul_6"]["flops"] == 1_280_000
    assert node_costs("matmul", "torch")["matmul_6"]["flops"] == 2_560_000


def test_norms_count_per_element():
    """fvcore: 5 per element with an affine transform, 4 without; 8 x 20 x 20 = 3,200 elements."""
    ln = node_costs("layer_norm", "fvcore")
    assert [ln[n]["flops"] for n in ("layer_norm_1", "layer_norm_3", "layer_norm_4")] == \
        [16_000, 16_000, 12_800]
    assert [ln[n]["params"] for n in ("layer_norm_1", "layer_norm_3", "layer_norm_4")] == \
        [16, 16, 0]
    gn = node_costs("group_norm", "fvcore")
    assert (gn["group_norm_1"]["flops"], gn["group_norm_2"]["flops"]) == (16_000, 12_800)
    assert all(cost["flops"] == 0 for name, cost in node_costs("group_norm", "pycls").items()
               if name.startswith("group_norm"))


def test_resampling_counts():
    """Adaptive average pooling: 1 per input element (8 x 17 x 26 = 3,536) whatever the output;
    adaptive max pooling: nothing in fvcore, its outputs are pycls activations; bilinear
    upsampling 4 per output element (4 x 11 x 13 x 4 = 2,288)."""
    avg = node_costs("adaptive_avgpool", "fvcore", RECTANGLE)["adaptive_avgpool_1"]
    assert avg["flops"] == 3_536
    assert node_costs("adaptive_maxpool", "fvcore")["adaptive_maxpool_1"]["flops"] == 0
    assert node_costs("adaptive_maxpool", "pycls")["adaptive_maxpool_1"]["acts"] == 8 * 3 * 3
    assert node_costs("upsample", "fvcore")["upsample_3"]["flops"] == 2_288
    assert node_costs("upsample", "pycls")["upsample_3"]["flops"] == 2_288    # fvcore's count
    assert node_costs("upsample", "torch")["upsample_3"]["flops"] == 0


def test_prelu_and_learned_tensors_count_their_parameters():
    assert [c["params"] for n, c in node_costs("prelu", "torch").items()
            if n.startswith("prelu")] == [8, 1]
    assert [c["params"] for n, c in node_costs("param_add", "torch").items()
            if n.startswith("param_add")] == [8, 8]


def test_adaptive_windows_are_torchs():
    """Output cell i of n -> m reads [floor(i n / m), ceil((i + 1) n / m)): checked on sums of
    a ramp, including sizes the output does not divide and outputs larger than the input."""
    from netcalc.ops.resample import adaptive_windows

    for n, m in [(7, 3), (10, 4), (5, 5), (3, 7), (26, 7), (17, 5)]:
        ramp = torch.arange(n, dtype=torch.float64).reshape(1, 1, n)
        pooled = torch.nn.functional.adaptive_avg_pool1d(ramp, m).flatten().tolist()
        expected = [sum(range(lo, hi)) / (hi - lo) for lo, hi in adaptive_windows(n, m)]
        assert pooled == pytest.approx(expected)
        maxed = torch.nn.functional.adaptive_max_pool1d(ramp, m).flatten().tolist()
        assert maxed == [hi - 1 for lo, hi in adaptive_windows(n, m)]


# -- bad input: exit 2, one line naming the node and the field --------------------------------------
def conv(out, **kw):
    return {"op": "conv", "out": out, "kernel": kw.pop("kernel", 3), **kw}


BAD = {
    "concat_mismatch": ([conv(8, name="a"), {"op": "maxpool", "kernel": 2, "stride": 2,
                                               "padding": 0, "name": "p"},
                         {"op": "concat", "inputs": ["a", "p"], "name": "cat"}],
                        "layers[2].inputs", "cat"),
    "layer_norm_dims": ([conv(8), {"op": "layer_norm", "normalized_shape": [8], "name": "ln"}],
                        "layers[1].normalized_shape", "ln"),
    "layer_norm_channels_first": ([conv(8), {"op": "layer_norm", "normalized_shape": [4],
                                             "channels_first": True, "name": "ln"}],
                                  "layers[1].normalized_shape", "ln"),
    "matmul_inner": ([conv(8, name="a"), {"op": "flatten", "start_dim": 2, "name": "f"},
                      {"op": "matmul", "inputs": ["f", "f"], "name": "mm"}],
                     "layers[2].inputs", "mm"),
    "matmul_rank": ([conv(8), {"op": "gap"}, {"op": "flatten"}, {"op": "mean", "dim": 0},
                     {"op": "matmul", "inputs": ["mean_3", "mean_3"], "name": "mm"}],
                    "layers[4].inputs", "mm"),
    "slice_outside": ([conv(8), {"op": "slice", "dim": 1, "start": 9, "name": "s"}],
                      "layers[1].start", "s"),
    "slice_empty": ([conv(8), {"op": "slice", "dim": 1, "start": 3, "stop": 3, "name": "s"}],
                    "layers[1].stop", "s"),
    "reshape_elements": ([conv(8), {"op": "reshape", "shape": [1, 7, -1], "name": "r"}],
                         "layers[1].shape", "r"),
    "reshape_dim_ref": ([conv(8), {"op": "reshape", "shape": ["d7", -1], "name": "r"}],
                        "layers[1].shape", "r"),
    "reshape_two_free": ([conv(8), {"op": "reshape", "shape": [-1, -1], "name": "r"}],
                         "layers[1].shape", ""),
    "permute_not_permutation": ([conv(8), {"op": "permute", "dims": [0, 0, 1, 2], "name": "p"}],
                                "layers[1].dims", "p"),
    "transpose_dim": ([conv(8), {"op": "transpose", "dim0": 4, "dim1": 1, "name": "t"}],
                      "layers[1].dim0", "t"),
    "channel_shuffle_groups": ([conv(8), {"op": "channel_shuffle", "groups": 3, "name": "cs"}],
                               "layers[1].groups", "cs"),
    "pad_odd": ([conv(8), {"op": "pad", "pad": [1, 2, 3], "name": "p"}], "layers[1].pad", ""),
    "pad_rank": ([conv(8), {"op": "pad", "pad": [1] * 10, "name": "p"}], "layers[1].pad", "p"),
    "mean_twice": ([conv(8), {"op": "mean", "dim": [2, -2], "name": "m"}], "layers[1].dim", "m"),
    "adaptive_flat": ([conv(8), {"op": "gap"}, {"op": "flatten"},
                       {"op": "adaptive_maxpool", "output_size": 2, "name": "ap"}],
                      "layers[3].input", "ap"),
    "upsample_both": ([conv(8), {"op": "upsample", "size": 4, "scale_factor": 2}],
                      "layers[1].size", ""),
    "upsample_align_nearest": ([conv(8), {"op": "upsample", "scale_factor": 2,
                                          "align_corners": True}],
                               "layers[1].align_corners", ""),
    "group_norm_groups": ([conv(8), {"op": "group_norm", "num_groups": 3, "name": "gn"}],
                          "layers[1].num_groups", "gn"),
    "group_norm_single_values": ([conv(8), {"op": "gap"}, {"op": "group_norm", "num_groups": 8,
                                                          "name": "gn"}],
                                 "layers[2].num_groups", "gn"),
    "prelu_parameters": ([conv(8), {"op": "prelu", "num_parameters": 4, "name": "pr"}],
                         "layers[1].num_parameters", "pr"),
    "softmax_dim": ([conv(8), {"op": "softmax", "dim": 4, "name": "sm"}], "layers[1].dim", "sm"),
    "softmax_no_dim": ([conv(8), {"op": "softmax"}], "layers[1].dim", ""),
    "param_shape": ([conv(8), {"op": "param_mul", "param_shape": [4, 1, 1], "name": "ls"}],
                    "layers[1].param_shape", "ls"),
    "sub_no_operand": ([conv(8), {"op": "sub", "name": "d"}], "layers[1].with", "d"),
    "div_two_operands": ([conv(8, name="a"), {"op": "div", "with": "a", "value": 2, "name": "d"}],
                         "layers[1].with", "d"),
    "gelu_approximate": ([conv(8), {"op": "gelu", "approximate": "erf"}],
                         "layers[1].approximate", ""),
    "softplus_beta": ([conv(8), {"op": "softplus", "beta": 0}], "layers[1].beta", ""),
    "leaky_relu_slope": ([conv(8), {"op": "leaky_relu", "negative_slope": "x"}],
                         "layers[1].negative_slope", ""),
    "elu_unknown_attr": ([conv(8), {"op": "elu", "alhpa": 1}], "layers[1].alhpa", ""),
    "rectangle_below_kernel": ([conv(8, kernel=[3, 7], padding=0, name="c")],
                               "layers[0].kernel", "c"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_exit_2_naming_node_and_field(case, tmp_path):
    layers, field, node = BAD[case]
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps({"family": "graph", "resolution": [20, 6], "layers": layers}))
    result = run_cli("count", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {field}: "), lines
    if node:        # shape errors name the node; attribute errors name its index only
        assert f"'{node}'" in lines[0], lines[0]


@pytest.mark.parametrize("op", NEW_OPS)
def test_unknown_attribute_of_each_new_op_is_named(op):
    """A typo in any new op's attributes is an error on that field, never silently ignored."""
    layers = [dict(layer) for layer in CASES[op]]
    index = next(i for i, layer in enumerate(layers) if layer["op"] == op)
    layers[index]["negative_slop"] = 1
    with pytest.raises(netcalc.SpecError, match=rf"layers\[{index}\]\.negative_slop: unknown field"):
        netcalc.load_spec({"family": "graph", "resolution": 20, "layers": layers})
