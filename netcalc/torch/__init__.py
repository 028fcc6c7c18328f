"""The torch edge of netcalc: real modules from specs, and their traces compared with the counts.

Importing this package imports torch; the core (``netcalc.count`` and the counting CLI) never
imports it. ``build`` makes the module; ``validate_spec`` and ``validate_conventions`` compare
fvcore's or torch's counts of it with netcalc's, layer by layer (``../../docs/validation.md``).
The other direction, a torch module to a spec, is :mod:`netcalc.torch.importer` (``netcalc
import``, ``netcalc.from_torch``; ``../../docs/your_own_model.md``).
"""
from .builder import GraphModule, build, example_input, module_name
from .validate import Validation, measure, validate_conventions, validate_spec

__all__ = ["GraphModule", "build", "example_input", "module_name", "Validation", "measure",
           "validate_conventions", "validate_spec"]
