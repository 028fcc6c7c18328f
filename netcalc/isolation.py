"""``netcalc import`` runs the user's code in a child process (:mod:`netcalc.torch.child`).

The user's module may print, call ``sys.exit``, crash the interpreter, or loop where no signal
reaches it. In a child, none of that touches netcalc: its output is the child's answer only,
the time limit is a kill of the child's whole process group, and every way the child can end
without an answer is one line naming what happened. This module imports neither torch nor the
user's code.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any, Optional, Tuple

from .errors import ArgumentError, SpecError, safe_text

FIELD = "TARGET"
ERRORS = {"ArgumentError": ArgumentError}       # every other kind is a SpecError
KILL_WAIT_S = 0.5                               # for the pipes to close after a kill
DEFAULT_TIMEOUT_S = 120.0                       # --timeout of import, and of lock/check of a target


def import_isolated(target: str, resolution: Any, name: Optional[str], allow_unknown: bool,
                    timeout: float, verbose: bool = False, inputs: Any = None,
                    symbolic_timeout: Optional[float] = None) -> Any:
    """The checked :class:`~netcalc.Spec` of the module TARGET builds, built and traced in a
    child process that is killed after ``timeout`` s (0: no limit). ``verbose``: the child's
    output (the user's prints, torch's logs) is echoed to stderr."""
    from .spec import load_spec

    split_target(target)
    request = json.dumps({"target": target, "resolution": resolution, "name": name,
                          "allow_unknown": allow_unknown, "inputs": inputs,
                          "symbolic_timeout": symbolic_timeout})
    answer, stderr, status, timed_out = _run_child(request, timeout, verbose)
    if verbose and stderr:
        _echo_output(stderr)
    if timed_out:
        raise SpecError(target, "", f"did not finish within {timeout:g} s and was stopped (a "
                                    "loop in the model's code?); raise --timeout if it is only "
                                    "slow")
    result = _parse(answer)
    if result is None:
        raise SpecError(target, "", _ended_without_answer(status, verbose))
    if "error" in result:
        kind, source, field, message = result["error"]
        raise ERRORS.get(kind, SpecError)(source, field, message)
    try:
        return load_spec(result["spec"])
    except SpecError as exc:
        raise SpecError(target, exc.field, f"the imported spec does not load: "
                                           f"{exc.message}") from None


def split_target(target: str) -> Tuple[str, str]:
    """TARGET's module (or file) and callable; a malformed TARGET fails before any child."""
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise SpecError(target, FIELD, "must be package.module:callable or path/to/file.py:"
                                       "callable")
    if not all(part.isidentifier() for part in attr.split(".")):
        raise SpecError(target, FIELD, f"{attr!r} is not a Python name")
    return where, attr


def is_import_target(argument: str) -> bool:
    """Whether a command-line argument names an import target (``file.py:build``,
    ``package.module:build``) rather than a spec: a file of that name wins, as it does for specs."""
    if os.path.exists(argument):
        return False
    try:
        where, _attr = split_target(argument)
    except SpecError:
        return False
    return where.endswith(".py") or all(part.isidentifier() for part in where.split("."))


VERBOSE_ENV = "NETCALC_SHOW_CAPTURE_OUTPUT"   # set for a --verbose child: capture hides nothing


def _child_env(verbose: bool) -> dict:
    """The environment, with this netcalc first on the path (a checkout, not an install)."""
    env = dict(os.environ)
    if verbose:
        env[VERBOSE_ENV] = "1"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _run_child(request: str, timeout: float, verbose: bool) -> tuple:
    """(answer bytes, stderr bytes, exit status, timed out) of one child run."""
    process = subprocess.Popen(
        [sys.executable, "-m", "netcalc.torch.child", request], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE if verbose else subprocess.DEVNULL,
        env=_child_env(verbose), start_new_session=True)   # its own group: a kill reaches its children
    try:
        answer, stderr = process.communicate(timeout=timeout or None)
        return answer, stderr, process.returncode, False
    except subprocess.TimeoutExpired:
        _kill(process)
        try:
            answer, stderr = process.communicate(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:       # a grandchild holds the pipe: leave it
            answer, stderr = b"", b""
        return answer, stderr, process.returncode, True
    except BaseException:                       # Ctrl-C, or anything else here: no orphan
        _kill(process)
        raise


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _parse(answer: bytes) -> Optional[dict]:
    try:
        result = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return result if isinstance(result, dict) and ("spec" in result or "error" in result) \
        else None


def _ended_without_answer(status: int, verbose: bool) -> str:
    hint = "" if verbose else "; --verbose shows its output"
    if status < 0:
        number = -status
        try:
            what = f"{signal.Signals(number).name} ({signal.strsignal(number)})"
        except ValueError:
            what = f"signal {number}"
        return f"the import process was killed by {what} while running the model's code{hint}"
    return (f"the model's code ended the import process (exit status {status}) before the "
            f"spec was made{hint}")


def _echo_output(stderr: bytes) -> None:
    """The child's output, each line escaped: it cannot steer the terminal."""
    lines = stderr.decode("utf-8", errors="replace").rstrip("\n").split("\n")
    sys.stderr.write("".join(safe_text(line) + "\n" for line in lines))
