"""The op registry: every op is ONE definition holding all it means to netcalc.

An op definition (a subclass of :class:`OpDef` decorated with :func:`register_op`) holds

- ``Attrs``: its frozen attribute dataclass, and ``parse(fields) -> Attrs``, which reads and bounds
  the attributes of a graph-spec node through :class:`netcalc.fields.Fields`;
- ``arity``: how many operands it takes, ``(min, max)`` (``max`` None: any number);
- ``infer_shape(ins, attrs) -> shape``: the output shape from the input shapes, the one place
  sizes are computed; it raises :class:`~netcalc.errors.GraphError` on impossible shapes;
- ``params``, ``flops`` and ``acts``: cost tables, each mapping a convention name to a rule
  ``rule(ins, out, attrs) -> count``. Each has an entry for the root convention (``"pycls"``),
  ``zero`` included; a convention without an entry inherits its parent's (pycls -> fvcore ->
  torch, see :mod:`netcalc.rules`), so an op lists only where conventions differ. ``params``
  has that one entry only (``{"pycls": rule}``): the parameters are the module's, whichever
  convention counts them, so a ``params["fvcore"]`` is refused. A node that runs an earlier
  node's module again (:func:`shared`) counts 0 params: :func:`register_op` wraps every params
  rule for that, so no rule looks;
- ``conditions(ins, out, attrs)``: pairs of sizes that must be equal for the shapes to work, which
  closed forms in the resolution must assume (empty for most ops); ``exceptions``: pairs of
  which closed forms assume one differs, where a rule counts by :func:`resized`;
- ``torch(ins, out, attrs)``: the torch module (or callable) the op builds to. It imports torch
  inside the function: the analytic core never imports torch;
- ``aten``: the ATen ops the op is imported from (``netcalc import``, ``from_torch``), a
  mapping from ATen overload-packet name (``"conv2d"``) to a converter ``convert(call) -> Node``
  that reads a torch-free description of the call; see :mod:`netcalc.ops.aten` for the call,
  what a converter returns, and :class:`~netcalc.ops.aten.NotModelled` for variants the op does
  not model. Empty for ops no torch model computes as such (the importer's table and the docs'
  table of supported torch ops are generated from these mappings);
- ``free_forms`` (optional): those of its ATen forms that cost nothing in some conventions
  where the op's rules are not zero (bicubic upsampling: fvcore has no handle), so that the
  importer knows a resize of a parameter by such a call to be free;
- ``example()``: one concrete ``(input shapes, attrs)`` the op accepts, on which
  tests/test_ops_registry.py runs every facet (rules on int, sympy and numpy sizes; the torch
  module's output shape against ``infer_shape``).

**Rules for rule authors.** A rule is a pure function of shapes and attributes, evaluated on
Python ints (counting), sympy expressions (closed forms) and numpy arrays (the design-space
sampler tabulates a rule over many channel counts at once). So a rule uses only ``+``, ``*``,
``//`` and :func:`math.prod` on sizes, never ``if``/``min``/``max`` or comparisons on them
(:func:`resized` is the one comparison, for an op the model runs only where a size changes);
a boolean attribute enters as a factor (``out[1] * int(a.bias)``: sympy refuses a bool
factor). Channel counts come from the shapes (``ins[0][1]``, ``out[1]``), not from the
attributes, because the sampler substitutes shapes: a parameter sized by the input (a layer
norm's scale, a per-channel slope) reads its size from the input shape, an attribute only
choosing which dims (``prelu``: one slope or one per channel, a 0/1 factor). Only a learned
tensor whose shape the spec gives outright (``param``, ``param_concat``, ``param_mul``,
``param_add``) counts its ``param_shape``.
tests/test_ops_registry.py runs every rule of every op on all three kinds of sizes.
"""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from ..errors import GraphError

Shape = Tuple[Any, ...]
Rule = Callable[[Sequence[Shape], Shape, Any], Any]
ROOT_CONVENTION = "pycls"
# the conventions a cost table may name (netcalc.rules defines them, and checks this list)
CONVENTION_NAMES = ("pycls", "fvcore", "torch")
# the convention names each cost table may have: flops and acts differ between conventions,
# parameters do not (one rule, under the root)
COST_TABLES = {"flops": CONVENTION_NAMES, "params": (ROOT_CONVENTION,), "acts": CONVENTION_NAMES}
SAMPLER_ATTRS = ("out", "groups")     # the attributes an op may let the sampler substitute
FACETS = ("Attrs", "parse", "arity", "infer_shape", "params", "flops", "acts", "conditions",
          "torch", "aten", "example")

