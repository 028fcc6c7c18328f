"""Closed forms in the input resolution r, budget solving and complexity trends.

Only what needs sympy imports it: ``netcalc.symbolic.trends`` (least-squares fits) does not, so
the names below are loaded on first use (PEP 562) rather than at package import.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "count_symbolic": "closed_form", "ClosedForm": "closed_form", "R": "sides", "Side": "sides",
    "render_symbolic": "render",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_LAZY[name]}", __name__), name)
