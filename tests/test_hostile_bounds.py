"""Issue 12, class 2 (work with no bound): every command knows up front that its work fits, or
refuses at once, in one line naming the option that raises the limit.

Each case runs under RLIMIT_AS = 2 GiB and a CPU cap (tests/hostile_harness.py) and must finish
within its ``seconds``: the refusals are expected to come in well under a second of work.
"""
import json
import os


from hostile_harness import Case, corpus_module

SLOW = {"family": "anynet", "stages": [{"depth": 1024, "width": 64}] * 4}   # 4096 blocks
MODEL = '{"spec": "%s", "convention": "pycls", "resolution": 224, "flops": 1, "params": 1, ' \
        '"acts": 1}'


def space_file(stages, depth, width, extra=""):
    return (f"kind: anynet\nstages: {stages}\ndomains:\n  depth: {depth}\n  width: {width}\n"
            + extra)


def make_files(d):
    (d / "slow.json").write_text(json.dumps(SLOW))
    (d / "slow200.lock").write_text('{"netcalc_lock": 1, "models": [%s]}'
                                    % ", ".join([MODEL % "slow.json"] * 200))
    (d / "many.lock").write_text('{"netcalc_lock": 1, "models": [%s]}'
                                 % ", ".join([MODEL % "slow.json"] * 10_001))
    (d / "huge_choices.yaml").write_text(space_file(
        16, "{range: [1, 64]}", "{range: [8, 2048], step: 8}",
        "  group_w: {values: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, "
        "16384, 32768]}\n  bot_mul: {values: [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]}\n"))
    (d / "wide_tables.yaml").write_text(space_file(
        8, "{values: [1, 2]}", "{range: [8, 4096], step: 8}",
        "  group_w: {values: [1, 2, 4, 8]}\n"))
    (d / "too_many_values.yaml").write_text(
        "kind: regnet\ndomains:\n  depth: {values: [13]}\n  w0: {values: [8]}\n"
        "  wa: {range: [0, 60000], step: 0.01}\n  wm: {values: [2]}\n")
    (d / "deep_members.yaml").write_text(space_file(16, "{values: [1, 1000]}", "{values: [8]}"))
    (d / "wide_linear.yaml").write_text("family: graph\nresolution: 8192\nlayers:\n"
                                        "  - {op: conv, out: 65536, kernel: 1}\n")
    (d / "big_module.yaml").write_text("family: anynet\nresolution: 2048\nstages:\n"
                                       "  - {depth: 2, width: 4096}\n")


