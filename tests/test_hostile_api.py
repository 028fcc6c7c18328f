"""Issue 12, class 5 (the Python API): one error family, types checked at every public entry.

Every case calls a public function with a bad argument and expects an ArgumentError (bad
argument) or a SpecError (bad spec), both NetcalcErrors, with a one-line message that names the
parameter -- never a command-line option like ``--convention`` (the CLI adds those).
"""
import json

import pytest

import netcalc
from hostile_harness import Case, corpus_module
from reference_numbers import REGNETX_800MF

R800 = "specs/regnetx_800mf.yaml"
SAMPLE = "from netcalc import spaces\nS = spaces.load_space('anynetx_a')\n"
MODULE = ("import torch\nM = torch.nn.Conv2d(3, 8, 3)\n"
          "from netcalc.testing import assert_complexity\n")


def make_files(d):
    model = {"spec": f"../../../../../{R800}", "convention": "pycls", "resolution": 224,
             **REGNETX_800MF._asdict()}
    (d / "ok.lock").write_text(json.dumps({"netcalc_lock": 1, "models": [model]}))


def api(name, code, raises="ArgumentError", error=""):
    return Case(name, api=code, raises=raises, error=error)


def corpus(d):
    lock = str(d / "ok.lock")
    cases = [
        api("count-convention-unknown", f"netcalc.count({R800!r}, convention='bogus')",
            error="convention: 'bogus' is not one of"),
        api("count-convention-list", f"netcalc.count({R800!r}, convention=['pycls'])",
            error="convention"),
        api("count-convention-none", f"netcalc.count({R800!r}, convention=None)",
            error="convention"),
        api("load-spec-int", "netcalc.load_spec(42)", error="spec: expected a path"),
        api("load-spec-bytes", "netcalc.load_spec(b'specs/x.yaml')", error="spec"),
        api("load-spec-list", "netcalc.load_spec([1, 2])", error="spec"),
        api("load-spec-missing", "netcalc.load_spec('no/such.yaml')", "SpecError", "no such file"),
        api("load-spec-dict-bad", "netcalc.load_spec({'family': 'regnet'})", "SpecError",
            "is required"),
        # fit
        api("fit-q-zero", "from netcalc.spaces import fit_widths\nfit_widths([8, 16], q=0)",
            error="q: 0 is below the minimum 1"),
        api("fit-q-negative", "from netcalc.spaces import fit_widths\nfit_widths([8], q=-8)",
            error="q"),
        api("fit-q-float", "from netcalc.spaces import fit_widths\nfit_widths([8], q=2.5)",
            error="q: expected an integer"),
        api("fit-q-bool", "from netcalc.spaces import fit_widths\nfit_widths([8], q=True)",
            error="q"),
        api("fit-q-huge", "from netcalc.spaces import fit_widths\nfit_widths([8], q=10**9)",
            error="q"),
        api("fit-widths-str", "from netcalc.spaces import fit_widths\nfit_widths('8 16')",
            error="widths: expected a list"),
        api("fit-widths-none", "from netcalc.spaces import fit_widths\nfit_widths(None)",
            error="widths"),
        api("fit-widths-empty", "from netcalc.spaces import fit_widths\nfit_widths([])",
            error="widths: expected 1 to 4096"),
        api("fit-widths-item-str", "from netcalc.spaces import fit_widths\nfit_widths([8, '16'])",
            error="widths[1]"),
        api("fit-widths-item-zero", "from netcalc.spaces import fit_widths\nfit_widths([8, 0])",
            error="widths[1]"),
        api("fit-widths-item-float", "from netcalc.spaces import fit_widths\nfit_widths([8.5])",
            error="widths[0]"),
        # sampling
        api("sample-n-negative", SAMPLE + "spaces.sample(S, -5)", error="n: -5 is below"),
        api("sample-n-zero", SAMPLE + "spaces.sample(S, 0)", error="n"),
        api("sample-n-float", SAMPLE + "spaces.sample(S, 2.5)", error="n: expected an integer"),
        api("sample-n-str", SAMPLE + "spaces.sample(S, '3')", error="n"),
        api("sample-n-huge", SAMPLE + "spaces.sample(S, 10**7)", error="n"),
        api("sample-space-name", "from netcalc import spaces\nspaces.sample('anynetx_a', 3)",
            error="space: expected a Space"),
        api("sample-seed-negative", SAMPLE + "spaces.sample(S, 3, seed=-1)", error="seed"),
        api("sample-seed-float", SAMPLE + "spaces.sample(S, 3, seed=1.5)", error="seed"),
        api("sample-verify-negative", SAMPLE + "spaces.sample(S, 3, verify=-1)", error="verify"),
        api("sample-max-candidates-zero", SAMPLE + "spaces.sample(S, 3, max_candidates=0)",
            error="max_candidates"),
        api("sample-regime-str", SAMPLE + "spaces.sample(S, 3, regime='360M:400M')",
            error="regime: expected a Regime"),
        api("sample-compatible-regnet", "from netcalc import spaces\n"
            "spaces.sample(spaces.load_space('regnet'), 3, compatible_only=True)",
            error="compatible_only"),
        api("sample-convention-bad", SAMPLE + "spaces.sample(S, 3, convention='x')",
            error="convention"),
        api("regime-reversed", SAMPLE + "spaces.Regime.of(S, flops=(400, 360))",
            error="flops: lower end 400 is above upper end 360"),
        api("regime-str", SAMPLE + "spaces.Regime.of(S, flops='360M:400M')", error="flops"),
        api("regime-negative", SAMPLE + "spaces.Regime.of(S, params=(-1, None))", error="params"),
        api("regime-float", SAMPLE + "spaces.Regime.of(S, acts=(1.5, 2))", error="acts"),
        api("regime-three", SAMPLE + "spaces.Regime.of(S, flops=(1, 2, 3))", error="flops"),
        api("space-size-compatible-regnet", "from netcalc import spaces\n"
            "spaces.space_size(spaces.load_space('regnet'), compatible_only=True)",
            error="compatible_only"),
        api("with-steps-nan", "from netcalc.spaces import load_space\n"
            "from netcalc.spaces.sizes import with_steps\n"
            "with_steps(load_space('regnet'), {'wa': float('nan')})", error="wa_step"),
        api("with-steps-str", "from netcalc.spaces import load_space\n"
            "from netcalc.spaces.sizes import with_steps\n"
            "with_steps(load_space('regnet'), {'wm': '0.1'})", error="wm_step"),
        api("load-space-missing", "from netcalc import spaces\nspaces.load_space('nope')",
            "SpecError", "no such space file"),
        # steps
        api("pieces-nan", "from netcalc.symbolic.scaling import pieces\n"
            "pieces('specs/rexnet_1.0.yaml', 'width_mult', float('nan'), 1.0)", error="lo"),
        api("pieces-reversed", "from netcalc.symbolic.scaling import pieces\n"
            "pieces('specs/rexnet_1.0.yaml', 'width_mult', 2.0, 1.0)", error="lo"),
        api("pieces-limit", "from netcalc.symbolic.scaling import pieces\n"
            "pieces('specs/rexnet_1.0.yaml', 'width_mult', 1.0, 3.0, limit=5)",
            error="raise max_pieces"),
        # locks
        api("assert-lock-specs-str", f"from netcalc.testing import assert_lock\n"
            f"assert_lock({lock!r}, specs={R800!r})", error="specs: expected a list"),
        api("assert-lock-specs-int", f"from netcalc.testing import assert_lock\n"
            f"assert_lock({lock!r}, specs=[1])", error="specs[0]"),
        api("assert-lock-path-none", "from netcalc.testing import assert_lock\nassert_lock(None)",
            error="lock_path"),
        api("lock-changes-specs-bytes", f"from netcalc.testing import lock_changes\n"
            f"lock_changes({lock!r}, specs=b'x')", error="specs"),
        api("assert-budget-arabic-digits", "from netcalc.testing import assert_budget\n"
            f"assert_budget({R800!r}, flops='\u0664\u0660\u0660M')", error="not a quantity"),
        # modules (torch): resolution and channels checked, never a silent default
        api("module-resolution-zero", MODULE + "assert_complexity(M, resolution=0)",
            error="resolution: 0 is below the minimum 1"),
        api("module-resolution-negative", MODULE + "assert_complexity(M, resolution=-1)",
            error="resolution"),
        api("module-resolution-float", MODULE + "assert_complexity(M, resolution=100.5)",
            error="resolution: expected an integer"),
        api("module-resolution-str", MODULE + "assert_complexity(M, resolution='224')",
            error="resolution"),
        api("module-resolution-list", MODULE + "assert_complexity(M, resolution=[224])",
            error="resolution"),
        api("module-resolution-huge", MODULE + "assert_complexity(M, resolution=100000)",
            error="resolution"),
        api("module-in-channels-zero", MODULE + "assert_complexity(M, in_channels=0)",
            error="in_channels"),
        api("module-convention-pycls", MODULE + "assert_complexity(M, convention='pycls')",
            error="convention"),
        api("validate-device-bad", "from netcalc.torch.validate import validate_spec\n"
            f"validate_spec({R800!r}, device='tpu')", error="device: 'tpu' is not one of"),
        api("validate-convention-pycls", "from netcalc.torch.validate import validate_spec\n"
            f"validate_spec({R800!r}, convention='pycls')", error="cannot be traced"),
        api("validate-max-memory", "from netcalc.torch.validate import validate_spec\n"
            f"validate_spec({R800!r}, max_memory=1000)", error="raise max_memory"),
    ]
    return cases


