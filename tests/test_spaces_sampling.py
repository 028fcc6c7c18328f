"""Sampling inside a regime: every sampled count equals netcalc.count of the emitted spec.

The sampler counts from tables built out of one-part graphs; these tests count every emitted
spec again through the plain API (netcalc.count, and the CLI for a few saved as .json) and
require the same three integers and membership of the regime. verify=0 switches the sampler's
own self-check off so the tests are the independent witness.
"""
import itertools
import json

import numpy as np
import pytest

import netcalc
from netcalc.errors import SpecError
from netcalc.families import regnet
from netcalc.spaces import Regime, load_space, sample
from netcalc.spaces.chain import ChainSampler, Layout
from netcalc.spaces.schema import parse_space
from netcalc.spaces.stats import edf, fraction_ci, quantiles, summary

from conftest import run_cli

MF = 10 ** 6
REGIME = (360 * MF, 400 * MF)    # the paper's 360MF-400MF regime


def _recount(samples, convention="pycls"):
    for record in samples.records:
        report = netcalc.count(record["spec"], convention=convention)
        assert (report.flops, report.params, report.acts) == \
            (record["flops"], record["params"], record["acts"]), record["spec"]
        assert samples.regime.contains(np.array([[report.flops], [report.params],
                                                 [report.acts]]))[0]


@pytest.fixture(scope="module")
def anynetx_a_sample():
    space = load_space("anynetx_a")
    return sample(space, 120, Regime.of(space, flops=REGIME), seed=11, verify=0)


def test_anynetx_a_counts_equal_netcalc_count(anynetx_a_sample):
    assert len(anynetx_a_sample.records) == 120
    _recount(anynetx_a_sample)
    for r in anynetx_a_sample.records:
        assert REGIME[0] <= r["flops"] <= REGIME[1]


def test_members_are_in_the_space_and_adjusted_like_pycls(anynetx_a_sample):
    space = anynetx_a_sample.space
    adjusted = 0
    for record in anynetx_a_sample.records:
        member = record["member"]
        for s, stage in enumerate(record["spec"]["stages"]):
            w, b, g = member["width"][s], member["bot_mul"][s], member["group_w"][s]
            assert w in space.domain("width").values and b in space.domain("bot_mul").values
            assert g in space.domain("group_w").values
            assert member["depth"][s] == stage["depth"] and stage["bot_mul"] == b
            # the network is pycls's adjustment of the member (identity when compatible)
            (w2,), (g2,) = regnet.adjust_compatibility([w], [b], [g])
            assert (stage["width"], stage["group_w"]) == (w2, g2)
            adjusted += (w2, g2) != (w, g)
    assert adjusted > 0    # AnyNetX_A members are often incompatible (5.9x more than not)


def test_same_seed_same_sample_and_prefix_property():
    space = load_space("anynetx_c")
    regime = Regime.of(space, flops=REGIME)
    a = sample(space, 15, regime, seed=5, verify=0)
    b = sample(space, 15, regime, seed=5, verify=0)
    c = sample(space, 25, regime, seed=5, verify=0)
    d = sample(space, 15, regime, seed=6, verify=0)
    assert a.records == b.records and a.candidates == b.candidates
    assert c.records[:15] == a.records          # fixed batches: a larger n extends the sample
    assert d.records != a.records


def test_anynetx_e_respects_its_constraints():
    space = load_space("anynetx_e")
    result = sample(space, 60, Regime.of(space, flops=REGIME, params=(None, 5 * MF)),
                    seed=2, verify=0)
    _recount(result)
    for record in result.records:
        m = record["member"]
        assert m["width"] == sorted(m["width"]) and m["depth"] == sorted(m["depth"])
        assert len(set(m["bot_mul"])) == 1 and len(set(m["group_w"])) == 1
        assert record["params"] <= 5 * MF


def test_compatible_only_draws_need_no_adjustment():
    space = load_space("anynetx_b")
    result = sample(space, 30, Regime.of(space, flops=REGIME), seed=3, compatible_only=True,
                    verify=0)
    _recount(result)
    for record in result.records:
        m = record["member"]
        assert [s["width"] for s in record["spec"]["stages"]] == m["width"]
        assert all(int(w * b) % g == 0 for w, b, g in zip(m["width"], m["bot_mul"],
                                                          m["group_w"]))


def test_regnetx_sample_keeps_the_sweep_constraints():
    space = load_space("regnetx")
    result = sample(space, 25, Regime.of(space, flops=REGIME), seed=4, verify=0)
    _recount(result)
    f_cap = 0.4   # GF: the regime's upper end
    for record in result.records:
        spec = netcalc.load_spec(record["spec"])
        cfg = spec.config
        assert len(regnet.stages(cfg)) == 4
        assert max(regnet.block_exponents(cfg.w0, cfg.wa, cfg.wm, cfg.depth)) == 3
        assert 12 <= cfg.depth <= 28 and 2 <= cfg.wm <= 3 and cfg.bot_mul == 1
        # the caps of the paper: params < 3 + 5.5F (M), acts < 6.5 sqrt(F) (M)
        assert record["params"] < (3 + 5.5 * f_cap) * MF
        assert record["acts"] < 6.5 * f_cap ** 0.5 * MF
    assert result.invalid > 0     # draws without exactly 4 stages were rejected


def test_regnet_space_sample_and_fvcore_convention():
    space = load_space("regnet")
    result = sample(space, 10, Regime.of(space, flops=REGIME), seed=1, convention="fvcore",
                    verify=0)
    _recount(result, convention="fvcore")


