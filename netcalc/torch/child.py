"""``python -m netcalc.torch.child REQUEST``: the process ``netcalc import`` runs the user's code in.

REQUEST is JSON: ``{"target", "resolution", "name", "allow_unknown", "inputs",
"symbolic_timeout"}`` (``resolution`` or ``inputs``, one input's shape, is null; a null
``symbolic_timeout`` is the importer's default). The answer is one JSON
object on the process's original standard output, ``{"spec": data}`` or ``{"error": [kind,
source, field, message]}``; everything the user's code prints, from Python or from C, goes to
standard error instead, which the parent discards unless asked (``--verbose``). Whatever the
user's code does to this process (exit, crash, hang) cannot reach the parent's output.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, Dict


def result_channel() -> Any:
    """The original standard output, kept for the answer; file descriptor 1 (Python's print
    and C's printf alike) now writes to standard error."""
    sys.stdout.flush()
    channel = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(channel, "w", encoding="utf-8")


def answer(request: Dict[str, Any]) -> Dict[str, Any]:
    from ..errors import NetcalcError, exception_line

    target = request["target"]
    try:
        from .target import import_target

        resolution = request["resolution"]
        spec = import_target(target, tuple(resolution) if isinstance(resolution, list)
                             else resolution, request["name"], request["allow_unknown"],
                             request.get("inputs"), request.get("symbolic_timeout"))
    except NetcalcError as exc:
        return {"error": [type(exc).__name__, exc.source, exc.field, exc.message]}
    except SystemExit as exc:
        return {"error": ["SpecError", target, "", f"the model's code called sys.exit("
                                                   f"{exc.code!r})"]}
    except BaseException as exc:  # noqa: BLE001 -- anything else: named, traceback for --verbose
        traceback.print_exc()
        return {"error": ["SpecError", target, "", f"importing it raised {exception_line(exc)}"]}
    return {"spec": spec.raw}


def main() -> None:
    channel = result_channel()
    result = answer(json.loads(sys.argv[1]))
    with channel:
        json.dump(result, channel)


if __name__ == "__main__":
    main()
