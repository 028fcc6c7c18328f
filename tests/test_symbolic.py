"""Closed forms in the resolution r (netcalc.symbolic) against concrete counts.

The reference for every closed form is netcalc's own concrete count at the same resolution
(itself checked against published figures and fvcore elsewhere): a closed form is right when it
equals the count at every resolution, including ones no stride divides (161, 225, 257) and the
smallest one the network accepts.
"""
import glob
import json
import os

import pytest
import sympy

import netcalc
from netcalc.report import QUANTITIES
from netcalc.rules import CONVENTIONS
from netcalc.symbolic import R, Side, count_symbolic
from netcalc.symbolic.render import to_dict

from conftest import ROOT, run_cli, spec_path, tiered
from reference_numbers import REGNETX_800MF

SPECS = sorted(os.path.relpath(p, ROOT) for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
               for p in glob.glob(os.path.join(ROOT, pattern)))
ODD_AND_EVEN = (161, 224, 225, 257)


def resolutions(form):
    return sorted({form.min_resolution, form.min_resolution + 1, *ODD_AND_EVEN})


def concrete(path, convention, r):
    return netcalc.count(spec_path(path), convention, r)


def test_every_shipped_spec_is_covered():
    # 30 RegNet/ResNet/ResNeXt zoo specs at least, plus the examples; the EfficientNet and
    # ReXNet specs join through the glob.
    assert len(SPECS) >= 33 and "specs/regnetx_800mf.yaml" in SPECS


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize("path", tiered(SPECS))
def test_closed_form_equals_concrete_counts(path, convention):
    form = count_symbolic(spec_path(path), convention)
    for r in resolutions(form):
        report = concrete(path, convention, r)
        assert {q: form.evaluate(form.total(q), r) for q in QUANTITIES} == report.totals(), r
        by_stage = [{q: form.evaluate(row[q], r) for q in QUANTITIES} for row in form.rows("stage")]
        assert by_stage == [{q: row[q] for q in QUANTITIES} for row in report.breakdown("stage")]


@pytest.mark.parametrize("path", tiered(SPECS))
def test_json_strings_sympify_to_the_counts(path):
    # docs/closed_forms.md: with --symbolic, "flops", "params", "acts" are strings sympy.sympify parses,
    # in the symbol r, exact for every accepted r; "polynomial" holds when the stride divides r.
    form = count_symbolic(spec_path(path), "pycls")
    out = json.loads(json.dumps(to_dict(form, "total", QUANTITIES)))
    r = sympy.Symbol("r")
    exact = {q: sympy.sympify(out[q]) for q in QUANTITIES}
    poly = {q: sympy.sympify(out["polynomial"][q]) for q in QUANTITIES}
    for value in ODD_AND_EVEN:
        assert {q: int(e.subs(r, value)) for q, e in exact.items()} == \
            concrete(path, "pycls", value).totals()
    stride = out["total_stride"]
    for k in (5, 7):
        value = stride * k
        assert {q: e.subs(r, value) for q, e in poly.items()} == \
            concrete(path, "pycls", value).totals()


@pytest.mark.parametrize("path", tiered(SPECS))
def test_polynomial_form_breaks_only_off_the_stride(path):
    # The polynomial form is exact on multiples of the total stride and, for a strided network,
    # wrong at some other resolution (else the floors would be pointless).
    form = count_symbolic(spec_path(path), "pycls")
    flops = form.total("flops")
    poly = form.polynomial(flops)
    assert poly.free_symbols <= {R} and not poly.has(sympy.floor, sympy.ceiling)
    off = [r for r in range(form.min_resolution, 260) if poly.subs(R, r) != form.evaluate(flops, r)]
    if form.total_stride == 1:
        assert off == []
    else:
        assert off and all(r % form.total_stride for r in off)


@pytest.mark.parametrize("path", ["specs/regnetx_800mf.yaml", "specs/resnet50.yaml",
                                  "specs/examples/tiny_cnn.yaml", "specs/efficientnet_b0.yaml"])