OPS: Dict[str, "OpDef"] = {}
_version = [0]          # bumped on every registration: conventions rebuild their tables


class OpDef:
    """Base of op definitions; a subclass sets every facet (see the module docstring)."""

    name: str = ""
    Attrs: type
    arity: Tuple[int, Optional[int]] = (1, 1)
    # what the design-space sampler may replace when it tabulates a block over many widths:
    # "out" (the output width) and "groups"; every other attribute stays as the block was built
    sampler_attrs: Tuple[str, ...] = ()
    params: Mapping[str, Rule]
    flops: Mapping[str, Rule]
    acts: Mapping[str, Rule]
    aten: Mapping[str, Callable[..., Any]] = {}     # ATen packet -> converter (ops/aten.py)
    # ATen packets of ``aten`` whose calls cost nothing in these conventions although the op's
    # rules there are not zero (a mode its rule prices at 0: bicubic upsampling in fvcore)
    free_forms: Mapping[str, Tuple[str, ...]] = {}

    def parse(self, f: Any) -> Any:
        raise NotImplementedError

    def infer_shape(self, ins: Sequence[Shape], a: Any) -> Shape:
        raise NotImplementedError

    def conditions(self, ins: Sequence[Shape], out: Shape, a: Any) -> Tuple[Tuple[Any, Any], ...]:
        return ()

    def exceptions(self, ins: Sequence[Shape], out: Shape, a: Any) -> Tuple[Tuple[Any, Any], ...]:
        """Pairs of sizes where all are equal the op costs otherwise than its closed form
        (:func:`resized`: an upsample the model skips where the size is unchanged); closed
        forms assume some pair differs."""
        return ()

    def torch(self, ins: Sequence[Shape], out: Shape, a: Any) -> Any:
        raise NotImplementedError

    def example(self) -> Tuple[Tuple[Shape, ...], Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def missing_facets(op: OpDef) -> list:
    """The facets an op definition lacks (the base class's placeholders count as missing)."""
    missing = [f for f in FACETS if not hasattr(op, f)]
    for method in ("parse", "infer_shape", "torch", "example"):
        if getattr(type(op), method, None) is getattr(OpDef, method):
            missing.append(method)
    for table in COST_TABLES:
        rules = getattr(op, table, {})
        if isinstance(rules, Mapping) and ROOT_CONVENTION not in rules:  # else malformed
            missing.append(f"{table}[{ROOT_CONVENTION!r}]")
    return missing


def malformed_facets(op: OpDef) -> list:
    """What is wrong with the facets an op has: a cost table that is not a mapping, or keyed by
    anything but a convention it may name (a misspelt ``"fvcor"`` would silently fall back to
    the parent convention), a rule that is not callable, an arity that is not ``(min, max)``,
    Attrs that is not a class."""
    wrong = []
    for table, keys in COST_TABLES.items():
        wrong += _malformed_table(table, getattr(op, table, {}), keys)
    arity = getattr(op, "arity", None)
    if not (isinstance(arity, tuple) and len(arity) == 2 and isinstance(arity[0], int)
            and arity[0] >= 1 and (arity[1] is None or (isinstance(arity[1], int)
                                                        and arity[1] >= arity[0]))):
        wrong.append(f"arity {arity!r} is not (min >= 1, max >= min or None)")
    if hasattr(op, "Attrs") and not isinstance(op.Attrs, type):
        wrong.append("Attrs is not a class")
    if not set(op.sampler_attrs) <= set(SAMPLER_ATTRS):
        wrong.append(f"sampler_attrs {op.sampler_attrs!r} names attributes other than "
                     f"{', '.join(SAMPLER_ATTRS)}")
    for packet, conventions in op.free_forms.items():
        if packet not in op.aten or not set(conventions) <= set(CONVENTION_NAMES):
            wrong.append(f"free_forms[{packet!r}] is no ATen form of the op free in named "
                         "conventions")
    return wrong


def _malformed_table(table: str, rules: Any, keys: Sequence[str]) -> list:
    """What is wrong with the cost table ``table`` of an op, which may name the conventions
    ``keys``."""
    if not isinstance(rules, Mapping):
        bare = " (a bare rule)" if callable(rules) else ""
        return [f"{table} is not a mapping of convention -> rule{bare}: write "
                f"{table} = {{{ROOT_CONVENTION!r}: rule}}"]
    wrong = [_unknown_key(table, key, keys) for key in rules if key not in keys]
    wrong += [f"{table}[{key!r}] is not callable" for key, rule in rules.items()
              if not callable(rule)]
    return wrong


def _unknown_key(table: str, key: Any, keys: Sequence[str]) -> str:
    if tuple(keys) == (ROOT_CONVENTION,):       # params
        return (f"{table}[{key!r}]: {table} has one rule for every convention, "
                f"{table}[{ROOT_CONVENTION!r}]")
    return f"{table}[{key!r}] names no convention (one of {', '.join(keys)})"


def register_op(cls: type) -> type:
    """Class decorator: register one instance of ``cls`` under ``cls.name``; refuses duplicates
    and definitions missing a facet."""
    op = cls()
    if not op.name or op.name in OPS:
        raise ValueError(f"op {op.name!r} is {'already registered' if op.name else 'unnamed'}")
    missing = missing_facets(op)
    wrong = ([f"lacks {', '.join(missing)}"] if missing else []) + malformed_facets(op)
    if wrong:
        raise TypeError(f"op {op.name!r}: {'; '.join(wrong)}")
    op.params = {key: _unless_shared(rule) for key, rule in op.params.items()}
    OPS[op.name] = op
    _version[0] += 1
    return cls


def _unless_shared(rule: Rule) -> Rule:
    """``rule``, but 0 for a node that reuses an earlier node's parameters (:func:`shared`);
    ``zero`` as it is (counting skips ops whose rules are all ``zero``)."""
    if rule is zero:
        return rule

    def params(ins: Sequence[Shape], out: Shape, a: Any) -> Any:
        return 0 if getattr(a, "shares_params", None) else rule(ins, out, a)
    params.__doc__ = rule.__doc__
    return params


_SHARED_TYPES: Dict[type, type] = {}


def shared(attrs: Any, owner: str) -> Any:
    """The same attributes for a node that runs the module of the earlier node ``owner`` again
    (``shares`` in a graph spec): its flops and acts count, its parameters were counted at
    ``owner`` (``shares_params`` names it; the torch builder reuses its module)."""
    cls = type(attrs)
    if cls not in _SHARED_TYPES:
        _SHARED_TYPES[cls] = type(f"Shared{cls.__name__}", (cls,), {})
    copy = _SHARED_TYPES[cls](**{f.name: getattr(attrs, f.name) for f in fields(attrs)})
    object.__setattr__(copy, "shares_params", owner)    # frozen dataclass: set once, here
    return copy


def unregister_op(name: str) -> None:
    """Remove an op (tests that register toy ops clean up with this)."""
    del OPS[name]
    _version[0] += 1


def registry_version() -> int:
    return _version[0]


def load_all() -> Dict[str, "OpDef"]:
    """Every op, the lazily registered groups imported (:func:`netcalc.ops.all_ops`; the
    package is loaded whenever this module is)."""
    from . import all_ops

    return all_ops()


def get_op(name: str) -> OpDef:
    """The definition of ``name``, importing the lazily registered groups if need be."""
    op = OPS.get(name) or load_all().get(name)
    if op is None:
        raise GraphError(f"unknown op {name!r}", field="op")
    return op


# -- helpers for definitions ------------------------------------------------------------------------
def zero(ins: Sequence[Shape], out: Shape, a: Any) -> int:
    return 0


def numel_out(ins: Sequence[Shape], out: Shape, a: Any) -> Any:
    return math.prod(out)


def numel_in(ins: Sequence[Shape], out: Shape, a: Any) -> Any:
    return math.prod(ins[0])


def is_concrete(size: Any) -> bool:
    return isinstance(size, int)


def resized(pairs: Sequence[Tuple[Any, Any]]) -> Any:
    """1 where some (input size, output size) pair differs, else 0: the one comparison a rule
    may make, for an op the model runs only where it changes a size (the size, elementwise, on
    numpy arrays). On sympy sizes that may be equal it is 1: closed forms assume a pair
    differs and say so (:meth:`OpDef.exceptions`)."""
    if any(getattr(size, "free_symbols", None) for pair in pairs for size in pair):
        return 1
    differs: Any = False
    for x, y in pairs:
        differs = differs | (x != y)
    return differs * 1


def up_to_multiple(size: Any, m: int) -> Any:
    """``size`` rounded up to a multiple of ``m``, ``m * ceil(size / m)``, written with floors
    alone (exact on ints, numpy and sympy sizes; closed forms read the floor as a side)."""
    return m * ((size + (m - 1)) // m)


def sizes_differ(x: Any, y: Any) -> bool:
    """Sizes that differ for sure (both concrete); symbolic ones become closed-form conditions."""
    return is_concrete(x) and is_concrete(y) and x != y


def check_rank(op: str, shape: Shape, ranks: Sequence[int], what: str) -> None:
    if len(shape) not in ranks:
        raise GraphError(f"{op} needs {what}, got shape {format_shape(shape)}", field="input")


def format_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
