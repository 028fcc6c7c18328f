"""netcalc: exact analytic flops, params and activations of CNNs and their design spaces.

    >>> import netcalc
    >>> report = netcalc.count("regnetx_800mf")        # pycls convention
    >>> report.flops, report.params, report.acts
    (799700712, 7259656, 5148744)

The analytic path imports neither torch nor fvcore (nor sympy unless symbols are asked for).
"""
from .count import count
from .errors import ArgumentError, NetcalcError, SpecError
from .graph import LayerGraph, Node
from .report import Report
from .rules import CONVENTIONS
from .spec import Spec, load_spec

__version__ = "0.1.0"
__all__ = ["count", "load_spec", "NetcalcError", "SpecError", "ArgumentError", "Spec", "Report",
           "Node", "LayerGraph", "CONVENTIONS", "expand", "from_torch", "to_yaml"]

# name -> module that defines it, imported on first use (from_torch imports torch)
_LAZY = {"from_torch": ".torch.importer", "to_yaml": ".export"}


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'netcalc' has no attribute {name!r}")


def expand(spec, resolution=None) -> LayerGraph:  # type: ignore[no-untyped-def]
    """The node graph of a spec (path, mapping or Spec) at a resolution (int, or (h, w))."""
    from .count import _check_resolution
    from .spec import expand_checked

    spec = load_spec(spec)
    if resolution is not None:
        resolution = _check_resolution(spec, resolution)
    return expand_checked(spec, spec.resolution if resolution is None else resolution)
