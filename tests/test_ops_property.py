"""Random graphs over every registered op: netcalc's counts equal the fvcore trace and FlopCounterMode.

Hypothesis draws a rectangular input and a chain of nodes, each op chosen from the whole registry
and each operand from any earlier node (so graphs branch, concatenate and leave dead ends). A
node proposal that netcalc refuses (a shape that cannot work) is dropped; every accepted graph is
built in torch, traced, and compared per node and in total. The fast tier draws 25 graphs, the
`slow` marker 300.
"""
import math

import pytest

import netcalc
from netcalc.ops import all_ops

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, event, find, given, settings, strategies as st  # noqa: E402,E501

from netcalc.torch import validate_conventions  # noqa: E402

from new_op_specs import assert_exact  # noqa: E402

MAX_ELEMENTS = 6_000       # per tensor: keeps traces fast and attention matrices small
MAX_NODES = 12
ACTIVATIONS = ("relu", "relu6", "silu", "sigmoid", "identity", "hardswish", "hardsigmoid", "tanh",
               "mish")


def _rank4(x):
    return len(x[1]) == 4


def _windowed(x):
    """A (N, C, L), (N, C, H, W) or (N, C, D, H, W) tensor: what convs and pools slide over."""
    return len(x[1]) in (3, 4, 5)


def _per_axis(draw, x, lo, hi):
    """One int for every spatial axis of ``x``, or a list of one per axis."""
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return [draw(st.integers(lo, hi)) for _ in x[1][2:]]


