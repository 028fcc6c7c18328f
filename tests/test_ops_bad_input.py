"""Bad input to every new op: exit 2 and one line naming the node and the field, never a traceback."""
import json
import re

import pytest

import netcalc

from conftest import run_cli
from new_op_specs import CASE_OF, CASES, NEW_OPS, conv


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
    "upsample_multiple_and_scale": ([conv(8), {"op": "upsample", "multiple_of": 4,
                                               "scale_factor": 2}], "layers[1].size", ""),
    "upsample_multiple_zero": ([conv(8), {"op": "upsample", "multiple_of": 0}],
                               "layers[1].multiple_of", ""),
    "upsample_multiple_and_operand": ([conv(8, name="a"), conv(8),
                                       {"op": "upsample", "multiple_of": 2, "inputs": [
                                           "conv_1", "a"], "name": "u"}], "layers[2].size", "u"),
    "upsample_align_nearest": ([conv(8), {"op": "upsample", "scale_factor": 2,
                                          "align_corners": True}],
                               "layers[1].align_corners", ""),
    "upsample_antialias_nearest": ([conv(8), {"op": "upsample", "scale_factor": 2,
                                              "antialias": True}],
                                   "layers[1].antialias", ""),
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
    "conv_axes": ([conv(8), {"op": "mean", "dim": 2}, conv(4, kernel=[3, 3], name="c")],
                  "layers[2].kernel", "c"),
    "conv_axes_disagree": ([conv(8, kernel=[3, 3], stride=[1, 2, 1])], "layers[0].stride", ""),
    "conv_four_axes": ([conv(8, kernel=[3, 3, 3, 3])], "layers[0].kernel", ""),
    "conv_flat": ([conv(8), {"op": "gap"}, {"op": "flatten"}, conv(4, name="c")],
                  "layers[3].input", "c"),
    "pool_axes": ([conv(8), {"op": "maxpool", "kernel": 3, "stride": [2, 2, 2], "name": "p"}],
                  "layers[1].stride", "p"),
    "conv_transpose_output_padding": ([conv(8), {"op": "conv_transpose", "out": 4, "kernel": 3,
                                                 "stride": 2, "output_padding": 2, "name": "t"}],
                                      "layers[1].output_padding", "t"),
    "conv_transpose_padding": ([conv(8), {"op": "conv_transpose", "out": 4, "kernel": 3,
                                          "padding": [1, 4], "name": "t"}],
                               "layers[1].padding", "t"),
    "conv_transpose_groups": ([conv(8), {"op": "conv_transpose", "out": 6, "groups": 4,
                                         "name": "t"}], "layers[1].groups", "t"),
    "pad_reflect_wide": ([conv(8), {"op": "pad", "pad": [6, 0, 0, 0], "mode": "reflect",
                                     "name": "p"}],
                         "layers[1].pad", "p"),
    "pad_circular_wide": ([conv(8), {"op": "pad", "pad": [0, 0, 0, 21], "mode": "circular",
                                     "name": "p"}], "layers[1].pad", "p"),
    "pad_mode_rank": ([conv(8), {"op": "pad", "pad": [1, 1], "mode": "replicate", "name": "p"}],
                      "layers[1].mode", "p"),
    "pad_crop_empty": ([conv(8), {"op": "pad", "pad": [0, 0, -100, 0], "name": "p"}],
                       "layers[1].pad", "p"),
    "pad_crop_reflect": ([conv(8), {"op": "pad", "pad": [-1, 1], "mode": "reflect"}],
                         "layers[1].pad", ""),
    "pad_mode": ([conv(8), {"op": "pad", "pad": [1, 1], "mode": "mirror"}], "layers[1].mode", ""),
    "pad_value_reflect": ([conv(8), {"op": "pad", "pad": [1, 1, 1, 1], "mode": "reflect",
                                     "value": 1}], "layers[1].value", ""),
    "pad_same_mode": ([conv(8), {"op": "pad", "pad": {"mode": "valid", "kernel": 3}}],
                      "layers[1].pad.mode", ""),
    "pad_same_kernel": ([conv(8), {"op": "pad", "pad": {"mode": "same"}}],
                        "layers[1].pad.kernel", ""),
    "pad_same_typo": ([conv(8), {"op": "pad", "pad": {"mode": "same", "kernel": 3,
                                                      "strides": 2}}],
                      "layers[1].pad.strides", ""),
    "slice_stop_operand": ([conv(8), {"op": "slice", "dim": 2, "stop": "d2", "name": "s"}],
                           "layers[1].stop", "s"),
    "slice_stop_text": ([conv(8), {"op": "slice", "dim": 2, "stop": "h"}], "layers[1].stop", ""),
    "upsample_size_of_no_operand": ([conv(8), {"op": "upsample", "size": ["d2", "d3"],
                                               "name": "u"}], "layers[1].size", "u"),
    "upsample_size_text": ([conv(8), {"op": "upsample", "size": ["h", "w"]}],
                           "layers[1].size", ""),
    "upsample_linear_of_a_map": ([conv(8), {"op": "upsample", "mode": "linear", "size": 4,
                                            "name": "u"}], "layers[1].input", "u"),
    "upsample_linear_two_sizes": ([conv(8), {"op": "upsample", "mode": "linear",
                                             "size": [4, 4]}], "layers[1].size", ""),
    "instance_norm_one_position": ([conv(8), {"op": "gap"}, {"op": "instance_norm",
                                                             "name": "in"}],
                                   "layers[2].input", "in"),
    "stack_mismatch": ([conv(8, name="a"), conv(4, name="b"),
                        {"op": "stack", "inputs": ["a", "b"], "name": "st"}],
                       "layers[2].inputs", "st"),
    "stack_dim": ([conv(8), {"op": "stack", "dim": 5, "name": "st"}], "layers[1].dim", "st"),
    "flip_twice": ([conv(8), {"op": "flip", "dims": [3, -1], "name": "f"}], "layers[1].dims",
                   "f"),
    "sum_dim": ([conv(8), {"op": "sum", "dim": [1, 4], "name": "s"}], "layers[1].dim", "s"),
    "expand_grow": ([conv(8), {"op": "expand", "shape": [1, 8, 4, -1], "name": "e"}],
                    "layers[1].shape", "e"),
    "expand_zero": ([conv(8), {"op": "expand", "shape": [1, 0, 1, 1]}], "layers[1].shape[1]", ""),
    "pow_exponent": ([conv(8), {"op": "pow", "exponent": "two"}], "layers[1].exponent", ""),
    "pad_same_axes": ([conv(8), {"op": "pad", "pad": {"mode": "same", "kernel": [3, 3, 3]},
                                 "name": "p"}], "layers[1].pad.kernel", "p"),
    # the transformer ops: the map (1, 8, 20, 6) is `c`, its transpose (1, 8, 6, 20) is `t`
    "sdpa_inner": ([conv(8, name="c"), {"op": "transpose", "dim0": 2, "dim1": 3, "name": "t"},
                    {"op": "sdpa", "inputs": ["c", "t", "c"], "name": "at"}],
                   "layers[2].inputs", "at"),
    "sdpa_rank": ([conv(8, name="c"), {"op": "flatten", "start_dim": 2, "name": "f"},
                   {"op": "sdpa", "inputs": ["c", "f", "f"], "name": "at"}],
                  "layers[2].inputs", "at"),
    "sdpa_mask_and_causal": ([conv(8, name="c"), {"op": "sdpa", "inputs": ["c"] * 4,
                                                  "is_causal": True, "name": "at"}],
                             "layers[1].is_causal", "at"),
    "sdpa_mask_shape": ([conv(8, name="c"), {"op": "transpose", "dim0": 2, "dim1": 3, "name": "t"},
                         {"op": "sdpa", "inputs": ["c", "c", "c", "t"], "name": "at"}],
                        "layers[2].inputs", "at"),
    "sdpa_gqa_heads": ([conv(8, name="c"), {"op": "slice", "dim": 1, "stop": 3, "name": "k"},
                        {"op": "sdpa", "inputs": ["c", "k", "k"], "enable_gqa": True,
                         "name": "at"}], "layers[2].enable_gqa", "at"),
    "sdpa_heads": ([conv(8, name="c"), {"op": "slice", "dim": 1, "stop": 4, "name": "k"},
                    {"op": "sdpa", "inputs": ["c", "k", "k"], "name": "at"}],
                   "layers[2].inputs", "at"),
    "baddbmm_inner": ([conv(8), {"op": "flatten", "start_dim": 2, "name": "f"},
                       {"op": "baddbmm", "inputs": ["f", "f", "f"], "name": "bb"}],
                      "layers[2].inputs", "bb"),
    "einsum_ellipsis": ([conv(8), {"op": "einsum", "equation": "...hw->...wh"}],
                        "layers[1].equation", ""),
    "einsum_three_operands": ([conv(8), {"op": "einsum", "equation": "a,b,c->abc"}],
                              "layers[1].equation", ""),
    "einsum_no_output": ([conv(8), {"op": "einsum", "equation": "nchw"}],
                         "layers[1].equation", ""),
    "einsum_rank": ([conv(8, name="c"), {"op": "einsum", "inputs": ["c", "c"],
                                         "equation": "nchw,nc->nhw", "name": "es"}],
                    "layers[1].inputs", "es"),
    "einsum_sizes": ([conv(8, name="c"), {"op": "transpose", "dim0": 2, "dim1": 3, "name": "t"},
                      {"op": "einsum", "inputs": ["c", "t"], "equation": "nchw,nchw->nc",
                       "name": "es"}], "layers[2].inputs", "es"),
    "expand_shrinks": ([conv(8), {"op": "expand", "shape": [-1, 4, -1, -1], "name": "ex"}],
                       "layers[1].shape", "ex"),
    "expand_new_dim_kept": ([conv(8), {"op": "expand", "shape": [-1, -1, -1, -1, -1],
                                       "name": "ex"}], "layers[1].shape", "ex"),
    "select_outside": ([conv(8), {"op": "select", "dim": 1, "index": 8, "name": "sel"}],
                       "layers[1].index", "sel"),
    "index_dim": ([conv(8), {"op": "index", "dim": 4, "index_shape": [3], "name": "ix"}],
                  "layers[1].dim", "ix"),
    "roll_pairs": ([conv(8), {"op": "roll", "shifts": [1, 2], "dims": [1]}], "layers[1].dims", ""),
    "roll_dim": ([conv(8), {"op": "roll", "shifts": [1], "dims": [5], "name": "r"}],
                 "layers[1].dims", "r"),
    "clamp_no_bounds": ([conv(8), {"op": "clamp"}], "layers[1].min", ""),
    "normalize_dim": ([conv(8), {"op": "normalize", "dim": 4, "name": "n"}], "layers[1].dim", "n"),
    "vector_norm_twice": ([conv(8), {"op": "vector_norm", "dim": [1, -3], "name": "vn"}],
                          "layers[1].dim", "vn"),
    "constant_free_size": ([conv(8), {"op": "constant", "shape": [1, -1]}], "layers[1].shape", ""),
    "param_concat_index": ([conv(8), {"op": "param_concat", "param_shape": [1, 8, 20, 6],
                                      "index": 2, "name": "pc"}], "layers[1].index", "pc"),
    "param_concat_shape": ([conv(8), {"op": "param_concat", "param_shape": [1, 4, 20, 1],
                                      "name": "pc"}], "layers[1].inputs", "pc"),
    "param_empty_dim": ([conv(8), {"op": "param", "param_shape": [0, 3]}],
                        "layers[1].param_shape", ""),
}


