"""Every registered op, both directions: its example is built as netcalc's own torch module
(``op.torch``), imported back through torch.export, and the imported nodes of that module cost
what the op's own rules say, in every convention.

The test is parametrized over the registry, so a new op is covered by adding it. A 4-d example
with batch 1 is imported as the image it is (h and w symbolic); any other example (a token
tensor, several operands) is fed as one flat (1, 1, 1, n) input that the wrapper slices and
reshapes into the operands (free in every convention), imported at that one size.
"""
import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import netcalc  # noqa: E402
from netcalc.ops import all_ops  # noqa: E402
from netcalc.rules import get_convention  # noqa: E402
from netcalc.torch.importer import import_checked  # noqa: E402
from netcalc.torch.modules import Function  # noqa: E402

CONVENTIONS = ("pycls", "fvcore", "torch")
# ops whose example cannot come back through an import, and why (keep this short)
CANNOT_ROUND_TRIP: dict = {
    "param": "its output ignores the input, so a model of it alone imports to no node (param "
             "nodes come from the converters of ops reading a parameter, expand, index, clamp..."
             ": tests/test_ops_transformer.py)",
    "constant": "its output is built from sizes alone, so a model of it alone imports to no node "
                "(a constant comes in as an operand of the op reading it, Swin's shifted-window "
                "mask: tests/test_ops_transformer.py)",
    "input": "netcalc's module of it builds the further input from the first one's sizes, so a "
             "model of it alone imports to no node (a further input comes from a forward of "
             "several inputs: tests/test_import_capture.py)",
}
FAST = ("conv", "bn", "linear", "upsample", "concat", "param_mul")


class FromFlat(nn.Module):
    """Cuts one flat input into the op's operands, then applies the op (submodule ``op``)."""

    def __init__(self, op: nn.Module, shapes):
        super().__init__()
        self.op = op
        self.shapes = [tuple(s) for s in shapes]

    def forward(self, flat):
        operands, start = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            operands.append(flat[0, 0, 0, start:start + size].reshape(shape))
            start += size
        return torch.relu(self.op(*operands))     # a node after it: some ops leave none


class Image(nn.Module):
    """The op as submodule ``op`` of a model of one (1, C, H, W) input."""

    def __init__(self, op: nn.Module):
        super().__init__()
        self.op = op

    def forward(self, x):
        return torch.relu(self.op(x))     # a node after it: some ops leave none


def expected_costs(op, ins, out, attrs, convention):
    table = get_convention(convention).table()[op.name]
    return tuple(rule(ins, out, attrs) for rule in table)


def imported(name):
    op = all_ops()[name]
    ins, attrs = op.example()
    out = op.infer_shape(ins, attrs)
    built = op.torch(ins, out, attrs)
    built = built if isinstance(built, nn.Module) else Function(built, name)
    if len(ins) == 1 and len(ins[0]) == 4 and ins[0][0] == 1:
        module, resolution, channels, timeout = Image(built), tuple(ins[0][2:]), ins[0][1], 20.0
    else:
        total = sum(math.prod(s) for s in ins)
        module, resolution, channels, timeout = FromFlat(built, ins), (1, total), 1, 0
    spec, _ = import_checked(module.eval(), resolution, name, in_channels=channels,
                             symbolic_timeout=timeout)
    return op, ins, out, attrs, spec


def assert_round_trips(name):
    if name in CANNOT_ROUND_TRIP:
        pytest.skip(CANNOT_ROUND_TRIP[name])
    op, ins, out, attrs, spec = imported(name)
    for convention in CONVENTIONS:
        report = netcalc.count(spec, convention)
        mine = [cost for layer, cost in zip(report.graph.layers, report.costs)
                if layer.name == "op" or layer.name.startswith(("op.", "op-"))]
        total = tuple(sum(column) for column in zip(*mine)) if mine else (0, 0, 0)
        assert total == expected_costs(op, ins, out, attrs, convention), (convention, spec.raw)


@pytest.mark.parametrize("name", FAST)
def test_a_handful_of_ops_round_trip(name):
    assert_round_trips(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(all_ops()))
def test_every_registered_op_round_trips(name):
    assert_round_trips(name)
