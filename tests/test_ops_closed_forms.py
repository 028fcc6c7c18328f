"""Closed forms of the graphs that use the new ops equal their concrete counts.

The closed form comes from expanding the spec at the sympy symbol r and counting with the same
rules; a concrete count expands at an int. They can only agree at every resolution if every new
op's shape inference and rules treat ints and sympy sizes alike (floors, reshapes' -1, concat
sums, upsampling products, slices counted from the end).
"""
import pytest

import netcalc
from netcalc.symbolic.closed_form import count_symbolic

from new_op_specs import CASES, spec

pytest.importorskip("sympy")

NETWORKS = ("specs/examples/mobilenetv3_small_blocks.yaml", "specs/examples/densenet_block.yaml")
SQUARES = (17, 20, 23, 32, 41)
SPECS = {**{op: spec(op) for op in CASES}, **{path.split("/")[-1]: path for path in NETWORKS}}


@pytest.mark.parametrize("convention", ["pycls", "fvcore", "torch"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_closed_form_equals_concrete_counts(name, convention):
    closed = count_symbolic(SPECS[name], convention)
    for r in SQUARES:
        assert closed.accepts(r), (name, r)
        report = netcalc.count(SPECS[name], convention, r)
        for quantity in ("flops", "params", "acts"):
            assert closed.evaluate(closed.total(quantity), r) == getattr(report, quantity), \
                (name, convention, r, quantity)


RECTANGLES = ((17, 26), (24, 19), (33, 40))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_closed_form_in_h_and_w_equals_concrete_counts(name):
    """The spec expanded at two independent symbols h and w, counted by the same rules, gives the
    concrete count at three rectangular resolutions (sympy evaluates the floors exactly)."""
    import sympy

    from netcalc.count import count_graph
    from netcalc.rules import get_convention
    from netcalc.spec import expand_checked, load_spec

    h, w = sympy.symbols("h w", integer=True, positive=True)
    loaded = load_spec(SPECS[name])
    graph = expand_checked(loaded, (h, w))
    for convention in ("pycls", "fvcore", "torch"):
        totals = [sum(column) for column in zip(*count_graph(graph, get_convention(convention)))]
        for resolution in RECTANGLES:
            report = netcalc.count(loaded, convention, resolution)
            exact = [int(sympy.sympify(t).subs({h: resolution[0], w: resolution[1]}))
                     for t in totals]
            assert exact == [report.flops, report.params, report.acts], (name, convention,
                                                                         resolution)


def test_slice_of_a_spatial_dim_bounds_the_domain():
    """The slice case keeps rows 1..h-2 (h >= 3) and columns 0..4 (w >= 5): its closed form
    accepts exactly the resolutions a concrete count accepts."""
    closed = count_symbolic(SPECS["slice"], "fvcore")
    assert [r for r in range(1, 9) if closed.accepts(r)] == [5, 6, 7, 8]
    with pytest.raises(netcalc.SpecError, match=r"layers\[5\]\.stop: .*size 4"):
        netcalc.count(SPECS["slice"], "fvcore", 4)
