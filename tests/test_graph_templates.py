"""Block templates (GraphBuilder.cached_block) and the caches of the counting path.

A replayed block must give exactly the nodes that running its body gives: same names, inputs,
shapes, attrs and labels, whatever tensor the block starts from; counts must not depend on
which caches are warm.
"""
import netcalc
from netcalc import caches
from netcalc import graph as graph_module
from netcalc.count import count_graph
from netcalc.graph import GraphBuilder
from netcalc.rules import get_convention
from reference_numbers import REGNETX_800MF


def bottleneck(b: GraphBuilder) -> None:
    x = b.current
    b.conv(8, 1, name="a")
    b.bn(name="a_bn")
    b.act("relu", name="a_relu")
    b.conv(8, 3, name="b")
    b.add(x, name="add")


def build(use_templates: bool, start_from_earlier: bool) -> tuple:
    b = GraphBuilder("t", 8, 12)
    with b.scope(stage="stem"):
        b.conv(8, 3, name="stem")
        b.act("relu")
    first = b.current
    with b.scope(stage="s1"):
        for j in range(4):
            if start_from_earlier and j == 3:
                b.current = first        # the block reads a tensor that is not the last node
            label = f"s1.b{j + 1}"
            if use_templates:
                b.cached_block(("bottleneck", 8), lambda: bottleneck(b), block=label)
            else:
                with b.scope(block=label):
                    bottleneck(b)
    return b.build().layers


def test_replayed_blocks_equal_the_blocks_they_stand_for():
    for start_from_earlier in (False, True):
        caches.clear()
        direct = build(False, start_from_earlier)
        recorded = build(True, start_from_earlier)      # records the template, then replays
        replayed = build(True, start_from_earlier)      # every block from the template
        assert recorded == direct and replayed == direct
        # the fourth block's input: node 1 (the stem's relu) when it starts from there
        expected = 1 if start_from_earlier else 16
        assert direct[17].name == "s1.b4.a" and direct[17].inputs == (expected,)
        assert direct[21].inputs == (20, expected)      # the residual add reads the block input


def test_a_block_reading_another_tensor_is_run_not_replayed():
    caches.clear()

    def reads_the_stem(b: GraphBuilder) -> None:
        b.conv(8, 1, name="a")
        b.add(0, name="add")                     # node 0: outside the block

    def run() -> tuple:
        b = GraphBuilder("t", 8, 12)
        b.conv(8, 3, name="stem")
        b.act("relu")                            # so node 0 is no block's input
        for j in range(3):
            b.cached_block("reads_the_stem", lambda: reads_the_stem(b), block=f"b{j}")
        return b.build().layers

    layers = run()
    assert run() == layers
    assert [n.inputs for n in layers[2:]] == [(1,), (2, 0), (3,), (4, 0), (5,), (6, 0)]
    assert all(t is graph_module._UNREPLAYABLE for t in caches._templates.values())


def test_counts_do_not_depend_on_warm_caches():
    expected = REGNETX_800MF         # RegNetX-800MF in pycls (tests/reference_numbers.py)
    spec = netcalc.load_spec("regnetx_800mf")
    caches.clear()
    cold = netcalc.count(spec)
    warm = netcalc.count(spec)
    caches.expansions.clear()                    # templates and template-node costs kept
    rebuilt = netcalc.count(spec)
    for report in (cold, warm, rebuilt):
        assert (report.flops, report.params, report.acts) == expected
    conv = get_convention("fvcore")
    graph = netcalc.expand(spec)
    assert count_graph(graph, conv) == count_graph(graph, conv, reuse=False)
