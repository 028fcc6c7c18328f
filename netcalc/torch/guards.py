"""The size checks torch.export recorded on the input's sides, and where they fail.

A symbolic export records every check the model's code made of a size (``if pad_h > 0``,
``if window >= h``) as a sympy expression in the input's symbols. The captured graph is the
model's wherever all of them hold; where one fails the model may run another branch of its
code. Swin's export records over a thousand, so they are evaluated here on ints, each shared
subexpression once per size (sympy's ``subs`` takes about 0.3 s per size for Swin's; this
takes milliseconds), never through a string.
"""
from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import Any, Callable, Dict, List, Optional, Tuple

import sympy

from ..limits import GUARD_SCAN

Sides = Tuple[int, ...]

# torch's integer functions (torch.utils._sympy.functions) by name: evaluated on Python ints
_CALLS: Dict[str, Callable[..., Any]] = {
    "FloorDiv": operator.floordiv, "CleanDiv": operator.floordiv, "IntTrueDiv": operator.truediv,
    "FloatTrueDiv": operator.truediv, "Mod": operator.mod, "PythonMod": operator.mod,
    "CeilDiv": lambda a, b: -(-a // b), "ModularIndexing": lambda x, d, m: (x // d) % m,
    "Max": max, "Min": min, "Abs": abs, "ToFloat": float, "TruncToInt": int,
    "FloorToInt": math.floor, "CeilToInt": math.ceil, "Identity": lambda x: x,
    "Not": operator.not_, "And": lambda *a: all(a), "Or": lambda *a: any(a),
}
_RELATIONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
              ">": operator.gt, ">=": operator.ge}


def recorded(env: Any, symbols: Tuple[Any, ...], ties: Dict[Any, Any]) -> List[Any]:
    """The checks ``env`` (a torch ShapeEnv) recorded on the input's sides alone."""
    exprs = [g.expr.xreplace(ties) if ties else g.expr for g in env.guards]
    return [g for g in exprs if g.free_symbols <= set(symbols)]


def _value(expr: Any, at: Dict[Any, int], memo: Dict[Any, Any]) -> Any:
    if expr in memo:
        return memo[expr]
    if expr.is_Symbol:
        value = at[expr]
    elif expr.is_Integer:
        value = int(expr)
    elif expr.is_Rational:
        value = Fraction(int(expr.p), int(expr.q))
    elif expr in (sympy.true, sympy.false):
        value = bool(expr)
    else:
        value = _applied(expr, [_value(a, at, memo) for a in expr.args])
    memo[expr] = value
    return value


def _applied(expr: Any, args: List[Any]) -> Any:
    if expr.is_Add:
        return sum(args)
    if expr.is_Mul:
        return math.prod(args)
    if expr.is_Pow:
        return args[0] ** args[1]
    if expr.is_Relational:
        return _RELATIONS[expr.rel_op](*args)
    call = _CALLS.get(type(expr).__name__)
    if call is not None:
        return call(*args)
    # any other function: sympy's own evaluation on the numbers (slower, always right)
    result = expr.func(*(sympy.sympify(a) for a in args))
    return bool(result) if result.is_Boolean else int(result) if result.is_Integer else result


def all_hold(guards: List[Any], symbols: Tuple[Any, ...], size: Sides) -> bool:
    """Whether every check holds at ``size`` (False where one is undefined there: the model
    refuses the size)."""
    at, memo = dict(zip(symbols, size)), {}
    try:
        return all(bool(_value(g, at, memo)) for g in guards)
    except (ZeroDivisionError, ValueError, TypeError):
        return False


def second_size(guards: List[Any], symbols: Tuple[Any, ...], sides: Sides) -> Optional[Sides]:
    """A second size, odd where it can be, at which every check holds (a ceil-mode pool guards
    the parity of its input: its captured size expression is torch's only where the guard
    holds). None if no nearby size satisfies them."""
    for step in (32, 64, 96, 16, 8, 4, 2, 1):
        odd = tuple(side + step + 1 - (side + step) % 2 for side in sides)
        even = tuple(side + step + (side + step) % 2 for side in sides)
        for size in (odd, even):
            if all_hold(guards, symbols, size):
                return size
    return None


def nearest_failures(guards: List[Any], symbols: Tuple[Any, ...], sides: Sides,
                     lowest: int) -> List[Tuple[int, int, Sides]]:
    """Per side, going up and then down from the asked size (the other sides as asked, down
    to ``lowest``, up :data:`~netcalc.limits.GUARD_SCAN` sizes), the first size at which a check
    fails: (axis, the last side where all held, that size). Swin's windows: at 224 the last
    stage is one 7 x 7 window, at 228 four, and its checks fail there."""
    found = []
    for axis, side in enumerate(sides):
        for step, stop in ((1, side + GUARD_SCAN), (-1, max(lowest, side - GUARD_SCAN) - 1)):
            for other in range(side + step, stop, step):
                size = sides[:axis] + (other,) + sides[axis + 1:]
                if not all_hold(guards, symbols, size):
                    found.append((axis, other - step, size))
                    break
    return found


def inside(guards: List[Any], symbols: Tuple[Any, ...], sides: Sides,
           failures: List[Tuple[int, int, Sides]]) -> Optional[Sides]:
    """A second size within the sides the :func:`nearest_failures` leave, at which every check
    holds: each side at the farthest it holds (an odd one first), where :func:`second_size`,
    which looks above the asked size only, finds none (EfficientViT-M at 224 holds down to
    193). None where the asked size is alone."""
    size = list(sides)
    for axis, held, _ in sorted(failures, key=lambda f: (f[0], f[1] % 2 == 0)):
        if size[axis] == sides[axis] and held != sides[axis]:
            size[axis] = held
    found = tuple(size)
    return found if found != sides and all_hold(guards, symbols, found) else None
