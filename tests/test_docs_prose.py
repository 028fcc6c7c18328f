"""Figures that docs/ quote in prose, recomputed: prose drifts where no console block looks.

Each test reads the sentence that quotes a figure from the page (so a reworded page fails here
rather than going unchecked) and compares the figure with what netcalc computes now. Console
blocks are checked by tests/test_docs.py; this covers the numbers written into sentences.
"""
import glob
import os
import re

import pytest

import netcalc
from netcalc.limits import module_memory

from conftest import ROOT, spec_path

NUMBER_WORDS = {"none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def page(name):
    with open(os.path.join(ROOT, "docs", name), encoding="utf-8") as handle:
        return " ".join(handle.read().split())      # sentences wrap: one space between words


def quoted(text, pattern):
    """The groups of the one sentence matching ``pattern`` (its numbers as ints)."""
    found = re.findall(pattern, text)
    assert len(found) == 1, (pattern, found)
    groups = found[0] if isinstance(found[0], tuple) else (found[0],)
    return [int(g.replace(",", "")) if g.replace(",", "").isdigit() else g for g in groups]


def test_validation_page_counts_the_shipped_specs():
    shipped = [p for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
               for p in glob.glob(os.path.join(ROOT, pattern))]
    text = page("validation.md")
    specs, = quoted(text, r"found by glob: (\d+) today")
    pairs, validations = quoted(text, r"That is ([\d,]+) spec-resolution pairs, ([\d,]+) validations")
    # each spec at its own resolution and two others, in two conventions (fvcore and torch)
    assert (specs, pairs, validations) == (len(shipped), 3 * len(shipped), 6 * len(shipped))
    slow_pairs, = quoted(page("testing_and_ci.md"), r"in both conventions \((\d+) spec-resolution "
                                                    r"pairs\)")
    assert slow_pairs == pairs


def test_testing_page_counts_the_skipped_blocks():
    marker = re.compile(r"^<!-- docs-test: skip", re.M)
    pages = glob.glob(os.path.join(ROOT, "docs", "*.md")) + [os.path.join(ROOT, "README.md")]
    marked = sum(len(marker.findall(open(p, encoding="utf-8").read())) for p in pages)
    word, = quoted(page("testing_and_ci.md"), r"(\w+) are marked today")
    assert NUMBER_WORDS[word] == marked


def test_closed_forms_page_resnet50_fvcore_flops():
    text = page("closed_forms.md")
    square, rectangle = quoted(text, r"At 224x224 the polynomial gives ([\d,]+) fvcore flops, at "
                                     r"800x1344 ([\d,]+):")
    resnet50 = spec_path("specs/resnet50.yaml")
    assert square == netcalc.count(resnet50, "fvcore").flops
    assert rectangle == netcalc.count(resnet50, "fvcore", resolution=(800, 1344)).flops
    # and the polynomial the page shows, 81901*h*w + 2048000, agrees at both
    assert (square, rectangle) == (81901 * 224 * 224 + 2048000, 81901 * 800 * 1344 + 2048000)


def _decimal_units(nbytes, unit):
    return nbytes / {"MB": 1e6, "GB": 1e9}[unit]


@pytest.mark.parametrize("spec, resolution, pattern", [
    ("specs/efficientnet_b7.yaml", None, r"EfficientNet-B7 at 600 px, is estimated at ([\d.]+) (GB)"),
    ("specs/regnetx_800mf.yaml", 224, r"RegNetX-800MF is estimated at ([\d.]+) (MB) at 224 px"),
    ("specs/regnetx_800mf.yaml", 1024, r"MB at 224 px, ([\d.]+) (GB) at 1,024 px"),
    ("specs/regnetx_800mf.yaml", 8192, r"GB at 1,024 px and ([\d.]+) (GB) at 8,192 px"),
])
def test_limits_page_memory_estimates(spec, resolution, pattern):
    shown, unit = re.findall(pattern, page("limits.md"))[0]
    estimate = module_memory(netcalc.count(spec_path(spec), resolution=resolution)).total
    digits = len(shown.split(".")[1]) if "." in shown else 0
    assert f"{_decimal_units(estimate, unit):.{digits}f}" == shown


# spec_format.md's "Errors" block: the spec behind each line it shows (a line ending in "..." is
# cut short on the page; the rest must match)
ALIAS_BOMB = "a: &a [" + ",".join(["x"] * 10) + "]\n" + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))
ERROR_SPECS = [
    "family: anynet\nstages:\n  - {depth: 1, width: 32}\n  - {depth: 1, width: 64}\n"
    "  - {depth: 1, width: 60, group_w: 24}\n",
    "family: regnet\ndpeth: 13\nw0: 24\nwa: 36.44\nwm: 2.49\ngroup_w: 8\n",
    'family: regnet\ndepth: __import__("os").system("ls")\nw0: 24\nwa: 36.44\nwm: 2.49\n'
    "group_w: 8\n",
    'family: regnet\ndepth: !!python/object/apply:os.system ["ls"]\n',
    ALIAS_BOMB,
    "a: " + "[" * 70 + "]" * 70 + "\n",
]


