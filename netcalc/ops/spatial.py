"""Sliding windows over 1, 2 or 3 spatial axes (conv, transposed conv, pooling): per-axis sizes
and output sizes, shared by the ops that slide.

A window attribute (``kernel``, ``stride``, ``padding``, ``dilation``...) is an int, the same on
every spatial axis of whatever input the node reads, or a tuple of one size per axis (families
write pairs for their 2D maps). :func:`per_axis` turns either into the tuple for an input's
number of spatial axes, refusing a tuple of the wrong length.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Tuple, Union

from ..errors import GraphError
from .registry import Shape, check_rank, format_shape, is_concrete

Pair = Tuple[int, int]
Sizes = Union[int, Tuple[int, ...]]     # one size for every axis, or one per axis
SPATIAL_RANKS = (3, 4, 5)               # (N, C, L), (N, C, H, W), (N, C, D, H, W)
WINDOW_INPUT = "a (N, C, L), (N, C, H, W) or (N, C, D, H, W) input"


def per_axis(value: Sizes, axes: int, field: str) -> Tuple[int, ...]:
    """``value`` as one size per spatial axis; GraphError naming ``field`` on a wrong length."""
    if isinstance(value, int):
        return (value,) * axes
    if len(value) != axes:
        raise GraphError(f"{field.rsplit('.', 1)[-1]} {list(value)} gives {len(value)} sizes "
                         f"for an input with {plural(axes, 'spatial dim')}", field=field)
    return value


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def spatial_axes(op: str, shape: Shape) -> int:
    """The number of spatial axes of a (N, C, ...) input of a windowed op (1 to 3)."""
    if len(shape) not in SPATIAL_RANKS:
        check_rank(op, shape, SPATIAL_RANKS, WINDOW_INPUT)
    return len(shape) - 2


def volume(value: Sizes, out: Shape) -> int:
    """The product of a window attribute over the spatial axes of ``out`` (a kernel's taps)."""
    return value ** (len(out) - 2) if isinstance(value, int) else math.prod(value)


def window_out(size: Any, kernel: int, stride: int, padding: int, dilation: int = 1,
               ceil_mode: bool = False) -> Any:
    """Output positions of a window sliding over ``size`` (torch's formula, ceil_mode included).

    Floor mode: ``(size + 2p - d(k-1) - 1) // s + 1``. Ceil mode rounds up but drops a last
    window that would start in the right padding; which of the two bounds wins depends only on
    the attributes (``s + p`` versus the window extent), never on the size, so the result stays
    one floor expression of the size and closed forms stay exact. The offsets are summed as ints
    first, so a sympy size gets ``floor((r + c)/s) + 1``.
    """
    extent = dilation * (kernel - 1) + 1
    if not ceil_mode:
        return (size + (2 * padding - extent)) // stride + 1
    if stride + padding - extent <= 0:
        return (size + (2 * padding - extent + stride - 1)) // stride + 1
    return (size + (padding - 1)) // stride + 1


def spatial_out(op: str, shape: Shape, kernel: Sizes, stride: Sizes, padding: Sizes,
                dilation: Sizes = 1, ceil_mode: bool = False) -> Tuple[Any, ...]:
    """The spatial sizes after a window over a (N, C, ...) input; GraphError when no position
    is left."""
    axes = spatial_axes(op, shape)
    kernel = per_axis(kernel, axes, "kernel")
    sizes = tuple(window_out(size, k, s, p, d, ceil_mode) for size, k, s, p, d in zip(
        shape[2:], kernel, per_axis(stride, axes, "stride"), per_axis(padding, axes, "padding"),
        per_axis(dilation, axes, "dilation")))
    if any(is_concrete(size) and size < 1 for size in sizes):
        raise GraphError(f"leaves no output positions (input {format_shape(shape)}, kernel "
                         f"{'x'.join(map(str, kernel))})", field="kernel")
    return sizes


def default_padding(kernel: Sizes, dilation: Sizes = 1) -> Sizes:
    """'Same'-style padding of an odd kernel: d * (k - 1) // 2 per axis (an int when both are)."""
    if isinstance(kernel, int) and isinstance(dilation, int):
        return dilation * (kernel - 1) // 2
    axes = len(kernel) if not isinstance(kernel, int) else len(dilation)   # type: ignore[arg-type]
    return tuple(d * (k - 1) // 2 for k, d in zip(per_axis(kernel, axes, "kernel"),
                                                  per_axis(dilation, axes, "dilation")))


def check_axes_agree(f: Any, window: Mapping[str, Sizes]) -> None:
    """Window attributes given as lists must agree in length: a field error names the first
    that does not (``f``: the node's fields)."""
    lengths = {name: len(v) for name, v in window.items() if isinstance(v, tuple)}
    if len(set(lengths.values())) > 1:
        first = next(iter(lengths))
        odd = next(name for name, n in lengths.items() if n != lengths[first])
        raise f.error(odd, f"gives {lengths[odd]} sizes where {first} gives {lengths[first]}")
