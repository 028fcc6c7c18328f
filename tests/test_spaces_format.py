"""The space file format: parsing, errors with file and field path, distributions."""
import os
import math

import numpy as np
import pytest

from netcalc.errors import SpecError
from netcalc.spaces import load_space
from netcalc.spaces.schema import parse_space

from conftest import ROOT, run_cli

BASE = {
    "kind": "anynet",
    "domains": {"depth": {"range": [1, 4]}, "width": {"range": [8, 64], "step": 8}},
}


def _with(**changes):
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, value in changes.items():
        data[key] = value
    return data


def test_defaults_and_domains():
    space = parse_space(_with(), "x.yaml")
    assert space.domain("width").values == tuple(range(8, 65, 8))
    assert space.domain("bot_mul").values == (1.0,) and space.domain("group_w").values == (1,)
    assert space.num_stages == 4 and space.strides == (2, 2, 2, 2)
    assert space.network.stem_w == 32 and space.network.block_type == "res_bottleneck"


def test_values_are_sorted_for_ordering():
    # non_decreasing compares values, so domains are stored ascending whatever the file's order
    space = parse_space(_with(domains={"depth": {"values": [3, 1, 2]},
                                       "width": {"values": [64, 8]}}), "x.yaml")
    assert space.domain("depth").values == (1, 2, 3) and space.domain("width").values == (8, 64)


@pytest.mark.parametrize("data, field, message", [
    (_with(domains={"depth": {"range": [1, 4]}}), "domains.width", "is required"),
    (_with(domains={"depth": {"range": [1, 4]}, "width": {"range": [8, 64], "step": 0}}),
     "domains.width.step", "outside"),
    (_with(domains={"depth": {"range": [1, 4]}, "width": {"range": [8, 6.5]}}),
     "domains.width.range[1]", "expected an integer"),
    (_with(domains={"depth": {"range": [1, 4]}, "width": {"values": [8, 8]}}),
     "domains.width.values", "twice"),
    (_with(domains={"depth": {"range": [1, 4]}, "width": {"range": [8, 64], "values": [8]}}),
     "domains.width", "either values"),
    (_with(domains={"depth": {"range": [1, 4]}, "widht": {"range": [8, 64]}}),
     "domains.widht", "did you mean 'width'"),
    (_with(constraints={"shared": ["bot_mul"], "non_decreasing": ["bot_mul"]}),
     "constraints.non_decreasing[0]", "already shared"),
    (_with(constraints={"shared": ["colour"]}), "constraints.shared[0]", "not one of"),
    (_with(stages=0), "stages", "below the minimum"),
    (_with(network={"stem": "fancy"}), "network.stem", "not one of"),
    (_with(caps={"params": {}}), "caps.params", "needs max"),
    (_with(caps={"params": {"max": "4Q"}}), "caps.params.max", "quantity"),
    (_with(kind="nas"), "kind", "not one of"),
    # 1000 depths x 65536 widths per stage: refused before any table is built
    (_with(domains={"depth": {"range": [1, 1000]}, "width": {"range": [1, 65536]}}),
     "domains", "choices per stage"),
])
def test_errors_name_file_and_field(data, field, message):
    with pytest.raises(SpecError) as err:
        parse_space(data, "my_space.yaml")
    assert err.value.source == "my_space.yaml"
    assert err.value.field == field
    assert message in err.value.message


def test_regnet_w0_must_be_a_multiple_of_q():
    data = {"kind": "regnet", "domains": {"depth": {"range": [1, 3]}, "w0": {"values": [12]},
                                          "wa": {"values": [8]}, "wm": {"values": [2]}}}
    with pytest.raises(SpecError, match="multiple of q"):
        parse_space(data, "r.yaml")
    data["domains"]["wm"] = {"values": [1.0]}
    data["domains"]["w0"] = {"values": [16]}
    with pytest.raises(SpecError, match=r"domains.wm.values\[0\]"):
        parse_space(data, "r.yaml")


def test_extends_merges_and_detects_cycles(tmp_path):
    (tmp_path / "base.yaml").write_text("kind: anynet\nname: Base\ndomains:\n"
                                        "  depth: {range: [1, 2]}\n  width: {values: [8, 16]}\n")
    (tmp_path / "child.yaml").write_text("extends: base\nconstraints: {shared: [width]}\n")
    child = load_space(str(tmp_path / "child.yaml"))
    assert child.name == "child"                     # names are never inherited
    assert child.relation("width") == "shared" and child.domain("depth").values == (1, 2)
    (tmp_path / "a.yaml").write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: a\n")
    with pytest.raises(SpecError, match="cycle"):
        load_space(str(tmp_path / "a.yaml"))


def test_cli_reports_bad_space_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: anynet\ndomains:\n  depth: {range: [1, 4]}\n"
                    "  width: {range: [8, 64], step: -8}\n")
    result = run_cli("space", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {path}: domains.width.step:")
    assert "Traceback" not in result.stderr


# -- distributions (pycls's sweep samplers, as exact per-value probabilities) --------------------
def test_log_uniform_weights_follow_pycls():
    space = load_space("regnetx")
    w0 = space.domain("w0")
    assert w0.values == tuple(range(8, 257, 8))
    # pycls draws f log-uniformly on (8 - 4, 256] and rounds up to a multiple of 8: the value 8
    # gets ln(8/4)/ln(256/4) = 1/6 of the mass, 16 gets ln(16/8)/ln(64) = 1/6 too.
    assert w0.weights[0] == pytest.approx(1 / 6) and w0.weights[1] == pytest.approx(1 / 6)
    assert sum(w0.weights) == pytest.approx(1.0)
    # group width 8..128 step 8: every power of two drawn is >= q = 8, so pycls switches to
    # log-uniform(8, 128, 8): P(8) = ln(8/4)/ln(128/4) = 0.2
    assert space.domain("group_w").weights[0] == pytest.approx(0.2)


def test_log_uniform_matches_a_simulation_of_pycls():
    # Simulate pycls's rand.log_uniform(8, 256, 0.1) literally and compare frequencies.
    wa = load_space("regnetx").domain("wa")
    rng = np.random.default_rng(3)
    lo, hi, q = 8.0, 256.0, 0.1
    f = np.exp(-rng.uniform(-np.log(hi), -np.log(lo - min(q, lo / 2)), 400_000))
    index = np.ceil(np.round(f / q, 9)).astype(np.int64) - 80    # 8.0 is index 0
    counts = np.bincount(index, minlength=len(wa.values))
    expected = np.array(wa.weights) * len(f)
    # coarse bins (50 values each) keep every expected count large for a chi-square check
    obs = np.add.reduceat(counts, range(0, len(counts), 50))
    exp = np.add.reduceat(expected, range(0, len(expected), 50))
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert chi2 < len(obs) + 6 * math.sqrt(2 * len(obs))


def test_float_grids_are_exact_decimals():
    wm = load_space("regnetx").domain("wm")
    assert wm.values[1] == 2.001 and wm.values[-1] == 3.0 and len(wm.values) == 1001


def test_log_uniform_ends_must_be_multiples_of_step(tmp_path):
    # pycls's log-uniform sampler needs ends on the step grid; 9 is not a multiple of 8.
    text = open(os.path.join(ROOT, "specs", "spaces", "regnetx.yaml")).read()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("w0: {range: [8, 256], step: 8", "w0: {range: [9, 256], step: 8"))
    result = run_cli("space", str(bad))
    assert result.returncode == 2 and "multiples of step 8" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
