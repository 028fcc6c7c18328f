"""Issue 12, class 4 (results that are not true): what used to exit 0 with something false.

Duplicate keys (YAML and JSON) are errors naming the key; sampling never emits a member that
breaks the space's constraints or a spec that ``count`` refuses; ``steps`` finds the pieces
between refused ends; ``fit`` gives e_fit = 0 whenever the RegNet rule made the widths; grids with
``--w0-step`` hold only multiples of q; a plot that cannot be written fails.
"""
import json
import random

from hostile_harness import Case, corpus_module

REGNET = "family: regnet\nw0: 24\nwa: 36.44\nwm: 2.49\ngroup_w: 8\n"
ANYNET_SPACE = "kind: anynet\nstages: 4\ndomains:\n  depth: {values: [1, 2]}\n"


def make_files(d):
    yaml_duplicates = {
        "depth_twice": REGNET + "depth: 16\ndepth: 1\n",
        "family_twice": "family: anynet\n" + REGNET + "depth: 13\n",
        "quoted_twice": REGNET + "depth: 13\n'depth': 13\n",
        "nested_twice": "family: anynet\nstages:\n  - {depth: 1, width: 8, width: 16}\n",
        "flow_twice": "{family: regnet, w0: 24, wa: 36.44, wm: 2.49, group_w: 8, depth: 1, "
                      "depth: 2}\n",
        "newline_key": REGNET + "depth: 13\n\"x\\nerror: forged\": 1\n\"x\\nerror: forged\": 2\n",
    }
    for name, text in yaml_duplicates.items():
        (d / f"{name}.yaml").write_text(text)
    (d / "json_twice.json").write_text('{"family": "regnet", "w0": 24, "wa": 36.44, "wm": 2.49, '
                                       '"group_w": 8, "depth": 16, "depth": 1}')
    (d / "json_nested_twice.json").write_text(
        '{"family": "anynet", "stages": [{"depth": 1, "width": 8, "depth": 2}]}')
    (d / "merge_ok.yaml").write_text(   # a merge key then an explicit key: not a duplicate
        "family: graph\nresolution: 8\nlayers:\n  - &c {op: conv, out: 4, kernel: 1}\n"
        "  - {<<: *c, out: 8}\n")
    (d / "space_twice.yaml").write_text(ANYNET_SPACE + "  width: {values: [8]}\n"
                                        "  width: {values: [16]}\n")
    (d / "lock_twice.lock").write_text('{"netcalc_lock": 1, "netcalc_lock": 1, "models": []}')
    (d / "increasing_empty.yaml").write_text(ANYNET_SPACE + "  width: {values: [8, 16, 24]}\n"
                                             "constraints: {increasing: [width]}\n")
    (d / "no_compatible.yaml").write_text(
        ANYNET_SPACE + "  width: {values: [8]}\n  bot_mul: {values: [0.25]}\n"
        "  group_w: {values: [32]}\nconstraints: {compatible: true}\n")
    (d / "deep_members.yaml").write_text(
        "kind: anynet\nstages: 16\ndomains:\n  depth: {values: [1, 1024]}\n"
        "  width: {values: [8]}\n")


