"""Exact flops/params/acts of many candidate networks at once, from the real graph rules.

Nothing here knows a cost formula. Every number comes from a graph built by the family's own
stem/block/head functions (:mod:`netcalc.families.anynet`) with :class:`~netcalc.graph.GraphBuilder`
and counted by :func:`netcalc.count.count_graph` under the chosen convention, so a sampled model
costs exactly what ``netcalc count`` says of its spec (the tests re-count every sample).

A network is stem + blocks + head, and a layer's cost depends only on its own sizes, so the cost
of a network is the sum of the costs of its parts, each part counted as a one-part graph and
memoised: the stem once, a later block of a stage per (stage, w, b, g), the head per last width.
The first block of a stage also depends on the previous stage's width w_in, and AnyNetX_A has
128 of those for each of ~2300 (w, b, g): rather than 300,000 graphs per stage, the block is
built once per (stage, w, b, g) and only the layers that read the block input (whose ``c_in``
is w_in) are re-evaluated -- by the same rule functions -- on an array of every w_in. That is
valid when nothing else in the block depends on w_in; it is checked per stage by building the
block at three input widths and comparing the graphs (a squeeze-excite width or a shortcut that
appears only when w_in != w fails the check, and that stage falls back to one graph per w_in).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from ..count import count_graph
from ..errors import SpecError
from ..families import anynet
from ..graph import GraphBuilder, GraphError, LayerGraph, Node
from ..limits import MAX_CHANNELS
from ..ops import get_op
from ..rules import get_convention

Triple = Tuple[int, float, int]   # (width, bot_mul, group_w) of a stage, after compatibility
PROBE_EXTRA_WIDTHS = (8, MAX_CHANNELS // 4 + 8)   # input widths the substitution check adds
INT64_HEADROOM = 2 ** 62
ENTRY_HEADROOM = 2 ** 56    # one table entry: sums of a few dozen entries stay below 2^62
TOO_LARGE = ("members of this space have counts too large for exact 64-bit tables (a part "
             "reaches 2^56); narrow the widths, depths or resolution")


def as_int64(values: Any) -> np.ndarray:
    """Exact Python-int costs as int64, refused (never wrapped) when an entry nears the limit."""
    array = np.array(values, dtype=object)
    if array.size and max(abs(int(v)) for v in array.ravel()) >= ENTRY_HEADROOM:
        raise SpecError("", "domains", TOO_LARGE)
    return array.astype(np.int64)


def _totals(graph: LayerGraph, convention: Any) -> np.ndarray:
    costs = count_graph(graph, convention, reuse=False)
    return np.array([sum(column) for column in zip(*costs)], dtype=object)


def _reads_block_input(layer: Node) -> bool:
    """Whether the node reads the block input (whose width is w_in)."""
    return -1 in layer.inputs


def _with_sizes(node: Node, c_in: Any, c_out: Any = None, groups: Any = None) -> Node:
    """``node`` with the block input's width ``c_in`` in every operand read from the input, and
    optionally its output width and groups replaced (ints, or numpy arrays to tabulate)."""
    ins = tuple((s[0], c_in) + tuple(s[2:]) if src == -1 else s
                for src, s in zip(node.inputs, node.in_shapes))
    shape = node.shape if c_out is None else (node.shape[0], c_out) + tuple(node.shape[2:])
    substitutable = get_op(node.op).sampler_attrs       # what the op lets the sampler replace
    changes = {}
    if groups is not None and "groups" in substitutable:
        changes["groups"] = groups
    if c_out is not None and "out" in substitutable:
        changes["out"] = c_out
    attrs = dataclasses.replace(node.attrs, **changes) if changes else node.attrs
    return node._replace(in_shapes=ins, shape=shape, attrs=attrs)


def _groups(node: Node) -> int:
    """The groups the sampler tabulates for ``node`` (1 for an op without substitutable groups)."""
    return node.attrs.groups if "groups" in get_op(node.op).sampler_attrs else 1


def _without_c_in(layer: Node) -> Node:
    return _with_sizes(layer, 0)._replace(name="", stage="", block="")


def _unlabelled(layer: Node) -> Node:
    return layer._replace(name="", stage="", block="")


def _shape(graph: LayerGraph) -> List[Tuple[bool, Node]]:
    """The layers of a block with labels dropped and, for input-reading ones, c_in too."""
    return [(_reads_block_input(l), _without_c_in(l) if _reads_block_input(l) else _unlabelled(l))
            for l in graph.layers]


@dataclass(frozen=True)
class Template:
    """A stage's first block built at one input width, split for w_in substitution."""

    core: np.ndarray                 # (3,) costs of the layers whose sizes do not involve w_in
    inputs: Tuple[Node, ...]        # the layers reading the block input
    rest: np.ndarray                 # (3,) costs of a later block of the stage (w -> w, stride 1)
    own: np.ndarray                  # (3,) costs of the whole first block at w_in = w


