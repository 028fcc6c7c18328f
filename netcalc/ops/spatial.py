"""Output sizes of sliding windows (conv, pooling), per axis: shared by the ops that slide."""
from __future__ import annotations

from typing import Any, Tuple

from ..errors import GraphError
from .registry import Shape, check_rank, format_shape, is_concrete

Pair = Tuple[int, int]


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


def spatial_out(op: str, shape: Shape, kernel: Pair, stride: Pair, padding: Pair,
                dilation: Pair = (1, 1), ceil_mode: bool = False) -> Tuple[Any, Any]:
    """(h, w) after a window over a (1, C, H, W) map; GraphError when no position is left."""
    if len(shape) != 4:
        check_rank(op, shape, (4,), "a (N, C, H, W) input")
    h = window_out(shape[2], kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    w = window_out(shape[3], kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if (is_concrete(h) and h < 1) or (is_concrete(w) and w < 1):
        raise GraphError(f"leaves no output positions (input {format_shape(shape)}, kernel "
                         f"{kernel[0]}x{kernel[1]})", field="kernel")
    return h, w


def default_padding(kernel: Pair, dilation: Pair = (1, 1)) -> Pair:
    """'Same'-style padding of an odd kernel: d * (k - 1) // 2 per axis."""
    return (dilation[0] * (kernel[0] - 1) // 2, dilation[1] * (kernel[1] - 1) // 2)
