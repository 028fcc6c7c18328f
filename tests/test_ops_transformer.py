"""The transformer ops (sdpa, baddbmm, einsum, param, expand, select, index, roll, clamp, exp, log,
normalize) against torch modules written by others, traced by fvcore 0.1.5 (with autograd on, as
its users call it) and FlopCounterMode; their ATen converters on hand-written calls; and
fvcore's einsum rounding, which has no closed form.

The per-op graphs of tests/new_op_specs.py are validated node by node in tests/test_ops_new.py.
"""
import pytest

import netcalc
from netcalc.errors import GraphError
from netcalc.ops import all_ops
from netcalc.ops.aten import (BUFFER, DATA, PARAM, Alias, AtenCall, Node, NotModelled, Parts,
                              Tensor, aten_table)
from netcalc.ops.einsum import EinsumAttrs, fvcore_einsum, printed_cost


def call(op, outputs, finder=lambda sizes: None, **named):
    return AtenCall(op, "default", tuple(named.values()), named, outputs, finder=finder)


def convert(op, outputs, **named):
    return aten_table(all_ops())[op][1](call(op, outputs, **named))


# -- fvcore's einsum: numpy's printed cost --------------------------------------------------------
def einsum_attrs(equation):
    left, output = equation.split("->")
    return EinsumAttrs(equation, tuple(left.split(",")), output)


def test_fvcore_einsum_reads_numpys_rounded_cost():
    """fvcore 0.1.5 traced torch.einsum("nchw,ndhw->ncd") on (1, 8, 17, 26) maps: 28,290 flops
    (numpy prints the path cost 56,576 as 5.658e+04), not the 28,288 multiply-accumulates;
    "bi,bj->bij" on (2, 3), (2, 5): 15 (30 // 2); MaxViT's "abcde,abcfe->abcdf" on
    (1, 2, 3, 5, 4), (1, 2, 3, 7, 4): 840; fvcore's hand-priced "abc,abd->acd": exact."""
    gram = einsum_attrs("nchw,ndhw->ncd")
    assert fvcore_einsum(((1, 8, 17, 26), (1, 8, 17, 26)), (1, 8, 8), gram) == 28_290
    assert fvcore_einsum(((2, 3), (2, 5)), (2, 3, 5), einsum_attrs("bi,bj->bij")) == 15
    assert fvcore_einsum(((1, 2, 3, 5, 4), (1, 2, 3, 7, 4)), (1, 2, 3, 5, 7),
                         einsum_attrs("bghid,bghjd->bghij")) == 840
    assert fvcore_einsum(((3, 1001, 7), (3, 1001, 11)), (3, 7, 11),
                         einsum_attrs("xyz,xyw->xzw")) == 3 * 1001 * 7 * 11
    assert printed_cost(123_456_789) == 123_500_000 and printed_cost(56_565) == 56_560


def test_fvcore_einsum_counts_the_one_numpy_adds():
    """numpy adds 1 to the path cost it prints: fvcore 0.1.5 traced a one-operand permutation
    "nchw->nhwc" of (1, 3, 1, 1) at 2 flops ((3 + 1) // 2, not 3 // 2) and of (1, 3, 1, 5) at 8;
    the sum "nchw->nc" of (1, 3, 1, 5) at 15 ((2 x 15 + 1) // 2)."""
    permute = einsum_attrs("nchw->nhwc")
    assert fvcore_einsum(((1, 3, 1, 1),), (1, 1, 1, 3), permute) == 2
    assert fvcore_einsum(((1, 3, 1, 5),), (1, 1, 5, 3), permute) == 8
    assert fvcore_einsum(((1, 3, 1, 5),), (1, 3), einsum_attrs("nchw->nc")) == 15


def test_fvcore_einsum_has_no_closed_form():
    sympy = pytest.importorskip("sympy")
    h = sympy.Symbol("h", positive=True, integer=True)
    with pytest.raises(GraphError, match="rounded to 4 significant digits"):
        fvcore_einsum(((1, 8, h), (1, 8, h)), (1, 8, 8), einsum_attrs("ncl,ndl->ncd"))


