"""`netcalc solve` (budgets solved for r, width, phi) and `netcalc trends` (fits).

Every solve answer is checked here against netcalc.count directly, one step on either side:
the largest value must fit the budget and the next one (r + 1, r + multiple, or the next float)
must not.
"""
import json
import math
import subprocess
import sys

import pytest

import netcalc
from netcalc.symbolic.solve import Budget, solve
from netcalc.symbolic.trends import PAPER, TrendPoint, fit, mean_relative_error

from conftest import ROOT, run_cli, spec_path


def fits(counts, limits):
    return all(counts[q] <= limit for q, limit in limits.items())


def concrete(path, r, convention="pycls"):
    return netcalc.count(spec_path(path), convention, r).totals()


R_CASES = [
    ("specs/regnetx_800mf.yaml", {"flops": 600_000_000}, "pycls"),
    ("specs/regnetx_800mf.yaml", {"acts": 3_000_000}, "fvcore"),
    ("specs/resnet50.yaml", {"flops": 2_000_000_000, "acts": 8_000_000}, "pycls"),
    ("specs/efficientnet_b0.yaml", {"flops": 600_000_000}, "torch"),
    ("specs/rexnet_1.0.yaml", {"flops": 250_000_000}, "pycls"),
    ("specs/regnety_200mf.yaml", {"flops": 10_000_000_000}, "pycls"),
    ("specs/examples/tiny_cnn.yaml", {"flops": 5_000_000}, "pycls"),
    ("specs/examples/se_mobile_block.yaml", {"acts": 100_000}, "pycls"),
]


@pytest.mark.parametrize("path, limits, convention", R_CASES)
def test_resolution_answers_one_step_either_side(path, limits, convention):
    s = solve(spec_path(path), Budget(limits), "r", convention)
    assert s.within.counts == concrete(path, s.within.value, convention)
    assert fits(s.within.counts, limits)
    assert s.over.value == s.within.value + 1
    assert not fits(concrete(path, s.within.value + 1, convention), limits)


@pytest.mark.parametrize("path, limits, convention", R_CASES[:2] + R_CASES[-2:])
def test_resolution_answer_is_the_largest(path, limits, convention):
    # Brute force with concrete counts over a window well past the answer: nothing larger fits
    # (the floors make counts jump, but never fall).
    s = solve(spec_path(path), Budget(limits), "r", convention)
    window = range(max(1, s.within.value - 40), s.within.value + 120)
    fitting = [r for r in window if fits(concrete(path, r, convention), limits)]
    assert max(fitting) == s.within.value


def test_regnetx_800mf_600m_by_hand():
    # 192 = 32*6: the polynomial form gives 31849/2 * 192**2 + 673000 = 587,713,768 flops.
    # At 193 every side rounds up (ceil(193/32) = 7 instead of 6): 2912*97**2 + 23552*49**2 +
    # 182272*25**2 + 1598976*13**2 + 4741632*7**2 + 673000 = 701,107,272 > 600M.
    s = solve(spec_path("specs/regnetx_800mf.yaml"), Budget({"flops": 600_000_000}))
    assert (s.within.value, s.within.counts["flops"]) == (192, 587_713_768)
    assert s.over.counts["flops"] == 2912 * 97**2 + 23552 * 49**2 + 182272 * 25**2 + \
        1598976 * 13**2 + 4741632 * 7**2 + 673000 == 701_107_272


def test_multiple_of():
    limits = {"flops": 2_000_000_000}
    s = solve(spec_path("specs/resnet50.yaml"), Budget(limits), "r", multiple_of=32)
    assert s.within.value % 32 == 0 and s.over.value == s.within.value + 32
    assert fits(concrete("specs/resnet50.yaml", s.within.value), limits)
    assert not fits(concrete("specs/resnet50.yaml", s.over.value), limits)


def test_nothing_fits_and_everything_fits():
    tight = solve(spec_path("specs/regnetx_800mf.yaml"), Budget({"params": 7_000_000}))
    # params do not depend on r: 7,259,656 > 7M at every r, so the smallest r is already over.
    assert tight.within is None and tight.over.value == 1
    loose = solve(spec_path("specs/examples/tiny_cnn.yaml"), Budget({"flops": 10**15}))
    # TinyCNN at the 8192 limit: 1328*8192**2 + 330 flops (polynomial form, 8192 = 4*2048).
    assert loose.over is None and loose.within.value == 8192
    assert loose.within.counts["flops"] == 1328 * 8192**2 + 330