def test_spec_format_page_shows_errors_netcalc_gives(tmp_path):
    text = open(os.path.join(ROOT, "docs", "spec_format.md"), encoding="utf-8").read()
    block = text[text.index("## Errors"):]
    block = block[block.index("```\n") + 4:]
    shown = block[:block.index("```")].splitlines()
    assert len(shown) == len(ERROR_SPECS)
    (tmp_path / "specs").mkdir()
    for line, content in zip(shown, ERROR_SPECS):
        (tmp_path / "specs" / "x.yaml").write_text(content)
        with pytest.raises(netcalc.SpecError) as raised:
            netcalc.count(str(tmp_path / "specs" / "x.yaml"))
        given = "error: " + str(raised.value).replace(str(tmp_path) + os.sep, "")
        if line.endswith("..."):
            assert given.startswith(line[:-3]), (line, given)
        else:
            assert given == line


def table_rows(name, header_start):
    """The rows of the markdown table of docs/``name`` whose header starts with ``header_start``:
    lists of cell texts."""
    lines = open(os.path.join(ROOT, "docs", name), encoding="utf-8").read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    assert rows, header_start
    return rows


def exact(cell):
    """An integer as the page writes it (digits with commas), or None for an empty cell."""
    digits = cell.split(" ")[0].replace(",", "")
    return int(digits) if digits else None


def counts(spec):
    return {c: netcalc.count(spec, c) for c in ("pycls", "fvcore", "torch")}


def test_efficientnet_table():
    for model, px, flops, params, acts, _, fvcore, torch in \
            table_rows("efficientnet_rexnet.md", "| model | px | netcalc flops"):
        got = counts({"family": "efficientnet", "variant": model.lower()})
        assert got["pycls"].resolution == int(px)
        assert [exact(flops), exact(params), exact(acts)] == list(got["pycls"].totals().values())
        if fvcore:          # B8 and L2 show no traced columns
            assert (exact(fvcore), exact(torch)) == (got["fvcore"].flops, got["torch"].flops)


def test_rexnet_table():
    for model, flops, params, acts, _, fvcore, torch in \
            table_rows("efficientnet_rexnet.md", "| model | netcalc flops"):
        got = counts(spec_path(f"specs/rexnet_{model[1:]}.yaml"))
        assert [exact(flops), exact(params), exact(acts)] == list(got["pycls"].totals().values())
        assert (exact(fvcore), exact(torch)) == (got["fvcore"].flops, got["torch"].flops)


def test_efficientnet_phi_table():
    b0 = netcalc.count({"family": "efficientnet", "variant": "b0"}).flops
    for row in table_rows("efficientnet_rexnet.md", "| | official (w / d / px)"):
        variant, phi = (part.split()[-1] for part in row[0].split(" / "))
        for cell, spec in ((row[2], {"variant": variant.lower()}), (row[4], {"phi": int(phi)})):
            flops = netcalc.count({"family": "efficientnet", **spec}).flops
            assert cell == f"{flops:,} ({flops / b0:.2f}x)", (row[0], spec)


