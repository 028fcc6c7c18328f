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

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from ..errors import ArgumentError, SpecError
from ..limits import DEFAULT_MAX_PIECES, MAX_PROBES, MIN_PROBES
from ..spec import Spec, SpecLike, expand_checked, load_spec
from .solve import FieldSearch, float_key, float_of, describe_step



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
    return spec.resolution, tuple((l.op, l.inputs, l.in_shapes[0][1], l.shape[1], l.attrs)
                                  for l in graph.layers)


def pieces(spec: SpecLike, key: str, lo: float, hi: float, convention: str = "pycls",
           limit: int = DEFAULT_MAX_PIECES) -> List[Piece]:
    """The pieces of ``[lo, hi]`` in spec field ``key`` (``width_mult`` or ``phi``), in order.

    The work is bounded before it starts: a first pass probes evenly spaced values,
    and an interval that already shows more than ``limit`` changes is refused at once; each
    later step costs at most ~64 expansions (bisection down to adjacent floats), so at most
    ``limit`` steps are searched. The probes also find valid values between refused ends: a
    spec that refuses both ends of the interval still reports every piece in between.
    """
    from ..arguments import checked_int, checked_number

    lo, hi = checked_number(lo, "lo"), checked_number(hi, "hi")
    limit = checked_int(limit, "max_pieces", 1, 100_000)
    if lo > hi:
        raise ArgumentError("", "lo", f"{lo!r} is above `hi` {hi!r}")
    search = FieldSearch(load_spec(spec), key, convention)
    probes = _probes(search, lo, hi, limit)
    if all(sig is None for _, sig in probes):
        raise SpecError(search.spec.source, key, f"the spec refuses every one of the {len(probes)} "
                                                 f"values probed in [{lo!r}, {hi!r}]; choose an "
                                                 "interval where it is valid")
    steps: List[Tuple[float, float]] = []
    for (a, sig_a), (b, sig_b) in zip(probes, probes[1:]):
        _split(search, a, b, sig_a, sig_b, steps, limit)
    steps.sort()
    firsts = [lo] + [after for _, after in steps]
    lasts = [before for before, _ in steps] + [hi]
    out = []
    for i, (first, last) in enumerate(zip(firsts, lasts)):
        spec_first = search.parse(first)
        change = describe_step(search.parse(lasts[i - 1]), spec_first) if i else ""
        out.append(Piece(first, last, spec_first, change))
    return out


def _probes(search: FieldSearch, lo: float, hi: float, limit: int) -> List[Tuple[float, Any]]:
    """(value, signature) at evenly spaced floats of [lo, hi] (distinct, both ends)."""
    count = min(max(MIN_PROBES, 2 * limit + 1), MAX_PROBES)
    values = sorted({lo, hi} | {lo + (hi - lo) * k / (count - 1) for k in range(1, count - 1)})
    values = [v for v in values if lo <= v <= hi]
    probes = [(v, signature(search.parse(v))) for v in values]
    changes = sum(a[1] != b[1] for a, b in zip(probes, probes[1:]))
    if changes > limit:
        raise ArgumentError("", "max_pieces",
                            f"[{lo!r}, {hi!r}] has at least {changes + 1} pieces already at "
                            f"{len(values)} probes, over the limit of {limit}; narrow the "
                            "interval or raise `max_pieces`")
    return probes


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
            if len(steps) > limit:
                raise ArgumentError("", "max_pieces", f"more than {limit} pieces; narrow the "
                                                      "interval or raise `max_pieces`")
            continue
        mid = float_of((key_a + key_b) // 2)
        sig_mid = signature(search.parse(mid))
        stack += [(mid, b, sig_mid, sig_b), (a, mid, sig_a, sig_mid)]   # left half first