def test_blocks_with_squeeze_excite_and_stride_one_fall_back_correctly():
    # SE widths depend on the block input and a stride-1 stage has a shortcut only when the
    # width changes: the w_in substitution check must refuse both, and counts stay exact.
    data = {"kind": "anynet", "stages": 3, "stride": [1, 2, 2],
            "network": {"se_r": 0.25, "resolution": 64},
            "domains": {"depth": {"range": [1, 3]}, "width": {"values": [16, 24, 32]},
                        "group_w": {"values": [8]}}}
    space = parse_space(data, "<test>")
    result = sample(space, 40, Regime.of(space), seed=0, verify=0)
    _recount(result)
    widths = {tuple(s["width"] for s in r["spec"]["stages"]) for r in result.records}
    assert any(w[0] == 32 for w in widths)       # stem width 32 into a stride-1 stage of 32


def test_empty_regime_gives_a_clear_error():
    space = load_space("anynetx_a")
    with pytest.raises(SpecError, match="the regime is empty"):
        sample(space, 5, Regime.of(space, flops=(1, 2)), max_candidates=50_000)
    with pytest.raises(SpecError, match=r"only \d+ of 1000 members"):
        sample(space, 1000, Regime.of(space, flops=REGIME), seed=0, max_candidates=4000)


def test_space_without_members_is_refused():
    # width 8 with b = 1/4 has a 2-channel bottleneck, which no group width 32 divides
    data = {"kind": "anynet", "constraints": {"compatible": True},
            "domains": {"depth": {"range": [1, 2]}, "width": {"values": [8]},
                        "bot_mul": {"values": [0.25]}, "group_w": {"values": [32]}}}
    space = parse_space(data, "none.yaml")
    from netcalc.spaces import space_size

    assert space_size(space) == 0
    with pytest.raises(SpecError, match="no members"):
        sample(space, 1)


def test_chain_sampler_is_uniform_over_members():
    # 3 stages over a 3x4 per-stage domain with a mask, width strictly increasing, depth
    # shared: list every member and check the frequencies with a chi-square bound.
    mask = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]])
    dims = ("depth", "width")
    relation = {"depth": "shared", "width": "increasing"}.get
    members = [c for c in itertools.product(
        [p for p in itertools.product(range(3), range(4)) if mask[p]], repeat=3)
        if c[0][0] == c[1][0] == c[2][0] and c[0][1] < c[1][1] < c[2][1]]
    sampler = ChainSampler(mask.astype(float), Layout.of(dims, relation), 3)
    draws = sampler.draw(np.random.default_rng(9), 60_000)
    counts = {}
    for chain in map(lambda a: tuple(map(tuple, a)), draws):
        counts[chain] = counts.get(chain, 0) + 1
    assert set(counts) == set(members)                 # only members, every member
    expected = 60_000 / len(members)
    chi2 = sum((counts[m] - expected) ** 2 / expected for m in members)
    assert chi2 < len(members) + 6 * (2 * len(members)) ** 0.5


# -- statistics -----------------------------------------------------------------------------------
def test_stats(anynetx_a_sample):
    stats = summary(anynetx_a_sample)
    q = stats["quantiles"]["flops"]
    assert REGIME[0] <= q["q00"] <= q["q50"] <= q["q100"] <= REGIME[1]
    p, lo, hi = fraction_ci(120, anynetx_a_sample.candidates, 11)
    assert stats["fraction_in_regime"] == p == 120 / anynetx_a_sample.candidates
    assert lo < p < hi
    x, f = edf([3, 1, 2, 2])
    assert list(x) == [1, 2, 2, 3] and list(f) == [0.25, 0.5, 0.75, 1.0]
    assert quantiles([1, 2, 3])["q50"] == 2.0


def test_bootstrap_interval_has_its_coverage():
    # For p = 0.01 and 20,000 draws the binomial standard error is 7.0e-4: the 95% interval
    # must span about 2 * 1.96 * 7.0e-4 = 2.8e-3.
    p, lo, hi = fraction_ci(200, 20_000, 0)
    assert p == 0.01 and hi - lo == pytest.approx(2.8e-3, rel=0.1)


# -- command line ---------------------------------------------------------------------------------
def test_cli_sample_out_stats_plot_and_recount(tmp_path):
    out, png = tmp_path / "s.jsonl", tmp_path / "edf.png"
    result = run_cli("sample", "anynetx_d", "--n", "8", "--flops", "360M:400M", "--seed", "1",
                     "--out", str(out), "--stats", "--plot", str(png))
    assert result.returncode == 0, result.stderr
    assert "fraction of draws in the regime" in result.stdout and "q50" in result.stdout
    assert png.stat().st_size > 1000
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(lines) == 8
    again = run_cli("sample", "anynetx_d", "--n", "8", "--flops", "360M:400M", "--seed", "1")
    assert [json.loads(l) for l in again.stdout.splitlines()] == lines   # stdout = same lines
    for i, line in enumerate(lines[:2]):
        spec = tmp_path / f"m{i}.json"
        spec.write_text(json.dumps(line["spec"]))
        counted = json.loads(run_cli("count", str(spec), "--format", "json", "--by",
                                     "total").stdout)
        assert {k: counted[k] for k in ("flops", "params", "acts")} == \
            {k: line[k] for k in ("flops", "params", "acts")}


def test_cli_sample_errors():
    bad = run_cli("sample", "anynetx_a", "--n", "3", "--flops", "400M:360M")
    assert bad.returncode == 2 and "--flops" in bad.stderr and "Traceback" not in bad.stderr
    empty = run_cli("sample", "anynetx_a", "--n", "3", "--flops", "1:2", "--max-candidates",
                    "20000")
    assert empty.returncode == 2 and "regime: the regime is empty" in empty.stderr
    compat = run_cli("sample", "regnet", "--n", "3", "--compatible-only")
    assert compat.returncode == 2 and "--compatible-only" in compat.stderr
