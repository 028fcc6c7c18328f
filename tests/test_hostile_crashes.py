"""Issue 19: the last crashes found by hostile cases, each a one-line error with exit 2 (or the
right answer): non-finite and huge --timeout, resolutions of 5,000 digits, a reshape that
flattens the spatial sides under --symbolic, a width beyond any float, a thread count beyond
the machine, closed standard streams.
"""
import os
import subprocess
import sys

import pytest

from hostile_harness import ROOT, Case, corpus_module

DIGITS = "9" * 5000
RESHAPED = ("family: graph\nresolution: 32\nlayers:\n"
            "  - {op: conv, out: 8, kernel: 3, stride: 2, padding: 1}\n")


def make_files(d):
    # a stride-2 conv, then the features flattened (closed form exists) or a side split (none)
    (d / "flattened.yaml").write_text(RESHAPED + "  - {op: reshape, shape: [1, 8, -1]}\n")
    (d / "split.yaml").write_text(RESHAPED + "  - {op: reshape, shape: [1, 8, 4, -1]}\n")
    (d / "doubled.yaml").write_text(doubled(400))


def doubled(concats):
    """A conv whose channels double through ``concats`` concats, then a 1x1 conv: 2**concats
    flops (a 121-digit count at 400)."""
    layers = ["  - {name: c0, op: conv, out: 1, kernel: 1}"] + [
        f"  - {{name: c{i}, op: concat, inputs: [c{i - 1}, c{i - 1}]}}"
        for i in range(1, concats + 1)] + ["  - {name: last, op: conv, out: 1, kernel: 1}"]
    return "family: graph\nresolution: 1\nlayers:\n" + "\n".join(layers) + "\n"


def corpus(d):
    timeout_error = "is not a number of seconds from 0 (no limit) to 1,000,000"
    return [
        *[Case(f"import-timeout-{value}", ["import", "x.py:build", "--timeout", value], 2,
               f"--timeout': {value} {timeout_error}") for value in ("nan", "inf", "1e300", "-1")],
        Case("count-resolution-5000-digits", ["count", "regnetx_800mf", "--resolution", DIGITS],
             2, "--resolution': 9999999999999999999999999999999999999... is above the maximum "
                "side 8192"),
        Case("count-resolution-5000-digits-hw", ["count", "regnetx_800mf", "--resolution",
                                                 f"224x{DIGITS}"], 2, "above the maximum side"),
        Case("import-resolution-5000-digits", ["import", "x.py:build", "--resolution", DIGITS],
             2, "above the maximum side 8192"),
        Case("count-resolution-leading-zeros", ["count", "regnetx_800mf", "--resolution",
                                                "0" * 5000 + "224", "--by", "total"], 0,
             stdout_has="799.70 M"),
        Case("symbolic-hw-flattened", ["count", str(d / "flattened.yaml"), "--symbolic", "hw"],
             0, stdout_has="54*h*w"),
        Case("symbolic-r-flattened", ["count", str(d / "flattened.yaml"), "--symbolic"], 0,
             stdout_has="exact for every input resolution r >= 3, where h2 = ceiling(r/2)\n"),
        Case("symbolic-hw-split", ["count", str(d / "split.yaml"), "--symbolic", "hw"], 2,
             "split.yaml: layer reshape_1: reshape: closed forms cover sizes floor((r + c)/m) + q "
             "and their products"),
        Case("fit-width-names-the-argument", ["fit", "1000000"], 2,
             "error: W1: 1000000 is above the maximum 65536"),
        Case("fit-second-width", ["fit", "8", "70000"], 2, "W2: 70000 is above the maximum"),
        Case("bench-threads-beyond-the-cores", ["bench", "regnetx_200mf", "--threads", "10000"],
             2, f"--threads: 10000 threads is more than the {os.cpu_count()} CPU cores of this "
                "machine"),
        Case("plot-extension", ["fit", "8", "16", "--plot", str(d / "fit.txt")], 2,
             "fit.txt: --plot: plots are written as PNG: .txt is not a supported extension "
             "(.png)"),
        Case("lock-beyond-what-check-reads", ["lock", str(d / "doubled.yaml")], 2,
             "doubled.yaml: flops: a count of more than 100 digits cannot be locked (check "
             "reads at most 100)"),
        Case("api-fit-2**1100", api="from netcalc.spaces.fit import fit_widths\n"
                                    "fit_widths([2 ** 1100])", raises="ArgumentError",
             error="widths[0]: an integer of about 332 digits is above the maximum 65536"),
        Case("api-fit-negative-huge", api="from netcalc.spaces.fit import fit_widths\n"
                                          "fit_widths([8, -2 ** 1100])", raises="ArgumentError",
             error="widths[1]: a negative integer of about 332 digits is below the minimum 1"),
    ]


outcomes, test_hostile_crash = corpus_module(corpus, make_files, "crashes")


def test_the_flattened_closed_form_is_exact_at_every_size(tmp_path):
    """`--symbolic` of the stride-2 conv + reshape [1, 8, -1] graph: its closed forms equal
    the count at odd and even sides (the conv's side is ceiling(r/2))."""
    import netcalc
    from netcalc.symbolic.closed_form import count_symbolic

    make_files(tmp_path)
    path = str(tmp_path / "flattened.yaml")
    for axes, sizes in (("r", [3, 31, 32, 33]), ("hw", [(31, 40), (33, 17)])):
        form = count_symbolic(path, "pycls", axes)
        for size in sizes:
            report = netcalc.count(path, resolution=size)
            assert [form.evaluate(form.total(q), size) for q in ("flops", "params", "acts")] \
                == [report.flops, report.params, report.acts], (axes, size)


@pytest.mark.parametrize("redirect,expected", [
    (">&-", "error: cannot write the output: standard output is closed"),
    ("<&-", "error: <stdin>: standard input is closed"),
])
def test_closed_standard_streams_are_one_line(redirect, expected):
    spec = "-" if redirect == "<&-" else "regnetx_800mf"
    result = subprocess.run(["sh", "-c", f'"{sys.executable}" -m netcalc count {spec} '
                             f'{redirect}'], cwd=ROOT, capture_output=redirect == "<&-",
                            stderr=subprocess.PIPE if redirect == ">&-" else None, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr == expected + "\n"


def test_a_command_writing_only_files_works_with_stdout_closed(tmp_path):
    lock = tmp_path / "netcalc.lock"
    result = subprocess.run(["sh", "-c", f'"{sys.executable}" -m netcalc lock regnetx_800mf '
                             f'-o "{lock}" >&-'], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == f"wrote {lock} (1 spec)\n"


def test_check_reads_every_lock_that_lock_writes(tmp_path):
    """The largest count a lock holds (100 digits) is read back by check."""
    import json

    from conftest import run_cli

    (tmp_path / "d.yaml").write_text(doubled(320))   # 2**320 ~ 2.1e96 flops: 97 digits
    lock = tmp_path / "d.lock"
    written = run_cli("lock", str(tmp_path / "d.yaml"), "-o", str(lock))
    assert written.returncode == 0, written.stderr
    assert len(str(json.loads(lock.read_text())["models"][0]["flops"])) == 97
    assert run_cli("check", "--lock", str(lock)).returncode == 0


def test_wrote_lines_escape_the_path(tmp_path):
    from conftest import run_cli

    result = run_cli("lock", "regnetx_800mf", "-o", str(tmp_path / "a\x1b[2Jb\x07.lock"))
    assert result.returncode == 0
    assert result.stderr == f"wrote {tmp_path}/a\\x1b[2Jb\\x07.lock (1 spec)\n"
