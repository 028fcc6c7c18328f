"""Spatial sides as exact functions of the input resolution ``r``.

Expanding a spec at a sympy symbol ``r`` sends every size through :func:`netcalc.ops.spatial.window_out`,
``(h + 2p - k) // s + 1``, which sympy turns into nested floors such as
``floor(floor(r/2 - 1/2)/2) + 1``. Every such side has the canonical form

    floor((r + c) / m) + q        with 0 <= c < m

by two exact identities for integers n and s > 0: ``floor(x + n) = floor(x) + n`` and
``floor(floor(x) / s) = floor(x / s)``. So ``(floor((r + c)/m) + n) // s`` is
``floor((r + c + n*m) / (m*s))``: the strides multiply into ``m`` and the paddings and kernels
collect into ``c`` and ``q``. The canonical form is what makes closed forms readable (ResNet's
stem and max-pool give ``ceiling(r/4)`` rather than four nested floors), gives the smallest
resolution a network accepts, and gives the polynomial form: when ``m`` divides ``r`` the side
is exactly ``r/m + q``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

import sympy

R = sympy.Symbol("r", integer=True, positive=True)
H = sympy.Symbol("h", integer=True, positive=True)
W = sympy.Symbol("w", integer=True, positive=True)
AXES = {"r": R, "h": H, "w": W}     # r: a square input; h and w: the two sides of a rectangle


def axis_value(resolution: Any, axis: str) -> int:
    """The input size along ``axis`` of a resolution given as ``r`` or ``(h, w)``."""
    if isinstance(resolution, (tuple, list)):
        return resolution[0 if axis in ("r", "h") else 1]
    return resolution


@dataclass(frozen=True, order=True)
class Side:
    """``floor((r + c) / m) + q`` with ``0 <= c < m``: one spatial side of a tensor.

    ``axis`` names the input size it derives from: ``r`` (square inputs), or ``h`` / ``w``.
    """

    m: int
    c: int = 0
    q: int = 0
    axis: str = "r"

    @classmethod
    def of(cls, expr: Any) -> "Side":
        """The canonical form of a side produced by ``window_out`` from ``r`` (or ``h``, ``w``)."""
        expr = sympy.sympify(expr)
        symbols = expr.free_symbols
        if len(symbols) != 1:
            raise ValueError(f"not a side computed by window_out: {expr}")
        symbol = next(iter(symbols))
        c, m = _offset_and_divisor(expr, symbol)
        return cls(m, c % m, (c - c % m) // m, str(symbol))

    @property
    def symbol(self) -> Any:
        return AXES[self.axis]

    @property
    def atom(self) -> Any:
        """The floor part as sympy prints it: ``r``, ``ceiling(r/m)`` or ``floor((r + c)/m)``."""
        if self.m == 1:
            return self.symbol
        if self.c == self.m - 1:
            return sympy.ceiling(self.symbol / self.m)
        return sympy.floor((self.symbol + self.c) / self.m)

    @property
    def text(self) -> str:
        """The atom as ``sympy.sympify`` reads it back, written for people: ``floor((r + 2)/4)``."""
        if self.m == 1 or self.c == self.m - 1:
            return str(self.atom)
        a = self.axis
        return f"floor({a}/{self.m})" if self.c == 0 else f"floor(({a} + {self.c})/{self.m})"

    @property
    def key(self) -> Tuple[int, int, str]:
        """Sides differing only in ``q`` share their floor part (their atom)."""
        return self.m, self.c, self.axis

    @property
    def expr(self) -> Any:
        return self.atom + self.q

    @property
    def name(self) -> str:
        """A short name for tables: ``r``, ``h4`` (= ceiling(r/4)), ``h4_1`` (= floor((r+1)/4))."""
        if self.m == 1:
            return self.axis
        letter = "w" if self.axis == "w" else "h"
        return f"{letter}{self.m}" if self.c == self.m - 1 else f"{letter}{self.m}_{self.c}"

    def atom_at(self, r: Any) -> int:
        """The floor part at resolution ``r`` (an int, or ``(h, w)``)."""
        return (axis_value(r, self.axis) + self.c) // self.m

    def at(self, r: Any) -> int:
        return self.atom_at(r) + self.q

    def min_resolution(self) -> int:
        """The smallest ``r`` giving this side at least one position."""
        return max(1, self.m * (1 - self.q) - self.c)


def _offset_and_divisor(expr: Any, symbol: Any = R) -> Tuple[int, int]:
    """``(c, m)`` with ``expr == floor((r + c) / m)``, read off the nested floors of window_out."""
    if expr == symbol:
        return 0, 1
    if isinstance(expr, sympy.Add):
        constant, rest = expr.as_coeff_Add()
        if constant == 0:       # a sum of sides (r**2 + 2*r; a transposed conv's s*side + c)
            raise ValueError(f"not a side computed by out_size: {expr}")
        c, m = _offset_and_divisor(rest, symbol)
        return c + _integer(constant, expr) * m, m
    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        constant, rest = expr.args[0].as_coeff_Add()
        scale, inner = rest.as_coeff_Mul()
        stride = _integer(1 / scale, expr)
        if stride < 1:
            raise ValueError(f"not a side computed by window_out: {expr}")
        c, m = _offset_and_divisor(inner, symbol)
        # ceil(n / s) is floor((n + s - 1) / s) for a whole n (a side is one)
        rounding = stride - 1 if isinstance(expr, sympy.ceiling) else 0
        return c + (_integer(constant * stride, expr) + rounding) * m, m * stride
    raise ValueError(f"not a side computed by window_out: {expr}")


def _integer(value: Any, context: Any) -> int:
    if not value.is_Integer:
        raise ValueError(f"not a side computed by window_out: {context}")
    return int(value)