def corpus(d):
    slow, regnet = str(d / "slow.json"), "specs/regnetx_800mf.yaml"
    widths = [str(8 * (1 + k // 64)) for k in range(4096)]
    return [
        # sample: n, verify, regimes that no member can reach
        Case("sample-n-over-limit", ["sample", "anynetx_a", "--n", "1000001"], 2, "--n"),
        Case("sample-verify-over-limit", ["sample", "anynetx_a", "--n", "1", "--verify",
                                          "10001"], 2, "--verify"),
        Case("sample-regnet-empty-regime", ["sample", "regnet", "--n", "5", "--flops", "0:1"],
             2, "the regime is empty", seconds=5),
        Case("sample-anynet-empty-regime", ["sample", "anynetx_a", "--n", "5", "--flops",
                                            "0:1"], 2, "the regime is empty", seconds=5),
        Case("sample-regnetx-empty-params", ["sample", "regnetx", "--n", "5", "--params",
                                             ":10"], 2, "the regime is empty", seconds=5),
        Case("sample-empty-acts", ["sample", "anynetx_c", "--n", "5", "--acts", "0:0"], 2,
             "the regime is empty", seconds=5),
        Case("sample-streams", ["sample", "anynetx_a", "--n", "1000", "--verify", "0"], 0,
             seconds=15),
        # space: per-stage choices, domain sizes, distinct grids
        Case("space-huge-choices", ["space", str(d / "huge_choices.yaml")], 2,
             "cells of exact counting"),
        Case("sample-huge-choices", ["sample", str(d / "huge_choices.yaml"), "--n", "1"], 2,
             "cells of exact counting"),
        Case("sample-wide-tables", ["sample", str(d / "wide_tables.yaml"), "--n", "1"], 2,
             "table cells", seconds=5),
        Case("space-too-many-values", ["space", str(d / "too_many_values.yaml")], 2,
             "more than 1000000 values"),
        Case("space-members-too-deep", ["space", str(d / "deep_members.yaml")], 2,
             "16000 blocks"),
        Case("distinct-wa-step", ["space", "regnet", "--distinct", "--wa-step", "0.25"], 2,
             "--wa-step"),
        Case("distinct-wm-step", ["space", "regnet", "--distinct", "--wm-step", "0.0005"], 2,
             "--wm-step"),
        Case("distinct-tiny-step", ["space", "regnet", "--distinct", "--wa-step", "1e-300"], 2,
             "more than 1,000,000 values"),
        # steps: pieces are bounded before the bisection runs away
        Case("steps-dense", ["steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from", "1",
                             "--to", "3"], 2, "--max-pieces", seconds=15),
        Case("steps-huge-range", ["steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from",
                                  "0.001", "--to", "1000", "--max-pieces", "20"], 2,
             "--max-pieces", seconds=10),
        Case("steps-max-pieces-bad", ["steps", "specs/rexnet_1.0.yaml", "--for", "width",
                                      "--from", "1", "--to", "2", "--max-pieces", "0"], 2,
             "--max-pieces"),
        # lock files: a slow spec named 200 times is counted once; too many models refused
        Case("lock-slow-spec-200-times", ["check", "--lock", str(d / "slow200.lock")], 1,
             seconds=10),
        Case("lock-too-many-models", ["check", "--lock", str(d / "many.lock")], 2,
             "expected 1 to 10000 entries"),
        # validate: module memory estimated from the counts, refused before torch builds it
        Case("validate-resolution-8192", ["validate", regnet, "--resolution", "8192"], 2,
             "--max-memory", seconds=5),
        Case("validate-wide-conv", ["validate", str(d / "wide_linear.yaml")], 2,
             "--max-memory", seconds=5),
        Case("validate-big-module", ["validate", str(d / "big_module.yaml")], 2,
             "--max-memory", seconds=5),
        Case("validate-second-spec-too-big", ["validate", regnet, str(d / "wide_linear.yaml")],
             2, "wide_linear.yaml", seconds=5),
        Case("validate-bad-max-memory", ["validate", regnet, "--max-memory", "lots"], 2,
             "--max-memory"),
        Case("validate-max-memory-tiny", ["validate", regnet, "--max-memory", "1k"], 2,
             "raise --max-memory"),
        # fit: the longest width list is fast; longer lists are refused
        Case("fit-4096-widths", ["fit", *widths], 0, seconds=20),
        Case("fit-4097-widths", ["fit", *widths, "8"], 2, "expected 1 to 4096"),
        # counting itself: the largest legal specs are analytic and quick
        Case("count-slow-spec", ["count", slow, "--resolution", "8192"], 0, seconds=5),
        Case("api-sample-streams", api=(
            "from netcalc import spaces\nseen = []\n"
            "r = spaces.sample(spaces.load_space('anynetx_a'), 5000, verify=2, "
            "sink=seen.append)\n"
            "assert len(seen) == 5000 and len(r.records) == 2 and r.kept == 5000\n"
            "assert r.totals.shape == (3, 5000)"), seconds=15),
        Case("api-validate-memory", api=(
            "from netcalc.limits import check_module_memory\n"
            "check_module_memory(netcalc.count('specs/regnetx_800mf.yaml', resolution=8192))"),
             raises="ArgumentError", error="raise max_memory"),
    ]


outcomes, test_hostile_bounds = corpus_module(corpus, make_files, "bounds")
