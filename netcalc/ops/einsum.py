"""``torch.einsum`` of one or two operands, priced from its subscripts.

Each letter of the equation names one size. For a two-operand contraction the counters differ
(measured, torch 2.13 and fvcore 0.1.5):

- fvcore 0.1.5's ``einsum`` handle prices two equations by hand (``abc,abd->acd`` and
  ``abc,adc->adb`` up to renaming letters: their multiply-accumulates) and every other one with
  ``np.einsum_path(..., "optimal")``: with one or two operands that path is the one contraction,
  costing prod(every letter's size) times 2 when a letter is summed away (it is in no output)
  and times 1 when none is; numpy prints that cost plus one (its ``opt_cost`` adds 1, so a
  one-operand permutation of 3 elements prints 4 and costs 2). fvcore reads that cost back from
  the text numpy prints, where it is
  rounded to 4 significant digits (``%.3e``), then halves and floors it ("a multiply-add is one
  flop"). So ``nchw,ndhw->ncd`` on (1, 8, 17, 26) maps costs 28,290, not its 28,288
  multiply-accumulates. The rounding has no closed form: ``--symbolic`` in the fvcore convention
  refuses such an einsum. Acts: the output.
- FlopCounterMode sees the ``bmm`` torch lowers a two-operand einsum to: letters that only one
  operand has and the output lacks are summed out first (uncounted), the rest go through one
  ``bmm`` of 2 x prod(their sizes). Where no letter of both operands is summed over (or every such
  letter has size 1 somewhere), torch multiplies elementwise instead: 0. One operand: 0.
- pycls counts the ``bmm``'s multiply-accumulates and the output, as for ``matmul``.

Three or more operands are refused: fvcore's and torch's costs then depend on the contraction
order each searches for, which is no polynomial in the sizes. Chain two-operand einsums instead.
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, Tuple

from ..errors import GraphError
from ..limits import MAX_EQUATION
from .aten import AtenCall, Node, NotModelled
from .registry import OpDef, format_shape, is_concrete, numel_out, register_op, zero



@dataclass(frozen=True)
class EinsumAttrs:
    """The equation, parsed: each operand's letters and the output's."""

    equation: str
    operands: Tuple[str, ...]
    output: str


def parse_equation(equation: str) -> Tuple[Tuple[str, ...], str]:
    """(operand subscripts, output subscripts) of an explicit equation; ValueError says why not."""
    text = equation.replace(" ", "")
    if "..." in text:
        raise ValueError("an ellipsis ('...') is not supported: name every dim with a letter")
    if text.count("->") != 1:
        raise ValueError("needs exactly one '->' and the output's letters after it")
    left, output = text.split("->")
    operands = tuple(left.split(","))
    if not 1 <= len(operands) <= 2:
        raise ValueError(f"has {len(operands)} operands; one or two are supported (chain "
                         "two-operand einsums)")
    for term in operands + (output,):
        if not all(c.isascii() and c.isalpha() for c in term):
            raise ValueError(f"subscripts {term!r} must be letters a-z, A-Z")
        if len(set(term)) != len(term):
            raise ValueError(f"subscripts {term!r} repeat a letter (diagonals are not supported)")
    if any(not term for term in operands + (output,)):
        raise ValueError("every operand and the output need subscripts (a scalar has no batch "
                         "dim)")
    stray = set(output) - set("".join(operands))
    if stray:
        raise ValueError(f"output letter {sorted(stray)[0]!r} is in no operand")
    return operands, output


def _sizes(ins: Any, a: EinsumAttrs) -> Dict[str, Any]:
    """Each letter's size, from its first operand."""
    sizes: Dict[str, Any] = {}
    for term, shape in zip(a.operands, ins):
        for letter, size in zip(term, shape):
            sizes.setdefault(letter, size)
    return sizes


def _summed_in_both(a: EinsumAttrs) -> str:
    """Letters both operands have and the output lacks: what a bmm contracts."""
    if len(a.operands) < 2:
        return ""
    return "".join(sorted(set(a.operands[0]) & set(a.operands[1]) - set(a.output)))


def einsum_macs(ins: Any, out: Any, a: EinsumAttrs) -> Any:
    """The multiply-accumulates of the bmm torch runs (0 where it multiplies elementwise)."""
    contracted = _summed_in_both(a)
    sizes = _sizes(ins, a)
    if not contracted or all(is_concrete(sizes[c]) and sizes[c] == 1 for c in contracted):
        return 0
    kept = (set(a.operands[0]) & set(a.operands[1])) | set(a.output)
    return math.prod(sizes[c] for c in sorted(kept))