outcomes, test_hostile_api = corpus_module(corpus, make_files, "api")


def test_api_errors_never_name_command_line_options(outcomes):
    messages = [o.message for o in outcomes.values() if o.exception]
    assert messages and not [m for m in messages if "--" in m]


def test_every_api_error_is_a_netcalc_error(outcomes):
    for outcome in outcomes.values():
        assert "NetcalcError" in outcome.extra["mro"].split(), outcome


def test_error_family():
    assert netcalc.NetcalcError is netcalc.errors.NetcalcError
    assert issubclass(netcalc.SpecError, netcalc.NetcalcError)
    assert issubclass(netcalc.ArgumentError, netcalc.NetcalcError)
    assert not issubclass(netcalc.ArgumentError, netcalc.SpecError)
    # compatible with callers that caught ValueError (SpecError was one) or TypeError
    assert issubclass(netcalc.SpecError, ValueError)
    assert issubclass(netcalc.ArgumentError, (ValueError, TypeError))
    for name in ("NetcalcError", "SpecError", "ArgumentError"):
        assert name in netcalc.__all__


def test_option_names_appear_only_on_the_command_line():
    error = netcalc.ArgumentError("", "max_pieces", "over the limit; raise `max_pieces`")
    assert str(error) == "max_pieces: over the limit; raise max_pieces"
    assert error.cli_text() == "--max-pieces: over the limit; raise --max-pieces"
    assert netcalc.ArgumentError("", "widths[3]", "x").cli_text() == "W4: x"
    assert netcalc.ArgumentError("", "lo", "x").cli_text() == "--from: x"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "x", None])
def test_fit_widths_rejects_every_bad_q(bad):
    from netcalc.spaces import fit_widths

    with pytest.raises(netcalc.ArgumentError, match="^q: "):
        fit_widths([8, 16], q=bad)