def test_the_core_path_itself_is_symbolic(path):
    # netcalc.count at the symbol r (nested floors, no canonical rewriting) gives the same values.
    raw = netcalc.count(spec_path(path), "fvcore", resolution=R)
    form = count_symbolic(spec_path(path), "fvcore")
    for r in (form.min_resolution, 97, 225):
        for q in QUANTITIES:
            assert int(sympy.sympify(getattr(raw, q)).subs(R, r)) == form.evaluate(form.total(q), r)


# -- hand-derived closed forms ---------------------------------------------------------------------
def test_regnetx_800mf_by_hand():
    form = count_symbolic(spec_path("specs/regnetx_800mf.yaml"))
    h = {s.name: s.atom for s in form.sides}
    flops = sympy.Poly(form.total("flops"), *(h[n] for n in ("h2", "h4", "h8", "h16", "h32")))
    # Stem 3x3 conv 3->32 at ceiling(r/2): 9*3*32 = 864 per position; block s1.b1's 1x1 conv
    # 32->64 also runs at ceiling(r/2) (the stride sits on the 3x3): 2048. 864 + 2048 = 2912.
    assert flops.coeff_monomial(h["h2"] ** 2) == 2912
    # Head: FC 672 -> 1000 with bias: 672*1000 + 1000 = 673000, independent of r.
    assert flops.coeff_monomial(1) == 673_000
    # At 224 (a multiple of 32) the polynomial gives the reference flops (reference_numbers.py).
    assert form.polynomial(form.total("flops")) == sympy.Rational(31849, 2) * R ** 2 + 673_000
    assert form.evaluate(form.total("flops"), 224) == REGNETX_800MF.flops
    assert form.total("params") == REGNETX_800MF.params and form.total_stride == 32


def test_resnet50_polynomial_by_hand():
    # 224 = 32*7: 81456*224**2 + 2049000 = 4,089,185,256 (published 4.1 GF); 2,049,000 is the
    # 2048->1000 FC with bias.
    form = count_symbolic(spec_path("specs/resnet50.yaml"))
    assert form.polynomial(form.total("flops")) == 81456 * R ** 2 + 2_049_000
    assert form.evaluate(form.total("flops"), 224) == 4_089_185_256


@pytest.mark.parametrize("chain, side", [
    # ResNet stem 7x7/2 pad 3 then 3x3/2 pad 1 max-pool: (r-1)//2 + 1 = ceil(r/2), then ceil(r/4)
    ([(7, 2, 3), (3, 2, 1)], Side(4, 3, 0)),
    # a valid 3x3/2 conv: (r-3)//2 + 1 = floor((r+1)/2) - 1
    ([(3, 2, 0)], Side(2, 1, -1)),
    # valid 3x3/1 twice: r - 4
    ([(3, 1, 0), (3, 1, 0)], Side(1, 0, -4)),
    # 2x2/2 pool then 3x3/2 pad 1: floor(r/2), then ceil(floor(r/2)/2) = floor((r+2)/4)
    ([(2, 2, 0), (3, 2, 1)], Side(4, 2, 0)),
])
def test_canonical_sides(chain, side):
    from netcalc.ops.spatial import window_out

    size = R
    for kernel, stride, padding in chain:
        size = window_out(size, kernel, stride, padding)
    assert Side.of(size) == side
    for r in range(side.min_resolution(), 80):
        concrete_size = r
        for kernel, stride, padding in chain:
            concrete_size = window_out(concrete_size, kernel, stride, padding)
        assert side.at(r) == concrete_size
    assert side.min_resolution() == 1 or side.at(side.min_resolution() - 1) < 1


@pytest.mark.parametrize("path, smallest", [
    # tiny_cnn: 2x2/2 max-pool without padding needs r >= 2.
    ("specs/examples/tiny_cnn.yaml", 2),
    # se_mobile_block: 3x3/2 stem gives ceil(r/2); the 2x2/2 avg-pool needs ceil(r/2) >= 2.
    ("specs/examples/se_mobile_block.yaml", 3),
])
def test_smallest_resolution(path, smallest):
    form = count_symbolic(spec_path(path))
    assert form.min_resolution == smallest and form.domain == f"r >= {smallest}"
    concrete(path, "pycls", smallest)
    with pytest.raises(netcalc.SpecError):
        concrete(path, "pycls", smallest - 1)


