"""The ATen converters of the sweep's ops, on the calls torch.export really makes.

Each module of tests/test_ops_torch_modules.py is exported (``torch.export``, non-strict, as
``netcalc import`` captures models); every ATen call is described as the importer describes it
(:class:`~netcalc.ops.aten.AtenCall`, arguments named by the op's schema) and converted by the
registry's table. The nodes it gives, counted by netcalc, must give the numbers fvcore (autograd
on) and FlopCounterMode measured on the module: the row's expectation.
"""
import pytest

from netcalc.ops import all_ops
from netcalc.ops.aten import BUFFER, DATA, PARAM, Alias, AtenCall, Node, Parts, Tensor, aten_table

from test_ops_torch_modules import ROWS, Call, measured, netcalc_counts

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402


def _described(value, kinds):
    if isinstance(value, torch.fx.Node):
        shape = tuple(int(d) for d in value.meta["val"].shape)
        return Tensor(shape, kinds.get(value.name, DATA), value.name)
    if isinstance(value, (list, tuple)):
        return tuple(_described(v, kinds) for v in value)
    return value


def aten_calls(module, in_shape):
    """The module's ATen calls as the importer describes them (a test's small stand-in)."""
    program = torch.export.export(module.eval(), (torch.rand(*in_shape),), strict=False)
    signature = program.graph_signature
    kinds = {**{name: PARAM for name in signature.inputs_to_parameters},
             **{name: BUFFER for name in signature.inputs_to_buffers}}
    for node in program.graph.nodes:
        if node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload):
            continue
        named = {}
        for i, argument in enumerate(node.target._schema.arguments):
            if i < len(node.args):
                value = node.args[i]
            else:
                value = node.kwargs.get(argument.name, argument.default_value
                                        if argument.has_default_value() else None)
            named[argument.name] = _described(value, kinds)
        values = node.meta["val"]
        values = values if isinstance(values, (list, tuple)) else (values,)
        outputs = tuple(tuple(int(d) for d in v.shape) for v in values
                        if isinstance(v, torch.Tensor))
        yield AtenCall(node.target._overloadpacket.__name__, node.target._overloadname,
                       tuple(named.values()), named, outputs)


def converted_counts(module, in_shape):
    """netcalc's counts of the nodes the converters make of the module's calls, in a chain."""
    table = aten_table(all_ops())
    totals, shape = [0, 0, 0, 0], tuple(in_shape)
    for call in aten_calls(module, in_shape):
        op, convert = table[call.op]
        result = convert(call)
        if isinstance(result, Parts):
            result = result.outputs[0]
        if isinstance(result, Alias):
            continue
        for node in result if isinstance(result, list) else [result]:
            assert isinstance(node, Node), (call.op, node)
            *counts, shape = netcalc_counts(node.op or op, node.attrs, shape,
                                            operands=max(1, len(node.inputs)))
            totals = [t + c for t, c in zip(totals, counts)]
    return (*totals, shape)


# one row per converter family in the fast tier (an export costs about 0.3 s); all in the slow
FAST_ROWS = ("conv_transpose2d", "conv3d_anisotropic", "maxpool1d", "adaptive_avgpool3d",
             "reflection_pad2d", "instance_norm2d_tracked", "max_values", "pow")


@pytest.mark.parametrize("row", [row if row in FAST_ROWS else pytest.param(
    row, marks=pytest.mark.slow) for row in sorted(ROWS)])
def test_converted_calls_count_what_the_tools_measure(row):
    build, in_shape, op, attrs, expected = ROWS[row]
    assert converted_counts(build(), in_shape) == expected


SAME_BY_NAME = {
    # padding='same' by name: fvcore never sees the conv (aten::_convolution_mode): 0 flops and
    # 0 acts; FlopCounterMode 2 * taps 16 * C_in 4 * numel(out) 210 = 26,880. An even kernel
    # pads its odd unit after: a pad node, then the conv unpadded.
    "even_kernel": (lambda: nn.Conv2d(4, 6, 4, padding="same"), (0, 0, 26_880, 390, (1, 6, 5, 7))),
    "odd_kernel": (lambda: nn.Conv2d(4, 6, 3, padding="same", bias=False),
                   (0, 0, 15_120, 216, (1, 6, 5, 7))),
    # 2 * taps 3 * C_in 4 * numel(out) 6 * 35 = 5,040
    "valid": (lambda: nn.Conv1d(4, 6, 3, padding="valid"), (0, 0, 5_040, 78, (1, 6, 35))),
}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("case", sorted(SAME_BY_NAME))
def test_conv_padded_by_name_is_fvcores_blind_spot(case):
    build, expected = SAME_BY_NAME[case]
    in_shape = (1, 4, 37) if case == "valid" else (1, 4, 5, 7)
    assert converted_counts(build(), in_shape) == expected
    assert measured(build(), in_shape) == expected


def test_stack_and_max_values_convert():
    """``torch.stack`` reads every operand; ``x.max(dim)`` is ``amax`` (its indices unused)."""
    table = aten_table(all_ops())
    calls = list(aten_calls(Call(lambda x: torch.stack([x, x.max(1, keepdim=True)[0]], 1)),
                            (1, 1, 5, 7)))
    results = [table[call.op][1](call) for call in calls]
    assert [call.op for call in calls] == ["max", "stack"]
    assert results[0].outputs[0] == Node({"dim": 1, "keepdim": True}, op="amax")
    assert results[0].outputs[1] is None
    assert results[1].attrs == {"dim": 1} and len(results[1].inputs) == 2


@pytest.mark.slow
def test_timms_eca_gate_imports_exact():
    """timm's EcaModule (a Conv1d over the pooled channels, then ``expand_as`` of the gate to its
    map) imported: conv1d and expand convert, and the counts are fvcore's at two sizes."""
    import netcalc
    import tv
    from netcalc.torch.importer import import_checked

    tv.import_torchvision()
    timm_layers = pytest.importorskip("timm.layers")
    module = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), timm_layers.EcaModule(16),
                           nn.Conv2d(16, 8, 3)).eval()
    spec, _ = import_checked(module, (37, 50), "eca", in_channels=3, symbolic_timeout=30)
    assert [layer["op"] for layer in spec.raw["layers"]] == [
        "conv", "mean", "reshape", "conv", "sigmoid", "reshape", "expand", "mul", "conv"]
    for size in ((37, 50), (64, 65)):
        fvcore, torch_count = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch",
                                                                                size)
        assert (fvcore.flops, fvcore.acts, torch_count.flops, fvcore.params) == \
            measured(module, (1, 3) + size)[:4]
