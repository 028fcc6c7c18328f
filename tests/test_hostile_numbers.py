"""Issue 12, class 3 (numbers): huge integers, int64 overflow, non-finite and negative option
values, zero counts and non-ASCII digits are clear one-line refusals (or exact results), never a
traceback and never a wrapped number.
"""

from hostile_harness import Case, corpus_module

REGNET = "family: regnet\nw0: 24\nwa: 36.44\nwm: 2.49\ngroup_w: 8\n"
BIG = "1" * 5000
BUDGETS = {  # text -> why it is refused
    "arabic-indic": "\u0664\u0660\u0660M", "fullwidth": "\uff14\uff10\uff10M",
    "devanagari": "\u096a\u0966\u0966", "thai": "\u0e54\u0e50\u0e50M", "underscore": "400_000",
    "exponent": "4e8", "negative": "-400M", "nan": "nan", "inf": "inf", "hex": "0x10",
    "two-suffixes": "400MM", "too-many-digits": "1" * 31, "empty": "", "fraction": "0.5",
    "suffix-only": "M", "comma": "400,000", "superscript": "4\u00b2", "tab": "400\tM",
}


def make_files(d):
    (d / "big_int.yaml").write_text(REGNET + f"depth: {BIG}\n")
    (d / "big_negative.yaml").write_text(REGNET + f"depth: -{BIG}\n")
    (d / "big_hex.yaml").write_text(REGNET + f"depth: 0x{'f' * 5000}\n")
    (d / "big_int.json").write_text('{"family": "regnet", "w0": 24, "wa": 36.44, "wm": 2.49, '
                                    f'"group_w": 8, "depth": {BIG}}}')
    (d / "digits_101.yaml").write_text(REGNET + f"depth: {'9' * 101}\n")
    (d / "digits_100.yaml").write_text(REGNET + f"depth: {'9' * 100}\n")
    (d / "big_float.yaml").write_text(REGNET.replace("36.44", "3" + "6" * 5000 + ".44")
                                      + "depth: 13\n")
    (d / "big_space.yaml").write_text(f"kind: anynet\ndomains:\n  depth: {{values: [{BIG}]}}\n"
                                      "  width: {values: [8]}\n")
    (d / "big.lock").write_text('{"netcalc_lock": 1, "models": [{"spec": "x.yaml", '
                                '"convention": "pycls", "resolution": 224, '
                                f'"flops": {BIG}, "params": 1, "acts": 1}}]}}')
    (d / "wide_anynet.yaml").write_text(
        "kind: anynet\nstages: 16\nstride: 1\nnetwork: {resolution: 8192}\ndomains:\n"
        "  depth: {values: [1, 200]}\n  width: {values: [8, 65536]}\n")
    (d / "wide_regnet.yaml").write_text(
        "kind: regnet\nstride: 1\nnetwork: {resolution: 8192}\ndomains:\n"
        "  depth: {values: [200]}\n  w0: {values: [65536]}\n  wa: {values: [64]}\n"
        "  wm: {values: [2.0]}\n")
    (d / "zero_acts.yaml").write_text("family: graph\nresolution: 8\nlayers:\n  - {op: relu}\n")
    (d / "one_conv.yaml").write_text("family: graph\nresolution: 8\nlayers:\n"
                                     "  - {op: conv, out: 4, kernel: 1}\n")


