"""Hand-written graph specs, one or more per op added with the op registry (shared by the tests).

Every case starts from a 3-channel input and puts the op between convolutions, so that its output
shape matters to the counted layers around it. Each case runs at a square and a rectangular
resolution whose sides strides and adaptive sizes do not divide.
"""

SQUARE = 20
RECTANGLE = (17, 26)
NETWORKS = ("specs/examples/mobilenetv3_small.yaml", "specs/examples/densenet_block.yaml")
NEW_OPS = ("hardswish", "hardsigmoid", "gelu", "tanh", "softmax", "leaky_relu", "elu", "prelu",
           "mish", "softplus", "sub", "div", "concat", "slice", "reshape", "permute", "transpose",
           "channel_shuffle", "mean", "adaptive_avgpool", "adaptive_maxpool", "upsample",
           "matmul", "pad", "layer_norm", "group_norm", "param_mul", "param_add",
           "conv_transpose", "instance_norm", "stack", "flip", "sum", "amax", "amin", "abs", "neg",
           "sqrt", "rsqrt", "exp", "log", "pow", "sdpa", "baddbmm", "einsum", "param", "expand",
           "select", "index", "roll", "clamp", "normalize", "vector_norm", "constant",
           "param_concat", "lstm")
# ops checked inside another op's case (one graph for all elementwise math)
CASE_OF = {op: "elementwise_math" for op in ("abs", "neg", "sqrt", "rsqrt", "pow")}
CASE_OF.update({"amax": "reductions", "amin": "reductions", "sum": "reductions"})


def conv(out, **kw):
    return {"op": "conv", "out": out, "kernel": kw.pop("kernel", 3), **kw}


# a map's positions as tokens (1, H*W, 8), and their q/k/v projections split into 2 heads of 4
TOKENS = [conv(8, name="x"), {"op": "flatten", "start_dim": 2},
          {"op": "transpose", "dim0": 1, "dim1": 2, "name": "tokens"}]


def HEADS(name):
    return [{"op": "linear", "input": "tokens", "out": 8, "name": name},
            {"op": "reshape", "shape": ["d0", "d1", 2, 4]},
            {"op": "transpose", "dim0": 1, "dim1": 2, "name": f"{name}_heads"}]