def attention_spec(equation=None):
    """A patch embedding (4x4, stride 4) to L = (h/4)(w/4) tokens, 2 heads of 8 and attention
    over them: fused, or as an einsum of q and k."""
    layers = [{"op": "conv", "out": 16, "kernel": 4, "stride": 4, "padding": 0, "bias": True},
              {"op": "flatten", "start_dim": 2}, {"op": "transpose", "dim0": 1, "dim1": 2,
                                                   "name": "tokens"}]
    for name in "qkv":
        layers += [{"op": "linear", "input": "tokens", "out": 16},
                   {"op": "reshape", "shape": ["d0", "d1", 2, 8]},
                   {"op": "transpose", "dim0": 1, "dim1": 2, "name": name}]
    if equation:
        layers += [{"op": "einsum", "inputs": ["q", "k"], "equation": equation},
                   {"op": "softmax", "dim": -1}, {"op": "matmul", "with": "v"}]
    else:
        layers += [{"op": "sdpa", "inputs": ["q", "k", "v"]}]
    layers += [{"op": "transpose", "dim0": 1, "dim1": 2},
               {"op": "reshape", "shape": ["d0", "d1", 16]}, {"op": "linear", "out": 16}]
    return {"family": "graph", "name": "attention", "resolution": 32, "layers": layers}


def test_attention_closed_form_is_quartic_in_r_and_equals_the_counts():
    """Attention is quadratic in the token count L = (r/4)^2: the torch closed form in r has
    degree 4 and equals the concrete counts at five sizes; the pycls one too."""
    pytest.importorskip("sympy")
    import sympy

    from netcalc.symbolic.closed_form import count_symbolic

    for equation in (None, "bhld,bhsd->bhls"):
        for convention in ("torch", "pycls"):
            form = count_symbolic(attention_spec(equation), convention)
            flops = sympy.Poly(form.polynomial(form.total("flops")))
            assert flops.total_degree() == 4, (equation, convention, flops)
            for r in (16, 20, 28, 36, 64):
                assert form.evaluate(form.total("flops"), r) == netcalc.count(
                    attention_spec(equation), convention, r).flops


def test_fvcore_closed_form_of_a_rounded_einsum_is_a_clear_error():
    pytest.importorskip("sympy")
    from netcalc.symbolic.closed_form import count_symbolic

    with pytest.raises(netcalc.SpecError, match=r"einsum in the fvcore convention: .* rounded to "
                                                r"4 significant digits") as raised:
        count_symbolic(attention_spec("bhld,bhsd->bhls"), "fvcore")
    assert raised.value.field == "layer einsum_12.equation"


@pytest.mark.slow
def test_fvcore_closed_form_of_a_rounded_einsum_on_the_command_line():
    from conftest import run_cli

    result = run_cli("flops", "-", "--symbolic", "r", "--convention", "fvcore",
                     input=__import__("json").dumps(attention_spec("bhld,bhsd->bhls")))
    assert result.returncode == 2 and "rounded to 4 significant digits" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- converters ------------------------------------------------------------------------------------
def test_sdpa_converter_reads_flags_and_drops_a_constant_mask():
    q, k, v = Tensor((1, 2, 5, 4)), Tensor((1, 2, 7, 4)), Tensor((1, 2, 7, 3))
    node = convert("scaled_dot_product_attention", ((1, 2, 5, 3),), query=q, key=k, value=v,
                   attn_mask=Tensor((5, 7), BUFFER), dropout_p=0.0, is_causal=False, scale=0.5,
                   enable_gqa=False)
    assert node == Node({"scale": 0.5}, inputs=(q, k, v))
    mask = Tensor((5, 7))
    node = convert("scaled_dot_product_attention", ((1, 2, 5, 3),), query=q, key=k, value=v,
                   attn_mask=mask, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=True)
    assert node == Node({"enable_gqa": True}, inputs=(q, k, v, mask))
    with pytest.raises(NotModelled, match="dropout"):
        convert("scaled_dot_product_attention", ((1, 2, 5, 3),), query=q, key=k, value=v,
                attn_mask=None, dropout_p=0.1, is_causal=False, scale=None, enable_gqa=False)
    with pytest.raises(NotModelled, match="fast path"):
        convert("_native_multi_head_attention", ((1, 5, 8),), query=q)