def _operand(draw, nodes, test=lambda node: True):
    """An earlier node passing ``test`` (recent ones more likely), or None."""
    fitting = [n for n in nodes if test(n)]
    if not fitting:
        return None
    return fitting[-1 - draw(st.integers(0, len(fitting) - 1)) // 2]


def _pair(draw, lo, hi):
    a = draw(st.integers(lo, hi))
    return a if draw(st.booleans()) else [a, draw(st.integers(lo, hi))]


# -- one proposal per op: (draw, nodes) -> list of node dicts (empty: not applicable) ---------------
def conv(draw, nodes):
    x = _operand(draw, nodes, _windowed)
    if x is None:
        return []
    c = x[1][1]
    depthwise = draw(st.booleans())
    return [{"op": "conv", "input": x[0], "out": c if depthwise else draw(st.integers(1, 8)),
             "groups": c if depthwise else 1, "kernel": _per_axis(draw, x, 1, 3),
             "stride": _per_axis(draw, x, 1, 2), "dilation": _per_axis(draw, x, 1, 2),
             "bias": draw(st.booleans())}]


def conv_transpose(draw, nodes):
    x = _operand(draw, nodes, _windowed)
    if x is None:
        return []
    c = x[1][1]
    groups = draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
    stride = draw(st.integers(1, 3))
    return [{"op": "conv_transpose", "input": x[0], "out": groups * draw(st.integers(1, 3)),
             "groups": groups, "kernel": _per_axis(draw, x, 1, 3), "stride": stride,
             "padding": draw(st.integers(0, 1)), "output_padding": draw(st.integers(0, stride - 1)),
             "dilation": _per_axis(draw, x, 1, 2), "bias": draw(st.booleans())}]


def pool(op):
    def propose(draw, nodes):
        x = _operand(draw, nodes, _windowed)
        if x is None:
            return []
        k = draw(st.integers(1, 3))
        node = {"op": op, "input": x[0], "kernel": k, "stride": draw(st.integers(1, 3)),
                "padding": draw(st.integers(0, k // 2)), "ceil_mode": draw(st.booleans())}
        if op == "avgpool":
            node["count_include_pad"] = draw(st.booleans())
        return [node]
    return propose


def unary(op, **attrs):
    def propose(draw, nodes):
        x = _operand(draw, nodes)
        return [{"op": op, "input": x[0], **{k: draw(v) for k, v in attrs.items()}}]
    return propose


def windowed(op, **attrs):
    def propose(draw, nodes):
        x = _operand(draw, nodes, _windowed)
        return [] if x is None else [{"op": op, "input": x[0],
                                      **{k: draw(v) for k, v in attrs.items()}}]
    return propose


def bn(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) in (2, 3, 4))
    return [] if x is None else [{"op": "bn", "input": x[0]}]


def bn_batch_stats(draw, nodes):
    """On maps and signals of more than one position (the batch's statistics need two values)."""
    x = _operand(draw, nodes, lambda n: len(n[1]) in (3, 4) and math.prod(n[1][2:]) > 1)
    return [] if x is None else [{"op": "bn_batch_stats", "input": x[0],
                                  "learned": draw(st.booleans())}]


def linear(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    return [] if x is None else [{"op": "linear", "input": x[0], "out": draw(st.integers(1, 8)),
                                  "bias": draw(st.booleans())}]


def lstm(draw, nodes):
    """An LSTM over a (T, I) or a batched 3D tensor, in either order of T and B."""
    x = _operand(draw, nodes, lambda n: len(n[1]) in (2, 3))
    return [] if x is None else [{"op": "lstm", "input": x[0], "hidden": draw(st.integers(1, 6)),
                                  "num_layers": draw(st.integers(1, 2)),
                                  "bias": draw(st.booleans()),
                                  "batch_first": draw(st.booleans()),
                                  "bidirectional": draw(st.booleans())}]


def flatten(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    if x is None:
        return []
    start = draw(st.integers(1, len(x[1]) - 1))
    return [{"op": "flatten", "input": x[0], "start_dim": start,
             "end_dim": draw(st.integers(start, len(x[1]) - 1))}]


def broadcastable(a, b):
    return all(p == q or p == 1 or q == 1 for p, q in zip(a[::-1], b[::-1]))


def binary(op):
    def propose(draw, nodes):
        x = _operand(draw, nodes)
        other = _operand(draw, nodes, lambda n: broadcastable(n[1], x[1])
                         and len(n[1]) <= len(x[1]))
        if other is None or draw(st.booleans()):
            return [{"op": op, "input": x[0], "value": draw(st.sampled_from([0.5, 2, 3.0]))}]
        return [{"op": op, "inputs": [x[0], other[0]]}]
    return propose


def concat(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    dim = draw(st.integers(1, len(x[1]) - 1))
    same = [n for n in nodes if len(n[1]) == len(x[1])
            and all(p == q for k, (p, q) in enumerate(zip(n[1], x[1])) if k != dim)]
    picked = draw(st.lists(st.sampled_from(same), min_size=1, max_size=3))
    return [{"op": "concat", "inputs": [x[0]] + [n[0] for n in picked], "dim": dim}]


def slice_(draw, nodes):
    x = _operand(draw, nodes, lambda n: any(d > 1 for d in n[1][1:]))
    if x is None:
        return []
    dim = draw(st.sampled_from([k for k, d in enumerate(x[1]) if k and d > 1]))
    size = x[1][dim]
    start = draw(st.integers(0, size - 1))
    stop = draw(st.integers(start + 1, size))
    return [{"op": "slice", "input": x[0], "dim": dim - len(x[1]) * draw(st.booleans()),
             "start": start - size * draw(st.booleans()), "stop": stop,
             "step": draw(st.integers(1, 2))}]


def reshape(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    shape = list(x[1])
    if len(shape) >= 3 and draw(st.booleans()):       # merge the last two dims
        return [{"op": "reshape", "input": x[0],
                 "shape": [f"d{k}" for k in range(len(shape) - 2)] + [-1]}]
    divisors = [g for g in range(2, 5) if shape[1] % g == 0]
    if not divisors:
        return []
    g = draw(st.sampled_from(divisors))               # split the channels into groups
    return [{"op": "reshape", "input": x[0],
             "shape": ["d0", g, -1] + [f"d{k}" for k in range(2, len(shape))]}]


def permute(draw, nodes):
    x = _operand(draw, nodes)
    return [{"op": "permute", "input": x[0], "dims": draw(st.permutations(range(len(x[1]))))}]


def transpose(draw, nodes):
    x = _operand(draw, nodes)
    dims = st.integers(-len(x[1]), len(x[1]) - 1)
    return [{"op": "transpose", "input": x[0], "dim0": draw(dims), "dim1": draw(dims)}]


def channel_shuffle(draw, nodes):
    x = _operand(draw, nodes, lambda n: _rank4(n) and n[1][1] % 2 == 0)
    return [] if x is None else [{"op": "channel_shuffle", "input": x[0], "groups": 2}]


def mean(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    dims = draw(st.lists(st.integers(1, len(x[1]) - 1), min_size=1, max_size=2, unique=True))
    return [{"op": "mean", "input": x[0], "dim": dims, "keepdim": draw(st.booleans())}]


def reduction(op):
    def propose(draw, nodes):
        x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
        dims = draw(st.lists(st.integers(1, len(x[1]) - 1), min_size=1, max_size=2, unique=True))
        return [{"op": op, "input": x[0], "dim": dims, "keepdim": draw(st.booleans())}]
    return propose


def stack(draw, nodes):
    x = _operand(draw, nodes)
    same = [n for n in nodes if n[1] == x[1]]
    picked = draw(st.lists(st.sampled_from(same), min_size=0, max_size=2))
    return [{"op": "stack", "inputs": [x[0]] + [n[0] for n in picked],
             "dim": draw(st.integers(-len(x[1]) - 1, len(x[1])))}]


def flip(draw, nodes):
    x = _operand(draw, nodes)
    dims = draw(st.lists(st.integers(0, len(x[1]) - 1), min_size=1, max_size=2, unique=True))
    return [{"op": "flip", "input": x[0], "dims": dims}]


def instance_norm(draw, nodes):
    x = _operand(draw, nodes, _windowed)
    return [] if x is None else [{"op": "instance_norm", "input": x[0],
                                  "affine": draw(st.booleans()),
                                  "track_running_stats": draw(st.booleans())}]


def upsample(draw, nodes):
    x = _operand(draw, nodes, _rank4)
    if x is None:
        return []
    mode = draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
    node = {"op": "upsample", "input": x[0], "mode": mode}
    if draw(st.booleans()):
        node["size"] = _pair(draw, 1, 12)
    else:
        node["scale_factor"] = _pair(draw, 1, 2)
    if mode != "nearest" and draw(st.booleans()):
        node["align_corners"] = draw(st.booleans())
    return [node]


def matmul(draw, nodes):
    """x @ x^T over the last two dims (an attention map), or x @ (a node of fitting shape)."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    fitting = _operand(draw, nodes, lambda n: len(n[1]) >= 2 and n[1][-2] == x[1][-1]
                       and broadcastable(n[1][:-2], x[1][:-2]))
    if fitting is not None and draw(st.booleans()):
        return [{"op": "matmul", "inputs": [x[0], fitting[0]]}]
    name = f"{x[0]}_t{len(nodes)}"
    return [{"op": "transpose", "input": x[0], "dim0": -2, "dim1": -1, "name": name},
            {"op": "matmul", "inputs": [x[0], name]}]


def pad(draw, nodes):
    x = _operand(draw, nodes)
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    node = {"op": "pad", "input": x[0], "mode": mode}
    if mode == "constant":
        node["value"] = draw(st.sampled_from([0, 1.5]))
    if _windowed(x) and draw(st.booleans()):      # TF "same" padding for a window
        node["pad"] = {"mode": "same", "kernel": _per_axis(draw, x, 1, 4),
                       "stride": _per_axis(draw, x, 1, 3), "dilation": draw(st.integers(1, 2))}
        return [node]
    if mode == "constant" and draw(st.booleans()):    # up to a multiple of a window (Swin)
        dims = draw(st.integers(1, min(3, len(x[1]))))
        node["pad"] = {"mode": "multiple", "of": [draw(st.integers(1, 4)) for _ in range(dims)]}
        return [node]
    pairs = draw(st.integers(1, min(2, len(x[1]))))
    node["pad"] = draw(st.lists(st.integers(0, 2), min_size=2 * pairs, max_size=2 * pairs))
    return [node]


def last_dims_norm(op, **attrs):
    """A layer or RMS norm over the last one or two dims, or channels first over dim 1."""
    def propose(draw, nodes):
        x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
        node = {"op": op, "input": x[0], "elementwise_affine": draw(st.booleans()),
                **{k: draw(v) for k, v in attrs.items()}}
        if _rank4(x) and draw(st.booleans()):
            return [{**node, "normalized_shape": [x[1][1]], "channels_first": True}]
        last = draw(st.integers(1, min(2, len(x[1]) - 1)))
        return [{**node, "normalized_shape": list(x[1][-last:])}]
    return propose


def repeat(draw, nodes):
    x = _operand(draw, nodes)
    lead = draw(st.integers(0, 1))
    return [{"op": "repeat", "input": x[0],
             "repeats": [draw(st.integers(1, 2)) for _ in range(len(x[1]) + lead)]}]


def repeat_interleave(draw, nodes):
    x = _operand(draw, nodes)
    return [{"op": "repeat_interleave", "input": x[0], "repeats": draw(st.integers(1, 3)),
             "dim": draw(st.integers(-len(x[1]), len(x[1]) - 1))}]


def unfold(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    dim = draw(st.integers(1, len(x[1]) - 1))
    return [{"op": "unfold", "input": x[0], "dim": dim,
             "size": draw(st.integers(1, x[1][dim])), "step": draw(st.integers(1, 3))}]


def im2col(draw, nodes):
    """Every window of a map as a column (F.unfold), and, half the time, the columns folded
    back into the map (F.fold to its size, the second operand)."""
    x = _operand(draw, nodes, _rank4)
    if x is None:
        return []
    window = {"kernel": _pair(draw, 1, 3), "stride": _pair(draw, 1, 2),
              "padding": draw(st.integers(0, 1))}
    name = f"w{len(nodes)}"
    columns = [{"op": "im2col", "input": x[0], "name": name, **window}]
    if draw(st.booleans()):
        return columns
    return columns + [{"op": "col2im", "inputs": [name, x[0]], **window}]


def group_norm(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    groups = [g for g in range(1, x[1][1] + 1) if x[1][1] % g == 0]
    return [{"op": "group_norm", "input": x[0], "num_groups": draw(st.sampled_from(groups)),
             "affine": draw(st.booleans()), "bias": draw(st.booleans())}]


def learned(op):
    def propose(draw, nodes):
        x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
        trailing = draw(st.integers(1, len(x[1]) - 1))
        shape = [d if draw(st.booleans()) else 1 for d in x[1][-trailing:]]
        return [{"op": op, "input": x[0], "param_shape": shape}]
    return propose


def prelu(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    return [{"op": "prelu", "input": x[0],
             "num_parameters": draw(st.sampled_from([1, x[1][1]]))}]


def softmax(draw, nodes):
    x = _operand(draw, nodes)
    return [{"op": "softmax", "input": x[0],
             "dim": draw(st.integers(-len(x[1]), len(x[1]) - 1))}]


def sdpa(draw, nodes):
    """Self-attention of a node over its last two dims (q = k = v), causal or not."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    return [{"op": "sdpa", "inputs": [x[0]] * 3, "is_causal": draw(st.booleans()),
             "scale": draw(st.sampled_from([None, 0.5]))}]


def baddbmm(draw, nodes):
    """beta * p + alpha * x @ x^T with a learned (1, 1) ``p``."""
    x = _operand(draw, nodes, lambda n: len(n[1]) == 3)
    if x is None:
        return []
    k = len(nodes)
    return [{"op": "param", "input": x[0], "param_shape": [1, 1], "name": f"p{k}"},
            {"op": "transpose", "input": x[0], "dim0": 1, "dim1": 2, "name": f"t{k}"},
            {"op": "baddbmm", "inputs": [f"p{k}", x[0], f"t{k}"],
             "beta": draw(st.sampled_from([1, 0.5])), "alpha": draw(st.sampled_from([1, 2]))}]


def einsum(draw, nodes):
    """x's dims reversed after the batch, x x^T contracting the last dim, or a sum over it."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    letters = "abcdefgh"[:len(x[1])]
    kind = draw(st.sampled_from(["reverse", "gram", "sum"]))
    if kind == "reverse":
        return [{"op": "einsum", "input": x[0], "equation": f"a{letters[:0:-1]}->{letters}"}]
    if kind == "sum":
        return [{"op": "einsum", "input": x[0], "equation": f"{letters}->{letters[:-1]}"}]
    other = letters[:-2] + "z" + letters[-1] if len(letters) > 2 else "z" + letters[-1]
    output = letters[:-1] + "z"
    return [{"op": "einsum", "inputs": [x[0], x[0]], "equation": f"{letters},{other}->{output}"}]


def param(draw, nodes):
    """A learned tensor added to a node (its operand is read by the add too: a node only a
    param reads would be pruned by the tracers)."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    k = len(nodes)
    shape = [d if draw(st.booleans()) else 1 for d in x[1][1:]]
    return [{"op": "param", "input": x[0], "param_shape": shape, "name": f"p{k}"},
            {"op": "add", "inputs": [x[0], f"p{k}"]}]


def expand(draw, nodes):
    """A dim of size 1 grown to 3 (or, without one, x.expand to its own shape by "dK")."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    ones = [k for k, d in enumerate(x[1]) if k and d == 1]
    if not ones:
        return [{"op": "expand", "input": x[0], "shape": [f"d{k}" for k in range(len(x[1]))]}]
    grown = draw(st.sampled_from(ones))
    return [{"op": "expand", "input": x[0],
             "shape": [3 if k == grown else -1 for k in range(len(x[1]))]}]


def select(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 3)
    if x is None:
        return []
    dim = draw(st.integers(1, len(x[1]) - 1))
    index = draw(st.integers(0, x[1][dim] - 1))
    return [{"op": "select", "input": x[0], "dim": dim,
             "index": index - x[1][dim] * draw(st.booleans())}]


def index(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    return [{"op": "index", "input": x[0], "dim": draw(st.integers(1, len(x[1]) - 1)),
             "index_shape": draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))}]


def roll(draw, nodes):
    x = _operand(draw, nodes)
    dims = draw(st.lists(st.integers(1, len(x[1]) - 1), min_size=1, max_size=2, unique=True)) \
        if len(x[1]) > 1 else [0]
    return [{"op": "roll", "input": x[0], "dims": dims,
             "shifts": [draw(st.integers(-3, 3)) for _ in dims]}]


def normalize(draw, nodes):
    x = _operand(draw, nodes)
    return [{"op": "normalize", "input": x[0], "p": draw(st.sampled_from([1, 2])),
             "dim": draw(st.integers(-len(x[1]), len(x[1]) - 1))}]


def param_concat(draw, nodes):
    """A node joined with a learned tensor of its shape but 1 to 3 along the dim, placed first
    or last (ViT's class token)."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    dim = draw(st.integers(1, len(x[1]) - 1))
    shape = list(x[1])
    shape[dim] = draw(st.integers(1, 3))
    return [{"op": "param_concat", "input": x[0], "param_shape": shape, "dim": dim,
             "index": draw(st.integers(0, 1))}]


def constant(draw, nodes, op="constant"):
    """A mask of some of a node's sizes (others 1) added to it, as Swin adds its window mask
    (``op="input"``: a further input of the network shaped so, a mask given to forward)."""
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    k = len(nodes)
    shape = [f"d{j}" if draw(st.booleans()) else 1 for j in range(len(x[1]))]
    return [{"op": op, "input": x[0], "shape": shape, "name": f"c{k}"},
            {"op": "add", "inputs": [x[0], f"c{k}"]}]


def vector_norm(draw, nodes):
    x = _operand(draw, nodes, lambda n: len(n[1]) >= 2)
    dims = draw(st.lists(st.integers(1, len(x[1]) - 1), min_size=1, max_size=2, unique=True))
    return [{"op": "vector_norm", "input": x[0], "dim": dims, "keepdim": draw(st.booleans()),
             "ord": draw(st.sampled_from([1, 2]))}]


PROPOSALS = {
    "conv": conv, "bn": bn, "bn_batch_stats": bn_batch_stats, "linear": linear, "lstm": lstm,
    "flatten": flatten,
    "conv_transpose": conv_transpose,
    "maxpool": pool("maxpool"), "avgpool": pool("avgpool"), "gap": windowed("gap"),
    "dropout": unary("dropout", p=st.sampled_from([0.0, 0.3])),
    **{op: unary(op) for op in ACTIVATIONS},
    "gelu": unary("gelu", approximate=st.sampled_from(["none", "tanh"])),
    "leaky_relu": unary("leaky_relu", negative_slope=st.sampled_from([0.01, 0.2])),
    "elu": unary("elu", alpha=st.sampled_from([1.0, 0.5])),
    "softplus": unary("softplus", beta=st.sampled_from([1, 2]), threshold=st.just(20)),
    "prelu": prelu, "softmax": softmax,
    **{op: binary(op) for op in ("add", "mul", "sub", "div", "maximum", "minimum")},
    "param_mul": learned("param_mul"), "param_add": learned("param_add"),
    "concat": concat, "slice": slice_, "reshape": reshape, "permute": permute,
    "transpose": transpose, "channel_shuffle": channel_shuffle, "pad": pad, "mean": mean,
    "adaptive_avgpool": windowed("adaptive_avgpool", output_size=st.integers(1, 4)),
    "adaptive_maxpool": windowed("adaptive_maxpool", output_size=st.integers(1, 4)),
    "upsample": upsample, "matmul": matmul, "group_norm": group_norm,
    "layer_norm": last_dims_norm("layer_norm", bias=st.booleans()),
    "rms_norm": last_dims_norm("rms_norm"), "repeat": repeat,
    "repeat_interleave": repeat_interleave, "unfold": unfold, "im2col": im2col, "col2im": im2col,
    "instance_norm": instance_norm, "stack": stack, "flip": flip,
    **{op: reduction(op) for op in ("sum", "amax", "amin", "var", "std")},
    **{op: unary(op) for op in ("abs", "neg", "sqrt", "rsqrt", "exp", "log", "sin", "cos")},
    "pow": unary("pow", exponent=st.sampled_from([2, 0.5, -1.0])),
    "sdpa": sdpa, "baddbmm": baddbmm, "einsum": einsum, "param": param, "expand": expand,
    "select": select, "index": index, "roll": roll, "normalize": normalize,
    "clamp": unary("clamp", min=st.sampled_from([-1.0, 0.1]), max=st.sampled_from([2.0, 6.0])),
    "vector_norm": vector_norm,
    "constant": constant, "param_concat": param_concat,
    "input": lambda draw, nodes: constant(draw, nodes, "input"),
}


def test_every_registered_op_has_a_proposal():
    assert set(PROPOSALS) == set(all_ops())


def shapes_of(layers, resolution):
    """Node names and output shapes, or None when netcalc refuses the graph."""
    spec = {"family": "graph", "resolution": list(resolution), "layers": layers}
    try:
        graph = netcalc.expand(spec, tuple(resolution))
    except netcalc.SpecError:
        return None
    return [(n.name, tuple(n.shape)) for n in graph.layers]


@st.composite
def graphs(draw):
    resolution = (draw(st.integers(4, 12)), draw(st.integers(4, 12)))
    layers = [{"op": "conv", "out": draw(st.integers(2, 6)), "kernel": 3, "name": "n0"}]
    nodes = shapes_of(layers, resolution)
    for _ in range(draw(st.integers(1, MAX_NODES))):
        op = draw(st.sampled_from(sorted(PROPOSALS)))
        proposed = PROPOSALS[op](draw, nodes)
        for i, node in enumerate(proposed):
            node.setdefault("name", f"n{len(layers) + i}")
        grown = shapes_of(layers + proposed, resolution) if proposed else None
        if grown and all(math.prod(shape) <= MAX_ELEMENTS for _, shape in grown):
            layers, nodes = layers + proposed, grown
    return {"family": "graph", "name": "drawn", "resolution": list(resolution), "layers": layers}


def check(spec):
    assert_exact(validate_conventions(spec, ("fvcore", "torch")))


def check_drawn(spec):
    for layer in spec["layers"]:
        event(f"op {layer['op']}")       # --hypothesis-show-statistics: how often each op came
    check(spec)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs())
def test_drawn_graphs_match_the_tools(spec):
    check_drawn(spec)


# one drawn graph per op, each about 1 to 2 s: the slow tier (the fast tier's 25 drawn graphs above
# hold every op among the others; each op is also checked alone against torch's own modules and in
# hand-written graphs, tests/test_ops_torch_modules.py and tests/test_ops_new.py)
@pytest.mark.slow
@pytest.mark.parametrize("op", sorted(PROPOSALS))
def test_a_drawn_graph_with_each_op_matches_the_tools(op):
    """The first drawn graph that holds ``op`` (so every op is checked in a random context)."""
    spec = find(graphs(), lambda drawn: any(layer["op"] == op for layer in drawn["layers"]),
                settings=settings(max_examples=1000, phases=[Phase.generate], derandomize=True,
                                  suppress_health_check=list(HealthCheck)))
    print(spec)         # shown when the check fails
    check(spec)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs())
def test_drawn_graphs_match_the_tools_many(spec):
    check_drawn(spec)