class CostModel:
    """Costs of stems, blocks and heads of AnyNet-shaped networks under one convention."""

    def __init__(self, network: Any, strides: Sequence[int], convention: str = "pycls"):
        self.network = network
        self.convention = get_convention(convention)
        self.strides = tuple(strides)
        self.block_fn = anynet.BLOCKS[network.block_type]
        self.anynet_cfg = anynet.AnyNetConfig(network.stem_type, network.stem_w,
                                              network.block_type, (), network.se_r,
                                              network.head_w)
        stem = self._build(network.in_channels, network.resolution,
                           lambda b: anynet.STEMS[network.stem_type](b, network.stem_w))
        self.stem = _totals(stem, self.convention)
        self._sides = [stem.output.shape[2]]          # input side of stage i
        self._templates: Dict[tuple, Template] = {}
        self._substitutable: Dict[int, bool] = {}
        self._direct: Dict[tuple, np.ndarray] = {}
        self._heads: Dict[tuple, np.ndarray] = {}

    # -- plumbing ---------------------------------------------------------------------------------
    def stride(self, stage: int) -> int:
        return self.strides[min(stage, len(self.strides) - 1)]

    def side(self, stage: int) -> int:
        """Input side (pixels) of ``stage``; stage sides follow from the first blocks' strides."""
        while len(self._sides) <= stage:
            i = len(self._sides) - 1
            probe = self._block(i, 8, (8, 1.0, 1), first=True)
            self._sides.append(probe.output.shape[2])
        return self._sides[stage]

    @staticmethod
    def _build(channels: int, side: int, body: Any) -> LayerGraph:
        builder = GraphBuilder("part", channels, side)
        try:
            body(builder)
        except GraphError as exc:
            raise SpecError("", "", f"cannot build a member of the space: {exc}") from None
        return builder.build()

    def _block(self, stage: int, w_in: int, triple: Triple, first: bool) -> LayerGraph:
        width, bot_mul, group_w = triple
        stride = self.stride(stage) if first else 1
        side = self.side(stage) if first else self.side(stage + 1)
        config = anynet.StageConfig(1, width, stride, bot_mul, group_w)
        return self._build(w_in, side,
                           lambda b: self.block_fn(b, width, stride, config, self.anynet_cfg))

    # -- parts ----------------------------------------------------------------------------------
    def template(self, stage: int, triple: Triple) -> Template:
        key = (stage, triple)
        if key not in self._templates:
            width = triple[0]
            graph = self._block(stage, width, triple, first=True)
            if stage not in self._substitutable:
                self._substitutable[stage] = self._check_substitution(stage, triple, graph)
            inputs = tuple(l for l in graph.layers if _reads_block_input(l))
            costs = count_graph(graph, self.convention, reuse=False)
            core = [c for l, c in zip(graph.layers, costs) if not _reads_block_input(l)]
            rest = _totals(self._block(stage, width, triple, first=False), self.convention)
            self._templates[key] = Template(
                np.array([sum(col) for col in zip(*core)] if core else [0, 0, 0], dtype=object),
                inputs, rest, np.array([sum(col) for col in zip(*costs)], dtype=object))
        return self._templates[key]

    def _check_substitution(self, stage: int, triple: Triple, reference: LayerGraph) -> bool:
        """Whether only the c_in of input-reading layers changes with the input width."""
        expected = _shape(reference)
        for extra in PROBE_EXTRA_WIDTHS:
            w_in = triple[0] + extra
            graph = self._block(stage, w_in, triple, first=True)
            if _shape(graph) != expected or any(
                    s[1] != w_in for l in graph.layers for src, s in zip(l.inputs, l.in_shapes)
                    if src == -1):
                return False
        return True

    def first_block(self, stage: int, w_in: int, triple: Triple) -> np.ndarray:
        """(3,) exact costs of a stage's first block (scalar path, memoised)."""
        key = (stage, w_in, triple)
        if key not in self._direct:
            template = self.template(stage, triple)
            if self._substitutable[stage]:
                self._direct[key] = template.core + sum(
                    (np.array(self._layer_costs(_with_sizes(l, w_in)), dtype=object)
                     for l in template.inputs), np.zeros(3, dtype=object))
            else:
                self._direct[key] = _totals(self._block(stage, w_in, triple, first=True),
                                            self.convention)
        return self._direct[key]

    def _layer_costs(self, layer: Node) -> Tuple[Any, Any, Any]:
        """The convention's rules on one layer; its sizes may be numpy arrays (vectorised)."""
        flops, params, acts = self.convention.table()[layer.op]
        ins, shape, attrs = layer.in_shapes, layer.shape, layer.attrs
        return flops(ins, shape, attrs), params(ins, shape, attrs), acts(ins, shape, attrs)

    # -- whole networks (scalar) ------------------------------------------------------------------
    def network_costs(self, stages: Sequence[Any]) -> np.ndarray:
        """(3,) exact costs of stem + stages (StageConfig-like: depth, width, bot_mul, group_w)."""
        total = self.stem.copy()
        w_in = self.network.stem_w
        for i, s in enumerate(stages):
            triple = (s.width, s.bot_mul, s.group_w)
            total = total + self.first_block(i, w_in, triple) \
                + (s.depth - 1) * self.template(i, triple).rest
            w_in = s.width
        return total + self.head_at(len(stages), w_in)

    def head_at(self, num_stages: int, width: int) -> np.ndarray:
        key = (num_stages, width)
        if key not in self._heads:
            n = self.network
            graph = self._build(width, self.side(num_stages),
                                lambda b: anynet.classifier_head(b, n.head_w, n.num_classes))
            self._heads[key] = _totals(graph, self.convention)
        return self._heads[key]

    # -- tables (vectorised) ----------------------------------------------------------------------
    def first_block_table(self, stage: int, w_in: np.ndarray,
                          triples: Sequence[Triple]) -> np.ndarray:
        """(3, len(triples), len(w_in)) int64 costs of the first block for every pair."""
        templates = [self.template(stage, t) for t in triples]
        table = np.empty((3, len(triples), len(w_in)), dtype=np.int64)
        if not self._substitutable[stage]:
            for r, t in enumerate(triples):
                for c, w in enumerate(w_in.tolist()):
                    table[:, r, c] = as_int64(self.first_block(stage, int(w), t))
            return table
        core = as_int64([t.core for t in templates]).T     # (3, T)
        table[:] = core[:, :, None]
        groups: Dict[tuple, List[int]] = {}
        for r, t in enumerate(templates):
            signature = tuple(_with_sizes(_without_c_in(l), 0, 0, 0) for l in t.inputs)
            groups.setdefault(signature, []).append(r)
        for signature, rows in groups.items():
            for slot, shape in enumerate(signature):
                c_out = np.array([templates[r].inputs[slot].shape[1] for r in rows])[:, None]
                groups_ = np.array([_groups(templates[r].inputs[slot]) for r in rows])[:, None]
                # the same rules in float64 first: a bound that int64 arithmetic cannot wrap
                rough = self._layer_costs(_with_sizes(
                    shape, w_in.astype(np.float64)[None, :], c_out.astype(np.float64),
                    groups_.astype(np.float64)))
                if max(float(np.max(np.abs(v))) for v in rough) >= ENTRY_HEADROOM:
                    raise SpecError("", "domains", TOO_LARGE)
                exact = self._layer_costs(_with_sizes(
                    shape, w_in.astype(np.int64)[None, :], c_out, groups_))
                for q, value in enumerate(exact):
                    table[q, rows, :] += np.broadcast_to(value, (len(rows), len(w_in)))
        self._check_table(table, w_in, triples, templates)
        return table

    @staticmethod
    def _check_table(table: np.ndarray, w_in: np.ndarray, triples: Sequence[Triple],
                     templates: Sequence[Template]) -> None:
        """Where w_in equals a template's own width, the table must equal the whole graph's
        count: a free check of the vectorised evaluation."""
        column = {int(w): c for c, w in enumerate(w_in.tolist())}
        for r, (triple, template) in enumerate(zip(triples, templates)):
            c = column.get(triple[0])
            if c is not None and list(table[:, r, c]) != list(template.own):
                raise RuntimeError(f"internal error: tabulated first block {triple} from "
                                   f"{triple[0]} channels differs from its graph's count")

    def rest_block_table(self, stage: int, triples: Sequence[Triple]) -> np.ndarray:
        return as_int64([self.template(stage, t).rest for t in triples]).T

    def head_table(self, num_stages: int, widths: Sequence[int]) -> np.ndarray:
        return as_int64([self.head_at(num_stages, w) for w in widths]).T


def check_headroom(tables: Sequence[np.ndarray], max_depth: int, stages: int) -> None:
    """Refuse spaces whose totals could overflow int64 (the tables' sums must stay exact)."""
    largest = max(int(np.abs(t).max()) for t in tables if t.size)
    if largest * (max_depth + 2) * (stages + 2) >= INT64_HEADROOM:
        raise SpecError("", "domains", "members of this space have totals that could pass 2^62, "
                                       "beyond exact 64-bit sampling; narrow the widths, depths "
                                       "or resolution")
