"""Exact design-space sizes: the Table 1 chain, compatible-only counts, RegNet grids.

Expected values are derived in the comments: closed forms from the per-stage domains
(reference/design_spaces.md: d in 1..16 = 16 values, w in 8..1024 step 8 = 128, b 3, g 6,
4 stages) or brute-force enumeration of small spaces written out in the test itself.
"""
import itertools
import json
import math
import os

import numpy as np
import pytest

from netcalc.errors import ArgumentError
from netcalc.families.regnet import block_widths
from netcalc.spaces import loading as space_loading
from netcalc.spaces import load_space, shipped_names, space_size
from netcalc.spaces.chain import Layout, chain_size
from netcalc.spaces.sizes import distinct_networks, size_report, table1, with_steps

from conftest import ROOT, run_cli

WIDTHS = range(8, 1025, 8)
BOTS = (0.25, 0.5, 1.0)          # paper's b in {4, 2, 1} is bot_mul = 1/b (domains ascend)
GROUPS = (1, 2, 4, 8, 16, 32)
C131 = math.comb(131, 4)         # non-decreasing 4-tuples of 128 widths: C(128+3, 4)
C19 = math.comb(19, 4)           # non-decreasing 4-tuples of 16 depths: C(16+3, 4)


def test_anynetx_a_is_the_printed_product_exactly():
    # Table 1: (16*128*3*6)^4, printed ~1.8e18; the exact product is stated in the issue.
    assert space_size(load_space("anynetx_a")) == (16 * 128 * 3 * 6) ** 4
    assert space_size(load_space("anynetx_a")) == 1_846_757_322_198_614_016


def test_chain_b_to_e_closed_forms():
    # B: one shared b (3 choices), per stage 16*128*6. C: shared b and g, per stage 16*128.
    # D: widths non-decreasing -> C(131,4) width tuples, depths free 16^4.
    # E: depths non-decreasing too -> C(19,4) = 3876 depth tuples (not "3867").
    assert space_size(load_space("anynetx_b")) == 3 * (16 * 128 * 6) ** 4 == 68_398_419_340_689_408
    assert space_size(load_space("anynetx_c")) == 18 * (16 * 128) ** 4 == 316_659_348_799_488
    assert space_size(load_space("anynetx_d")) == 18 * 16 ** 4 * C131 == 13_821_510_942_720
    assert C19 == 3876 and C131 == 11_716_640
    # design_spaces.md: the literal reading of E has 817,446,539,520 members.
    assert space_size(load_space("anynetx_e")) == 18 * C19 * C131 == 817_446_539_520


def _compatible_widths(b, g):
    """Widths whose bottleneck w*b is a whole number of channels divisible by g."""
    return [w for w in WIDTHS if (w * b).is_integer() and int(w * b) % g == 0]


def test_compatible_only_counts_by_hand():
    # pycls leaves (w, b, g) as is iff g divides w*b; count such triples per (b, g) by hand and
    # combine with the same closed forms as above.
    n = {(b, g): len(_compatible_widths(b, g)) for b in BOTS for g in GROUPS}
    per_stage = 16 * sum(n.values())
    expected = {
        "anynetx_a": per_stage ** 4,
        "anynetx_b": sum((16 * sum(n[b, g] for g in GROUPS)) ** 4 for b in BOTS),
        "anynetx_c": sum((16 * n[bg]) ** 4 for bg in n),
        "anynetx_d": sum(16 ** 4 * math.comb(n[bg] + 3, 4) for bg in n),
        "anynetx_e": sum(C19 * math.comb(n[bg] + 3, 4) for bg in n),
    }
    for name, value in expected.items():
        assert space_size(load_space(name), compatible_only=True) == value, name
    # the reading matters: A drops from 1.85e18 to 3.14e17 (a factor ~5.9)
    assert expected["anynetx_a"] == 314_432_039_157_760_000


def test_compatibility_is_pycls_adjustment_identity():
    # The mask used for compatible-only is "adjust_block_compatibility changes nothing", and for
    # AnyNetX's integer bottlenecks that is exactly g | w*b (which implies g <= w*b).
    from netcalc.spaces.sizes import compatible_mask

    mask = compatible_mask(load_space("anynetx_a"))
    for (i, w), (j, b), (k, g) in itertools.product(enumerate(WIDTHS), enumerate(BOTS),
                                                    enumerate(GROUPS)):
        assert mask[i, j, k] == (int(w * b) % g == 0)


SMALL = (3, 4, 2, 2)   # tiny per-stage domains for brute force
DIMS = ("depth", "width", "bot_mul", "group_w")


def _brute_force(mask, relation, stages):
    allowed = [p for p in itertools.product(*map(range, SMALL)) if mask[p]]
    rules = {"shared": lambda a, b: a == b, "non_decreasing": lambda a, b: b >= a,
             "increasing": lambda a, b: b > a, "free": lambda a, b: True}
    return sum(all(rules[relation(d)](x[k], y[k]) for x, y in zip(chain, chain[1:])
                   for k, d in enumerate(DIMS))
               for chain in itertools.product(allowed, repeat=stages))


@pytest.mark.parametrize("relations", [
    {}, {"bot_mul": "shared"}, {"width": "increasing"},
    {"width": "non_decreasing", "depth": "non_decreasing", "bot_mul": "shared"},
    {"depth": "increasing", "width": "non_decreasing", "group_w": "shared", "bot_mul": "shared"},
])
def test_dynamic_programming_equals_enumeration(relations):
    # A random mask stands in for compatibility (it ties dimensions within a stage).
    mask = np.random.default_rng(7).integers(0, 2, SMALL)
    relation = lambda d: relations.get(d, "free")  # noqa: E731
    layout = Layout.of(DIMS, relation)
    assert chain_size(mask, layout, 3) == _brute_force(mask, relation, 3)