def _graph(resolution, layers):
    return {"family": "graph", "resolution": resolution, "layers": layers}


@pytest.mark.parametrize("spec, accepted", [
    # a linear of 4 input features after flattening a 4-channel 3x3 valid conv: only r = 3
    (_graph(3, [{"op": "conv", "out": 4, "kernel": 3, "padding": 0}, {"op": "flatten"},
               {"op": "linear", "out": 2, "in_features": 4}]), 1),
    # ceil(r/2) (3x3/2 pad 1) added to floor(r/2) (2x2/2 pad 0): only even r
    (_graph(8, [{"op": "conv", "name": "a", "out": 4, "kernel": 3, "stride": 2},
               {"op": "conv", "name": "b", "input": "a", "out": 4, "kernel": 1},
               {"op": "conv", "name": "c", "input": "a", "out": 4, "kernel": 1},
               {"op": "conv", "name": "d", "input": "b", "out": 4, "kernel": 2, "stride": 2,
                "padding": 0},
               {"op": "conv", "name": "e", "input": "c", "out": 4, "kernel": 3, "stride": 2},
               {"op": "add", "input": "d", "with": "e"}]), 19),
])
def test_shape_conditions_match_the_builder(spec, accepted):
    # Hand-written graphs can accept only some resolutions; the closed form says which, and
    # agrees with the concrete builder (which refuses the others) at every r tried. Where a
    # side happens to be 1 the builder broadcasts it as torch does (r = 5 above: 1 + 2): that
    # is another formula, so the closed form may refuse r the builder accepts, never the reverse.
    form = count_symbolic(spec)
    assert form.conditions
    agreed = 0
    for r in range(1, 40):
        try:
            report = netcalc.count(spec, "pycls", r)
        except netcalc.SpecError:
            assert not form.accepts(r), r
        else:
            if form.accepts(r):
                agreed += 1
                assert form.evaluate(form.total("flops"), r) == report.flops
    assert agreed == accepted        # r = 3 only; every even r
    # the domain in words (issue 19), not sympy's Eq(...): ceil(r/2) even is r = 0 or 3 mod 4;
    # a condition that is not periodic in r stays an equation
    assert form.domain == {1: "r >= 3 and (r - 2)*(4*r - 8) = 4",
                           19: "r >= 3 and r mod 4 is 0 or 3"}[accepted]


def test_a_periodic_condition_is_a_residue_in_words():
    import sympy

    from netcalc.symbolic.closed_form import condition_words
    from netcalc.symbolic.sides import R

    assert condition_words(sympy.Eq(8 * sympy.floor(R / 8), R)) == "r a multiple of 8"
    # nested floors repeat with the product of their periods: floor(floor(r/2)/2) every 4
    assert condition_words(sympy.Eq(4 * sympy.floor(sympy.floor(R / 2) / 2), R)) == \
        "r a multiple of 4"


# -- the command line ----------------------------------------------------------------------------
def test_cli_symbolic_json():
    result = run_cli("count", "specs/regnetx_800mf.yaml", "--symbolic", "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["resolution"] == "r" and out["total_stride"] == 32
    assert sympy.sympify(out["flops"]).subs(sympy.Symbol("r"), 224) == REGNETX_800MF.flops
    assert [row["name"] for row in out["breakdown"]] == ["stem", "s1", "s2", "s3", "s4", "head"]
    assert out["polynomial"]["flops"] == "31849*r**2/2 + 673000"


def test_cli_symbolic_table_and_csv():
    table = run_cli("flops", "specs/resnet50.yaml", "--symbolic")
    assert table.returncode == 0, table.stderr
    assert "h4 = ceiling(r/4)" in table.stdout and "81456*r**2 + 2049000" in table.stdout
    csv_out = run_cli("params", "specs/resnet50.yaml", "--symbolic", "--format", "csv")
    header, row = csv_out.stdout.splitlines()
    assert header.endswith("params,params_polynomial") and row.endswith("25557032,25557032")


def test_cli_symbolic_refuses_a_resolution():
    result = run_cli("count", "specs/resnet50.yaml", "--symbolic", "--resolution", "224")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --resolution:") and len(result.stderr.splitlines()) == 1
