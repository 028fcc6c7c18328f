"""Every op netcalc knows, one definition each (see :mod:`netcalc.ops.registry`).

Importing this package registers the op groups listed in ``_GROUPS``; adding an op is one
definition in one of them (or a new module appended there) plus its tests.
"""
from importlib import import_module

from .registry import OPS, OpDef, get_op, register_op, unregister_op

_GROUPS = ("simple", "conv", "norm", "pool", "linear", "elementwise", "shape")
_GROUPS += ("activation_extra", "arith", "tensor", "resample", "norm_extra", "matmul")
for _group in _GROUPS:
    import_module(f".{_group}", __name__)

__all__ = ["OPS", "OpDef", "get_op", "register_op", "unregister_op"]
