"""netcalc.testing: assert_complexity on specs and modules, assert_matches_fvcore, the lock fixture.

Reference figures: RegNetX-800MF at 224 px (tests/reference_numbers.py). The hand-written
module's counts are derived by hand next to it.
"""
import subprocess
import sys

import pytest

import netcalc
from netcalc import rules
from netcalc.testing import assert_budget, assert_complexity, assert_lock, compare_counts

from conftest import ROOT, spec_path
from reference_numbers import REGNETX_800MF, REGNETX_800MF_FVCORE_FLOPS

R800 = spec_path("specs/regnetx_800mf.yaml")


# -- specs: analytic, no torch --------------------------------------------------------------------
def test_spec_exact_counts_pass_and_are_returned():
    counts = assert_complexity(R800, **REGNETX_800MF._asdict())
    assert counts == REGNETX_800MF._asdict()


def test_spec_failure_names_quantity_expected_actual_difference():
    with pytest.raises(AssertionError) as info:
        assert_complexity(R800, flops=REGNETX_800MF.flops + 1, params=REGNETX_800MF.params,
                          acts=5_000_000)
    message = str(info.value)
    assert message.splitlines()[0] == ("RegNetX-800MF (pycls convention, 224 px): complexity "
                                       "differs from expected")
    flops, acts = REGNETX_800MF.flops, REGNETX_800MF.acts
    assert (f"flops: expected {flops + 1:,}, actual {flops:,}, difference -1 (-1.25e-07%); "
            "exact match required") in message
    # acts: the reference minus 5,000,000 = +148,744, +2.975% of the expected value.
    assert f"acts: expected 5,000,000, actual {acts:,}, difference +148,744 (+2.975%)" in message
    assert "params" not in message                                  # params matched


def test_quantity_strings_and_relative_tolerance():
    # 800M vs the reference flops: -299,288, i.e. -0.0374%: inside rel=1e-3, outside rel=1e-4.
    assert_complexity(R800, flops="800M", params="7.26M", acts="5.15M", rel=1e-3)
    with pytest.raises(AssertionError, match=rf"flops: expected 800,000,000, actual "
                                             rf"{REGNETX_800MF.flops:,}, difference -299,288 "
                                             r"\(-0\.03741%\); allowed relative difference "
                                             r"0\.0001"):
        assert_complexity(R800, flops="800M", rel=1e-4)


def test_spec_in_fvcore_convention_and_at_another_resolution():
    assert_complexity(R800, flops=REGNETX_800MF_FVCORE_FLOPS, convention="fvcore")
    # TinyCNN at 64 px, pycls, by hand: stem 3x3 conv 3->16 at 64x64: 9*3*16*4096 = 1,769,472;
    # max-pool to 32; conv a 3x3/2 16->32 at 16x16: 9*16*32*256 = 1,179,648; conv b 3x3 32->32:
    # 9*32*32*256 = 2,359,296; projection 1x1/2 16->32: 16*32*256 = 131,072; fc 32*10 + 10 bias
    # = 330 -> 5,439,818. Acts: 16*4096 + 16*1024 (max-pool) + 3*32*256 + 10 = 106,506.
    assert_complexity(spec_path("specs/examples/tiny_cnn.yaml"), flops=5_439_818, params=15_322,
                      acts=106_506, resolution=64)


def test_budget_is_inclusive_and_reports_the_excess():
    assert assert_budget(R800, flops=REGNETX_800MF.flops, params="7.26M")["params"] == \
        REGNETX_800MF.params
    # the reference acts against a 5.1M budget: over by 48,744, +0.9558% of the budget.
    with pytest.raises(AssertionError) as info:
        assert_budget(R800, flops="800M", acts="5.1M")
    assert str(info.value).splitlines() == [
        "RegNetX-800MF (pycls convention, 224 px): over budget",
        f"  acts: at most 5,100,000 allowed, actual {REGNETX_800MF.acts:,}, over by 48,744 "
        "(+0.9558%)"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="rel must be in"):
        assert_complexity(R800, flops=1, rel=-0.1)
    with pytest.raises(TypeError, match="flops= takes an int or a quantity string"):
        assert_complexity(R800, flops=8.0e8)
    with pytest.raises(netcalc.ArgumentError, match="flops: '8 hundred' is not a quantity"):
        assert_complexity(R800, flops="8 hundred")
    assert compare_counts({"flops": 5, "params": 1, "acts": 1}, {"flops": None}) == []


