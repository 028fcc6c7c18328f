"""Issue 12, class 6 (terminal safety): nothing a file or an argument holds can steer the
terminal or forge a line. Names, stage labels, unknown keys, paths and option values are shown
with control, bidi and format characters escaped, in every table and error; an error is always
exactly one ``error:`` line; output that cannot be written is one error line, never a traceback.
"""
import json
import re
import subprocess

import pytest

from hostile_harness import Case, corpus_module, one_error_line, run_limited

# what must never reach a terminal raw: C0 (but the newline between lines), DEL, C1, bidi
# embeddings/overrides/isolates, zero-width and other format characters, line separators
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                 "\ufeff]")
PAYLOADS = {
    "csi": "\x1b[2J\x1b[31mred", "osc-title": "\x1b]0;owned\x07", "bidi": "abc\u202eexe.yaml",
    "isolate": "\u2066x\u2069", "nul": "a\x00b", "newline": "x\nerror: forged", "cr": "ok\rbad",
    "bel": "ding\x07", "c1": "\x9b31m", "zero-width": "a\u200bb", "line-sep": "a\u2028b",
    "backspace": "abc\x08\x08\x08", "bom": "\ufeffname", "del": "x\x7fy",
}
R800 = "specs/regnetx_800mf.yaml"


def quoted(text):
    """A YAML double-quoted scalar holding ``text`` exactly (JSON strings are YAML)."""
    return json.dumps(text)


def make_files(d):
    for key, payload in PAYLOADS.items():
        (d / f"name_{key}.yaml").write_text(
            f"family: graph\nname: {quoted(payload)}\nresolution: 8\nlayers:\n"
            f"  - {{op: conv, out: 4, kernel: 1, stage: {quoted(payload)}}}\n"
            f"  - {{op: relu, stage: {quoted(payload + '2')}}}\n")
        (d / f"key_{key}.yaml").write_text(f"family: graph\n{quoted(payload)}: 1\nlayers:\n"
                                           "  - {op: relu}\n")
        (d / f"space_{key}.yaml").write_text(
            f"kind: anynet\nname: x\ndescription: {quoted(payload)}\ndomains:\n"
            f"  depth: {{values: [1]}}\n  width: {{values: [8]}}\n  {quoted(payload)}: {{}}\n")
        (d / f"lock_{key}.lock").write_text(json.dumps({"netcalc_lock": 1, "models": [
            {"spec": f"{payload}.yaml", "convention": "pycls", "resolution": 224, "flops": 1,
             "params": 1, "acts": 1}]}))
    (d / "ok.yaml").write_text("family: graph\nresolution: 8\nlayers:\n"
                               "  - {op: conv, out: 4, kernel: 1}\n")
    (d / "names.lock").write_text(json.dumps({"netcalc_lock": 1, "models": [
        {"spec": str(d / "name_csi.yaml"), "convention": "pycls", "resolution": 8, "flops": 1,
         "params": 1, "acts": 1, "stages": [{"name": PAYLOADS["newline"], "flops": 1,
                                             "params": 1, "acts": 1}]}]}))


def corpus(d):
    cases = []
    for key, payload in PAYLOADS.items():
        spec = str(d / f"name_{key}.yaml")
        cases += [
            Case(f"count-stage:{key}", ["count", spec], 0),
            Case(f"count-total:{key}", ["count", spec, "--by", "total"], 0),
            Case(f"count-layer-csv:{key}", ["flops", spec, "--by", "layer", "--format", "csv"], 0),
            Case(f"check-table:{key}", ["check", spec, str(d / "ok.yaml"), "--max-flops", "1"],
                 1),
            Case(f"trends:{key}", ["trends", spec, R800], 0),
            Case(f"unknown-key:{key}", ["count", str(d / f"key_{key}.yaml")], 2,
                 "unknown field"),
            Case(f"space-unknown-dim:{key}", ["space", str(d / f"space_{key}.yaml")], 2,
                 "unknown dimension"),
            Case(f"lock-missing-spec:{key}", ["check", "--lock", str(d / f"lock_{key}.lock")], 2,
                 "spec files" if "\0" in payload else "no such file"),
            Case(f"missing-path:{key}", ["count", payload + ".yaml"], 2,
                 "NUL" if "\0" in payload else "no such file"),
            Case(f"convention-value:{key}", ["count", R800, "--convention", payload], 2,
                 "--convention"),
            Case(f"budget-value:{key}", ["check", R800, "--max-flops", payload], 2,
                 "--max-flops"),
            Case(f"unknown-option:{key}", ["count", R800, "--" + payload], 2, "No such option"),
        ]
    cases.append(Case("lock-stage-label", ["check", "--lock", str(d / "names.lock")], 1))
    return cases


outcomes, test_hostile_terminal = corpus_module(corpus, make_files, "terminal")


def test_nothing_raw_reaches_the_terminal(outcomes):
    for name, outcome in outcomes.items():
        assert not RAW.search(outcome.stdout), (name, outcome.stdout[:300])
        assert not RAW.search(outcome.stderr.rstrip("\n")), (name, outcome.stderr)
        assert "forged" not in "".join(line for line in outcome.stdout.splitlines()
                                       if line.startswith("error:")), name


def test_names_are_escaped_not_dropped(outcomes):
    shown = outcomes["count-stage:csi"].stdout
    assert "\\x1b[2J\\x1b[31mred" in shown                  # visible, as repr writes it
    assert "x\\x0aerror: forged" in outcomes["count-total:newline"].stdout


@pytest.mark.parametrize("args", [
    ["count", R800], ["count", R800, "--format", "json"], ["space", "anynetx_a"],
    ["lock", R800], ["check", R800, "--max-flops", "1"], ["--version"], ["--help"],
    ["sample", "anynetx_a", "--n", "3"], ["fit", "8", "16", "32"],
])
def test_stdout_to_dev_full_is_one_line(args):
    with open("/dev/full", "w") as full:
        result = run_limited(args, stdout=full, capture_output=False, stderr=subprocess.PIPE)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == ["error: cannot write the output: No space left on device"]


def test_closed_pipe_is_one_line():
    import sys

    from hostile_harness import ROOT

    child = subprocess.Popen([sys.executable, "-m", "netcalc", "count", R800, "--by", "layer"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()                  # the reader went away before anything was written
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=60) in (0, 2)
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 1, stderr


def test_error_line_helper_sees_one_line():
    result = run_limited(["count", "x\nerror: second line.yaml"])
    assert one_error_line(result) == "error: x\\x0aerror: second line.yaml: no such file"