def test_table1_rows_explain_the_printed_figures():
    rows = {r.name: r for r in table1()}
    # A-C: the printed figure is the exact product rounded to two digits.
    for name in ("AnyNetX_A", "AnyNetX_B", "AnyNetX_C"):
        assert rows[name].formula_value == rows[name].exact
        assert f"{rows[name].exact:.1e}" == f"{rows[name].figure:.1e}"
        assert "the printed formula is exact" in rows[name].note
    # D: (16*128)^4*18/4! = 13,194,139,533,312 vs exact 13,821,510,942,720 (x1.0475)
    d = rows["AnyNetX_D"]
    assert d.formula_value == 13_194_139_533_312
    assert "11,716,640" in d.note and "1.0475" in d.note
    # E: printed 5.5e11 vs exact 8.17e11: 1.486x; the depth tuples give C(19,4)/(16^4/4!) = 1.419
    e = rows["AnyNetX_E"]
    assert e.exact == 817_446_539_520 and round(e.exact / e.figure, 3) == 1.486
    assert "3,876" in e.note and "1.4194" in e.note and "1.4869" in e.note
    # RegNet: this grid (63 d, 31 w0, 63 wa, 61 wm) times 3 b and 6 g, vs ~64^4*18
    assert rows["RegNet"].exact == 63 * 31 * 63 * 61 * 18 == 135_096_822


def test_regnet_grid_size_and_regnetx():
    assert space_size(load_space("regnet")) == 63 * 31 * 63 * 61 * 3 * 6
    # regnetx: depth 12..28 (17), w0 8..256/8 (32), wa 8..256/0.1 (2481), wm 2..3/0.001 (1001),
    # group width 8..128/8 (16), b = 1
    assert space_size(load_space("regnetx")) == 17 * 32 * 2481 * 1001 * 16
    with pytest.raises(ArgumentError, match="compatible_only"):
        space_size(load_space("regnet"), compatible_only=True)


def test_distinct_networks_match_a_brute_force_set():
    # A coarse grid, small enough to list every network as a tuple of per-block widths.
    space = with_steps(load_space("regnet"), {"wa": 40.0, "wm": 0.5})
    space = with_steps(space, {})
    counted = distinct_networks(space)
    was, wms = space.domain("wa").values, space.domain("wm").values
    assert was == (4.0, 44.0, 84.0, 124.0, 164.0, 204.0, 244.0) and wms == (1.5, 2.0, 2.5, 3.0)
    networks = {tuple(block_widths(w0, wa, wm, d)) for d in range(1, 64)
                for w0 in space.domain("w0").values for wa in was for wm in wms}
    assert counted.distinct == len(networks)
    assert counted.points == 63 * 31 * 7 * 4
    assert counted.distinct < counted.points      # many parameter points share a network


def test_one_copy_of_the_shipped_spaces():
    # `netcalc space NAME` reads the package data; the repository's specs/ is a link to it.
    assert os.path.realpath(os.path.join(ROOT, "specs", "spaces")) == space_loading.BUILTIN_DIR
    assert shipped_names() == ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e",
                               "regnet", "regnetx"]


def test_space_file_by_path_equals_shipped_name():
    by_path = load_space(os.path.join(ROOT, "specs", "spaces", "anynetx_d.yaml"))
    assert space_size(by_path) == space_size(load_space("anynetx_d"))


def test_size_report_notes():
    report = size_report(load_space("anynetx_e"))
    assert report.compatible_size == space_size(load_space("anynetx_e"), compatible_only=True)
    assert any("C(n+k-1,k) = 3,876" in n for n in report.notes)


# -- command line ----------------------------------------------------------------------------------
def test_cli_space_json():
    result = run_cli("space", "anynetx_a", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "AnyNetX_A" and data["size"] == 1_846_757_322_198_614_016
    compat = json.loads(run_cli("space", "anynetx_a", "--compatible-only", "--format",
                                "json").stdout)
    assert compat["size"] == 314_432_039_157_760_000


def test_cli_space_all_table_and_json():
    result = run_cli("space", "--all")
    assert result.returncode == 0, result.stderr
    assert "1,846,757,322,198,614,016" in result.stdout and "817,446,539,520" in result.stdout
    assert "4!" in result.stdout
    lines = [json.loads(l) for l in run_cli("space", "--all", "--format", "json").stdout.splitlines()]
    assert [l["name"] for l in lines] == ["AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D",
                                          "AnyNetX_E", "RegNet"]


def test_cli_distinct_with_steps():
    result = run_cli("space", "regnet", "--distinct", "--wa-step", "40", "--wm-step", "0.5",
                     "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["distinct"]
    assert data["grid_points"] == 63 * 31 * 7 * 4
    assert data["distinct_with_bg"] == data["distinct"] * 18


def test_cli_space_errors_are_one_line():
    result = run_cli("space", "no_such_space")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no such space file" in result.stderr
    assert run_cli("space").returncode == 2


def test_cli_distinct_refuses_a_step_that_explodes_the_grid():
    # (3 - 1.5) / 1e-9 = 1.5e9 values of wm: refused at once instead of building the grid.
    result = run_cli("space", "regnet", "--distinct", "--wm-step", "1e-9")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --wm-step: 1e-09 gives more than 1,000,000 values of wm"
