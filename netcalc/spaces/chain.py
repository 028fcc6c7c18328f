"""Stage chains: exact counting and uniform sampling of per-stage choices tied across stages.

A member of an AnyNet-kind space is a chain of per-stage choices p_1 ... p_n, each from the same
per-stage domain (the product of the dimension domains). Dimensions are grouped into super-axes:

- ``shared``: one value for every stage (all shared dimensions form one joint axis);
- ``non_decreasing`` / ``increasing``: one axis each, ordered from stage to stage;
- ``free``: everything else, one joint axis, independent from stage to stage.

With a per-stage weight W (1 for allowed choices, 0 for excluded ones when counting; the sampling
probability of a choice when sampling), the completions of a chain obey the recursion

    C_n = W,   C_i = W * Succ(C_{i+1}),

where Succ sums C over the successors of a choice, axis by axis: free axes sum out, shared axes
stay equal, ordered axes take (strict) suffix sums. The size is sum(C_1), exact in Python
integers; nothing is enumerated. Sampling walks the chain forward, choosing each stage's axes in
turn from the suffix-summed tables, which makes every member exactly as likely as its weight says.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

import numpy as np


def _suffix_sum(arr: np.ndarray, axis: int, strict: bool) -> np.ndarray:
    out = np.flip(np.cumsum(np.flip(arr, axis), axis=axis, dtype=arr.dtype), axis)
    if not strict:
        return out
    tail = np.zeros_like(np.take(out, [0], axis=axis))
    return np.concatenate([np.take(out, range(1, out.shape[axis]), axis=axis), tail], axis=axis)


def successor_sum(arr: np.ndarray, relations: Sequence[str], axes: Sequence[int]) -> np.ndarray:
    """Sum of ``arr`` over the successors of each choice along ``axes``."""
    for axis in axes:
        relation = relations[axis]
        if relation == "free":
            arr = arr.sum(axis=axis, keepdims=True, dtype=arr.dtype)
        elif relation in ("non_decreasing", "increasing"):
            arr = _suffix_sum(arr, axis, strict=relation == "increasing")
    return arr


def completions(weight: np.ndarray, relations: Sequence[str], stages: int) -> List[np.ndarray]:
    """C_1 ... C_n of the recursion above (object dtype gives exact integers)."""
    every_axis = range(weight.ndim)
    chain = [weight]
    for _ in range(stages - 1):
        chain.append(weight * successor_sum(chain[-1], relations, every_axis))
    return chain[::-1]


@dataclass(frozen=True)
class Layout:
    """How the per-stage dimensions group into super-axes: shared, ordered..., free."""

    dims: Tuple[str, ...]               # per-stage dimensions, in domain order
    groups: Tuple[Tuple[int, ...], ...]  # dimension positions of each super-axis
    relations: Tuple[str, ...]          # relation of each super-axis

    @classmethod
    def of(cls, dims: Sequence[str], relation_of: Any) -> "Layout":
        shared = tuple(i for i, d in enumerate(dims) if relation_of(d) == "shared")
        ordered = [(i,) for i, d in enumerate(dims)
                   if relation_of(d) in ("non_decreasing", "increasing")]
        free = tuple(i for i, d in enumerate(dims) if relation_of(d) == "free")
        groups = [shared] + ordered + [free]
        relations = ["shared"] + [relation_of(dims[g[0]]) for g in ordered] + ["free"]
        return cls(tuple(dims), tuple(groups), tuple(relations))

    def fold(self, per_dim: np.ndarray) -> np.ndarray:
        """Per-dimension array (one axis per dimension) -> one axis per super-axis."""
        order = [i for group in self.groups for i in group]
        moved = np.transpose(per_dim, order)
        sizes = [int(np.prod([per_dim.shape[i] for i in g], dtype=np.int64)) for g in self.groups]
        return moved.reshape(sizes)

    def unfold_index(self, super_index: np.ndarray, shape: Sequence[int]) -> np.ndarray:
        """(m, super-axes) indices -> (m, dims) indices."""
        out = np.empty(super_index.shape[:-1] + (len(self.dims),), dtype=np.int64)
        for k, group in enumerate(self.groups):
            if not group:
                continue
            parts = np.unravel_index(super_index[..., k], [shape[i] for i in group])
            for i, part in zip(group, parts):
                out[..., i] = part
        return out


def chain_size(per_dim_mask: np.ndarray, layout: Layout, stages: int) -> int:
    """Exact number of chains whose every stage choice is allowed by the mask."""
    weight = layout.fold(per_dim_mask.astype(object))
    every_axis = range(weight.ndim)
    completion = weight         # C_n; only the current stage is held (memory of one stage)
    for _ in range(stages - 1):
        completion = weight * successor_sum(completion, layout.relations, every_axis)
    return int(completion.sum())


class ChainSampler:
    """Draws chains with probability proportional to the product of per-stage weights.

    ``separable`` says the weight is an outer product of per-dimension weights (no mask ties the
    dimensions), so the free dimensions can be drawn independently, all stages at once -- the
    same distribution, a faster path.
    """

    def __init__(self, per_dim_weight: np.ndarray, layout: Layout, stages: int,
                 separable: bool = False):
        self.layout = layout
        self.shape = per_dim_weight.shape
        weight = layout.fold(per_dim_weight.astype(np.float64))
        if not weight.any():
            raise ValueError("no allowed choice in the per-stage domain")
        self.stages = stages
        self.sizes = weight.shape
        free = layout.groups[-1]
        self.free_marginals = None
        if separable and free:
            others = tuple(i for i in range(per_dim_weight.ndim) if i not in free)
            marginals = [(i, per_dim_weight.sum(axis=tuple(a for a in range(per_dim_weight.ndim)
                                                            if a != i))) for i in free]
            # a uniform marginal is drawn with integers (the same law, faster); else by its CDF
            self.free_marginals = [(i, None if np.all(w == w[0]) else np.cumsum(w), len(w))
                                   for i, w in marginals]
            weight = layout.fold(per_dim_weight.sum(axis=free, keepdims=True)
                                 .astype(np.float64)) if others else None
            self.sizes = weight.shape if weight is not None else ()
        chain = completions(weight, layout.relations, stages) if weight is not None else []
        if chain and not chain[0].any():
            raise ValueError("no chain of stages satisfies the constraints (the size is 0)")
        # tables[i][k]: cumulative weights along super-axis k for stage i, rows = other axes
        self.tables = [[self._table(c, k, first=i == 0) for k in range(weight.ndim)]
                       for i, c in enumerate(chain)]

    def _table(self, completion: np.ndarray, axis: int, first: bool) -> Tuple[np.ndarray, tuple]:
        later = range(axis + 1, completion.ndim)
        relations = ["free"] * completion.ndim if first else list(self.layout.relations)
        summed = successor_sum(completion, relations, later)
        rows_shape = tuple(s for a, s in enumerate(summed.shape) if a != axis)
        cumulative = np.cumsum(np.moveaxis(summed, axis, -1), axis=-1)
        return cumulative.reshape(-1, summed.shape[axis]), rows_shape

    def draw(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """(m, stages, dims) domain indices of m independent chains."""
        ndim = len(self.sizes)
        picks = np.zeros((m, self.stages, ndim), dtype=np.int64)
        for stage in range(self.stages):
            for axis in range(ndim):
                picks[:, stage, axis] = self._choose(stage, axis, picks, rng, m)
        if self.free_marginals is None:
            return self.layout.unfold_index(picks, self.shape)
        # the free super-axis was folded to size 1: its dimensions come from their marginals
        if ndim:
            out = self.layout.unfold_index(picks, [1 if i in self.layout.groups[-1] else n
                                                    for i, n in enumerate(self.shape)])
        else:
            out = np.zeros((m, self.stages, len(self.shape)), dtype=np.int64)
        for dim, cumulative, size in self.free_marginals:
            if cumulative is None:
                out[..., dim] = rng.integers(0, size, (m, self.stages))
                continue
            top = cumulative[-1]
            target = np.minimum(rng.random((m, self.stages)) * top, np.nextafter(top, -np.inf))
            out[..., dim] = np.searchsorted(cumulative, target, side="right")
        return out

    def _choose(self, stage: int, axis: int, picks: np.ndarray, rng: np.random.Generator,
                m: int) -> np.ndarray:
        size = self.sizes[axis]
        relation = "free" if stage == 0 else self.layout.relations[axis]
        previous = picks[:, stage - 1, axis] if stage else None
        if size == 1:
            return np.zeros(m, dtype=np.int64)
        if relation == "shared":
            return previous
        cumulative, rows_shape = self.tables[stage][axis]
        index = [picks[:, stage, a] if a < axis else
                 (picks[:, stage - 1, a] if stage and rows_shape_has(rows_shape, a, axis) else 0)
                 for a in range(len(self.sizes)) if a != axis]
        rows = np.ravel_multi_index([np.broadcast_to(i, (m,)) for i in index], rows_shape) \
            if rows_shape else np.zeros(m, dtype=np.int64)
        lo = np.zeros(m, dtype=np.int64) if relation == "free" else \
            previous + (1 if relation == "increasing" else 0)
        return weighted_pick(cumulative, rows, lo, rng.random(m))


def rows_shape_has(rows_shape: tuple, a: int, axis: int) -> bool:
    """Whether super-axis ``a`` (not ``axis``) kept its size in a table's row shape."""
    return rows_shape[a if a < axis else a - 1] > 1


def weighted_pick(cumulative: np.ndarray, rows: np.ndarray, lo: np.ndarray,
                  u: np.ndarray) -> np.ndarray:
    """Per candidate, an index t >= lo of its row, with probability proportional to its weight.

    ``cumulative`` holds inclusive prefix sums per row. A zero-weight index is never returned:
    the answer is the smallest t with cumulative > target, and target lies in [base, top).
    """
    n_rows, length = cumulative.shape
    top = cumulative[rows, length - 1]
    base = np.where(lo > 0, cumulative[rows, np.maximum(lo - 1, 0)], 0.0)
    target = np.minimum(base + u * (top - base), np.nextafter(top, -np.inf))
    if n_rows == 1:
        return np.searchsorted(cumulative[0], target, side="right").astype(np.int64)
    flat = cumulative.ravel()
    offset = rows * length
    left, right = lo.copy(), np.full_like(lo, length - 1)
    for _ in range(int(length).bit_length()):
        mid = (left + right) // 2
        above = flat[offset + mid] > target
        right = np.where(above, mid, right)
        left = np.where(above, left, mid + 1)
    return left
