"""The quantized-linear fit recovers the RegNet zoo's parameters from their per-block widths."""
import glob
import json
import math
import os

import pytest

import netcalc
from netcalc.errors import ArgumentError, SpecError
from netcalc.families.regnet import block_widths
from netcalc.spaces.fit import e_fit, fit_widths, spec_widths

from conftest import ROOT, run_cli

ZOO = sorted(glob.glob(os.path.join(ROOT, "specs", "regnet*.yaml")))


def test_zoo_has_all_regnets():
    assert len(ZOO) == 24     # RegNetX and RegNetY, 200MF ... 32GF (model_zoo.csv)


@pytest.mark.parametrize("path", ZOO, ids=[os.path.basename(p) for p in ZOO])
def test_fit_recovers_zoo_parameters(path):
    cfg = netcalc.load_spec(path).config
    widths = block_widths(cfg.w0, cfg.wa, cfg.wm, cfg.depth, cfg.q)
    fit = fit_widths(widths, cfg.q)
    # Tolerance 0 on e_fit, on purpose: the widths are integers and the fit is accepted only
    # when block_widths(fit) reproduces every one, so each log-ratio is exactly ln(1) = 0.
    assert fit.e_fit == 0.0 and fit.method == "exact"
    assert list(block_widths(fit.w0, fit.wa, fit.wm, len(widths), cfg.q)) == widths
    # The widths pin w0 exactly (the first block is never rounded away) and wm closely (each
    # stage width is quantize(w0 * wm^i)); wa is only pinned to the band of slopes that put
    # the stage boundaries at the same blocks -- within 10% for every zoo model.
    assert fit.w0 == cfg.w0
    assert abs(math.log(fit.wm / cfg.wm)) < 0.01
    assert abs(math.log(fit.wa / cfg.wa)) < 0.1


def test_fit_of_non_regnet_widths_is_a_best_grid_point():
    # ResNet-50's depths 3-4-6-3 with doubling widths cannot come from the rule (stage 1 would
    # need wa <= 53 and stage 2 wa >= 67 at w0 = 256, wm = 2), so e_fit > 0.
    widths, q, _, rule = spec_widths(os.path.join(ROOT, "specs", "resnet50.yaml"))
    assert rule is None          # an anynet spec: no rule made its widths
    assert widths == [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    fit = fit_widths(widths, q)
    assert fit.method == "grid" and fit.e_fit > 0
    assert fit.e_fit == e_fit(widths, block_widths(fit.w0, fit.wa, fit.wm, len(widths), q))
    # at least as good as the natural hand guess w0 = 256, wa = 60, wm = 2
    assert fit.e_fit <= e_fit(widths, block_widths(256, 60.0, 2.0, len(widths), q))


# w0 8, wa 53.43, wm 1.036, depth 1024, q 1: 131 stages, beyond the exact search's reach
DEEP = "family: regnet\nw0: 8\nwa: 53.43\nwm: 1.036\ngroup_w: 1\ndepth: 1024\nq: 1\n"


def test_a_deep_rule_generated_spec_fits_exactly_with_its_own_parameters(tmp_path):
    """Issue 19: `fit --spec` of a deep RegNet finds its exact parameters; the same widths
    given alone (no rule to start from) say what the exact search covered."""
    path = tmp_path / "deep.yaml"
    path.write_text(DEEP)
    widths, q, _, rule = spec_widths(str(path))
    assert (q, rule) == (1, (53.43, 1.036)) and len(set(widths)) == 131
    fit = fit_widths(widths, q, rule)
    assert (fit.method, fit.e_fit, fit.w0, fit.wa, fit.wm, fit.searched) == \
        ("exact", 0.0, 8, 53.43, 1.036, "")
    assert list(block_widths(8, fit.wa, fit.wm, 1024, 1)) == widths
    alone = fit_widths(widths, q)
    assert alone.method == "grid" and alone.e_fit > 0
    assert alone.searched == ("131 stages are more than the exact search covers (117); a grid "
                              "was searched")


def test_a_grid_fit_says_what_was_searched():
    resnet = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    assert fit_widths(resnet, 8).searched == (
        "no (wa, wm) of the rule with wm >= 1.001 makes these widths (the exact search's reach "
        "for 4 stages); a grid was searched")
    assert fit_widths([16, 8], 8).searched == ("widths that shrink: no (w0, wa, wm) of the "
                                               "rule makes them")
    assert fit_widths([12, 16], 8).searched == ("w0 = 12 is not a multiple of q = 8: no rule "
                                                "makes these widths")


def test_fit_input_errors():
    with pytest.raises(ArgumentError, match=r"widths\[1\]"):    # a bad argument, not a spec
        fit_widths([8, 0, 16])
    with pytest.raises(SpecError, match="anynet or regnet"):
        spec_widths(os.path.join(ROOT, "specs", "examples", "tiny_cnn.yaml"))


def test_cli_fit_widths_spec_and_plot(tmp_path):
    widths = block_widths(24, 24.48, 2.54, 22)     # RegNetX-400MF
    result = run_cli("fit", *map(str, widths), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["e_fit"] == 0 and data["w0"] == 24 and data["fitted"] == widths
    png = tmp_path / "fit.png"
    by_spec = run_cli("fit", "--spec", "specs/regnetx_400mf.yaml", "--plot", str(png))
    assert by_spec.returncode == 0 and "e_fit = 0" in by_spec.stdout
    assert png.stat().st_size > 1000
    both = run_cli("fit", "8", "--spec", "specs/regnetx_400mf.yaml")
    assert both.returncode == 2
