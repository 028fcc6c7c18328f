"""Validation on a GPU: the same counts when the module runs on CUDA (skipped without a GPU).

Expected numbers are the fvcore / FlopCounterMode counts of the module built on the GPU, which
must equal netcalc's analytic counts exactly, as on the CPU (test_torch_validation.py).
"""
import glob
import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from netcalc.testing import assert_complexity  # noqa: E402
from netcalc.torch import build, validate_conventions  # noqa: E402
from netcalc.torch.validate import render_table, resolve_device  # noqa: E402

from conftest import ROOT, spec_path  # noqa: E402
from reference_numbers import REGNETX_800MF, REGNETX_800MF_FVCORE_FLOPS

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

SHIPPED = sorted(os.path.relpath(p, ROOT) for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
                 for p in glob.glob(os.path.join(ROOT, pattern)))


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_shipped_spec_matches_trace_on_cuda(path):
    for v in validate_conventions(spec_path(path), ("fvcore", "torch"), device="cuda"):
        assert v.device == "cuda"
        assert v.ok, "\n" + render_table([v])


def test_auto_device_is_cuda(cli):
    assert resolve_device("auto") == "cuda"
    result = cli("validate", "specs/regnetx_800mf.yaml", "--device", "auto", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["device"] == "cuda" and \
        data["totals"]["flops"]["measured"] == REGNETX_800MF_FVCORE_FLOPS


def test_module_on_cuda_with_assert_complexity():
    # The module's parameters are on the GPU, so is the zero input assert_complexity makes.
    module = build(spec_path("specs/regnetx_800mf.yaml"), device="cuda")
    assert next(module.parameters()).is_cuda
    assert_complexity(module, flops=REGNETX_800MF_FVCORE_FLOPS, params=REGNETX_800MF.params,
                      acts=REGNETX_800MF.acts)