def test_einsum_converter_and_its_refusals():
    a, b = Tensor((1, 4, 5)), Tensor((1, 5, 6))
    assert convert("einsum", ((1, 4, 6),), equation="bij,bjk->bik", tensors=(a, b), path=None) \
        == Node({"equation": "bij,bjk->bik"}, inputs=(a, b))
    with pytest.raises(NotModelled, match="ellipsis"):
        convert("einsum", ((1, 4, 6),), equation="...ij,...jk->...ik", tensors=(a, b), path=None)
    # a parameter operand is read as the param node the importer writes for it
    table, written = Tensor((5, 6), PARAM, "table"), Tensor((5, 6), DATA, "table_node")
    einsum = call("einsum", ((1, 4, 6),), equation="bij,jk->bik", tensors=(a, table), path=None)
    einsum.materialiser = lambda tensor: written
    assert aten_table(all_ops())["einsum"][1](einsum).inputs == (a, written)


def test_class_token_concat_becomes_param_concat():
    tokens, cls = Tensor((1, 196, 768)), Tensor((1, 1, 768), PARAM, "class_token")
    assert convert("cat", ((1, 197, 768),), tensors=(cls, tokens), dim=1) == Node(
        {"param_shape": [1, 1, 768], "dim": 1, "index": 0}, inputs=(tokens,), op="param_concat")
    # parameters apart or repeated are operands like any other, written as the importer's
    # param nodes (its materialiser), each parameter once
    written = {"class_token": Tensor((1, 1, 768), DATA, "cls"), "r": Tensor((1, 1, 768), DATA, "r")}
    for operands in ((cls, cls, tokens), (cls, tokens, Tensor((1, 1, 768), PARAM, "r"))):
        cat = call("cat", ((1, 198, 768),), tensors=operands, dim=1)
        cat.materialiser = lambda tensor: written[tensor.name]
        node = aten_table(all_ops())["cat"][1](cat)
        assert node.inputs == tuple(written.get(t.name, t) for t in operands)


def test_class_and_register_tokens_become_one_param_concat():
    """DINOv3's ``cat([class_token, register_tokens, patches], dim=1)``: the two learned
    tensors side by side are one learned (1, 5, 768) block, their 3,840 params."""
    tokens, cls = Tensor((1, 196, 768)), Tensor((1, 1, 768), PARAM, "class_token")
    registers = Tensor((1, 4, 768), PARAM, "reg_token")
    assert convert("cat", ((1, 201, 768),), tensors=(cls, registers, tokens), dim=1) == Node(
        {"param_shape": [1, 5, 768], "dim": 1, "index": 0}, inputs=(tokens,), op="param_concat")


def test_class_token_and_relative_position_table_are_read_as_the_nodes_written_for_them():
    """A tensor computed without the input is read through ``call.materialise``: the importer
    writes it (a parameter as a ``param`` node, tests/test_import_constants.py)."""
    written = {}

    def materialiser(tensor):
        written[tensor.name] = Tensor(tensor.shape, DATA, f"{tensor.name}-node")
        return written[tensor.name]

    def run(op, outputs, **named):
        return aten_table(all_ops())[op][1](AtenCall(op, "default", tuple(named.values()), named,
                                                     outputs, materialiser=materialiser))

    cls = Tensor((1, 1, 768), PARAM, "class_token")
    assert run("expand", ((1, 1, 768),), self=cls, size=(1, -1, -1)) == Alias(
        Tensor((1, 1, 768), DATA, "class_token-node"))
    bias = Tensor((169, 3), PARAM, "relative_position_bias_table")
    index = Tensor((2401,), BUFFER, "relative_position_index")
    assert run("index", ((2401, 3),), self=bias, indices=(index,)) == Node(
        {"dim": 0, "index_shape": [2401]}, inputs=(written["relative_position_bias_table"],),
        op="index")
    with pytest.raises(NotModelled, match="index computed from the input"):
        run("index", ((5, 3),), self=bias, indices=(Tensor((5,)),))


def test_vit_and_maxvit_reshapes_import():
    """ViT's MultiheadAttention unflattens its packed projection; MaxViT swaps axes."""
    x = Tensor((1, 197, 2304))
    assert convert("unflatten", ((1, 197, 3, 768),), self=x, dim=-1, sizes=(3, 768)) == \
        Node({"shape": [1, 197, 3, 768]})
    assert convert("swapaxes", ((1, 197, 2304),), self=x, axis0=-2, axis1=-1) == \
        Node({"dim0": -2, "dim1": -1})