def corpus(d):
    regnet = "specs/regnetx_800mf.yaml"
    cases = [
        Case("int-5000-digits-yaml", ["count", str(d / "big_int.yaml")], 2, "5000 digits"),
        Case("int-5000-digits-negative", ["count", str(d / "big_negative.yaml")], 2,
             "5000 digits"),
        Case("int-5000-hex-digits", ["count", str(d / "big_hex.yaml")], 2, "digits"),
        Case("int-5000-digits-json", ["count", str(d / "big_int.json")], 2, "5000 digits"),
        Case("int-101-digits", ["count", str(d / "digits_101.yaml")], 2, "101 digits"),
        Case("int-100-digits-bounded", ["count", str(d / "digits_100.yaml")], 2,
             "depth: " + "9" * 100 + " is above the maximum"),
        Case("float-5000-digits", ["count", str(d / "big_float.yaml")], 2, "wa"),
        Case("int-5000-digits-space", ["space", str(d / "big_space.yaml")], 2, "5000 digits"),
        Case("int-5000-digits-lock", ["check", "--lock", str(d / "big.lock")], 2,
             "5000 digits"),
        Case("api-int-5000-digits", api=f"netcalc.load_spec({str(d / 'big_int.yaml')!r})",
             raises="SpecError", error="5000 digits"),
        Case("api-dict-huge-int", api="netcalc.load_spec({'family': 'regnet', 'w0': 24, "
                                      "'wa': 36.0, 'wm': 2.5, 'group_w': 8, 'depth': 10**5000})",
             raises="SpecError", error="5000 digits"),
        # int64: exact or refused, never wrapped
        Case("sample-wide-anynet", ["sample", str(d / "wide_anynet.yaml"), "--n", "2"], 2,
             "too large for exact 64-bit"),
        Case("sample-wide-regnet", ["sample", str(d / "wide_regnet.yaml"), "--n", "2"], 2,
             "2^62 or more"),
        Case("sample-wide-regnet-bounded", ["sample", str(d / "wide_regnet.yaml"), "--n", "2",
                                            "--flops", ":1G", "--max-candidates", "2000"], 2,
             "the regime is empty"),
        # option values
        Case("seed-negative", ["sample", "anynetx_a", "--n", "1", "--seed", "-1"], 2, "--seed"),
        Case("seed-huge", ["sample", "anynetx_a", "--n", "1", "--seed", str(2 ** 200)], 2,
             "--seed"),
        Case("seed-word", ["sample", "anynetx_a", "--n", "1", "--seed", "one"], 2, "--seed"),
        Case("seed-2-128-minus-1", ["sample", "anynetx_a", "--n", "1", "--seed",
                                    str(2 ** 128 - 1), "--verify", "0"], 0),
        Case("api-seed-negative", api="from netcalc import spaces\n"
                                      "spaces.sample(spaces.load_space('anynetx_a'), 1, seed=-1)",
             raises="ArgumentError", error="seed"),
        Case("trends-zero-counts", ["trends", str(d / "zero_acts.yaml"), str(d / "one_conv.yaml"),
                                    regnet], 0, stdout_has="zero_acts"),
        Case("trends-zero-json", ["trends", str(d / "zero_acts.yaml"), regnet, "--format",
                                  "json"], 0, stdout_has='"acts_error"'),
        Case("fit-q-zero", ["fit", "8", "16", "--q", "0"], 2, "--q"),
        Case("fit-width-zero", ["fit", "8", "0"], 2, "W1 W2"),
        Case("fit-width-over-channels", ["fit", "8", "70000"], 2, "W2: 70000 is above the maximum 65536"),
        Case("fit-width-negative", ["fit", "8", "-8"], 2, ""),
        Case("resolution-zero", ["count", regnet, "--resolution", "0"], 2, "--resolution"),
        Case("resolution-negative", ["count", regnet, "--resolution", "-224"], 2, ""),
        Case("steps-nan", ["steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from", "nan",
                           "--to", "1"], 2, "--from"),
        Case("steps-inf", ["steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from", "1",
                           "--to", "inf"], 2, "--to"),
        Case("steps-reversed", ["steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from",
                                "2", "--to", "1"], 2, "--from"),
    ]
    for value in ("nan", "inf", "-inf", "-1", "0", "1e-320", "-1e308"):
        for option in ("--wa-step", "--wm-step"):
            cases.append(Case(f"distinct{option}={value}", ["space", "regnet", "--distinct",
                                                            option, value], 2, option))
    for value in ("3", "12", "2.5", "-8"):
        cases.append(Case(f"distinct--w0-step={value}", ["space", "regnet", "--distinct",
                                                         "--w0-step", value], 2, "--w0-step"))
    for why, text in BUDGETS.items():
        cases.append(Case(f"check-budget-{why}", ["check", regnet, "--max-flops", text], 2,
                          "--max-flops"))
        if text:        # an empty side is an open end of a regime
            cases.append(Case(f"sample-regime-{why}", ["sample", "anynetx_a", "--n", "1",
                                                       "--flops", f"{text}:"], 2, "--flops"))
    cases.append(Case("solve-budget-arabic", ["solve", regnet, "--flops", BUDGETS["arabic-indic"]],
                      2, "--flops"))
    cases.append(Case("validate-memory-fullwidth", ["validate", regnet, "--max-memory",
                                                    BUDGETS["fullwidth"]], 2, "--max-memory"))
    cases.append(Case("api-budget-arabic", api="from netcalc.testing import assert_budget\n"
                      f"assert_budget({regnet!r}, flops={BUDGETS['arabic-indic']!r})",
                      raises="ArgumentError", error="not a quantity"))
    return cases


outcomes, test_hostile_numbers = corpus_module(corpus, make_files, "numbers")


def test_quantities_stay_exact():
    """What is accepted is exact: 1.6G is 1,600,000,000 and 0.000001T is 1,000,000."""
    from netcalc.quantity import parse_quantity

    assert parse_quantity("1.6G") == 1_600_000_000
    assert parse_quantity("0.000001T") == 1_000_000
    assert parse_quantity(" 400M ") == 400_000_000
