"""The optional extras (``torch``, ``plot``): checked before any work, with one wording.

A command that needs an extra checks it first, without importing anything heavy, so a missing
package fails in milliseconds with the line to run rather than after minutes of work. The
install line is the README's: CPU torch first, since a plain ``torch`` requirement would pull a
multi-GB CUDA build.
"""
from __future__ import annotations

import importlib.util
from typing import Dict, Optional, Tuple

from .errors import SpecError

EXTRAS: Dict[str, Tuple[str, ...]] = {"torch": ("torch", "fvcore"), "plot": ("matplotlib",)}
INSTALL: Dict[str, str] = {
    "torch": "pip install torch==2.13.0 && pip install 'netcalc-cnn[torch]'",
    "plot": "pip install 'netcalc-cnn[plot]'",
}


def missing(extra: str, packages: Optional[Tuple[str, ...]] = None) -> Tuple[str, ...]:
    """The packages of ``extra`` (or only ``packages`` of it) that cannot be imported here
    (found without importing them)."""
    absent = []
    for module in packages or EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):      # a broken or hidden package
            found = False
        if not found:
            absent.append(module)
    return tuple(absent)


def require(extra: str, where: str, packages: Optional[Tuple[str, ...]] = None) -> None:
    """Raise the one-line SpecError of a missing extra, naming what is missing and the fix;
    ``packages``: the part of the extra this command needs (``import`` needs torch, not
    fvcore)."""
    absent = missing(extra, packages)
    if absent:
        raise SpecError("", where, f"needs the {extra} extra ({' and '.join(absent)} "
                                   f"{'is' if len(absent) == 1 else 'are'} missing): "
                                   f"{INSTALL[extra]}")

# The conventions a tool measures on the real module (fvcore's analyses, torch's FlopCounterMode);
# pycls has no tracing tool.
TRACED_CONVENTIONS: Tuple[str, ...] = ("fvcore", "torch")
