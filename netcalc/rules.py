"""Counting conventions: named, read-only views of the per-op cost rules.

Every op definition (:mod:`netcalc.ops`) holds its own params, flops and acts tables of rules
per convention. A convention is a name, a parent and optional overrides: an op's rule for a
convention is the convention's override if any, else the op's entry under the convention's name,
else the parent's rule. Params have one rule for every convention (the registry refuses a
params entry other than the root's, and a convention overrides no params), looked up the same
way. So the three shipped conventions are one chain,

    pycls  -> fvcore (no bias flops, BN 2 per input element, GAP 1 per input element, no
              max-pool acts) -> torch (2 x conv and linear MACs, nothing else)

and the differences of docs/conventions.md stay visible where each op is defined. Adding a
convention is one :meth:`Convention.derive` call; adding an op touches no convention.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Dict, Mapping, Optional, Tuple

from .ops import OPS
from .ops.registry import OpDef, Rule, registry_version, zero

Costs = Tuple[Rule, Rule, Rule]      # (flops, params, acts) rules of one op


class Convention:
    """Flops, params and activation rules for every registered op, under one name."""

    def __init__(self, name: str, doc: str, parent: Optional["Convention"] = None, *,
                 flops: Optional[Mapping[str, Rule]] = None,
                 acts: Optional[Mapping[str, Rule]] = None):
        self.name = name
        self.doc = doc              # one line on what it counts (the CLI's --convention help)
        self.parent = parent
        # parameters are the module's, whatever a convention counts: no params overrides
        self._overrides = {"flops": dict(flops or {}), "params": {}, "acts": dict(acts or {})}
        self._table: Dict[str, Costs] = {}
        self._free: frozenset = frozenset()
        self._version = -1

    def derive(self, name: str, doc: str, *, flops: Optional[Mapping[str, Rule]] = None,
               acts: Optional[Mapping[str, Rule]] = None) -> "Convention":
        """A new convention: this one's rules with some overridden (op name -> rule)."""
        return Convention(name, doc, self, flops=flops, acts=acts)

    def rule(self, kind: str, op: OpDef) -> Rule:
        """The ``kind`` (``flops``, ``params`` or ``acts``) rule of ``op`` under this
        convention."""
        found = self._overrides[kind].get(op.name) or getattr(op, kind).get(self.name)
        if found is not None:
            return found
        if self.parent is None:
            raise TypeError(f"convention {self.name} has no {kind} rule for op {op.name}")
        return self.parent.rule(kind, op)

    def table(self) -> Mapping[str, Costs]:
        """op name -> (flops, params, acts) rules, rebuilt when an op is registered."""
        if self._version != registry_version():
            self._table = {name: (self.rule("flops", op), self.rule("params", op),
                                  self.rule("acts", op)) for name, op in OPS.items()}
            self._free = frozenset(name for name, rules in self._table.items()
                                   if all(rule is zero for rule in rules))
            self._version = registry_version()
        return MappingProxyType(self._table)

    def free_ops(self) -> frozenset:
        """The ops all of whose rules are ``zero`` here (counting skips them)."""
        self.table()
        return self._free

    @property
    def flops(self) -> Mapping[str, Rule]:
        return MappingProxyType({op: costs[0] for op, costs in self.table().items()})

    @property
    def params(self) -> Mapping[str, Rule]:
        return MappingProxyType({op: costs[1] for op, costs in self.table().items()})

    @property
    def acts(self) -> Mapping[str, Rule]:
        return MappingProxyType({op: costs[2] for op, costs in self.table().items()})

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


# pycls (RegNet's reference code; what the RegNet, EfficientNet and ReXNet papers print).
PYCLS = Convention("pycls", "conv/linear MACs and biases; acts: conv/linear/max-pool outputs")
# fvcore 0.1.5 with the module in eval().
FVCORE = PYCLS.derive("fvcore", "fvcore 0.1.5 in eval mode: no bias flops, BN and global pooling "
                                "per input element, no max-pool acts")
# torch.utils.flop_counter.FlopCounterMode reports no activations; netcalc gives fvcore's there.
TORCH = FVCORE.derive("torch", "FlopCounterMode: 2 per conv/linear MAC, nothing else; acts as "
                               "fvcore")

CONVENTIONS: Dict[str, Convention] = {c.name: c for c in (PYCLS, FVCORE, TORCH)}


def get_convention(name: str) -> Convention:
    from .errors import ArgumentError

    if not isinstance(name, str) or name not in CONVENTIONS:
        raise ArgumentError("", "convention",
                            f"{name!r:.40} is not one of {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