def test_a_window_mask_becomes_a_constant_that_follows_the_attention():
    """Swin's mask (nW, 1, N, N) after unsqueeze(0), added to attention viewed as
    (1, nW, heads, N, N): nW follows the input, N = 49 does not."""
    from netcalc.ops.aten import CONSTANT, Dim
    from netcalc.ops.tokens import constant_node

    windows = Dim(64, "(h//28)*(w//28)")
    attention = Tensor((1, windows, 3, 49, 49))
    mask = Tensor((1, Dim(64, "(h//28)*(w//28)"), 1, 49, 49), CONSTANT)
    assert constant_node(mask, attention) == Node({"shape": [1, "d1", 1, 49, 49]},
                                                  inputs=(attention,), op="constant")
    odd = constant_node(Tensor((Dim(9, "h//8"),), CONSTANT), attention)
    assert odd.attrs == {"shape": [9]} and "follows the input" in odd.fixed


def test_swins_mask_building_ops_leave_no_node():
    from netcalc.ops.aten import Alias

    mask = Tensor((1, 64, 49, 49))
    for op, named in (("fill_", {"value": 1.0}), ("masked_fill", {"mask": mask, "value": -100.0}),
                      ("ne", {"other": 0}), ("eq", {"other": 0})):
        assert convert(op, ((1, 64, 49, 49),), self=mask, **named) == Alias(mask)
    with pytest.raises(NotModelled, match="broadcasts"):
        convert("eq", ((2, 64, 49, 49),), self=mask, other=Tensor((2, 1, 1, 1)))


def test_normalize_imports_as_its_four_aten_ops():
    """torch.export captures F.normalize(x, dim=-1) as linalg_vector_norm(x, 2.0, [-1], True),
    clamp_min(1e-12), expand_as(x), div."""
    x, norms = Tensor((1, 5, 8)), Tensor((1, 5, 1))
    assert convert("linalg_vector_norm", ((1, 5, 1),), self=x, ord=2.0, dim=(-1,), keepdim=True,
                   dtype=None) == Node({"dim": [-1], "keepdim": True})
    assert convert("expand_as", ((1, 5, 8),), self=norms, other=x) == \
        Node({"shape": ["d0", "d1", "d2"]}, inputs=(norms, x))


def test_unbind_roll_and_clamp_converters():
    x = Tensor((3, 1, 4, 5, 6))
    parts = convert("unbind", ((1, 4, 5, 6),) * 3, self=x, dim=0)
    assert parts == Parts(tuple(Node({"dim": 0, "index": i}) for i in range(3)))
    assert convert("roll", ((1, 8, 8, 3),), self=x, shifts=(-3, -3), dims=(1, 2)) == \
        Node({"shifts": [-3, -3], "dims": [1, 2]})
    with pytest.raises(NotModelled, match="flattened"):
        convert("roll", ((1, 8, 8, 3),), self=x, shifts=(2,), dims=())
    y = Tensor((1, 8))
    assert convert("clamp_min", ((1, 8),), self=y, min=1e-12) == \
        Node({"min": 1e-12}, inputs=(y,), op="clamp")
    bound = Tensor((1, 8), DATA, "bound")
    assert convert("clamp", ((1, 8),), self=y, min=bound, max=None) == \
        Node({"tensor_min": True}, inputs=(y, bound), op="clamp")


# -- modules written by others, traced with autograd on --------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


def traced(module, *inputs):
    """fvcore 0.1.5's flops and acts, and FlopCounterMode's flops, of ``module`` in eval with
    autograd on."""
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    from netcalc.torch.validate import quiet_fvcore

    module.eval()
    with quiet_fvcore():
        flops = FlopCountAnalysis(module, inputs).unsupported_ops_warnings(False).total()
        acts = ActivationCountAnalysis(module, inputs).unsupported_ops_warnings(False).total()
    counter = FlopCounterMode(display=False)
    with counter:
        module(*inputs)
    return int(flops), int(acts), counter.get_total_flops()


