"""Closed forms of the graphs that use the new ops equal their concrete counts.

The closed form comes from expanding the spec at the sympy symbol r and counting with the same
rules; a concrete count expands at an int. They can only agree at every resolution if every new
op's shape inference and rules treat ints and sympy sizes alike (floors, reshapes' -1, concat
sums, upsampling products, slices counted from the end).
"""
import pytest

import netcalc
from netcalc.symbolic.closed_form import count_symbolic

from new_op_specs import CASES, NETWORKS, OUTSIDE_CLOSED_FORMS, spec, tier

SQUARES = (17, 20, 23, 32, 41)
SPECS = {**{op: spec(op) for op in CASES if op not in OUTSIDE_CLOSED_FORMS},
         **{path.split("/")[-1]: path for path in NETWORKS}}


def refused(name, convention, axes="r"):
    """fvcore prices an einsum from numpy's printed cost, rounded to 4 significant digits: no
    closed form, and netcalc says so (netcalc/ops/einsum.py)."""
    if (name, convention) != ("einsum", "fvcore"):
        return False
    with pytest.raises(netcalc.SpecError, match="rounded to 4 significant digits"):
        count_symbolic(SPECS[name], convention, axes)
    return True


@pytest.mark.parametrize("convention", ["pycls", "fvcore", "torch"])
@pytest.mark.parametrize("name", [tier(name) for name in sorted(SPECS)])
def test_closed_form_equals_concrete_counts(name, convention):
    if refused(name, convention):
        return
    closed = count_symbolic(SPECS[name], convention)
    for r in SQUARES:
        assert closed.accepts(r), (name, r)
        report = netcalc.count(SPECS[name], convention, r)
        for quantity in ("flops", "params", "acts"):
            assert closed.evaluate(closed.total(quantity), r) == getattr(report, quantity), \
                (name, convention, r, quantity)


RECTANGLES = ((17, 26), (24, 19), (33, 40))


@pytest.mark.parametrize("convention", ["pycls", "fvcore", "torch"])
@pytest.mark.parametrize("name", [tier(name) for name in sorted(SPECS)])
def test_closed_form_in_h_and_w_equals_concrete_counts(name, convention):
    if refused(name, convention, "hw"):
        return
    closed = count_symbolic(SPECS[name], convention, axes="hw")
    for resolution in RECTANGLES:
        assert closed.accepts(resolution), (name, resolution)
        report = netcalc.count(SPECS[name], convention, resolution)
        for quantity in ("flops", "params", "acts"):
            assert closed.evaluate(closed.total(quantity), resolution) == \
                getattr(report, quantity), (name, convention, resolution, quantity)


def test_slice_of_a_spatial_dim_bounds_the_domain():
    """The slice case keeps rows 1..h-2 (h >= 3) and columns 0..4 (w >= 5): its closed forms
    accept exactly the resolutions a concrete count accepts."""
    closed = count_symbolic(SPECS["slice"], "fvcore")
    assert [r for r in range(1, 9) if closed.accepts(r)] == [5, 6, 7, 8]
    closed_hw = count_symbolic(SPECS["slice"], "fvcore", axes="hw")
    assert [(h, w) for h in range(1, 7) for w in range(1, 7) if closed_hw.accepts((h, w))] == \
        [(h, w) for h in range(3, 7) for w in range(5, 7)]
    with pytest.raises(netcalc.SpecError, match=r"layers\[5\]\.stop: .*size 4"):
        netcalc.count(SPECS["slice"], "fvcore", 4)


@pytest.mark.parametrize("name", sorted(OUTSIDE_CLOSED_FORMS))
def test_a_size_outside_closed_forms_is_a_clear_refusal(name):
    """TF 'same' padding of a window shorter than its stride pads 1 or 0 by the size's residue:
    a product of floors, no canonical side. Closed forms say so, naming the layer."""
    with pytest.raises(netcalc.SpecError, match=rf"layer {OUTSIDE_CLOSED_FORMS[name]}: pad: "
                                                r"closed forms cover sizes floor\(\(r \+ c\)/m\)"):
        count_symbolic(spec(name), "fvcore")


def test_an_upsample_only_where_resized_leaves_the_unchanged_sizes_out_of_the_domain():
    """The closed form counts the resize; at sides 28 to 31 (a 7 x 7 map) the model skips it,
    so the closed form's domain leaves them out and says so."""
    closed = count_symbolic(SPECS["upsample_if_resized"], "fvcore")
    assert [r for r in range(24, 36) if not closed.accepts(r)] == [28, 29, 30, 31]
    assert "floor(r/4) != 7" in closed.domain
    closed_hw = count_symbolic(SPECS["upsample_if_resized"], "fvcore", axes="hw")
    assert not closed_hw.accepts((28, 31)) and closed_hw.accepts((28, 32))
    assert closed_hw.evaluate(closed_hw.total("flops"), (28, 32)) == \
        netcalc.count(SPECS["upsample_if_resized"], "fvcore", (28, 32)).flops


def test_an_upsample_only_where_resized_between_constant_sizes_assumes_nothing():
    # after the case's resize, a 7 x 7 pooled map "resized" to 7 x 7: skipped at every size,
    # counted exactly (0), and the closed form needs no condition for it, only the first's
    layers = [dict(layer) for layer in CASES["upsample_if_resized"]]
    layers[2:2] = [{"op": "adaptive_avgpool", "output_size": 7},
                   {"op": "upsample", "mode": "bilinear", "size": [7, 7], "only_if_resized": True}]
    closed = count_symbolic({**spec("upsample_if_resized"), "layers": layers}, "fvcore")
    assert [r for r in range(24, 36) if not closed.accepts(r)] == [28, 29, 30, 31]
    assert closed.domain.count("!=") == 1
