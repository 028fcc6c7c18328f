"""What another repository's complexity tests look like with netcalc (this folder plays one).

Its layout: specs/edge_net.yaml (the network for netcalc), edge_net_model.py (the torch model it
trains), netcalc.lock (written once with `netcalc lock`, committed). In a real repository, put
``pytest_plugins = ["netcalc.testing"]`` in the root conftest.py for the ``netcalc_lock``
fixture and the ``--netcalc-update-lock`` option; a nested folder like this one imports it.

EdgeNet's counts at 64 x 64, by hand (the stem halves 64 to 32; every later map is 32 x 32):
  conv MACs: stem 9*3*16*1024 = 442,368; expand 16*32*1024 = 524,288; depthwise 9*32*1024 =
  294,912; SE 32*8 + 8*32 = 512; project 32*16*1024 = 524,288; head 16*64*1024 = 1,048,576
  -> 2,834,944; linear 64*10 = 640.
  pycls flops = MACs + conv biases once per channel (8 + 32) + linear 650 = 2,835,634.
  fvcore flops = 2,834,944 + 640 + BN 2*(16+32+32+16+64)*1024 = 327,680 + pools (32+64)*1024
  = 98,304 -> 3,261,568.
  params = convs 432+512+288+264+288+512+1024 + BN 2*(16+32+32+16+64) = 320 + fc 650 = 4,290.
  acts = conv outputs (16+32+32+16+64)*1024 + 8 + 32 + fc 10 = 163,890.
"""
import os
import subprocess
import sys

import pytest

from netcalc.testing import assert_budget, assert_complexity
from netcalc.testing import netcalc_lock  # noqa: F401  (the pytest fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "specs", "edge_net.yaml")
IMPORTED_SPEC = os.path.join(HERE, "specs", "tiny_shuffle.yaml")
LOCK = os.path.join(HERE, "netcalc.lock")


def test_spec_counts():
    # Analytic: no torch involved, runs in milliseconds.
    assert_complexity(SPEC, flops=2_835_634, params=4_290, acts=163_890)
    assert_complexity(SPEC, flops=3_261_568, params=4_290, acts=163_890, convention="fvcore")


def test_spec_stays_in_its_budget():
    # The product requirement: at most 3 M flops and 5 k params (pycls convention).
    assert_budget(SPEC, flops="3M", params="5k")


def test_trained_model_matches_the_spec():
    # The model the repo trains has exactly the spec's counts, traced by fvcore and by torch.
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from edge_net_model import EdgeNet

    model = EdgeNet()
    assert_complexity(model, flops=3_261_568, params=4_290, acts=163_890, resolution=64)
    # FlopCounterMode: 2 per MAC of convs and the linear layer: 2 * (2,834,944 + 640).
    assert_complexity(model, flops=5_671_168, convention="torch",
                      inputs=torch.zeros(1, 3, 64, 64))


def test_spec_matches_its_traced_module():
    pytest.importorskip("fvcore")
    from netcalc.testing import assert_matches_fvcore

    assert assert_matches_fvcore(SPEC, resolution=65).ok     # any resolution, layer by layer


def test_imported_spec_counts():
    # TinyShuffle at 96 x 96 (stem 96 -> 48, maxpool -> 24), fvcore convention, by hand:
    #   stem conv 9*3*24*48*48 = 1,492,992 + BN 2*24*2304 = 110,592; each of the 2 units:
    #   1x1 12*12*576 = 82,944 twice, depthwise 9*12*576 = 62,208, 3 BNs 2*12*576 = 13,824
    #   -> 269,568; linear 24*10 = 240 (slices, concat, shuffle, mean: free) -> 2,142,960.
    #   params 648+48 + 2*(144+24+108+24+144+24) + 250 = 1,882;
    #   acts: conv outputs 24*2304 + 2*3*12*576 + linear 10 = 96,778.
    assert_complexity(IMPORTED_SPEC, flops=2_142_960, params=1_882, acts=96_778,
                      convention="fvcore")


def test_tiny_shuffle_imports_as_its_spec():
    # The Python model still imports exactly as the committed spec: a changed layer fails here
    # with a per-layer diff (re-run the `netcalc import` line of tiny_shuffle_model.py).
    pytest.importorskip("torch")
    from tiny_shuffle_model import tiny_shuffle

    from netcalc.torch.importer import assert_imports_as

    assert_imports_as(tiny_shuffle(), IMPORTED_SPEC)


def test_counts_are_locked(netcalc_lock):  # noqa: F811
    # Fails with a diff when a count moves; `pytest --netcalc-update-lock` rewrites the lock.
    netcalc_lock.check(LOCK)


@pytest.mark.parametrize("args", [
    ("check", "--lock", "netcalc.lock"),
    ("check", "specs/edge_net.yaml", "--max-flops", "3M", "--max-params", "5k"),
])
def test_ci_gates(args):
    # What the repo's CI runs, from the repo root (this folder).
    result = subprocess.run([sys.executable, "-m", "netcalc", *args], cwd=HERE,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