class PatchAttention(torch.nn.Module):
    """A ViT in miniature: a 4x4 patch embedding of 64 channels, then torch's
    nn.MultiheadAttention(64, 4) called as torchvision's ViT encoder block calls it."""

    def __init__(self):
        super().__init__()
        self.patches = torch.nn.Conv2d(3, 64, 4, 4)
        self.attention = torch.nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, image):
        x = self.patches(image).flatten(2).transpose(1, 2)
        return self.attention(x, x, x, need_weights=False)[0]


def patch_attention_spec():
    """PatchAttention as torch.export captures it with autograd on: the packed in-projection, q,
    k, v split into 4 heads of 16, fused attention, the out-projection."""
    layers = [{"op": "conv", "out": 64, "kernel": 4, "stride": 4, "padding": 0, "bias": True},
              {"op": "flatten", "start_dim": 2}, {"op": "transpose", "dim0": 1, "dim1": 2},
              {"op": "linear", "out": 192, "name": "qkv"}]
    for i, name in enumerate("qkv"):
        layers += [{"op": "slice", "input": "qkv", "dim": 2, "start": 64 * i, "stop": 64 * i + 64},
                   {"op": "reshape", "shape": ["d0", "d1", 4, 16]},
                   {"op": "transpose", "dim0": 1, "dim1": 2, "name": name}]
    layers += [{"op": "sdpa", "inputs": ["q", "k", "v"]}, {"op": "transpose", "dim0": 1, "dim1": 2},
               {"op": "reshape", "shape": ["d0", "d1", 64]}, {"op": "linear", "out": 64}]
    return {"family": "graph", "name": "patch_attention", "resolution": 28, "layers": layers}