CASES = {
    "hardswish": [conv(8), {"op": "hardswish"}, conv(4)],
    "hardsigmoid": [conv(8), {"op": "hardsigmoid"}, conv(4)],
    "tanh": [conv(8), {"op": "tanh"}, conv(4)],
    "mish": [conv(8), {"op": "mish"}, conv(4)],
    "gelu": [conv(8), {"op": "gelu"}, {"op": "gelu", "approximate": "tanh"}, conv(4)],
    "leaky_relu": [conv(8), {"op": "leaky_relu", "negative_slope": 0.2}, conv(4)],
    "elu": [conv(8), {"op": "elu", "alpha": 0.5}, conv(4)],
    "softplus": [conv(8), {"op": "softplus", "beta": 2, "threshold": 10}, conv(4)],
    "prelu": [conv(8), {"op": "prelu", "num_parameters": 8}, {"op": "prelu"}, conv(4)],
    "softmax": [conv(8), {"op": "softmax", "dim": 1}, {"op": "softmax", "dim": -1}, conv(4)],
    "sub": [conv(8, name="a"), conv(8, name="b", input="input"), {"op": "sub", "inputs": ["a", "b"]},
            {"op": "sub", "value": 3}, conv(4)],
    "div": [conv(8, name="a"), {"op": "gap", "name": "g"}, conv(8, kernel=1, name="s", bias=True),
            {"op": "div", "inputs": ["a", "s"]}, {"op": "div", "value": 6.0}, conv(4)],
    "add": [conv(8, name="a"), conv(1, kernel=1, name="one"),
            {"op": "add", "inputs": ["a", "one"]}, {"op": "add", "value": 3.0}, conv(4)],
    "mul": [conv(8, name="a"), {"op": "gap"}, {"op": "flatten"}, {"op": "linear", "out": 8},
            {"op": "reshape", "shape": [1, 8, 1, 1], "name": "gate"},
            {"op": "mul", "inputs": ["a", "gate"]}, {"op": "mul", "value": 0.5}, conv(4)],
    "concat": [conv(8, name="a"), conv(4, name="b"),
               {"op": "concat", "inputs": ["input", "a", "b"]}, conv(6, name="c"),
               {"op": "concat", "inputs": ["c", "c"], "dim": -1}, conv(4)],
    "slice": [conv(10, name="a"), {"op": "slice", "dim": 1, "start": 0, "stop": 3, "name": "s1"},
              {"op": "slice", "input": "a", "dim": 1, "start": -7, "name": "s2"},
              conv(4, input="s2"), {"op": "slice", "dim": 2, "start": 1, "stop": -1},
              {"op": "slice", "dim": -1, "stop": 5}, conv(4), {"op": "add", "value": 1}],
    "slice_step": [conv(8), {"op": "slice", "dim": 2, "start": 1, "step": 2},
                   {"op": "slice", "dim": -1, "step": 3}, conv(4)],
    "reshape": [conv(8), {"op": "reshape", "shape": ["d0", 2, 4, "d2", "d3"]},
                {"op": "reshape", "shape": ["d0", -1, "d4"]}, {"op": "reshape",
                                                              "shape": [1, 8, -1, "d2"]}, conv(4)],
    "permute": [conv(8), {"op": "permute", "dims": [0, 2, 3, 1]}, {"op": "linear", "out": 6},
                {"op": "permute", "dims": [0, -1, 1, 2]}, conv(4)],
    "transpose": [conv(8), {"op": "reshape", "shape": ["d0", 2, 4, "d2", "d3"]},
                  {"op": "transpose", "dim0": 1, "dim1": 2},
                  {"op": "reshape", "shape": ["d0", 8, "d3", "d4"]}, conv(4)],
    "channel_shuffle": [conv(8), {"op": "channel_shuffle", "groups": 4}, conv(4)],
    "identity": [conv(8), {"op": "identity"}, conv(4)],
    "pad": [conv(8), {"op": "pad", "pad": [1, 2, 0, 3]}, {"op": "pad", "pad": [1, 1], "value": 1.5},
            {"op": "pad", "pad": [-1, 1, -2, 0]}, conv(4)],     # the last crops
    "mean": [conv(8, name="a"), {"op": "mean", "dim": [2, 3]}, {"op": "linear", "out": 5},
             {"op": "mean", "input": "a", "dim": [-1, 1], "keepdim": True}, conv(4, kernel=1)],
    "adaptive_avgpool": [conv(8), {"op": "adaptive_avgpool", "output_size": [5, 7]}, conv(4),
                         {"op": "adaptive_avgpool", "output_size": 1}],
    "adaptive_maxpool": [conv(8), {"op": "adaptive_maxpool", "output_size": 3}, conv(4),
                         {"op": "adaptive_maxpool", "output_size": [30, 2]}],
    "upsample": [conv(8), {"op": "upsample", "scale_factor": 2}, conv(4, stride=2),
                 {"op": "upsample", "mode": "bilinear", "size": [11, 13], "align_corners": True},
                 {"op": "upsample", "mode": "bilinear", "scale_factor": [1, 3]},
                 # antialiased (NaFlexViT's position grids): fvcore and FlopCounterMode count 0
                 {"op": "upsample", "mode": "bilinear", "size": [9, 7], "antialias": True},
                 conv(4)],
    "matmul": [conv(8, name="x"), {"op": "flatten", "start_dim": 2},
               {"op": "transpose", "dim0": 1, "dim1": 2, "name": "tokens"},
               {"op": "linear", "out": 8, "name": "q"},
               {"op": "linear", "input": "tokens", "out": 8, "name": "k"},
               {"op": "transpose", "dim0": -2, "dim1": -1, "name": "kt"},
               {"op": "matmul", "inputs": ["q", "kt"]}, {"op": "softmax", "dim": -1},
               {"op": "matmul", "with": "tokens", "name": "attended"},
               {"op": "gap", "input": "x"}, conv(16, kernel=1),
               {"op": "reshape", "shape": [2, 8, 1], "name": "b"},
               {"op": "matmul", "inputs": ["attended", "b"]}],
    "layer_norm": [conv(8), {"op": "layer_norm", "normalized_shape": [8], "channels_first": True},
                   {"op": "permute", "dims": [0, 2, 3, 1]},
                   {"op": "layer_norm", "normalized_shape": [8]},
                   {"op": "layer_norm", "normalized_shape": [8], "elementwise_affine": False},
                   {"op": "permute", "dims": [0, 3, 1, 2]}, conv(4)],
    "group_norm": [conv(8), {"op": "group_norm", "num_groups": 2},
                   {"op": "group_norm", "num_groups": 8, "affine": False}, conv(4)],
    "param_mul": [conv(8), {"op": "param_mul", "param_shape": [8, 1, 1]}, conv(4)],
    "param_add": [conv(8), {"op": "param_add", "param_shape": [1, 8, 1, 1]},
                  {"op": "permute", "dims": [0, 2, 3, 1]}, {"op": "param_add", "param_shape": [8]},
                  {"op": "permute", "dims": [0, 3, 1, 2]}, conv(4)],
    "dilated_conv": [conv(8, dilation=2), conv(8, kernel=[1, 5], bias=True),
                     conv(4, kernel=[3, 5], dilation=[2, 1], stride=[2, 1], groups=2)],
    "ceil_mode_pool": [conv(8), {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 0,
                                 "ceil_mode": True},
                       {"op": "avgpool", "kernel": 3, "stride": 2, "padding": 1,
                        "ceil_mode": True, "count_include_pad": False},
                       {"op": "maxpool", "kernel": 2, "stride": 3, "padding": 0,
                        "ceil_mode": True}, conv(4, kernel=1)],
    "sdpa": [*TOKENS, *HEADS("q"), *HEADS("k"), *HEADS("v"),
             {"op": "sdpa", "inputs": ["q_heads", "k_heads", "v_heads"], "name": "plain"},
             {"op": "sdpa", "inputs": ["q_heads", "k_heads", "v_heads"], "is_causal": True,
              "scale": 0.5},
             {"op": "transpose", "input": "k_heads", "dim0": -2, "dim1": -1, "name": "kt"},
             {"op": "matmul", "inputs": ["q_heads", "kt"], "name": "scores"},
             {"op": "sdpa", "inputs": ["q_heads", "k_heads", "v_heads", "scores"],
              "name": "masked"},
             {"op": "slice", "input": "k_heads", "dim": 1, "stop": 1, "name": "k1"},
             {"op": "slice", "input": "v_heads", "dim": 1, "stop": 1, "name": "v1"},
             {"op": "sdpa", "inputs": ["q_heads", "k1", "v1"], "enable_gqa": True},
             {"op": "add", "inputs": ["plain", "masked"]},
             {"op": "transpose", "dim0": 1, "dim1": 2}, {"op": "reshape", "shape": ["d0", "d1", -1]},
             {"op": "linear", "out": 5}],
    "baddbmm": [*TOKENS, {"op": "linear", "out": 6, "name": "q"},
                {"op": "linear", "input": "tokens", "out": 6, "name": "k"},
                {"op": "transpose", "dim0": 1, "dim1": 2, "name": "kt"},
                {"op": "param", "input": "tokens", "param_shape": [1, 1], "name": "bias"},
                {"op": "baddbmm", "inputs": ["bias", "q", "kt"], "beta": 0.5, "alpha": 2},
                {"op": "softmax", "dim": -1}, {"op": "matmul", "with": "tokens"},
                {"op": "linear", "out": 5}],
    "einsum": [conv(8, name="x"), {"op": "gap"}, {"op": "flatten", "name": "g"},
               {"op": "einsum", "inputs": ["x", "g"], "equation": "nchw,nc->nhw"},
               {"op": "einsum", "input": "x", "equation": "nchw->nhwc", "name": "last"},
               {"op": "einsum", "inputs": ["x", "x"], "equation": "n c h w, n d h w -> n c d"},
               {"op": "einsum", "inputs": ["last", "g"], "equation": "nhwc,nd->nhwd"},
               {"op": "einsum", "inputs": ["x", "last"], "equation": "nchw,nhwd->nd"},
               {"op": "einsum", "input": "x", "equation": "nchw->nc"},
               {"op": "einsum", "inputs": ["x", "last"], "equation": "nchw,nhwc->nchw"},
               conv(4)],
    "param": [*TOKENS, {"op": "param", "param_shape": [1, 1, 8], "name": "cls"},
              {"op": "concat", "inputs": ["cls", "tokens"], "dim": 1, "name": "seq"},
              {"op": "param", "param_shape": [3, 8], "name": "table"},
              {"op": "linear", "out": 4}, {"op": "linear", "input": "seq", "out": 4}],
    "expand": [*TOKENS, {"op": "param", "param_shape": [1, 1, 8], "name": "cls"},
               {"op": "expand", "inputs": ["cls", "tokens"], "shape": ["d0", -1, -1], "name": "batch"},
               {"op": "concat", "inputs": ["batch", "tokens"], "dim": 1, "name": "seq"},
               {"op": "select", "dim": 1, "index": 0},
               {"op": "expand", "shape": [2, 1, 8]},
               {"op": "linear", "out": 4},
               {"op": "expand", "input": "seq", "shape": [2, "d0", "d1", 8]},
               {"op": "linear", "out": 3}],
    "select": [*TOKENS, {"op": "select", "dim": 1, "index": 0, "name": "first"},
               {"op": "select", "input": "tokens", "dim": -2, "index": -1, "name": "last"},
               {"op": "add", "inputs": ["first", "last"]},
               {"op": "select", "input": "x", "dim": 2, "index": 2},
               {"op": "linear", "out": 4}],
    "index": [conv(8, name="x"), {"op": "adaptive_avgpool", "output_size": 3},
              conv(2, kernel=1, name="small"),
              {"op": "param", "param_shape": [5, 2], "name": "table"},
              {"op": "index", "dim": 0, "index_shape": [3, 3]},
              {"op": "permute", "dims": [2, 0, 1], "name": "bias"},
              {"op": "add", "inputs": ["small", "bias"]},
              {"op": "index", "input": "x", "dim": 1, "index_shape": [6]}, conv(4)],
    "roll": [conv(8), {"op": "roll", "shifts": [-1, 2], "dims": [2, 3]},
             {"op": "roll", "shifts": [3], "dims": [1]}, conv(4)],
    "clamp": [conv(8), {"op": "clamp", "min": 0.1}, {"op": "clamp", "max": 3},
              {"op": "clamp", "min": -1, "max": 1}, conv(4)],
    "exp": [conv(8), {"op": "exp"}, conv(4)],
    "log": [conv(8), {"op": "clamp", "min": 0.1}, {"op": "log"}, conv(4)],
    "normalize": [conv(8), {"op": "normalize"}, {"op": "normalize", "dim": -1, "p": 1},
                  conv(4)],
    "vector_norm": [conv(8, name="x"), {"op": "vector_norm", "dim": [1], "keepdim": True},
                    {"op": "clamp", "min": 1e-12},
                    {"op": "expand", "inputs": ["clamp_2", "x"], "shape": ["d0", "d1", "d2", "d3"],
                     "name": "norms"},
                    {"op": "div", "inputs": ["x", "norms"]},
                    {"op": "vector_norm", "dim": [2, -1], "ord": 1}, {"op": "linear", "out": 4}],
    "constant": [conv(8, name="x"), {"op": "constant", "shape": [1, 1, "d2", "d3"], "name": "mask"},
                 {"op": "add", "inputs": ["x", "mask"]}, conv(4)],
    "param_concat": [*TOKENS, {"op": "param_concat", "param_shape": [1, 1, 8]},
                     {"op": "param_concat", "inputs": ["tokens", "tokens"], "param_shape": [1, 2, 8],
                      "index": 1},
                     {"op": "transpose", "dim0": 1, "dim1": 2},
                     {"op": "param_concat", "param_shape": [1, 8, 3], "dim": -1, "index": 1},
                     {"op": "linear", "out": 4}],
    "bn1d": [conv(8), {"op": "gap"}, {"op": "flatten"}, {"op": "bn"}, {"op": "linear", "out": 5}],
    # 1D and 3D windows: the map averaged over its rows to a signal (N, C, W), and reshaped to
    # a volume (N, 2, 4, H, W)
    "conv1d": [conv(8), {"op": "mean", "dim": 2}, conv(6, stride=2, groups=2, bias=True),
               conv(6, kernel=[5], dilation=2, padding=[1]),
               {"op": "conv_transpose", "out": 4, "kernel": 4, "stride": 2, "padding": 1},
               {"op": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True},
               {"op": "avgpool", "kernel": [2], "stride": 2, "padding": 1,
                "count_include_pad": False},
               {"op": "bn"}, {"op": "adaptive_maxpool", "output_size": 7, "name": "am"},
               {"op": "adaptive_avgpool", "output_size": [3]}, {"op": "gap", "input": "am"}],
    "conv3d": [conv(8), {"op": "reshape", "shape": ["d0", 2, 4, "d2", "d3"]},
               conv(6, kernel=3), conv(6, kernel=[1, 3, 3], stride=[1, 2, 2], groups=2, bias=True),
               {"op": "conv_transpose", "out": 3, "kernel": [2, 3, 1], "stride": 2, "bias": True},
               {"op": "maxpool", "kernel": [1, 3, 3], "stride": [1, 2, 1], "dilation": [1, 1, 2]},
               {"op": "avgpool", "kernel": 2, "stride": 1}, {"op": "bn", "name": "b3"},
               {"op": "adaptive_avgpool", "output_size": [2, 3, 3]},
               {"op": "adaptive_maxpool", "output_size": 1}, {"op": "gap", "input": "b3"}],
    "conv_transpose": [conv(8), {"op": "conv_transpose", "out": 6, "kernel": 3, "stride": 2,
                                 "padding": 1, "output_padding": 1},
                       {"op": "conv_transpose", "out": 4, "kernel": [3, 2], "stride": [2, 3],
                        "dilation": [1, 2], "groups": 2, "bias": True, "output_padding": [1, 2]},
                       conv(4, stride=2)],
    "pad_modes": [conv(8), {"op": "pad", "pad": [1, 2, 0, 3], "mode": "reflect"},
                  {"op": "pad", "pad": [2, 2, 0, 1], "mode": "replicate"},
                  {"op": "pad", "pad": [1, 1, 2, 2], "mode": "circular"}, conv(4, padding=0),
                  {"op": "pad", "pad": [1, 1, 1, 1], "value": float("-inf")},
                  {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 0}],
    # TF "same" padding: a window reaching past its stride, a max pool's -inf fill, a dilated
    # kernel, a 1x1 strided conv (never padded)
    "same_pad": [conv(8), {"op": "pad", "pad": {"mode": "same", "kernel": 3, "stride": 2}},
                 conv(8, stride=2, padding=0),
                 {"op": "pad", "pad": {"mode": "same", "kernel": 3, "stride": 2},
                  "value": float("-inf")},
                 {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 0},
                 {"op": "pad", "pad": {"mode": "same", "kernel": 5, "dilation": 2}},
                 conv(8, kernel=5, dilation=2, padding=0),
                 {"op": "pad", "pad": {"mode": "same", "kernel": 1, "stride": 2}},
                 conv(4, kernel=1, stride=2, padding=0)],
    # a window shorter than its stride (k 2, s 3) is padded at some sizes only: 0 or 1
    "same_pad_short_window": [conv(8, stride=2),
                              {"op": "pad", "pad": {"mode": "same", "kernel": [2, 1],
                                                    "stride": 3}},
                              conv(4, kernel=[2, 1], stride=3, padding=0)],
}
CASES.update({
    "instance_norm": [conv(8), {"op": "instance_norm"},
                      {"op": "instance_norm", "affine": True, "track_running_stats": True},
                      conv(4)],
    "stack": [conv(8, name="a"), conv(8, name="b", input="input"),
              {"op": "stack", "inputs": ["a", "b", "a"], "dim": 2},
              {"op": "reshape", "shape": ["d0", 24, "d3", "d4"]}, conv(4),
              {"op": "stack", "inputs": ["a"], "dim": -1}],
    "reductions": [conv(8, name="a"), {"op": "sum", "dim": [2], "keepdim": True}, conv(4, kernel=1),
                   {"op": "amax", "input": "a", "dim": 1, "keepdim": True}, conv(4),
                   {"op": "amin", "dim": [-1, 2], "keepdim": True}, conv(4, kernel=1),
                   {"op": "sum", "dim": -1}],
    "flip": [conv(8), {"op": "flip", "dims": [1, -1]}, conv(4)],
    # padding='same'/'valid' by name: fvcore counts neither flops nor acts of these convs
    "conv_padding_by_name": [conv(8), {"op": "pad", "pad": [1, 2, 1, 2]},
                             conv(6, kernel=4, padding=0, string_padding=True),
                             conv(4, string_padding=True)],
    # LowFormer's crop: a map padded at its end, computed on, and cut back to the sizes of the
    # map before the padding (slices whose stop is a dim of that map, the second operand)
    "slice_to_a_map": [conv(8, name="map"), {"op": "pad", "pad": [0, 3, 0, 2]},
                       conv(8, name="padded"),
                       {"op": "slice", "inputs": ["padded", "map"], "dim": 2, "stop": "d2",
                        "name": "rows"},
                       {"op": "slice", "inputs": ["rows", "map"], "dim": 3, "stop": "d3"},
                       conv(4)],
    # Sequencer's LSTM in outline: the map's positions one sequence, two stacked layers
    "lstm": [*TOKENS, {"op": "lstm", "hidden": 6, "num_layers": 2, "batch_first": True,
                       "bidirectional": True}, {"op": "linear", "out": 4}],
    # Qwen3-ViT's position grid in outline: a map resized to 7 x 7 only where it is not 7 x 7
    # already (sides 28 to 31; at the sizes the cases run, always resized)
    "upsample_if_resized": [conv(8, kernel=4, stride=4, padding=0),
                            {"op": "upsample", "mode": "bilinear", "size": [7, 7],
                             "align_corners": True, "only_if_resized": True}, conv(4)],
    # MobileViT-v2's block in outline: a map resized up to whole 2 x 2 patches only where it is
    # not whole already (10 x 10 at 20: unchanged, free; 9 x 13 at 17 x 26: resized to 10 x 14),
    # strided, then resized to whole 4 x 4 patches whatever its size (5 x 5 to 8 x 8)
    "upsample_to_multiple": [conv(8, stride=2),
                             {"op": "upsample", "mode": "bilinear", "multiple_of": 2,
                              "only_if_resized": True}, conv(8, stride=2),
                             {"op": "upsample", "multiple_of": [4, 4]}, conv(4)],
    "elementwise_math": [conv(8), {"op": "abs"}, {"op": "neg"}, {"op": "exp"}, {"op": "sqrt"},
                         {"op": "rsqrt"}, {"op": "log"}, {"op": "pow"},
                         {"op": "pow", "exponent": -0.5}, conv(4)],
})
# the cases added for the sweep's ops; the fast tier checks the first three fully, the others at
# one resolution and without closed forms (the slow tier runs everything)
SWEEP_CASES = ("same_pad", "conv_transpose", "conv3d", "conv1d", "pad_modes",
               "same_pad_short_window", "instance_norm", "stack", "reductions", "flip",
               "elementwise_math", "conv_padding_by_name", "slice_to_a_map")
SLOW_SWEEP_CASES = SWEEP_CASES[3:]


def tier(case):
    """``case`` as a pytest parameter, in the slow tier when it is in SLOW_SWEEP_CASES."""
    import pytest

    return pytest.param(case, marks=pytest.mark.slow) if case in SLOW_SWEEP_CASES else case


OUTSIDE_CLOSED_FORMS = {"same_pad_short_window": "pad_1"}   # case: the layer refused


def spec(op, resolution=SQUARE):
    """The graph spec of ``CASES[op]`` at ``resolution``."""
    res = list(resolution) if isinstance(resolution, tuple) else resolution
    return {"family": "graph", "name": f"case_{op}", "resolution": res,
            "layers": [dict(layer) for layer in CASES[op]]}


def assert_exact(validations):
    """Every validation identical per node and in total, and about a network that costs something."""
    for v in validations:
        assert v.ok, [(m.layer, m.quantity, m.netcalc, m.measured) for m in v.mismatches]
        assert v.measured["flops"] > 0 and v.measured["params"] > 0
