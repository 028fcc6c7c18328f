"""When a tensor computed without the input may stand in a spec as one ``constant`` node.

A tensor computed from buffers and constants alone (a rotary embedding's sines and cosines of a
position grid, a Fourier position encoding's cumulative sums) costs nothing in any reference when
no op on its way is one fvcore 0.1.5 or FlopCounterMode prices, and holds no parameter. The
importer writes such a tensor as the ops computing it where netcalc has them all; where it lacks
one (``cumsum``, ``meshgrid``, ``bitwise_not``...), this module says whether a single
``constant`` node of its shape counts the same.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Tuple

from torch import fx

from ..ops import OPS
from ..ops.aten import CONSTANT_FACTORIES, DATA, PARAM, lookup
from ..rules import get_convention

# ATen ops netcalc does not import that a reference prices: a constant computed through one of
# them is no free constant (fvcore's addmm and grid_sampler handles; FlopCounterMode's addmm and
# scaled matmul formulas)
PRICED_UNIMPORTED = frozenset({"addmm", "grid_sampler", "_scaled_mm"})


def costs_nothing(node: fx.Node, kind_of: Callable[[fx.Node], Optional[str]],
                  table: Mapping[str, Tuple[str, Any]]) -> bool:
    """Whether the data-independent call ``node`` and every call before it (back to factories
    and placeholders; ``kind_of`` gives the importer's kind of a value, and a data operand, read
    only for its sizes, is no part of it) read no parameter and run only ops no reference
    prices: ATen ops netcalc does not import (but :data:`PRICED_UNIMPORTED`), and netcalc ops
    free in the fvcore and torch conventions."""
    seen, pending = set(), [node]
    while pending:
        current = pending.pop()
        if current in seen or kind_of(current) == DATA:
            continue
        seen.add(current)
        if kind_of(current) == PARAM:
            return False
        packet = _packet(current)
        if priced(packet, table, ("fvcore", "torch")):
            return False
        if packet not in CONSTANT_FACTORIES:
            pending.extend(current.all_input_nodes)
    return True


def priced(packet: Optional[str], table: Mapping[str, Tuple[str, Any]],
           conventions: Tuple[str, ...]) -> bool:
    """Whether one of ``conventions`` may count something for the ATen op ``packet``: its
    netcalc op is not free there, or it is one netcalc does not import that a reference prices
    (:data:`PRICED_UNIMPORTED`)."""
    if packet is None:
        return False
    entry = lookup(table, packet)
    if entry is None:
        return packet in PRICED_UNIMPORTED
    free_forms = OPS[entry[0]].free_forms.get(packet, ())
    return any(entry[0] not in get_convention(name).free_ops() and name not in free_forms
               for name in conventions)


def _packet(node: fx.Node) -> Optional[str]:
    """The ATen overload packet a call runs (None: getitem and other Python calls)."""
    target = node.target
    if getattr(target, "namespace", "") != "aten":
        return None
    return getattr(getattr(target, "overloadpacket", None), "__name__", None)