@pytest.mark.parametrize("resolution", [(28, 28), (20, 36)], ids=["square", "rectangle"])
def test_multihead_attention_as_fvcore_and_flopcountermode_count_it(resolution):
    """PatchAttention at 28 px (L = 49 tokens), traced with autograd on. fvcore: the conv
    4*4*3*64*49 = 150,528, the in-projection 49*64*192 = 602,112 and the out-projection
    49*64*64 = 200,704: 953,344 flops (it has no handle for the fused attention); acts
    49*(64 + 192 + 64) = 15,680. FlopCounterMode (math backend, which counts what its CUDA
    formula counts) adds 2*4*49*49*(16 + 16) = 614,656 to twice that: 2,521,344. Params 19,776.
    Under torch.no_grad() fvcore would count the conv only: MHA's fused fast path (ViT-B/16:
    11,290,036,992 instead of 16,867,412,736 flops with autograd on)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    module = PatchAttention()
    with sdpa_kernel(SDPBackend.MATH):
        measured = traced(module, torch.zeros(1, 3, *resolution))
    params = sum(p.numel() for p in module.parameters())
    spec = patch_attention_spec()
    fvcore = netcalc.count(spec, "fvcore", resolution)
    assert (fvcore.flops, fvcore.acts, netcalc.count(spec, "torch", resolution).flops,
            fvcore.params) == (*measured, params)
    if resolution == (28, 28):
        assert (*measured, params) == (953_344, 15_680, 2_521_344, 19_776)


class PatchWindowAttention(torch.nn.Module):
    """Swin in miniature: a 4x4 patch embedding of 48 channels, then torchvision's own
    ShiftedWindowAttention (windows of 4x4 tokens shifted by 2, 3 heads): its relative-position
    table looked up by an index buffer, its rolled windows and its shifted-window mask."""

    def __init__(self, torchvision):
        super().__init__()
        from torchvision.models.swin_transformer import ShiftedWindowAttention

        self.patches = torch.nn.Conv2d(3, 48, 4, 4)
        self.attention = ShiftedWindowAttention(48, [4, 4], [2, 2], 3)

    def forward(self, image):
        return self.attention(self.patches(image).permute(0, 2, 3, 1))


def patch_window_attention_spec():
    """PatchWindowAttention up to its output projection (the window reversal after it moves data
    only): roll, windows of 16 tokens, q/k/v, q k^T plus the relative-position bias and the
    mask, softmax, times v, projection."""
    layers = [{"op": "conv", "out": 48, "kernel": 4, "stride": 4, "padding": 0, "bias": True},
              {"op": "permute", "dims": [0, 2, 3, 1]},
              {"op": "roll", "shifts": [-2, -2], "dims": [1, 2]},
              {"op": "reshape", "shape": ["d0", -1, 4, "d2", "d3"]},
              {"op": "reshape", "shape": ["d0", "d1", "d2", -1, 4, "d4"]},
              {"op": "permute", "dims": [0, 1, 3, 2, 4, 5]},
              {"op": "reshape", "shape": [-1, 16, 48], "name": "windows"},
              {"op": "linear", "out": 144},
              {"op": "reshape", "shape": ["d0", "d1", 3, 3, 16]},
              {"op": "permute", "dims": [2, 0, 3, 1, 4], "name": "qkv"}]
    layers += [{"op": "select", "input": "qkv", "dim": 0, "index": i, "name": name}
               for i, name in enumerate("qkv")]
    layers += [{"op": "mul", "input": "q", "value": 0.25, "name": "scaled"},
               {"op": "transpose", "input": "k", "dim0": -2, "dim1": -1, "name": "kt"},
               {"op": "matmul", "inputs": ["scaled", "kt"], "name": "scores"},
               {"op": "param", "param_shape": [49, 3]},
               {"op": "index", "dim": 0, "index_shape": [256]},
               {"op": "reshape", "shape": [16, 16, 3]}, {"op": "permute", "dims": [2, 0, 1]},
               {"op": "reshape", "shape": [1, 3, 16, 16], "name": "bias"},
               {"op": "add", "inputs": ["scores", "bias"]},
               {"op": "reshape", "shape": [1, "d0", 3, 16, 16], "name": "by_window"},
               {"op": "constant", "shape": [1, "d1", 1, 16, 16], "name": "mask"},
               {"op": "add", "inputs": ["by_window", "mask"]},
               {"op": "reshape", "shape": [-1, 3, 16, 16]}, {"op": "softmax", "dim": -1},
               {"op": "matmul", "with": "v"}, {"op": "transpose", "dim0": 1, "dim1": 2},
               {"op": "reshape", "shape": ["d0", "d1", 48]}, {"op": "linear", "out": 48}]
    return {"family": "graph", "name": "patch_window_attention", "resolution": 32,
            "layers": layers}


@pytest.mark.parametrize("resolution", [(32, 32), (32, 48)], ids=["square", "rectangle"])
def test_window_attention_as_fvcore_and_flopcountermode_count_torchvisions(resolution):
    """PatchWindowAttention at 32 px (4 windows of 16 tokens), traced with autograd on. fvcore:
    conv 4*4*3*48*64 = 147,456, qkv 64*48*144 = 442,368, q k^T and weights v as fvcore's matmul
    counts them, 4*3*16*16*16 = 49,152 each, projection 64*48*48 = 147,456: 835,584 flops; acts
    64*144 + 2*3,072 + 64*48 + 3,072 = 21,504; FlopCounterMode twice the products, conv
    included: 1,671,168. Params: conv 2,352, table 49*3 = 147, qkv 7,056, projection 2,352."""
    import tv

    module = PatchWindowAttention(tv.import_torchvision())
    measured = traced(module, torch.zeros(1, 3, *resolution))
    params = sum(p.numel() for p in module.parameters())
    spec = patch_window_attention_spec()
    fvcore = netcalc.count(spec, "fvcore", resolution)
    assert (fvcore.flops, fvcore.acts, netcalc.count(spec, "torch", resolution).flops,
            fvcore.params) == (*measured, params)
    if resolution == (32, 32):
        assert (*measured, params) == (835_584, 21_504, 1_671_168, 11_907)


# -- torchvision's ViT-B/16, node by node -----------------------------------------------------------
def vit_spec(patch=16, hidden=768, depth=12, heads=12, mlp=3072, classes=1000, tokens=197,
             resampled=False):
    """torchvision's VisionTransformer as a graph spec: the patch embedding, the class token and
    the fixed position embedding of ``tokens`` tokens (so it fits one resolution; ``resampled``:
    timm's, resized to the token grid of any input), ``depth``
    encoder blocks (multi-head attention as torch.export captures it with autograd on), the final
    norm, the class token's head."""
    head = hidden // heads
    layers = [{"op": "conv", "out": hidden, "kernel": patch, "stride": patch, "padding": 0,
               "bias": True, "stage": "stem"},
              {"op": "flatten", "start_dim": 2}, {"op": "transpose", "dim0": 1, "dim1": 2,
                                                   "name": "patches"},
              {"op": "param_concat", "param_shape": [1, 1, hidden], "name": "class_token"},
              {"op": "param_add", "param_shape": [1, tokens, hidden], "name": "block0",
               "resampled": resampled}]
    norm = {"op": "layer_norm", "normalized_shape": [hidden]}
    for b in range(depth):
        x = f"block{b}"
        layers += [{**norm, "input": x, "stage": f"block{b}"},
                   {"op": "linear", "out": 3 * hidden, "name": f"qkv{b}"}]
        for i, part in enumerate("qkv"):
            layers += [{"op": "slice", "input": f"qkv{b}", "dim": 2, "start": i * hidden,
                        "stop": (i + 1) * hidden},
                       {"op": "reshape", "shape": ["d0", "d1", heads, head]},
                       {"op": "transpose", "dim0": 1, "dim1": 2, "name": f"{part}{b}"}]
        layers += [{"op": "sdpa", "inputs": [f"q{b}", f"k{b}", f"v{b}"]},
                   {"op": "transpose", "dim0": 1, "dim1": 2},
                   {"op": "reshape", "shape": ["d0", "d1", hidden]},
                   {"op": "linear", "out": hidden},
                   {"op": "add", "with": x, "name": f"attended{b}"},
                   norm, {"op": "linear", "out": mlp}, {"op": "gelu"},
                   {"op": "linear", "out": hidden},
                   {"op": "add", "with": f"attended{b}", "name": f"block{b + 1}"}]
    layers += [{**norm, "stage": "head"}, {"op": "select", "dim": 1, "index": 0},
               {"op": "linear", "out": classes}]
    return {"family": "graph", "name": "vit_b_16", "resolution": 224, "layers": layers}


VIT_B_16 = {"fvcore": (16_867_412_736, 16_491_496), "torch": 35_127_656_448,
            "params": 86_567_656}


def test_vit_b_16_spec_counts_what_the_tools_measured():
    """torchvision's vit_b_16 at 224 px: 86,567,656 params (torchvision's published figure);
    fvcore 0.1.5 with autograd on: 16,867,412,736 flops (conv 115,605,504, per block 2 layer
    norms 1,512,960, projections 348,585,984 + 116,195,328, MLP 929,562,624; final norm 756,480,
    head 768,000), 16,491,496 acts; FlopCounterMode (math attention backend, which counts what
    its CUDA formula counts) 35,127,656,448. Measured by the slow test below."""
    spec = vit_spec()
    fvcore, torch_count = netcalc.count(spec, "fvcore"), netcalc.count(spec, "torch")
    assert (fvcore.flops, fvcore.acts) == VIT_B_16["fvcore"]
    assert torch_count.flops == VIT_B_16["torch"]
    assert fvcore.params == torch_count.params == VIT_B_16["params"]


@pytest.mark.slow
def test_vit_b_16_as_traced():
    """The numbers above, traced: torchvision's vit_b_16 in eval with autograd on."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    import tv

    model = tv.import_torchvision().models.vit_b_16()
    with sdpa_kernel(SDPBackend.MATH):
        flops, acts, torch_flops = traced(model, torch.zeros(1, 3, 224, 224))
    assert (flops, acts) == VIT_B_16["fvcore"] and torch_flops == VIT_B_16["torch"]
    assert sum(p.numel() for p in model.parameters()) == VIT_B_16["params"]


@pytest.mark.slow
def test_vit_b_16_imports_exactly():
    """netcalc import of torchvision's vit_b_16 (torch.export, these ops' converters) counts the
    traced numbers above in both conventions (at 224 px: its position embedding is fixed)."""
    import tv
    from netcalc.torch.importer import import_checked

    model = tv.import_torchvision().models.vit_b_16().eval()
    spec, _ = import_checked(model, (224, 224), "vit_b_16")
    fvcore, torch_count = netcalc.count(spec, "fvcore", 224), netcalc.count(spec, "torch", 224)
    assert (fvcore.flops, fvcore.acts) == VIT_B_16["fvcore"]
    assert torch_count.flops == VIT_B_16["torch"] and fvcore.params == VIT_B_16["params"]