@pytest.mark.parametrize("path, variable, limits", [
    ("specs/rexnet_1.0.yaml", "width", {"flops": 600_000_000}),
    ("specs/rexnet_1.3.yaml", "width", {"params": 5_000_000}),
    ("specs/examples/efficientnet_phi3.yaml", "phi", {"flops": 1_800_000_000}),
    ("specs/examples/efficientnet_phi3.yaml", "phi", {"flops": 600_000_000, "acts": 9_500_000}),
])
def test_width_and_phi_answers_are_adjacent_floats(path, variable, limits):
    s = solve(spec_path(path), Budget(limits), variable)
    key = {"width": "width_mult", "phi": "phi"}[variable]
    assert math.nextafter(s.within.value, math.inf) == s.over.value
    raw = netcalc.load_spec(spec_path(path)).raw
    for point, inside in ((s.within, True), (s.over, False)):
        counts = netcalc.count({**raw, key: point.value}).totals()
        assert counts == point.counts and fits(counts, limits) is inside
    assert s.step and s.step != "no change in the graph"


def test_width_where_the_spec_cannot_scale():
    with pytest.raises(netcalc.SpecError, match="width_mult"):
        solve(spec_path("specs/regnetx_800mf.yaml"), Budget({"flops": 1}), "width")


# -- command line ----------------------------------------------------------------------------------
def test_cli_solve_table_and_json():
    table = run_cli("solve", "specs/regnetx_800mf.yaml", "--flops", "600M")
    assert table.returncode == 0, table.stderr
    assert "largest within  192  587,713,768" in table.stdout
    out = json.loads(run_cli("solve", "specs/rexnet_1.0.yaml", "--flops", "600M", "--for",
                             "width", "--format", "json").stdout)
    assert out["for"] == "width_mult" and out["budget"] == {"flops": 600_000_000}
    assert out["within"]["flops"] <= 600_000_000 < out["over"]["flops"]


def test_cli_solve_exit_codes():
    nothing = run_cli("solve", "specs/regnetx_800mf.yaml", "--params", "7M")
    assert nothing.returncode == 1 and "largest within  none" in nothing.stdout
    for args in (["--flops", "6OOM"], [], ["--flops", "1G", "--for", "phi"],
                 ["--flops", "1G", "--for", "width", "--multiple-of", "8"]):
        bad = run_cli("solve", "specs/regnetx_800mf.yaml", *args)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and \
            len(bad.stderr.splitlines()) == 1, (args, bad.stderr)


# -- trends ---------------------------------------------------------------------------------------
def test_fit_recovers_an_exact_trend():
    # Synthetic models lying exactly on the paper's trends: the fit must return 6.5, 3.0, 5.5.
    samples = [TrendPoint(str(f), "", int(f * 1e9), round((3.0 + 5.5 * f) * 1e6),
                      round(6.5 * math.sqrt(f) * 1e6)) for f in (0.2, 0.8, 1.6, 4.0, 16.0)]
    trend = fit(samples)
    assert trend.acts_c == pytest.approx(6.5, abs=1e-6)
    assert (trend.params_a, trend.params_b) == pytest.approx((3.0, 5.5), abs=1e-6)
    assert mean_relative_error(trend, samples, "acts") < 1e-6


def test_fit_is_least_squares_on_regnetx():
    samples = [TrendPoint(r.name, "", r.flops, r.params, r.acts) for r in
               (netcalc.count(spec_path(f"specs/regnetx_{m}.yaml")) for m in
                ("200mf", "400mf", "600mf", "800mf", "1.6gf", "3.2gf", "4.0gf", "6.4gf"))]
    trend = fit(samples)

    def sse(c, a, b):
        return (sum((s.acts_m - c * math.sqrt(s.f)) ** 2 for s in samples),
                sum((s.params_m - a - b * s.f) ** 2 for s in samples))

    best = sse(trend.acts_c, trend.params_a, trend.params_b)
    for d in (1e-3, -1e-3):
        assert sse(trend.acts_c + d, trend.params_a, trend.params_b)[0] > best[0]
        assert sse(trend.acts_c, trend.params_a + d, trend.params_b)[1] > best[1]
        assert sse(trend.acts_c, trend.params_a, trend.params_b + d)[1] > best[1]
    # RegNetX models sit near the paper's activation trend: within 25% of 6.5.
    assert 0.75 * PAPER.acts_c < trend.acts_c < 1.25 * PAPER.acts_c


def test_cli_trends(tmp_path):
    specs = ["specs/regnetx_200mf.yaml", "specs/regnetx_800mf.yaml", "specs/regnetx_3.2gf.yaml"]
    table = run_cli("trends", *specs)
    assert table.returncode == 0, table.stderr
    assert "6.50*sqrt(f)" in table.stdout and "3.00 + 5.50*f" in table.stdout
    out = json.loads(run_cli("trends", *specs, "--format", "json").stdout)
    assert [m["flops"] for m in out["models"]] == sorted(m["flops"] for m in out["models"])
    assert out["paper"]["acts_c"] == 6.5
    one = run_cli("trends", specs[0])
    assert one.returncode == 2 and one.stderr.startswith("error: ")