def test_design_spaces_page_sizes():
    from netcalc import spaces

    text = page("design_spaces.md")
    d, = quoted(text, r"D = 18 \* 16\^4 \* C\(131, 4\) = ([\d,]+)\.")
    e, = quoted(text, r"The literal reading E = 18 \* 3876 \* 11,716,640 = ([\d,]+) is")
    a_compatible, e_compatible = quoted(text, r"With it A has ([\d,]+) members \(5\.9x fewer\), "
                                              r"E ([\d,]+)\.")
    grid, = quoted(text, r"here 63 \* 31 \* 63 \* 61 \* 3 \* 6 = ([\d,]+)\.")
    size = lambda name, **kw: spaces.space_size(spaces.load_space(name), **kw)  # noqa: E731
    assert (d, e) == (size("anynetx_d"), size("anynetx_e")) == (18 * 16 ** 4 * 11_716_640,
                                                                 18 * 3876 * 11_716_640)
    assert (a_compatible, e_compatible) == (size("anynetx_a", compatible_only=True),
                                            size("anynetx_e", compatible_only=True))
    assert round(size("anynetx_a") / a_compatible, 1) == 5.9
    assert grid == size("regnet") == 63 * 31 * 63 * 61 * 3 * 6


def test_closed_forms_page_regnetx_800mf_at_225_and_efficientnet_b0():
    import sympy

    from netcalc.symbolic.closed_form import count_symbolic

    text = page("closed_forms.md")
    exact_225, polynomial_225 = quoted(text, r"At 225 the exact form gives ([\d,]+) \(every side "
                                             r"rounds up: `ceiling\(225/32\) = 8`, not 7\.03\), "
                                             r"while the polynomial form would say ([\d,.]+)\.")
    assert exact_225 == netcalc.count(spec_path("specs/regnetx_800mf.yaml"), resolution=225).flops
    assert polynomial_225 == "806,850,812.5" and sympy.Rational(31849, 2) * 225 ** 2 + 673_000 \
        == sympy.Rational(1613701625, 2)
    b0, = quoted(text, r"`244839\*224\*\*2/32 \+ 1917540 = ([\d,]+)` flops")
    form = count_symbolic(spec_path("specs/efficientnet_b0.yaml"))
    assert str(form.polynomial(form.total("flops"))) == "244839*r**2/32 + 1917540"
    assert b0 == 244839 * 224 ** 2 // 32 + 1917540 == netcalc.count(
        spec_path("specs/efficientnet_b0.yaml")).flops


def test_conventions_page_regnetx_800mf_split():
    text = page("conventions.md")
    flops, params, acts, fvcore, conv, linear, bn, gap, torch = quoted(
        text, r"RegNetX-800MF at 224 px: pycls ([\d,]+) flops, ([\d,]+) params, ([\d,]+) acts; "
              r"fvcore ([\d,]+) flops \(= conv ([\d,]+) \+ linear ([\d,]+) \+ BN ([\d,]+) \+ GAP "
              r"([\d,]+)\); torch ([\d,]+)\.")
    spec = spec_path("specs/regnetx_800mf.yaml")
    report = netcalc.count(spec, "fvcore")
    by_op = {}
    for layer, cost in zip(report.graph.layers, report.costs):
        by_op[layer.op] = by_op.get(layer.op, 0) + cost[0]
    assert [flops, params, acts] == list(netcalc.count(spec).totals().values())
    assert (fvcore, conv, linear, bn, gap) == (report.flops, by_op["conv"], by_op["linear"],
                                               by_op["bn"], by_op["gap"])
    assert fvcore == conv + linear + bn + gap
    assert torch == netcalc.count(spec, "torch").flops
