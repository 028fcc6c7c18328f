"""Closed forms beyond r: counts as step functions of width_mult and phi, piece by piece.

Channel counts and depths are integers produced by rounding rules (EfficientNet's
round_filters and ceil of repeats, ReXNet's half-to-even widths, ``int(1280 * wm)``), and
compound scaling also rounds the resolution. So in ``width_mult`` or ``phi`` the counts are
piecewise constant: on each piece the network is one fixed graph, whose counts are one closed
form in r (:mod:`netcalc.symbolic.closed_form`). This module finds the pieces over an interval
with the family's own code (no rounding rule is restated here):

- a piece's *signature* is its expanded graph without sizes (ops, channels, kernels, strides,
  groups) plus its resolution;
- every rounded quantity is non-decreasing in the variable, so equal signatures at both ends of
  an interval mean one piece; otherwise the interval is split, down to adjacent floats, where the
  step lies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from ..errors import SpecError
from ..spec import Spec, SpecLike, expand_checked, load_spec
from .solve import FieldSearch, float_key, float_of, describe_step

MAX_PIECES = 500


@dataclass(frozen=True)
class Piece:
    """The floats ``first`` .. ``last`` of the variable, all giving the same network."""

    first: float
    last: float
    spec: Optional[Spec]            # the spec at ``first`` (None: the family refuses it)
    change: str = ""                # what differs from the previous piece


def signature(spec: Optional[Spec]) -> Any:
    if spec is None:
        return None
    graph = expand_checked(spec, None)
    return spec.resolution, tuple((l.op, l.inputs, l.c_in, l.c_out, l.attrs)
                                  for l in graph.layers)


def pieces(spec: SpecLike, key: str, lo: float, hi: float, convention: str = "pycls",
           limit: int = MAX_PIECES) -> List[Piece]:
    """The pieces of ``[lo, hi]`` in spec field ``key`` (``width_mult`` or ``phi``), in order."""
    search = FieldSearch(load_spec(spec), key, convention)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise SpecError("", "--from", f"{lo!r} and --to {hi!r} must be finite, --from <= --to")
    steps: List[Tuple[float, float]] = []
    _split(search, lo, hi, signature(search.parse(lo)), signature(search.parse(hi)), steps, limit)
    firsts = [lo] + [after for _, after in steps]
    lasts = [before for before, _ in steps] + [hi]
    out = []
    for i, (first, last) in enumerate(zip(firsts, lasts)):
        spec_first = search.parse(first)
        change = describe_step(search.parse(lasts[i - 1]), spec_first) if i else ""
        out.append(Piece(first, last, spec_first, change))
    return out


def _split(search: FieldSearch, a: float, b: float, sig_a: Any, sig_b: Any,
           steps: List[Tuple[float, float]], limit: int) -> None:
    """Append (last float before, first float after) of every step in (a, b]."""
    stack = [(a, b, sig_a, sig_b)]
    while stack:
        a, b, sig_a, sig_b = stack.pop()
        if sig_a == sig_b:
            continue
        key_a, key_b = float_key(a), float_key(b)
        if key_b - key_a == 1:
            steps.append((a, b))
            if len(steps) >= limit:
                raise SpecError("", "--to", f"more than {limit} pieces; narrow the interval")
            continue
        mid = float_of((key_a + key_b) // 2)
        sig_mid = signature(search.parse(mid))
        stack += [(mid, b, sig_mid, sig_b), (a, mid, sig_a, sig_mid)]   # left half first
    steps.sort()
