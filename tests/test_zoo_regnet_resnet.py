"""Every RegNet/ResNet/ResNeXt spec against the published figures of model_zoo.csv.

Expected values: the pycls MODEL_ZOO / RegNet paper figures, which print round(x/1e9, 1) GF and
round(x/1e6, 1) M; the stage columns are what pycls's generation rules give.
"""
import pytest

import netcalc
from netcalc.families import regnet

from conftest import printed, spec_path, zoo_rows
from reference_numbers import REGNETX_800MF, REGNETX_800MF_FVCORE_FLOPS

ROWS = zoo_rows({"RegNetX", "RegNetY", "ResNet", "ResNeXt"})


def test_all_thirty_rows_have_specs():
    assert len(ROWS) == 30


@pytest.mark.parametrize("row", ROWS, ids=[r["model"] for r in ROWS])
def test_published_figures(row):
    report = netcalc.count(spec_path(row["spec_file"]), convention="pycls")
    assert report.name == row["model"]
    assert report.resolution == int(row["resolution"])
    assert printed(report.flops, row["flops_G_published"], 1e9) == row["flops_G_published"]
    assert printed(report.params, row["params_M_published"], 1e6) == row["params_M_published"]
    assert printed(report.acts, row["acts_M_published"], 1e6) == row["acts_M_published"]


@pytest.mark.parametrize("row", ROWS, ids=[r["model"] for r in ROWS])
def test_derived_stages(row):
    spec = netcalc.load_spec(spec_path(row["spec_file"]))
    if spec.family == "regnet":
        stages = regnet.stages(spec.config)
    else:
        stages = spec.config.stages
    joined = lambda xs: " ".join(str(x) for x in xs)  # noqa: E731
    assert joined(s.depth for s in stages) == row["stage_depths"]
    assert joined(s.width for s in stages) == row["stage_widths"]
    assert joined(s.stride for s in stages) == row["stage_strides"]
    assert joined(s.group_w for s in stages) == row["stage_group_ws"]
    assert joined(s.bot_mul for s in stages) == row["stage_bot_muls"]


def test_regnetx_800mf_exact():
    # the reference figures (pycls, 224 px) and the fvcore trace of torchvision's module
    report = netcalc.count(spec_path("specs/regnetx_800mf.yaml"))
    assert (report.flops, report.params, report.acts) == REGNETX_800MF
    assert netcalc.count(spec_path("specs/regnetx_800mf.yaml"), "fvcore").flops == \
        REGNETX_800MF_FVCORE_FLOPS


def test_half_to_even_matters():
    # docs/efficientnet_rexnet.md and docs/spec_format.md: rounding .5 up in the compatibility step gives torchvision's 5,495,976 params
    # for RegNetX-400MF; the reference (half to even) has 5,157,512.
    assert netcalc.count(spec_path("specs/regnetx_400mf.yaml")).params == 5_157_512
    assert netcalc.count(spec_path("specs/regnety_800mf.yaml")).params == 6_263_168


def test_regnetx_12gf_compatibility_example():
    # docs/efficientnet_rexnet.md and docs/spec_format.md: stage 1 has v = 168, g = 112; 168/112 = 1.5 rounds (half to even) to 2 -> 224.
    spec = netcalc.load_spec(spec_path("specs/regnetx_12gf.yaml"))
    assert regnet.stages(spec.config)[0].width == 224
