"""Capture a torch module as an ATen graph with torch.export, and read its sizes as rules.

``capture(module, in_channels, sides)`` exports the module (non-strict, eval mode, on fake
tensors: no activation is ever allocated) on a (1, C, *sides) input (h and w of an image; the
length of a 1D signal; d, h and w of a volume), every side dynamic, so every size in the graph
is an expression of the input's symbols (a model of several inputs gets each further one at
its own shape, :class:`Extra`, its sides tied to the first input's where they equal them).
Where that symbolic export fails, specialises a side to a constant, or runs past
``symbolic_timeout`` seconds of CPU time (pad arithmetic on symbols can take minutes), the
module is exported statically at three sizes instead (the asked one and two of
other residues, :func:`probe_sizes`) and each size's rule is read from its three values; a
module that exports at one size only is captured there, and its spec fits that size only.
:class:`Captured` says which way its rules were found.

Each size of a tensor becomes an ``int`` (constant) or a :class:`~netcalc.ops.aten.Dim` whose
value is the size at the first traced resolution and whose rule is the symbolic expression, or
the values at the static sizes (:class:`Probed`).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import sympy
import torch
from torch import fx, nn

from ..errors import exception_line
from ..isolation import VERBOSE_ENV
from ..ops.aten import Dim
from ..spec import fits_only_note
from .guards import all_hold, inside, nearest_failures, recorded, second_size

Sides = Tuple[int, ...]         # the input's spatial sides: (l), (h, w) or (d, h, w)
LOWEST_DYNAMIC_SIDE = 2     # torch.export's floor for a dynamic side (it specialises 0 and 1)
SYMBOLIC_TIMEOUT = 20.0          # CPU seconds the symbolic export may take before the fallback
SYMBOLIC, STATIC, ONE_SIZE = "symbolic", "static sizes", "one size"    # Captured.how
DYNAMIC = {1: "dynamic length", 2: "dynamic h and w", 3: "dynamic d, h and w"}
TOO_SLOW = "the symbolic export took over"        # Captured.why when it ran past its time
GRAPH_DIFFERS = "its graph differs between sizes"  # ... when static exports differ


class SlowExport(BaseException):
    """The symbolic export ran past its time (a BaseException: model code cannot catch it)."""


class ExportFailure(Exception):
    """torch.export refused the module at a size (its message is the first line of torch's)."""


@dataclass(frozen=True)
class Extra:
    """A further input of the model, by its shape at the asked size: where its spatial sides
    are the first input's there, they follow the first input's at every size (``--resolution``
    applies to every spatial axis); any other shape stays as given."""

    shape: Tuple[int, ...]
    follows: bool

    @classmethod
    def of(cls, shape: Tuple[int, ...], sides: Sides) -> "Extra":
        return cls(tuple(shape), len(shape) == 2 + len(sides) and tuple(shape[2:]) == sides)

    def at(self, sides: Sides) -> Tuple[int, ...]:
        return self.shape[:2] + tuple(sides) if self.follows else self.shape


Extras = Tuple[Extra, ...]


class Probed(tuple):
    """A size's values at the static sizes: equal rules are equal sizes everywhere; ``*``
    and ``-`` work per size (the rule algebra :mod:`netcalc.ops.aten` needs)."""

    def __mul__(self, k: Any) -> "Probed":
        return Probed(v * k for v in self)

    def __sub__(self, other: Any) -> "Probed":
        return Probed(a - b for a, b in zip(self, other))

    def __int__(self) -> int:
        if len(set(self)) != 1:
            raise TypeError("the difference follows the input")
        return int(self[0])


@dataclass
class Captured:
    """The exported program, how its sizes are read, and the resolutions to check them at."""

    program: Any                                  # torch.export.ExportedProgram
    how: str                                      # SYMBOLIC, STATIC or ONE_SIZE
    note: str                                     # which way the size rules were found
    checks: List[Tuple[Sides, Callable[[Any], int]]] = field(default_factory=list)
    sizes: Callable[[Any], Any] = int             # a torch size -> int or Dim
    # node -> its twins at the other static sizes
    twins: Dict[fx.Node, List[fx.Node]] = field(default_factory=dict)
    fits_only: str = ""                           # why the module fits the traced size only
    why: str = ""                                 # why the sizes are not symbolic
    # per side: the lowest and highest size (None: none) the capture holds for
    domain: Optional[Tuple[Tuple[int, Optional[int]], ...]] = None
    # sizes of other residues where a check torch.export recorded on the sides fails: the
    # model may take another branch of its code there
    branch_sizes: List[Sides] = field(default_factory=list)
    # where some do: per side, up and down from the asked size, the first size where a check
    # fails (axis, the last side where all held, that size)
    edges: List[Tuple[int, int, Sides]] = field(default_factory=list)
    # static: a pad or crop of the first size is absent at another (the identity there)
    absent: bool = False

    def shape(self, value: Any) -> Tuple[Any, ...]:
        return tuple(self.sizes(d) for d in value.shape)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No torch log line or warning reaches stderr while capturing (unless ``netcalc import
    --verbose`` asked its child to show everything: the model's own prints to stderr too)."""
    if os.environ.get(VERBOSE_ENV) == "1":
        yield
        return
    logger = logging.getLogger("torch")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    children = [(lg, lg.level) for name, lg in logging.root.manager.loggerDict.items()
                if name.startswith("torch.") and isinstance(lg, logging.Logger)]
    for child, _ in children:
        child.setLevel(logging.CRITICAL + 1)
    try:       # torch.export prints the partial graph of a failed export to sys.stderr
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
        for child, old in children:
            child.setLevel(old)


@contextlib.contextmanager
def without_stack_traces() -> Iterator[None]:
    """torch.export records the Python stack of every node it traces (a traceback extracted
    and symbolised per op: several percent of an export); the importer names layers from
    ``nn_module_stack`` and never reads a stack."""
    from torch.fx import config as fx_config

    recorded = fx_config.do_not_emit_stack_traces
    fx_config.do_not_emit_stack_traces = True
    try:
        yield
    finally:
        fx_config.do_not_emit_stack_traces = recorded


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Raise :class:`SlowExport` after ``seconds`` of this process's CPU time (SIGPROF, main
    thread only): a bound on the export's work, which other processes on a busy machine do not
    shorten as they would a bound on wall-clock time. An outer alarm on wall-clock time
    (``netcalc import --timeout``) keeps running beside it."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    expired = []

    def expire(signum: int, frame: Any) -> None:
        expired.append(True)
        raise SlowExport()

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    if expired:     # raised where Python drops exceptions (a garbage collector's callback)
        raise SlowExport()


def _device(module: nn.Module) -> torch.device:
    first = next(module.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def shown(sides: Sides) -> str:
    """``224x224``, ``16000``, ``16x112x112``."""
    return "x".join(map(str, sides))


def export(module: nn.Module, in_channels: int, sides: Sides, dynamic: bool,
           extras: Extras = ()) -> Any:
    """``torch.export`` of ``module`` on a (1, C, *sides) input and the ``extras`` at
    ``sides`` (every side that follows the input dynamic if asked)."""
    shapes = [(1, in_channels, *sides)] + [extra.at(sides) for extra in extras]
    args = tuple(torch.empty(*shape, device=_device(module)) for shape in shapes)
    follows = [True] + [extra.follows for extra in extras]
    dims = tuple({2 + axis: torch.export.Dim.AUTO for axis in range(len(sides))} if f else None
                 for f in follows) if dynamic else None
    try:
        with quiet(), without_stack_traces():
            program = torch.export.export(module, args, dynamic_shapes=dims, strict=False)
    except SlowExport:
        raise
    except Exception as exc:  # noqa: BLE001 -- torch and the model's code: one line up
        raise ExportFailure(_first_line(exc)) from None
    inline_wrapped(program.graph_module)
    return program


# higher-order ops torch.export keeps a block of forward in: ``with torch.autocast(...)`` and
# ``with torch.set_grad_enabled(...)`` (EfficientViT's attention runs in float32 under autocast)
WRAPPERS = frozenset({"wrap_with_autocast", "wrap_with_set_grad_enabled"})


def inline_wrapped(graph_module: Any) -> None:
    """Each block torch.export wrapped in a higher-order call (:data:`WRAPPERS`) written into
    the graph in its place: its ops are the model's, counted like any other (neither fvcore
    nor FlopCounterMode sees the wrapper, only the ops)."""
    graph = graph_module.graph
    while True:
        node = next((n for n in graph.nodes if n.op == "call_function"
                     and getattr(n.target, "__name__", "") in WRAPPERS), None)
        if node is None:
            return
        at = next(i for i, a in enumerate(node.args)
                  if isinstance(a, fx.Node) and a.op == "get_attr")
        body = getattr(graph_module, node.args[at].target)
        results = _inline_body(graph_module, node, body, node.args[at + 1:])
        for user in list(node.users):       # the block's outputs, read with getitem
            user.replace_all_uses_with(results[user.args[1]])
            graph.erase_node(user)
        graph.erase_node(node)


def _inline_body(graph_module: Any, node: fx.Node, body: Any, operands: Any) -> List[Any]:
    """The nodes of ``body`` copied before ``node``, its placeholders read as ``operands``;
    its outputs (as copied)."""
    graph = graph_module.graph
    inputs = [n for n in body.graph.nodes if n.op == "placeholder"]
    copies: Dict[fx.Node, Any] = dict(zip(inputs, operands))
    with graph.inserting_before(node):
        for inner in body.graph.nodes:
            if inner.op == "output":
                return [copies[n] if isinstance(n, fx.Node) else n for n in inner.args[0]]
            if inner.op == "placeholder":
                continue
            copy = graph.node_copy(inner, lambda n: copies[n])
            if inner.op == "get_attr":          # a nested block, or a constant of the body
                copy.target = _free_attribute(graph_module, inner.target)
                setattr(graph_module, copy.target, getattr(body, inner.target))
            copy.meta.setdefault("nn_module_stack", node.meta.get("nn_module_stack"))
            copies[inner] = copy
    raise ExportFailure(f"the block of {node.target} has no output")


def _free_attribute(graph_module: Any, name: str) -> str:
    """``name``, or ``name_K`` with the least K that ``graph_module`` has no attribute of."""
    found, k = name, 1
    while hasattr(graph_module, found):
        k += 1
        found = f"{name}_{k}"
    return found


DATA_DEPENDENT = ("Python control flow on tensor values (an `if` on a sum, a loop over "
                  "`.item()`) cannot be captured; move it out of forward, or import a "
                  "submodule without it")


def _first_line(exc: BaseException) -> str:
    """The export's error in one line, with the cure when it is control flow on tensor values."""
    line = exception_line(exc)
    return f"{line} ({DATA_DEPENDENT})" if "data-dependent" in line else line


def input_nodes(program: Any) -> List[fx.Node]:
    """The placeholders of the user's inputs, in order (the others are parameters, buffers,
    constants)."""
    user = set(program.graph_signature.user_inputs)
    return [n for n in program.graph.nodes if n.op == "placeholder" and n.name in user]


def _ties(program: Any, symbols: Tuple[Any, ...], extras: Extras) -> Dict[Any, Any]:
    """Each symbol torch.export gave a side of a further input that follows the first one ->
    the first input's symbol of that side (where the model's code did not tie them itself: a
    second image that never meets the first)."""
    ties: Dict[Any, Any] = {}
    for node, extra in zip(input_nodes(program)[1:], extras):
        if extra.follows:
            for d, symbol in zip(node.meta["val"].shape[2:], symbols):
                if isinstance(d, torch.SymInt) and d.node.expr.is_Symbol \
                        and d.node.expr not in symbols:
                    ties[d.node.expr] = symbol
    return ties


# -- symbolic ---------------------------------------------------------------------------------------
def _load_export_machinery() -> None:
    """Import what torch.export imports lazily, outside the time bound: an alarm inside a
    module's first import would leave it half-initialised for every later export."""
    with quiet():
        import torch._dynamo  # noqa: F401
        import torch._export.non_strict_utils  # noqa: F401
        import torch.export._trace  # noqa: F401


def _symbolic(module: nn.Module, in_channels: int, sides: Sides, timeout: float,
              extras: Extras) -> Tuple[Optional[Captured], str]:
    """The symbolic capture, or None and why not."""
    _load_export_machinery()
    try:
        with bounded(timeout):
            program = export(module, in_channels, sides, True, extras)
    except SlowExport:
        return None, f"{TOO_SLOW} {timeout:g} s of CPU time"
    except ExportFailure as exc:
        return None, f"the symbolic export failed ({exc})"
    dims = input_nodes(program)[0].meta["val"].shape[2:]
    if not all(isinstance(d, torch.SymInt) for d in dims):
        return None, "the module fixes a side to the traced size under symbolic export"
    symbols = tuple(d.node.expr for d in dims)
    ties = _ties(program, symbols, extras)
    guards = recorded(dims[0].node.shape_env, symbols, ties)
    domain = _domain(program, symbols)
    branch_sizes = [size for size in probe_sizes(sides)[1:]
                    if not all_hold(guards, symbols, size)]
    lowest = max(LOWEST_DYNAMIC_SIDE, min(lo for lo, _ in domain))
    edges = nearest_failures(guards, symbols, sides, lowest) if branch_sizes else []
    second = second_size(guards, symbols, sides) or inside(guards, symbols, sides, edges)
    values: Dict[Any, Dict[Any, int]] = {}

    def at(where: Sides) -> Callable[[Any], int]:
        memo = values.setdefault(where, {})

        def evaluate(size: Any) -> int:
            if not isinstance(size, Dim):
                return int(size)
            if size.rule not in memo:
                memo[size.rule] = int(size.rule.subs(dict(zip(symbols, where))))
            return memo[size.rule]
        return evaluate

    def sizes(d: Any) -> Any:
        if isinstance(d, torch.SymInt):
            expr = d.node.expr.xreplace(ties) if ties else d.node.expr
            return int(expr) if expr.is_number else Dim(int(d.node.hint), expr)
        return int(d)

    checks = [(sides, at(sides))] + ([(second, at(second))] if second else [])
    fits_only = "" if second else fits_only_note(
        shown(sides), "the size checks torch.export recorded for the module fail at every "
                      "other size tried")
    return Captured(program, SYMBOLIC, "size rules from torch.export's symbolic shapes "
                    f"({DYNAMIC[len(sides)]})", checks, sizes, fits_only=fits_only,
                    domain=domain, branch_sizes=branch_sizes, edges=edges), ""


def _domain(program: Any, symbols: Tuple[Any, ...]) -> Tuple[Tuple[int, Optional[int]], ...]:
    """The range torch.export derived for each side from what the module's code checks of it
    (``if x.shape[-2] < 7`` holds h at 224 or more behind five halvings): the capture's graph
    is the module's there; other sizes may take another branch."""
    ranges = []
    for symbol in symbols:
        bounds = program.range_constraints.get(symbol)
        lo, hi = (bounds.lower, bounds.upper) if bounds is not None else (None, None)
        ranges.append((_whole(lo) or 1, _whole(hi)))    # torch's int_oo is no sympy Integer
    return tuple(ranges)


def _whole(bound: Any) -> Optional[int]:
    return int(bound) if isinstance(bound, sympy.Integer) else None


# -- static ----------------------------------------------------------------------------------------
PROBE_CYCLE = 64                 # residues of each side taken mod 64: parities through 5 halvings
PROBE_OFFSETS = (32, 160)         # least offsets of the 2nd and 3rd static sizes' first side
AXIS_OFFSET = 64                  # ... and of each further side, more than the one before
# wide probes, for a model that pads its maps to whole windows: a stage of stride 32 padded to
# 7-wide windows is 14 at 257, 320 and 446, so 160 apart the padded side looks constant, and h
# and w 64 apart look alike; 480 and 256 apart they differ (Twins, DaViT). The flips keep
# residues mod 64 in step, so a stride-8 map padded to 8-wide windows can pad by 4 at all three
# (Swin V2 at 289x353): a fourth size, 100 and 148 further than the asked one, breaks the step
WIDE_PROBE_OFFSETS, WIDE_AXIS_OFFSET, OUT_OF_STEP = (32, 480), 256, (100, 48)


def _probe_side(side: int, offset: int, residue: int) -> int:
    """The first side ``>= side + offset`` that is ``residue`` mod :data:`PROBE_CYCLE`."""
    start = side + offset
    return start + (residue - start) % PROBE_CYCLE


def probe_sizes(sides: Sides, wide: bool = False) -> List[Sides]:
    """The asked size, then two sizes whose halvings have the other parity at every level up to
    stride 32: ``ceil(s / 2**i)`` (a stride-2 conv padded k//2, TF's "same" pad, whose amount
    is ``k - 1`` or ``k - 2`` by parity) for the second, ``floor(s / 2**i)`` (a 2x2 pool) for
    the third. A literal equal at all three is a constant; at two sizes of one residue a
    parity-dependent pad would look constant. The sides get different offsets, so that a
    square input still tells a size of h from one of w. ``wide``: farther apart
    (:data:`WIDE_PROBE_OFFSETS`), and a fourth size out of step with them."""
    firsts, apart = (WIDE_PROBE_OFFSETS, WIDE_AXIS_OFFSET) if wide else (PROBE_OFFSETS,
                                                                         AXIS_OFFSET)
    offsets = [[first + apart * axis for axis in range(len(sides))] for first in firsts]
    ceil_flip = tuple(_probe_side(side, off, 1 - side) for side, off in zip(sides, offsets[0]))
    floor_flip = tuple(_probe_side(side, off, -1 - side) for side, off in zip(sides, offsets[1]))
    first, apart = OUT_OF_STEP
    out_of_step = tuple(side + first + apart * axis for axis, side in enumerate(sides))
    return [sides, ceil_flip, floor_flip] + ([out_of_step] if wide else [])


# ops that return their input's shape and cost nothing: a model may run them at some sizes only
# (``.contiguous()`` after a crop that made a copy), so they are left out when graphs are compared
SHAPE_KEEPING = frozenset({"aten.contiguous.default", "aten.clone.default", "aten.alias.default"})
# ops a model runs only where a size needs them and that are the identity where it does not: a
# pad to whole windows, the crop back after it (Twins' and DaViT's ``if pad_r > 0 or pad_b > 0``),
# a resize to whole patches and back (MobileViT's ``if new_h != H or new_w != W``)
IDENTITY_WHERE_ABSENT = {"aten.constant_pad_nd.default": "pad",
                         "aten.slice.Tensor": "end",
                         **{f"aten.upsample_{mode}2d.{overload}": "size"
                            for mode in ("nearest", "bilinear", "bicubic")
                            for overload in ("vec", "default")}}


class _IdentityTwin:
    """A node of the first static export that another size's export lacks because it is the
    identity there (no pad, no crop; a shape-keeping copy): at that size it reads its input's
    twin and has its shape, with the literal that makes it the identity (pads of 0, a slice to
    the end)."""

    def __init__(self, node: fx.Node, source: Any):
        self.target, self.kwargs = node.target, dict(node.kwargs)
        value = source.meta.get("val")
        self.meta = {"val": value}
        args = [source] + list(node.args[1:])
        literal = IDENTITY_WHERE_ABSENT.get(str(node.target))
        if literal == "pad":
            args[1] = [0] * len(node.args[1])
        elif literal == "end":
            dim = node.args[1] if len(node.args) > 1 else 0
            while len(args) < 4:
                args.append(0 if len(args) == 2 else None)
            args[3] = int(value.shape[dim])
        elif literal == "size":
            args[1] = [int(side) for side in value.shape[2:]]
        self.args = tuple(args)


def skipped(twins: List[Any]) -> bool:
    """Whether a node's twins say the model skips it at some static size (the identity there,
    :data:`IDENTITY_WHERE_ABSENT`)."""
    return any(isinstance(twin, _IdentityTwin) and str(twin.target) in IDENTITY_WHERE_ABSENT
               for twin in twins)


def _signature(node: fx.Node) -> Tuple[Any, ...]:
    slice_dim = node.args[1] if str(node.target) == "aten.slice.Tensor" and len(node.args) > 1 \
        else None       # a crop of h and one of w are different ops
    return node.op, str(node.target), slice_dim


def _aligned(programs: List[Any]) -> Optional[Dict[fx.Node, List[Any]]]:
    """Each node of the first export -> its twins at the other sizes, where the other exports
    are the first one's graph less ops that are the identity at their size
    (:data:`IDENTITY_WHERE_ABSENT`, :data:`SHAPE_KEEPING`); None where they differ otherwise
    (an op the first export lacks: the first size does less work than the others)."""
    first = list(programs[0].graph.nodes)
    signatures = [_signature(n) for n in first]
    if all([_signature(n) for n in p.graph.nodes] == signatures for p in programs[1:]):
        return {node: twins for node, *twins in zip(*(p.graph.nodes for p in programs))}
    pairs: Dict[fx.Node, List[Any]] = {node: [] for node in first}
    for program in programs[1:]:
        theirs = [n for n in program.graph.nodes if str(n.target) not in SHAPE_KEEPING]
        twin: Dict[fx.Node, Any] = {}
        at = 0
        for node in first:          # in graph order: an absent node's input has its twin
            target = str(node.target)
            if target not in SHAPE_KEEPING and at < len(theirs) \
                    and _signature(theirs[at]) == _signature(node):
                twin[node], at = theirs[at], at + 1
            elif target in SHAPE_KEEPING or target in IDENTITY_WHERE_ABSENT:
                source = node.args[0] if node.args else None
                if not isinstance(source, fx.Node) or source not in twin:
                    return None
                twin[node] = _IdentityTwin(node, twin[source])
            else:
                return None
            pairs[node].append(twin[node])
        if at != len(theirs):
            return None
    return pairs


def _static(module: nn.Module, in_channels: int, sides: Sides, why: str,
            extras: Extras, wide: bool = False) -> Captured:
    """Exports at the :func:`probe_sizes` (each size's rule: its values there), or at ``sides``
    alone where the module refuses a probe size or computes another graph there (beyond ops
    that are the identity at a size, :func:`_aligned`)."""
    sizes = probe_sizes(sides, wide)
    listed = ", ".join(map(shown, sizes))
    try:
        programs = [export(module, in_channels, size, False, extras) for size in sizes]
        if wide:    # the graph of most ops first: where the others lack a pad or a crop (the
            # identity at their size), their nodes pair with its nodes (the asked size first if
            # equal). Not at the narrow probes: there a padded side can look constant
            order = sorted(range(len(sizes)), key=lambda i: -len(programs[i].graph.nodes))
            programs, sizes = [programs[i] for i in order], [sizes[i] for i in order]
        pairs = _aligned(programs)
        problem = "" if pairs is not None else GRAPH_DIFFERS
    except ExportFailure as exc:
        pairs, problem = None, f"it does not export at each of {listed} ({exc})"
    if pairs is None:
        return one_size(module, in_channels, sides, f"{why}, and {problem}", extras)
    return _paired(programs[0], pairs, why, sizes)


def one_size(module: nn.Module, in_channels: int, sides: Sides, why: str,
             extras: Extras = ()) -> Captured:
    """The module exported at ``sides`` alone: its spec holds that size's constants."""
    program = export(module, in_channels, sides, False, extras)
    return Captured(program, ONE_SIZE, fits_only_note(shown(sides), why), [(sides, int)], int,
                    why=why, domain=tuple((side, side) for side in sides))


def _at_probe(index: int) -> Callable[[Any], int]:
    return lambda d: int(d.rule[index]) if isinstance(d, Dim) else int(d)


def _paired(program: Any, pairs: Dict[fx.Node, List[fx.Node]], why: str,
            sizes: List[Sides]) -> Captured:
    """Sizes of ``program`` (at ``sizes[0]``) with rules from the paired nodes at the other
    sizes: :class:`Captured.shape` of a node's value reads its twins' by position."""
    listed = ", ".join(map(shown, sizes))
    captured = Captured(program, STATIC, f"size rules from static exports at {listed} ({why})",
                        [(size, _at_probe(i)) for i, size in enumerate(sizes)], twins=pairs,
                        why=why, absent=any(map(skipped, pairs.values())))
    twins: Dict[int, List[Any]] = {}
    for node in program.graph.nodes:
        mine, theirs = node.meta.get("val"), [t.meta.get("val") for t in pairs[node]]
        if isinstance(mine, (list, tuple)) and all(isinstance(t, (list, tuple)) for t in theirs):
            twins.update((id(a), list(bs)) for a, *bs in zip(mine, *theirs))
        else:
            twins[id(mine)] = theirs

    def shape(value: Any) -> Tuple[Any, ...]:
        others = twins.get(id(value))
        if not others or not all(hasattr(t, "shape") and len(t.shape) == len(value.shape)
                                 for t in others):
            return tuple(int(d) for d in value.shape)
        return tuple(_probed_size(int(d), [int(t.shape[i]) for t in others])
                     for i, d in enumerate(value.shape))
    captured.shape = shape      # type: ignore[method-assign]
    return captured


def _probed_size(value: int, others: List[int]) -> Any:
    """A size equal at every probe is a constant; else a :class:`Dim` with the probe values."""
    if all(o == value for o in others):
        return value
    return Dim(value, Probed([value] + others))


def paired_value(value: Any, *twins: Any) -> Any:
    """A literal argument of the first static export with its twins': an int that differs at
    another size follows the input (a padding computed from the size)."""
    if isinstance(value, (list, tuple)) and all(isinstance(t, (list, tuple)) and
                                                len(t) == len(value) for t in twins):
        return type(value)(paired_value(a, *bs) for a, *bs in zip(value, *twins))
    if type(value) is int and all(type(t) is int for t in twins):
        return _probed_size(value, list(twins))
    return value


def wide_static(module: nn.Module, in_channels: int, sides: Sides, why: str,
                extras: Extras = ()) -> Captured:
    """Static exports at the wide probe sizes (:func:`probe_sizes`)."""
    return _static(module, in_channels, sides, why, extras, wide=True)


def capture(module: nn.Module, in_channels: int, sides: Sides,
            symbolic_timeout: float = SYMBOLIC_TIMEOUT, extras: Extras = ()) -> Captured:
    """The module's ATen graph with sizes as rules (see the module docstring);
    ``symbolic_timeout`` 0 skips the symbolic export; ``extras``: the model's further inputs.
    Raises :class:`ExportFailure` when it exports at no size, the asked one included."""
    if symbolic_timeout <= 0:
        return _static(module, in_channels, sides, "symbolic export not asked for", extras)
    captured, why = _symbolic(module, in_channels, sides, symbolic_timeout, extras)
    return captured if captured is not None else _static(module, in_channels, sides, why,
                                                         extras)
