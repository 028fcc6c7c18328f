"""The import facet of the op registry: how one ATen call of a captured torch model becomes a
graph-spec node. Torch-free: the importer (:mod:`netcalc.torch.importer`) describes every call
with the types below, and each op's converters read only them.

**Declaring import forms.** An op definition lists the ATen ops it is imported from in its
``aten`` mapping, keyed by ATen *overload packet* name (``torch.ops.aten.conv2d`` ->
``"conv2d"``; every overload of the packet, ``conv2d.default`` and ``conv2d.padding``, reaches
the same converter, which can read :attr:`AtenCall.overload`). In-place forms (``relu_``,
``add_``, ``hardtanh_``) reach the converter of the out-of-place name unless they are keyed
themselves. A packet belongs to exactly one op (the importer's table, :func:`aten_table`, refuses
a packet listed twice); a converter may still emit a node of another op (``add`` of a
parameter emits ``param_add``) by setting :attr:`Node.op`::

    @register_op
    class Conv(OpDef):
        ...
        aten = {"conv2d": conv_from_aten, "convolution": conv_from_aten}

**A converter** is ``convert(call: AtenCall) -> Node | Alias | list[Node] | Parts``:

- :class:`Node`: one spec node: ``attrs`` as a spec file writes them (``{"out": 64, "kernel":
  3}``, defaults may be left out), ``inputs`` the data operands (default: the call's first data
  tensor), ``op`` (default: the op whose ``aten`` holds the converter);
- a list of :class:`Node`: a chain, each node reading the previous one (``select`` is a
  ``slice`` then a ``reshape``); the last is the call's value;
- :class:`Alias`: the call's value IS this operand (``clone``, ``contiguous``, ``dropout`` in
  eval, a view to the same shape): no node, no cost;
- :class:`Parts`: a call with several tensor outputs (``chunk``, ``split``): one Node or Alias
  per output, in order.

It raises :class:`NotModelled` ("why") for a variant the op does not model (``conv2d`` with
a weight computed in forward, ``interpolate(mode='bicubic')``): the import lists it with every
other unsupported call. Any other exception is a bug in the converter and is reported as one.

**What a call holds** (:class:`AtenCall`): the packet and overload names, every schema argument
by name (``call.arg("stride")``, schema defaults filled in), positional ``args`` as well, the
output shapes, and the qualified name of the module it runs in. A tensor argument is a
:class:`Tensor`: its shape and kind (``DATA`` computed from the input, ``PARAM``eter,
``BUFFER``, ``CONSTANT`` tensor built in forward, ``DERIVED``: computed from those without the
input by an op that does more than rearrange them, ``weight * running_var.rsqrt()``). A parameter,
buffer or constant keeps its kind through ops that only rearrange its elements (a reshape, a
permute): a view of a parameter is that parameter. A converter that takes an operand as data
whatever it is (``mul``, ``add``) calls :meth:`AtenCall.materialise`: the importer then writes
the data-independent computation into the spec (``param`` and ``constant`` nodes, then the ops
that computed the tensor from them), so it counts as the model runs it. Sizes that follow the input resolution are
:class:`Dim` (an ``int``: the value at the traced resolution, plus a rule that says how it
follows the input); compare sizes with :func:`same_size`, never ``==``, and use the helpers
below (:func:`reshape_target`, :func:`scale_between`, :meth:`AtenCall.tensor_with`) to write
rules rather than constants into the spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..caches import memoised
from ..limits import MAX_LIKES, MAX_MEMO_ENTRIES

DATA, PARAM, BUFFER, CONSTANT, DERIVED = "data", "param", "buffer", "constant", "derived"


class NotModelled(Exception):
    """A call of a known ATen op in a variant its netcalc op does not model (the message says
    which: ``"conv2d with a weight computed in forward"``)."""


class Dim(int):
    """A size that follows the input resolution: its ``int`` value is the size at the traced
    resolution; ``rule`` is a hashable that is equal for two sizes exactly when they are equal at
    every resolution (the importer's symbolic expression, or the sizes at its probe
    resolutions). Arithmetic on a Dim gives a plain int."""

    rule: Any

    def __new__(cls, value: int, rule: Any) -> "Dim":
        size = super().__new__(cls, value)
        size.rule = rule
        return size

    def __repr__(self) -> str:
        return f"Dim({int(self)}, {self.rule!r})"


def follows_input(size: Any) -> bool:
    """Whether a size changes with the input resolution."""
    return isinstance(size, Dim)


def same_size(a: Any, b: Any) -> bool:
    """Equal at every resolution (a constant never equals a size that follows the input): the
    same rule, or symbolic rules written differently that agree at every sampled size (a map
    padded up to a multiple of a window, ``h + (7 - h % 7) % 7``, and its windows folded back,
    ``7 * (h' // 7)``; a rotary table's ``ceil(h // 16 - 0.5)`` rows and a patch grid's
    ``h // 16``)."""
    if isinstance(a, Dim) or isinstance(b, Dim):
        return isinstance(a, Dim) and isinstance(b, Dim) and int(a) == int(b) and (
            a.rule == b.rule or _agree(a.rule, b.rule))
    return a == b


def scale_between(out: Any, size: Any) -> Optional[int]:
    """The whole number k with ``out == k * size`` at every resolution, else None."""
    if int(size) == 0 or int(out) % int(size):
        return None
    k = int(out) // int(size)
    if not isinstance(out, Dim) and not isinstance(size, Dim):
        return k
    if isinstance(out, Dim) and isinstance(size, Dim) and out.rule == size.rule * k:
        return k
    return None


def offset_between(a: Any, b: Any) -> Optional[int]:
    """The whole number k with ``a == b + k`` at every resolution, else None (a slice bound
    written from a size: ``x[..., : h - 1]``)."""
    if not isinstance(a, Dim) and not isinstance(b, Dim):
        return int(a) - int(b)
    if not (isinstance(a, Dim) and isinstance(b, Dim)):
        return None
    try:
        return int(a.rule - b.rule)
    except TypeError:           # the difference itself follows the input
        return None


@dataclass(frozen=True)
class Tensor:
    """A tensor argument: its shape (ints and :class:`Dim`), what it is (``DATA``, ``PARAM``,
    ``BUFFER``, ``CONSTANT``, ``DERIVED``), and its name (the qualified parameter or buffer name,
    or the importer's name of the value). ``learned``: for a tensor computed from a parameter
    alone (a position embedding resampled to the token grid in forward), that parameter's own
    shape."""

    shape: Tuple[Any, ...]
    kind: str = DATA
    name: str = ""
    learned: Tuple[int, ...] = ()

    @property
    def learned_shape(self) -> Tuple[Any, ...]:
        """The shape of the parameter this tensor is (or is computed from)."""
        return self.learned or self.shape

    @property
    def is_data(self) -> bool:
        return self.kind == DATA

    @property
    def is_param(self) -> bool:
        return self.kind == PARAM


# in a chain of nodes, an operand that is the previous node's output (a step without inputs
# reads only that)
PREVIOUS = Tensor((), DATA, "<the previous node>")


@dataclass(frozen=True)
class Node:
    """One spec node (see the module docstring). ``fixed``: why the node holds a size of the
    traced resolution rather than a rule (the spec then says it fits that resolution only)."""

    attrs: Mapping[str, Any] = field(default_factory=dict)
    inputs: Tuple[Tensor, ...] = ()
    op: str = ""
    fixed: str = ""


@dataclass(frozen=True)
class Alias:
    """The call's value is ``source``'s value: no node."""

    source: Tensor


@dataclass(frozen=True)
class Parts:
    """One result (:class:`Node` or :class:`Alias`) per tensor output of a multi-output call;
    None for an output the op does not model (max pooling's indices: a use of it is then an
    unsupported call)."""

    outputs: Tuple[Optional[Union[Node, Alias]], ...]


Result = Union[Node, Alias, Parts, List[Node]]
Converter = Callable[["AtenCall"], Result]


@dataclass
class AtenCall:
    """One ATen call, torch-free (see the module docstring)."""

    op: str                                   # the overload packet: "conv2d"
    overload: str                             # "default", "padding", "Tensor", "Scalar", ...
    args: Tuple[Any, ...]                     # positional, tensors as Tensor, lists as tuples
    named: Dict[str, Any]                     # every schema argument by name, defaults filled
    outputs: Tuple[Tuple[Any, ...], ...]      # the shape of each tensor output
    module: str = ""                          # qualified name of the module it runs in
    finder: Callable[[Sequence[Any]], Optional[Tensor]] = lambda sizes: None
    materialiser: Optional[Callable[[Tensor], Tensor]] = None
    earlier: Sequence[Tensor] = ()            # the data tensors before the call, in graph order
    skipped: bool = False   # static exports: at some size the model skips it (the identity there)

    def arg(self, name: str, default: Any = None) -> Any:
        """The argument ``name`` (given, or the schema's default), else ``default``."""
        value = self.named.get(name, default)
        return default if value is None else value

    @property
    def out(self) -> Tuple[Any, ...]:
        return self.outputs[0]

    @property
    def tensors(self) -> List[Tensor]:
        """Every tensor argument, in order (lists of tensors flattened)."""
        found: List[Tensor] = []
        for value in self.named.values():
            if isinstance(value, Tensor):
                found.append(value)
            elif isinstance(value, (tuple, list)):
                found.extend(v for v in value if isinstance(v, Tensor))
        return found

    @property
    def data(self) -> List[Tensor]:
        return [t for t in self.tensors if t.is_data]

    @property
    def first(self) -> Tensor:
        """The first data tensor (what a one-operand node reads)."""
        data = self.data
        if not data:
            raise NotModelled(f"{self.op} has no operand computed from the input")
        return data[0]

    def tensor_with(self, sizes: Sequence[Any]) -> Optional[Tensor]:
        """An earlier data tensor whose trailing dims equal ``sizes`` at every resolution
        (``interpolate(y, size=x.shape[-2:])``: the spec then takes its size from x)."""
        return self.finder(sizes)

    def sizes_from_earlier(self, sizes: Sequence[Any]) -> Optional[Tuple[List[Tensor], list]]:
        """Earlier data tensors (at most :data:`MAX_LIKES`) that hold every size of ``sizes``
        that follows the input as one of their dims, and ``sizes`` as entries: ints, and "dK"
        for dim K of those tensors' shapes laid end to end (MViTv2's relative-position index
        is (qh, kh): the pooled queries' height, then the pooled keys'). None where some size
        is no dim of any earlier tensor."""
        likes: List[Tensor] = []
        for size in filter(follows_input, sizes):
            if any(same_size(d, size) for like in likes for d in like.shape):
                continue
            like = next((t for t in reversed(self.earlier)
                         if any(same_size(d, size) for d in t.shape)), None)
            if like is None or len(likes) == MAX_LIKES:
                return None
            likes.append(like)
        return likes, entries_over(likes, sizes)

    def materialise(self, tensor: Tensor) -> Tensor:
        """``tensor`` as a data operand: itself if it is data, else the spec node the importer
        writes for it (a ``param`` or ``constant`` node, then the ops that computed it from
        parameters, buffers and constants only, each counted as the model runs it)."""
        if tensor.is_data:
            return tensor
        if self.materialiser is None:
            raise NotModelled(f"{self.op} of a {tensor.kind} tensor")
        return self.materialiser(tensor)

    def param(self, name: str, optional: bool = False) -> Optional[Tensor]:
        """The argument ``name`` if it is a parameter (None if absent and ``optional``);
        NotModelled if it is a tensor computed in forward or a buffer."""
        value = self.named.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, Tensor) or not value.is_param:
            what = value.kind if isinstance(value, Tensor) else "missing"
            raise NotModelled(f"{self.op} with a {name} that is not a parameter ({what})")
        return value


def entries_over(likes: Sequence[Tensor], sizes: Sequence[Any]) -> list:
    """``sizes`` as spec entries: ints, and "dK" for a size that follows the input, dim K of
    the ``likes``' shapes laid end to end (each such size is one of their dims)."""
    dims = [d for like in likes for d in like.shape]
    return [next(f"d{k}" for k, d in enumerate(dims) if same_size(d, size))
            if follows_input(size) else int(size) for size in sizes]


# -- helpers for converters ---------------------------------------------------------------------------
def compact(value: Any) -> Any:
    """An int for a square pair (or a single-element list), else a list: specs stay short."""
    values = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if len(values) == 1:
        return values[0]
    return values[0] if len(set(values)) == 1 else values


def pair(value: Any) -> Tuple[int, int]:
    """A 2-D argument as (h, w): torch accepts one int for both."""
    values = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def same_op(call: AtenCall) -> Node:
    """The converter of an op without attributes (relu, sigmoid...)."""
    return Node()


def alias(call: AtenCall) -> Alias:
    """The converter of an op that computes nothing new (clone, contiguous, dropout in eval)."""
    return Alias(call.first)


# input sizes rules are evaluated at (:func:`sampled`): every stride up to MAX_SAME_STRIDE meets
# each residue twice; then sizes past any stem's stride, so that a size padded up to a window of
# a map 16 or 32 times smaller (SAM's 14 at every side up to 224) is not taken for a constant
SAMPLE_SIZES = (*range(16, 48), 97, 224, 389, 512)
SIDE_OFFSET = 37                    # sampled sides differ by this (an odd prime, past any stride)
# input sizes that meet every residue of a map, modulo each window: every size up to 271 (a map
# halved once meets every residue modulo 4 only at consecutive sizes), then every 8th up to
# 2,063 (a map downsampled 32 times meets every residue modulo a window of 7)
WIDE_SAMPLE_SIZES = (*range(16, 272), *range(272, 16 + 8 * 256, 8))


def sampled(sizes: Tuple[Any, ...], what: str, at_sizes: Sequence[int] = SAMPLE_SIZES) -> list:
    """``sizes`` (ints and :class:`Dim`) at the traced input and at other input sizes: at every
    size of ``at_sizes`` (:data:`SAMPLE_SIZES`; padding up to a multiple of a window samples
    wider) through their symbolic rules (an export with symbolic sizes),
    or at the probe sizes of static exports (rules that are the values there; the probes flip
    the parity of every halving, so that each stride's residues differ); NotModelled (naming
    ``what``) for rules of neither kind."""
    rules = [size.rule for size in sizes if follows_input(size)]
    if all(isinstance(rule, tuple) for rule in rules):
        return list(zip(*(size.rule if follows_input(size) else (int(size),) * len(rules[0])
                          for size in sizes)))
    if not all(map(_symbolic, rules)):
        raise NotModelled(f"{what} that follows the input size by rules netcalc cannot read")
    # each side its own values (h and w apart, so that a rule of w never passes for one of h)
    symbols = tuple(sorted(set().union(*(rule.free_symbols for rule in rules)), key=str))
    columns = [_values(size.rule, symbols, tuple(at_sizes)) if follows_input(size) else
               (int(size),) * len(at_sizes) for size in sizes]
    # a size where some rule is undefined (a division by a size that is 0 there: the model
    # refuses that input) is no sample
    return [tuple(int(size) for size in sizes)] + [row for row in zip(*columns)
                                                   if None not in row]


def _symbolic(rule: Any) -> bool:
    return hasattr(rule, "free_symbols") and hasattr(rule, "xreplace")


@memoised(MAX_MEMO_ENTRIES)
def _values(rule: Any, symbols: Tuple[Any, ...],
            at_sizes: Tuple[int, ...] = SAMPLE_SIZES) -> Tuple[int, ...]:
    """A symbolic rule's values at ``at_sizes``, symbol i at ``size + i * SIDE_OFFSET``
    (memoised: a model's thousands of sizes share a few hundred rules)."""
    import sympy    # only symbolic captures have sympy rules

    values: List[Optional[int]] = []
    for size in at_sizes:
        at = {symbol: sympy.Integer(size + SIDE_OFFSET * i) for i, symbol in enumerate(symbols)}
        try:
            value = rule.xreplace(at)
            values.append(int(value if value.is_number else rule.subs(at)))
        except ZeroDivisionError:       # undefined there (None: no sample)
            values.append(None)
    return tuple(values)


def _agree(a: Any, b: Any) -> bool:
    """Two symbolic rules with the same values at every sampled size (each side its own)."""
    if not (_symbolic(a) and _symbolic(b)):
        return False
    symbols = tuple(sorted(a.free_symbols | b.free_symbols, key=str))
    try:
        return _values(a, symbols) == _values(b, symbols)
    except (TypeError, ValueError):     # a rule that does not evaluate to a number
        return False


def reshape_target(source: Sequence[Any], out: Sequence[Any]) -> Optional[List[Any]]:
    """The spec's ``shape`` of a reshape from ``source`` to ``out`` that holds at every
    resolution: a constant size stays an int, a size equal to input dim K is ``"dK"``, one
    that is dim K split in N (TResNet's space-to-depth view, ``h // 4``) ``"dK/N"``, one other
    size that follows the input is -1. None when no such rule exists (two sizes follow the input
    without being dims of it): the reshape fits one resolution only."""
    entries: List[Any] = []
    for size in out:
        if not follows_input(size):
            entries.append(int(size))
            continue
        same = [k for k, d in enumerate(source) if same_size(d, size)]
        entries.append(f"d{same[0]}" if same else _split_dim(source, size) or
                       _constant_where_sampled(size) or -1)
    return entries if entries.count(-1) <= 1 else None


def _constant_where_sampled(size: Any) -> Optional[int]:
    """The size's value where its rule gives it at every sampled size, or at every sampled
    multiple of it: torch.export writes the 4 of TResNet's ``x.view(n, c, h // 4, 4, w // 4,
    4)`` as ``h // (h // 4)``, which is 4 at every h the view accepts (a multiple of 4), and
    NaFlexViT's patch size 16 as ``h // (h // 16)``, 16 at every multiple of 16 (not at 40)."""
    value = int(size)
    try:
        values = _values_where_defined(size, SAMPLE_SIZES)
        if values != {value} and value > 0:
            values = _values_where_defined(size, tuple(k * value for k in SAMPLE_SIZES))
    except NotModelled:
        return None
    return value if values == {value} else None


def _values_where_defined(size: Any, at_sizes: Tuple[int, ...]) -> set:
    """The size's values at ``at_sizes`` (an empty set where it is undefined at most)."""
    samples = sampled((size,), "a size", at_sizes)
    return {v for (v,) in samples} if 2 * (len(samples) - 1) >= len(at_sizes) else set()


def _split_dim(source: Sequence[Any], size: Any) -> Optional[str]:
    """``"dK/N"`` where ``size`` is dim K of ``source`` floor-divided by N at every sampled
    size (the spec refuses a dim N does not divide, as torch's view does)."""
    for k, d in enumerate(source):
        if not follows_input(d) or int(size) < 1 or int(d) % int(size) or int(d) == int(size):
            continue
        parts = int(d) // int(size)
        try:
            samples = sampled((d, size), "a split dim")
        except NotModelled:
            return None
        if all(part == whole // parts for whole, part in samples):
            return f"d{k}/{parts}"
    return None


# ATen ops that only rearrange the elements of their one tensor operand (or copy them): a
# parameter, buffer or constant read through them (with as many elements) is still that tensor
REARRANGING = frozenset({
    "_to_copy", "_unsafe_view", "alias", "clone", "contiguous", "detach", "expand", "flatten",
    "lift_fresh_copy", "permute", "reshape", "squeeze", "swapaxes", "swapdims", "t", "to",
    "transpose", "type_as", "unflatten", "unsqueeze", "view", "view_as", "reshape_as",
    "movedim"})

# ATen ops whose result depends on no tensor's values, only on sizes and arguments: whatever
# tensor they read, they compute no data from the input (a mask built from sizes, a position
# table); the importer treats them as constants, which leave no node
CONSTANT_FACTORIES = frozenset({
    "arange", "empty", "empty_like", "full", "full_like", "linspace", "new_empty", "new_full",
    "new_ones", "new_zeros", "ones", "ones_like", "scalar_tensor", "zeros", "zeros_like"})


def aten_table(ops: Mapping[str, Any]) -> Dict[str, Tuple[str, Converter]]:
    """ATen packet name -> (netcalc op name, converter), from every op's ``aten`` facet; a packet
    listed by two ops is a registry error."""
    table: Dict[str, Tuple[str, Converter]] = {}
    for name, op in ops.items():
        for packet, converter in getattr(op, "aten", {}).items():
            if packet in table:
                raise ValueError(f"ATen op {packet!r} is imported by both {table[packet][0]!r} "
                                 f"and {name!r}")
            table[packet] = (name, converter)
    return table


def lookup(table: Mapping[str, Tuple[str, Converter]], packet: str) -> Optional[
        Tuple[str, Converter]]:
    """The entry of ``packet``; an in-place form (``relu_``) falls back to its out-of-place
    name."""
    entry = table.get(packet)
    if entry is None and packet.endswith("_") and not packet.startswith("_"):
        entry = table.get(packet[:-1])
    return entry


def supported_table(ops: Mapping[str, Any]) -> str:
    """The Markdown table of the ATen ops each netcalc op is imported from (docs/your_own_model.md
    holds it; tests/test_import.py checks it is current)."""
    rows = ["| netcalc op | imported from (ATen ops, in-place forms included) |", "|---|---|"]
    for name in sorted(ops):
        packets = sorted(getattr(ops[name], "aten", {}))
        if packets:
            rows.append(f"| `{name}` | {', '.join(f'`{p}`' for p in packets)} |")
    return "\n".join(rows) + "\n"
