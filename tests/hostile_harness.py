"""Running hostile inputs under hard limits, many cases per process (issue 12).

Each corpus (tests/test_hostile_*.py) is a list of :class:`Case`. They run in batches in ONE
child process per test module, under ``resource`` limits on address space (RLIMIT_AS) and CPU
time (RLIMIT_CPU), with a wall-clock timeout: a regression that hangs or fills memory fails
the test instead of eating the machine, and the case it died in is named. Inside the child a
CLI case calls ``netcalc.cli.main`` in-process (real exit status, captured stdout/stderr), and
an API case executes a snippet and records the exception it raised.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMORY_LIMIT = 2 << 30      # the bound: no command may need more than 2 GiB
CASE_SECONDS = 10.0         # CPU seconds per case, in the child (60 s is the product bound)
CASE_WALL = 120             # wall seconds per case (a blocked read costs no CPU): SIGALRM
BATCH_CPU_SECONDS = 120     # RLIMIT_CPU of one batch


@dataclass
class Case:
    """One hostile input: CLI ``args`` (or an API ``code`` snippet) and what must happen.

    ``code``: exit status (CLI) -- 2 bad input, 1 a failed check, 0 success. ``error`` /
    ``raises``: text the one ``error:`` line (or the exception message) must contain.
    """

    name: str
    args: Sequence[str] = ()
    code: int = 2
    error: str = ""
    stdin: Optional[str] = None
    api: str = ""               # a Python snippet; run with ``netcalc`` imported
    raises: str = ""            # the exception class name an API snippet must raise
    seconds: float = CASE_SECONDS
    stdout_has: str = ""


@dataclass
class Outcome:
    name: str
    code: Optional[int] = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    exception: str = ""
    message: str = ""
    extra: Dict[str, str] = field(default_factory=dict)


RUNNER = r'''
import io, json, os, signal, sys, time, traceback
cases = json.load(open(sys.argv[1]))
wall = int(sys.argv[3])

def blocked(signum, frame):
    raise TimeoutError(f"still running after {wall} s of wall time (blocked?)")

signal.signal(signal.SIGALRM, blocked)
progress = open(sys.argv[2], "w")
import click
import netcalc
from netcalc.cli import main
results = []
for case in cases:
    progress.write(case["name"] + "\n"); progress.flush()
    out, err = io.StringIO(), io.StringIO()
    result = {"name": case["name"]}
    start = time.process_time()     # CPU time: what the case costs, however loaded the machine
    signal.alarm(wall)
    if case["api"]:
        try:
            exec(case["api"], {"netcalc": netcalc, "os": os})
            result["exception"] = ""
        except BaseException as exc:
            result["exception"] = type(exc).__name__
            result["message"] = str(exc)
            result["mro"] = [c.__name__ for c in type(exc).__mro__]
    else:
        old = sys.stdout, sys.stderr, sys.stdin
        sys.stdout, sys.stderr = out, err
        sys.stdin = io.StringIO(case["stdin"] or "")
        try:
            main(list(case["args"]), prog_name="netcalc")
            result["code"] = 0
        except SystemExit as exc:
            result["code"] = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            err.write(traceback.format_exc())
            result["code"] = -1
        finally:
            sys.stdout, sys.stderr, sys.stdin = old
    signal.alarm(0)
    result["seconds"] = time.process_time() - start
    result["stdout"] = out.getvalue()[-2000:]
    result["stderr"] = err.getvalue()[-4000:]
    results.append(result)
print(json.dumps(results))
'''


def limit_resources(memory: int = MEMORY_LIMIT, cpu: int = BATCH_CPU_SECONDS) -> None:
    """preexec_fn: hard caps for the child (it dies instead of swapping or spinning)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def run_batch(cases: Sequence[Case], wall: float = 600.0) -> Dict[str, Outcome]:
    """Run every case in one limited child process; outcomes by case name."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "cases.json")
        progress = os.path.join(tmp, "progress.txt")
        with open(spec, "w") as handle:
            json.dump([asdict(c) for c in cases], handle)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
        try:
            child = subprocess.run([sys.executable, "-c", RUNNER, spec, progress,
                                    str(CASE_WALL)], cwd=ROOT,
                                   capture_output=True, text=True, timeout=wall, env=env,
                                   preexec_fn=limit_resources)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"batch timed out in case {_last(progress)!r}") from None
        if child.returncode != 0:
            raise AssertionError(f"batch died (status {child.returncode}) in case "
                                 f"{_last(progress)!r}: {child.stderr[-2000:]}")
    outcomes = {}
    for raw in json.loads(child.stdout.splitlines()[-1]):
        outcome = Outcome(raw["name"], raw.get("code"), raw.get("stdout", ""),
                          raw.get("stderr", ""), raw["seconds"], raw.get("exception", ""),
                          raw.get("message", ""), {"mro": " ".join(raw.get("mro", []))})
        outcomes[outcome.name] = outcome
    return outcomes


def _last(progress: str) -> str:
    try:
        with open(progress) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return "?"
    return lines[-1] if lines else "?"


def check(case: Case, outcome: Outcome) -> None:
    """The case's expectations: status, one clean error line, time."""
    assert outcome.seconds < case.seconds, f"{case.name}: took {outcome.seconds:.1f} s"
    if case.api:
        assert outcome.exception == case.raises, \
            f"{case.name}: raised {outcome.exception or 'nothing'} ({outcome.message})"
        if case.raises:
            assert "\n" not in outcome.message and case.error in outcome.message, \
                f"{case.name}: {outcome.message!r}"
        return
    assert "Traceback" not in outcome.stderr, f"{case.name}: {outcome.stderr}"
    assert outcome.code == case.code, f"{case.name}: exit {outcome.code}: {outcome.stderr}"
    if case.code == 2:
        lines = outcome.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), \
            f"{case.name}: stderr {outcome.stderr!r}"
        assert case.error in lines[0], f"{case.name}: {lines[0]!r} lacks {case.error!r}"
    if case.stdout_has:
        assert case.stdout_has in outcome.stdout, f"{case.name}: stdout {outcome.stdout!r}"


def run_limited(args: Sequence[str], memory: int = MEMORY_LIMIT, cpu: int = 60,
                wall: float = 60.0, **kwargs) -> subprocess.CompletedProcess:
    """``python -m netcalc ARGS`` alone in a limited child (for real file descriptors:
    stdout to /dev/full, a closed pipe)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    options = dict(capture_output=True, text=True, timeout=wall, cwd=ROOT, env=env)
    options.update(kwargs)
    return subprocess.run([sys.executable, "-m", "netcalc", *args],
                          preexec_fn=lambda: limit_resources(memory, cpu), **options)


def one_error_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def by_name(cases: List[Case]) -> Dict[str, Case]:
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return dict(zip(names, cases))


def corpus_module(corpus, make_files, label: str, wall: float = 600.0):
    """The ``outcomes`` fixture (one limited batch per module) and the parametrised test of a
    corpus module: ``outcomes, test_x = corpus_module(corpus, make_files, "x")``."""
    import pathlib

    import pytest

    cases = by_name(corpus(pathlib.Path("/corpus")))

    @pytest.fixture(scope="module")
    def outcomes(tmp_path_factory):
        folder = tmp_path_factory.mktemp(label)
        make_files(folder)
        return run_batch(corpus(folder), wall)

    @pytest.mark.parametrize("name", sorted(cases))
    def test_case(name, outcomes):
        check(cases[name], outcomes[name])

    return outcomes, test_case