def canonical(a: EinsumAttrs) -> str:
    """The equation with letters renamed a, b, c... in order of appearance, as fvcore does."""
    text = ",".join(a.operands) + "->" + a.output
    order = {c: chr(97 + i) for i, c in enumerate(dict.fromkeys(c for c in text if c.isalpha()))}
    return "".join(order.get(c, c) for c in text)


FVCORE_EXACT = ("abc,abd->acd", "abc,adc->adb")     # the equations fvcore prices by hand


def printed_cost(cost: Any) -> Any:
    """``cost`` as numpy's einsum_path prints it (``%.3e``: 4 significant digits) and fvcore reads
    it back. Rounding has no closed form: symbolic sizes are refused."""
    if isinstance(cost, int):
        return int(float("%.3e" % cost))
    if hasattr(cost, "dtype"):              # numpy sizes: the same, entry by entry
        import numpy

        return numpy.vectorize(printed_cost, otypes=[numpy.int64])(cost)
    raise GraphError("fvcore 0.1.5 prices this einsum from numpy's printed path cost, rounded to "
                     "4 significant digits, which has no closed form in the sizes (the torch and "
                     "pycls conventions have one)", field="equation")


def fvcore_einsum(ins: Any, out: Any, a: EinsumAttrs) -> Any:
    """np.einsum_path's cost of the one contraction, plus the 1 numpy adds, as printed, halved
    and floored; the two equations fvcore prices by hand cost their multiply-accumulates."""
    sizes = _sizes(ins, a)
    every = math.prod(sizes[c] for c in sorted(sizes))
    if canonical(a) in FVCORE_EXACT:
        return every
    removed = int(bool(set(sizes) - set(a.output)))
    return printed_cost(every * (1 + removed) + 1) // 2


def einsum_from_aten(call: AtenCall) -> Node:
    """``aten.einsum`` of one or two tensors; one computed without the input (MViTv2's
    relative-position table, looked up in forward) is written as the nodes computing it."""
    equation = str(call.arg("equation"))
    try:
        parse_equation(equation)
    except ValueError as exc:
        raise NotModelled(f"einsum {equation!r}: {exc}") from None
    operands = tuple(call.materialise(t) for t in call.arg("tensors"))
    return Node({"equation": equation}, inputs=operands)


@register_op
class Einsum(OpDef):
    name = "einsum"
    Attrs = EinsumAttrs
    arity = (1, 2)
    aten = {"einsum": einsum_from_aten}

    def parse(self, f: Any) -> EinsumAttrs:
        equation = f.str("equation", max_len=MAX_EQUATION)
        try:
            operands, output = parse_equation(equation)
        except ValueError as exc:
            raise f.error("equation", f"{equation!r}: {exc}") from None
        return EinsumAttrs(equation, operands, output)

    def infer_shape(self, ins: Any, a: EinsumAttrs) -> Any:
        if len(ins) != len(a.operands):
            raise GraphError(f"equation {a.equation!r} has {len(a.operands)} operands, the node "
                             f"{len(ins)}", field="inputs")
        sizes = _sizes(ins, a)
        for i, (term, shape) in enumerate(zip(a.operands, ins)):
            if len(term) != len(shape):
                raise GraphError(f"operand {i} {format_shape(shape)} has {len(shape)} dims, its "
                                 f"subscripts {term!r} {len(term)}", field="inputs")
            for letter, size in zip(term, shape):
                first = sizes[letter]
                if is_concrete(first) and is_concrete(size) and first != size:
                    raise GraphError(f"letter {letter!r} is {first} in one operand and {size} in "
                                     f"operand {i}", field="inputs")
        return tuple(sizes[c] for c in a.output)

    def conditions(self, ins: Any, out: Any, a: EinsumAttrs) -> Any:
        sizes = _sizes(ins, a)
        return tuple((sizes[letter], size) for term, shape in zip(a.operands, ins)
                     for letter, size in zip(term, shape) if sizes[letter] != size)

    params = {"pycls": zero}
    flops = {"pycls": einsum_macs, "fvcore": fvcore_einsum,
             "torch": lambda ins, out, a: 2 * einsum_macs(ins, out, a)}
    acts = {"pycls": numel_out}

    def torch(self, ins: Any, out: Any, a: EinsumAttrs) -> Any:
        import torch

        return lambda *operands: torch.einsum(a.equation, *operands)

    def example(self) -> Any:
        # fvcore's rounding refuses symbolic sizes, so the example is an equation it prices exactly
        return ((2, 5, 4), (2, 5, 3)), EinsumAttrs("blc,bld->bcd", ("blc", "bld"), "bcd")