def bad_spec(case):
    return {"family": "graph", "resolution": [20, 6], "layers": BAD[case][0]}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_node_and_field(case):
    layers, field, node = BAD[case]
    with pytest.raises(netcalc.SpecError) as raised:
        netcalc.load_spec(bad_spec(case))
    assert raised.value.field == field, str(raised.value)
    if node:        # shape errors name the node; attribute errors name its index only
        index = int(re.match(r"layers\[(\d+)\]", field).group(1))
        assert raised.value.message.startswith(f"{layers[index]['op']} '{node}': "), \
            str(raised.value)


@pytest.mark.parametrize("case", ["concat_mismatch", "matmul_inner", "layer_norm_dims",
                                  "reshape_elements", "rectangle_below_kernel", "softmax_no_dim",
                                  "sdpa_inner", "einsum_ellipsis", "pad_same_typo"])
def test_bad_input_on_the_command_line_is_exit_2_one_line(case, tmp_path):
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(bad_spec(case)))
    result = run_cli("count", str(path))
    assert result.returncode == 2 and result.stdout == "", result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {BAD[case][1]}: "), lines


@pytest.mark.parametrize("op", NEW_OPS)
def test_unknown_attribute_of_each_new_op_is_named(op):
    """A typo in any new op's attributes is an error on that field, never silently ignored."""
    layers = [dict(layer) for layer in CASES[CASE_OF.get(op, op)]]
    index = next(i for i, layer in enumerate(layers) if layer["op"] == op)
    layers[index]["negative_slop"] = 1
    with pytest.raises(netcalc.SpecError, match=rf"layers\[{index}\]\.negative_slop: unknown field"):
        netcalc.load_spec({"family": "graph", "resolution": 20, "layers": layers})


def test_error_examples_in_the_docs_are_netcalcs():
    """docs/graph_ops.md quotes four errors; each is what netcalc says of the BAD case it names."""
    import os

    from conftest import ROOT

    doc = open(os.path.join(ROOT, "docs", "graph_ops.md")).read()
    quoted = [line for line in doc[doc.index("## Errors"):].splitlines()
              if line.startswith("error: net.yaml: ")]
    cases = ("concat_mismatch", "layer_norm_dims", "matmul_inner", "slice_empty")
    assert len(quoted) == len(cases)
    for line, case in zip(quoted, cases):
        with pytest.raises(netcalc.SpecError) as raised:
            netcalc.load_spec(bad_spec(case))
        assert line == f"error: net.yaml: {raised.value.field}: {raised.value.message}"
