"""Every op netcalc knows, one definition each (see :mod:`netcalc.ops.registry`).

The groups in ``_GROUPS`` (the ops the network families build with) register when netcalc is
imported; the groups in ``_LAZY_GROUPS`` (ops only graph specs use) register on first need:
:func:`all_ops`, or any lookup of an op name not yet registered, so counting a RegNet never
imports them. Adding an op is one definition in one of these modules (or a new module appended
to a tuple) plus its tests.
"""
from importlib import import_module
from typing import Dict

from .registry import OPS, OpDef, get_op, register_op, unregister_op

_GROUPS = ("simple", "conv", "norm", "pool", "linear", "elementwise", "shape")
_LAZY_GROUPS: tuple = ("activation_extra", "arith", "tensor", "resample", "norm_extra", "matmul",
                       "pad", "reduce", "unary", "attention", "einsum", "tokens",
                       "pointwise", "repeat", "windows", "recurrent")
for _group in _GROUPS:
    import_module(f".{_group}", __name__)


def all_ops() -> Dict[str, OpDef]:
    """The registry with every op group imported (what a graph spec may name)."""
    for group in _LAZY_GROUPS:
        import_module(f".{group}", __name__)
    return OPS


__all__ = ["OPS", "OpDef", "all_ops", "get_op", "register_op", "unregister_op"]