def test_spec_checks_import_neither_torch_nor_fvcore():
    code = ("import sys, netcalc.testing as t; "
            f"t.assert_complexity({R800!r}, flops={REGNETX_800MF.flops}, "
            f"params='{REGNETX_800MF.params}'); "
            "print(sorted(m for m in ('torch', 'fvcore', 'numpy', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- modules: traced ------------------------------------------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from netcalc.testing import assert_matches_fvcore  # noqa: E402


def hand_net():
    """3x3 conv 3->8 (no bias), BN, ReLU, global average pool, flatten, linear 8->10.

    At 32 x 32, by hand: conv MACs 3*3*3*8*32*32 = 221,184; BN (eval) 2*8*1024 = 16,384; GAP
    8*1024 = 8,192; linear 8*10 = 80 -> fvcore flops 245,840; torch flops 2*(221,184 + 80) =
    442,528. Params 216 + 16 (BN gamma, beta) + 90 = 322. Acts: conv output 8*1024 = 8,192 plus
    linear output 10 = 8,202.
    """
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


def test_module_fvcore_and_torch_conventions():
    net = hand_net()
    assert assert_complexity(net, flops=245_840, params=322, acts=8_202, resolution=32) == {
        "flops": 245_840, "params": 322, "acts": 8_202}
    assert_complexity(net, flops=442_528, params=322, acts=8_202, convention="torch",
                      resolution=32)


def test_module_in_training_mode_is_counted_in_eval_and_restored():
    # In train mode fvcore would count BN at 5 per element (+3*8,192 = 24,576 more flops).
    net = hand_net().train()
    assert_complexity(net, flops=245_840, resolution=32)
    assert net.training


def test_module_with_explicit_inputs_and_failure_message():
    # 16 x 16 input: 3*3*3*8*256 + 2*8*256 + 8*256 + 80 = 55,296 + 4,096 + 2,048 + 80 = 61,520.
    net = hand_net()
    assert_complexity(net, flops=61_520, inputs=torch.zeros(1, 3, 16, 16))
    with pytest.raises(AssertionError) as info:
        assert_complexity(net, flops=61_521, inputs=torch.zeros(1, 3, 16, 16))
    assert str(info.value).splitlines() == [
        "Sequential (fvcore convention, input 1x3x16x16): complexity differs from expected",
        "  flops: expected 61,521, actual 61,520, difference -1 (-0.001625%); "
        "exact match required"]


def test_module_budget():
    assert_budget(hand_net(), flops=245_840, params=322, resolution=32)
    with pytest.raises(AssertionError, match="flops: at most 245,839 allowed, actual 245,840"):
        assert_budget(hand_net(), flops=245_839, resolution=32)


def test_module_cannot_use_the_pycls_convention():
    with pytest.raises(ValueError, match="'pycls' is for specs"):
        assert_complexity(hand_net(), flops=1, convention="pycls")


def test_assert_matches_fvcore(monkeypatch):
    validation = assert_matches_fvcore(spec_path("specs/examples/tiny_cnn.yaml"))
    assert validation.ok and validation.measured["flops"] == 1_407_296   # fvcore trace total
    assert assert_matches_fvcore(spec_path("specs/examples/tiny_cnn.yaml"),
                                 convention="torch", resolution=33).ok
    # A broken rule (linear counted with its bias, as pycls does) fails with the diff table:
    # TinyCNN's fc is 32 -> 10 with bias, so netcalc says 330 and fvcore measures 320.
    broken = rules.FVCORE.derive("fvcore", "broken", flops={"linear": rules.PYCLS.flops["linear"]})
    monkeypatch.setitem(rules.CONVENTIONS, "fvcore", broken)
    with pytest.raises(AssertionError) as info:
        assert_matches_fvcore(spec_path("specs/examples/tiny_cnn.yaml"))
    text = str(info.value)
    assert "MISMATCH" in text and "fc" in text and "330" in text and "320" in text


# -- the pytest fixture ---------------------------------------------------------------------------
def test_lock_fixture_checks_and_updates(tmp_path, monkeypatch):
    from netcalc import testing

    monkeypatch.chdir(ROOT)
    lock = tmp_path / "netcalc.lock"
    data = testing.make_lock(["specs/examples/tiny_cnn.yaml"])
    data["models"][0]["flops"] += 1                          # a stale lock
    lock.write_text(testing.dump_lock(data))
    with pytest.raises(AssertionError, match=r"flops\s+1,360,203\s+1,360,202\s+-1"):
        testing.LockFixture(update=False).check(str(lock))
    testing.LockFixture(update=True).check(str(lock))          # pytest --netcalc-update-lock
    assert_lock(str(lock))
    assert testing.read_lock(str(lock))[0].counts["flops"] == 1_360_202   # TinyCNN, pycls
