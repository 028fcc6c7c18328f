"""The import facet of the op registry (netcalc/ops/aten.py), torch-free: the ATen table the
importer is generated from, and converters on hand-written call descriptions."""
import pytest

from netcalc.ops import all_ops
from netcalc.ops.aten import (DATA, PARAM, AtenCall, Dim, Node, NotModelled, Tensor, aten_table,
                              lookup, reshape_target, same_size, scale_between)


def call(op, overload="default", outputs=((1, 8, 4, 4),), **named):
    return AtenCall(op, overload, tuple(named.values()), named, outputs)


def test_every_packet_belongs_to_one_op_and_in_place_forms_fall_back():
    table = aten_table(all_ops())
    assert table["conv2d"][0] == "conv" and table["hardtanh"][0] == "relu6"
    assert lookup(table, "relu_")[0] == "relu" and lookup(table, "no_such_op") is None


def test_a_packet_listed_by_two_ops_is_refused():
    class Twin:
        aten = {"conv2d": None}

    with pytest.raises(ValueError, match="'conv2d' is imported by both 'conv' and 'twin'"):
        aten_table({**all_ops(), "twin": Twin()})


def test_conv_reads_its_weight_or_a_computed_one_as_its_second_operand():
    convert = aten_table(all_ops())["conv2d"][1]
    x = Tensor((1, 4, 9, 9))
    node = convert(call("conv2d", input=x, weight=Tensor((8, 2, 3, 3), PARAM), bias=None,
                        stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=2))
    assert node == Node({"out": 8, "kernel": 3, "stride": 2, "padding": 1, "groups": 2})
    computed = Tensor((8, 4, 3, 3), DATA, "standardised")
    node = convert(call("conv2d", input=x, weight=computed, bias=None, stride=[1, 1],
                        padding=[0, 0], dilation=[1, 1], groups=1))
    assert node == Node({"out": 8, "kernel": 3, "stride": 1, "padding": 0,
                         "weight_input": True}, inputs=(x, computed))


def test_sizes_that_follow_the_input_compare_by_rule():
    h, half = Dim(224, "h"), Dim(112, "h//2")
    assert same_size(h, Dim(224, "h")) and not same_size(h, 224) and not same_size(h, half)
    assert scale_between(224, 112) == 2 and scale_between(h, half) is None
    assert reshape_target((1, 8, half, half), (1, 8, Dim(12544, "h//2*h//2"))) == [1, 8, -1]
    assert reshape_target((1, 8, half, Dim(5, "w")), (1, 2, 4, half, Dim(5, "w"))) == \
        [1, 2, 4, "d2", "d3"]


def test_a_shared_node_counts_flops_and_acts_not_params():
    """``shares``: a conv run twice (3->3, 3x3, bias, 8x8 map): params 81 + 3 once; flops and
    acts at both calls (torch: 2 * 81 MACs * 64 positions each)."""
    import netcalc
    from netcalc.errors import SpecError

    conv = {"op": "conv", "out": 3, "kernel": 3, "bias": True}
    spec = netcalc.load_spec({"family": "graph", "name": "s", "resolution": 8, "in_channels": 3,
                              "layers": [{"name": "c", **conv},
                                         {"name": "c-2", "shares": "c", **conv}]})
    report = netcalc.count(spec, "torch")
    assert (report.flops, report.params, report.acts) == (2 * 2 * 81 * 64, 84, 2 * 3 * 64)
    with pytest.raises(SpecError, match="layers\\[1\\].shares: 'c' is not an earlier relu layer"):
        netcalc.load_spec({"family": "graph", "name": "s", "resolution": 8, "in_channels": 3,
                           "layers": [{"name": "c", **conv}, {"op": "relu", "shares": "c"}]})