def corpus(d):
    cases = [Case(f"duplicate-{name}", ["count", str(d / f"{name}.yaml")], 2, key)
             for name, key in (("depth_twice", "duplicate key 'depth'"),
                               ("family_twice", "duplicate key 'family'"),
                               ("quoted_twice", "duplicate key 'depth'"),
                               ("nested_twice", "duplicate key 'width'"),
                               ("flow_twice", "duplicate key 'depth'"),
                               ("newline_key", "duplicate key 'x\\nerror: forged'"))]
    cases += [
        Case("duplicate-json", ["count", str(d / "json_twice.json")], 2, "duplicate key 'depth'"),
        Case("duplicate-json-nested", ["count", str(d / "json_nested_twice.json")], 2,
             "duplicate key 'depth'"),
        Case("duplicate-in-space", ["space", str(d / "space_twice.yaml")], 2,
             "duplicate key 'width'"),
        Case("duplicate-in-lock", ["check", "--lock", str(d / "lock_twice.lock")], 2,
             "duplicate key 'netcalc_lock'"),
        Case("duplicate-api", api=f"netcalc.load_spec({str(d / 'depth_twice.yaml')!r})",
             raises="SpecError", error="line 7: duplicate key 'depth' (first on line 6)"),
        Case("yaml-merge-still-works", ["count", str(d / "merge_ok.yaml"), "--by", "layer"], 0,
             stdout_has="8x8x8"),
        # sampling never emits what the space or count refuses
        Case("sample-size-0-increasing", ["sample", str(d / "increasing_empty.yaml"), "--n", "3",
                                          "--verify", "0"], 2, "no members"),
        Case("space-size-0-reported", ["space", str(d / "increasing_empty.yaml")], 0,
             stdout_has="size (all (w, b, g) combinations): 0"),
        Case("sample-no-compatible", ["sample", str(d / "no_compatible.yaml"), "--n", "3"], 2,
             "no member"),
        Case("sample-members-uncountable", ["sample", str(d / "deep_members.yaml"), "--n", "3",
                                            "--verify", "0"], 2, "16384 blocks"),
        Case("sampled-specs-count", api=(
            "from netcalc import spaces\n"
            "for name in ('anynetx_a', 'anynetx_e', 'regnetx'):\n"
            "    r = spaces.sample(spaces.load_space(name), 12, verify=0, seed=7)\n"
            "    for rec in r.records:\n"
            "        c = netcalc.count(rec['spec'])\n"
            "        assert (c.flops, c.params, c.acts) == (rec['flops'], rec['params'], "
            "rec['acts'])"), seconds=20),
        Case("sampled-increasing-holds", api=(
            "from netcalc import spaces\nimport dataclasses\n"
            "s = spaces.load_space('anynetx_d')\n"
            "r = spaces.sample(s, 200, verify=0, seed=3)\n"
            "for rec in r.records:\n"
            "    w = rec['member']['width']\n"
            "    assert all(a <= b for a, b in zip(w, w[1:])), w"), seconds=10),
        # steps: a range refused at both ends is not one refused piece
        Case("steps-both-ends-refused", ["steps", "specs/rexnet_1.0.yaml", "--for", "width",
                                         "--from", "0.05", "--to", "60", "--max-pieces", "5"], 2,
             "--max-pieces"),
        Case("steps-all-refused", ["steps", "specs/rexnet_1.0.yaml", "--for", "width", "--from",
                                   "0", "--to", "0.05"], 2, "refuses every one"),
        # grids: w0 multiples of q only
        Case("distinct-w0-step-3", ["space", "regnet", "--distinct", "--w0-step", "3"], 2,
             "not a multiple of q = 8"),
        Case("distinct-w0-step-16-multiples", api=(
            "from netcalc.spaces import load_space\nfrom netcalc.spaces.sizes import with_steps\n"
            "g = with_steps(load_space('regnet'), {'w0': 16})\n"
            "assert all(v % 8 == 0 for v in g.domain('w0').values)")),
        # plots that cannot be written fail
        Case("plot-dev-full-sample", ["sample", "anynetx_a", "--n", "5", "--plot", "/dev/full"],
             2, "cannot write the plot"),
        Case("plot-dev-full-fit", ["fit", "8", "16", "32", "--plot", "/dev/full"], 2,
             "cannot write the plot"),
        Case("plot-dev-full-trends", ["trends", "specs/regnetx_800mf.yaml",
                                      "specs/regnetx_400mf.yaml", "--plot", "/dev/full"], 2,
             "cannot write the plot"),
        Case("out-dev-full-sample", ["sample", "anynetx_a", "--n", "5", "--out", "/dev/full"], 2,
             "cannot write"),
        Case("plot-missing-folder", ["fit", "8", "16", "--plot", str(d / "no" / "x.png")], 2,
             "no such folder"),
    ]
    return cases


outcomes, test_hostile_truth = corpus_module(corpus, make_files, "truth")


def test_fit_of_the_rules_own_widths_is_exact():
    """Property: for random members of the regnet space, the fit of the widths the rule
    generates has e_fit = 0 and regenerates them; w0 is the member's (the first width is w0),
    and (wa, wm) give the same per-block widths, so the same network: an equivalent member.
    The example of the issue (d=14, w0=32, wa=128, wm=1.543: exponents 0, 4, 5, ... skip 1-3)
    is included."""
    from netcalc.families.regnet import block_widths
    from netcalc.spaces import fit_widths, load_space

    space = load_space("regnet")
    rng = random.Random(12)
    members = [(14, 32, 128.0, 1.543)] + [
        tuple(rng.choice(space.domain(p).values) for p in ("depth", "w0", "wa", "wm"))
        for _ in range(60)]
    for depth, w0, wa, wm in members:
        widths = block_widths(w0, wa, wm, depth, 8)
        fit = fit_widths(widths, 8)
        assert fit.e_fit == 0 and fit.method == "exact", (depth, w0, wa, wm, fit)
        assert list(block_widths(fit.w0, fit.wa, fit.wm, depth, 8)) == widths
        assert fit.w0 == w0


def test_steps_finds_pieces_between_refused_ends(monkeypatch):
    """A spec refusing both ends of the interval (here: outside [0.999, 1.002]) still reports
    every piece in between, with the refused stretches as pieces of their own."""
    from netcalc.symbolic import scaling

    parse = scaling.FieldSearch.parse
    monkeypatch.setattr(scaling.FieldSearch, "parse", lambda self, v: parse(self, v)
                        if 0.999 <= v <= 1.002 else None)
    found = scaling.pieces("specs/rexnet_1.0.yaml", "width_mult", 0.99, 1.01)
    valid = [p for p in found if p.spec is not None]
    assert found[0].spec is None and found[-1].spec is None and len(valid) >= 2
    assert valid[0].first == 0.999 and valid[-1].last == 1.002
    unbounded = scaling.pieces("specs/rexnet_1.0.yaml", "width_mult", 0.999, 1.002)
    assert [(p.first, p.last) for p in unbounded] == [(p.first, p.last) for p in valid]


def test_duplicate_keys_name_the_line():
    import pytest

    import netcalc

    with pytest.raises(netcalc.SpecError, match="line 2: duplicate key 'a' \\(first on line 1\\)"):
        from netcalc.reading import load_yaml
        load_yaml("a: 1\na: 2\n", "x.yaml")
    assert json.loads('{"a": 1, "a": 2}') == {"a": 2}      # what the plain loader would do