def test_cli_trends_plot(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "trends.png"
    result = run_cli("trends", "specs/regnetx_200mf.yaml", "specs/regnetx_800mf.yaml",
                     "--plot", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_solve_and_trends_modules_do_not_import_sympy():
    code = ("import sys; import netcalc.cli.closed_forms, netcalc.symbolic.solve, "
            "netcalc.symbolic.trends; print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# -- steps: counts as step functions of width_mult and phi ---------------------------------------
def test_rexnet_width_pieces_are_constant_and_steps_are_real():
    from netcalc.symbolic.scaling import pieces

    found = pieces(spec_path("specs/rexnet_1.0.yaml"), "width_mult", 0.999, 1.002)
    raw = netcalc.load_spec(spec_path("specs/rexnet_1.0.yaml")).raw

    def counts(w):
        return netcalc.count({**raw, "width_mult": w}).totals()

    assert found[0].first == 0.999 and found[-1].last == 1.002
    for piece in found:
        inside = {piece.first, piece.last, (piece.first + piece.last) / 2}
        assert len({tuple(counts(w).values()) for w in inside}) == 1
    for before, after in zip(found, found[1:]):
        assert math.nextafter(before.last, math.inf) == after.first
        assert counts(before.last) != counts(after.first) and after.change
    # width_mult exactly 1.0 is a piece of its own: 38.5 and 83.5 round half to even (38, 84)
    # there, and up to 39 just above (docs/efficientnet_rexnet.md: widths 16,27,38,50,...).
    assert any(p.first == p.last == 1.0 for p in found)


def test_efficientnet_phi_above_zero_adds_a_block_per_stage():
    from netcalc.symbolic.scaling import pieces

    found = pieces(spec_path("specs/examples/efficientnet_phi3.yaml"), "phi", 0.0, 0.05)
    # phi = 0 is B0 (385,825,092 flops: the B0 spec's own count). As soon as 1.2**phi exceeds
    # 1.0 in floats, ceil(1.2**phi * repeats) adds a block to every one of the 7 stages.
    b0 = netcalc.count(spec_path("specs/efficientnet_b0.yaml")).totals()
    assert netcalc.count(found[0].spec).totals() == b0 and b0["flops"] == 385_825_092
    assert found[1].first < 1e-15 and "layers" in found[1].change
    assert found[2].change == "resolution 224 -> 225"


def test_cli_steps():
    table = run_cli("steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from", "0.999",
                    "--to", "1.002")
    assert table.returncode == 0, table.stderr
    assert "7 pieces" in table.stdout
    out = json.loads(run_cli("steps", "specs/examples/efficientnet_phi3.yaml", "--for", "phi",
                             "--from", "0", "--to", "0.02", "--symbolic", "--format",
                             "json").stdout)
    import sympy

    for piece in out["pieces"]:
        if piece["resolution"] % piece["total_stride"] == 0:
            poly = sympy.sympify(piece["flops_polynomial"])
            assert poly.subs(sympy.Symbol("r"), piece["resolution"]) == piece["flops"]
        exact = sympy.sympify(piece["flops_r"])
        assert exact.subs(sympy.Symbol("r"), piece["resolution"]) == piece["flops"]
    bad = run_cli("steps", "specs/resnet50.yaml", "--for", "width", "--from", "1", "--to", "2")
    assert bad.returncode == 2 and bad.stderr.startswith("error: specs/resnet50.yaml: width_mult")


def test_resolution_is_solved_within_an_imported_specs_resolution_range():
    """A spec that holds for sides 20 to 40 only (an imported model that branches on its size
    outside them): a budget every size meets stops at 40, not at netcalc's limit; a budget no
    size in the range meets answers 'none within' with 20, the range's first side, over. One
    3x3 conv of 8 channels, no bias, costs 3*8*9*r^2 = 216 r^2 pycls flops: 345,600 at 40,
    86,400 at 20."""
    spec = {"family": "graph", "name": "ranged", "resolution": 32,
            "resolution_range": {"h": [20, 40], "w": [20, 40]},
            "layers": [{"op": "conv", "out": 8, "kernel": 3}]}
    everything = solve(spec, Budget({"flops": 10 ** 9}), "r")
    assert everything.within.value == 40 and everything.within.counts["flops"] == 345_600
    assert everything.over is None
    assert everything.notes == ("every r up to the end of the spec's resolution_range, 40 fits",)
    nothing = solve(spec, Budget({"flops": 86_399}), "r")
    assert nothing.within is None and nothing.over.value == 20
    assert nothing.over.counts["flops"] == 86_400
