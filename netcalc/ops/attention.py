"""Attention: the fused ``F.scaled_dot_product_attention`` and ``torch.baddbmm``.

Scaled dot-product attention of q (..., L, E), k (..., S, E) and v (..., S, Ev) is two matrix
products, q @ k^T (L x S per head) and softmax(...) @ v. What each counter makes of the fused op,
measured (torch 2.13, fvcore 0.1.5):

- FlopCounterMode's formula (``sdpa_flop_count``, for the CUDA flash, memory-efficient and cuDNN
  kernels) counts both products as ``bmm``s: ``2*B*L*S*E + 2*B*L*S*Ev`` over the B = prod(q's
  batch dims) query heads (grouped-query k and v are broadcast to q's heads first); a mask and
  ``is_causal`` change nothing. torch's math fallback (``SDPBackend.MATH``) runs those two
  ``bmm``s and counts the same. Only on CPU, for the fused ``_scaled_dot_product_flash_attention_for_cpu``
  kernel (chosen when E == Ev), FlopCounterMode has no formula and counts 0: the module built here
  runs the math backend, so the CPU trace shows the count the formula defines.
- fvcore 0.1.5 has no handle for ``aten::scaled_dot_product_attention``: 0 flops and 0 acts.
  (``nn.MultiheadAttention`` with ``need_weights=False`` calls it: fvcore counts only its linear
  projections there.)
- pycls, which has no fused attention, counts the two products as its ``matmul`` does: the
  multiply-accumulates, and the attention matrix and the output as activations.

``torch.baddbmm(input, b1, b2)`` (``beta * input + alpha * b1 @ b2``, what
``nn.MultiheadAttention`` with ``need_weights=True`` and a mask calls): FlopCounterMode counts
its product like ``bmm`` (``2*B*M*N*K``); fvcore 0.1.5 has no handle for ``aten::baddbmm``: 0.
A plain ``bmm`` is the op ``matmul`` (both tools count it as they count a 3-D ``matmul``).
"""

import math
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import GraphError
from ..limits import MAX_ATTENTION_SCALE
from .aten import DATA, DERIVED, PARAM, AtenCall, Node, NotModelled, Tensor
from .elementwise import broadcast, broadcast_mismatches
from .registry import (OpDef, format_shape, is_concrete, numel_out, register_op, sizes_differ,
                       zero)



def broadcasts_into(small: Any, target: Any) -> bool:
    """Whether ``small`` broadcasts to ``target`` without growing it (symbolic sizes may)."""
    try:
        grown = broadcast(target, small)
    except GraphError:
        return False
    return len(grown) == len(target) and not any(
        sizes_differ(x, y) for x, y in zip(grown, target))


def _data_operands(call: AtenCall, names: Any) -> tuple:
    """The named tensor arguments as data operands: one computed without the input (an
    attention pool's learned query) is written as the nodes computing it; at least one must
    be computed from the input (else NotModelled)."""
    found = tuple(call.named.get(name) for name in names)
    if not all(isinstance(t, Tensor) for t in found) or not any(t.is_data for t in found):
        raise NotModelled(f"{call.op} of tensors none of which is computed from the input "
                          f"({', '.join(names)})")
    return tuple(call.materialise(t) for t in found)


def sdpa_from_aten(call: AtenCall) -> Node:
    """``aten.scaled_dot_product_attention`` in eval. A mask changes no flops of any
    convention: a buffer or constant one is left out, one computed from the input or from
    parameters (CoAtNet's relative-position bias, looked up in its table) is the fourth
    operand, so that its parameters count."""
    operands = _data_operands(call, ("query", "key", "value"))
    if float(call.arg("dropout_p", 0.0)):
        raise NotModelled("scaled_dot_product_attention with dropout (eval passes dropout_p=0)")
    mask = call.named.get("attn_mask")
    if isinstance(mask, Tensor) and mask.kind in (DATA, PARAM, DERIVED):
        operands += (call.materialise(mask),)
    attrs = {key: value for key, value in (("is_causal", bool(call.arg("is_causal", False))),
                                           ("scale", call.arg("scale")),
                                           ("enable_gqa", bool(call.arg("enable_gqa", False))))
             if value}
    if "scale" in attrs:
        attrs["scale"] = float(attrs["scale"])
    return Node(attrs, inputs=operands)


def native_mha_from_aten(call: AtenCall) -> Node:
    raise NotModelled("nn.MultiheadAttention's fused fast path (traced under no_grad in eval); "
                      "captured with autograd on it is its linear, attention and linear parts")


# -- scaled dot-product attention -------------------------------------------------------------------
@dataclass(frozen=True)
class SdpaAttrs:
    """``is_causal``, ``scale`` (None: 1/sqrt(E)) and ``enable_gqa`` of the torch call."""

    is_causal: bool = False
    scale: Optional[float] = None
    enable_gqa: bool = False


def sdpa_macs(ins: Any, out: Any, a: SdpaAttrs) -> Any:
    """Multiply-accumulates of q @ k^T and of the weights @ v, per query head."""
    query, key, value = ins[:3]
    return math.prod(query[:-1]) * key[-2] * (query[-1] + value[-1])


def sdpa_acts(ins: Any, out: Any, a: SdpaAttrs) -> Any:
    """The (..., L, S) weights and the (..., L, Ev) output, as two pycls matmuls count them."""
    query, key, value = ins[:3]
    return math.prod(query[:-1]) * (key[-2] + value[-1])


@register_op
class ScaledDotProductAttention(OpDef):
    """``F.scaled_dot_product_attention(q, k, v[, attn_mask])`` in eval (no dropout)."""

    name = "sdpa"
    Attrs = SdpaAttrs
    arity = (3, 4)
    aten = {"scaled_dot_product_attention": sdpa_from_aten,
            "_native_multi_head_attention": native_mha_from_aten}

    def parse(self, f: Any) -> SdpaAttrs:
        return SdpaAttrs(f.bool("is_causal", False),
                         f.float("scale", None, lo=-MAX_ATTENTION_SCALE, hi=MAX_ATTENTION_SCALE),
                         f.bool("enable_gqa", False))

    def infer_shape(self, ins: Any, a: SdpaAttrs) -> Any:
        query, key, value = ins[:3]
        shapes = f"q {format_shape(query)}, k {format_shape(key)}, v {format_shape(value)}"
        if len(query) < 2 or not len(query) == len(key) == len(value):
            raise GraphError(f"needs q, k and v of one rank, 2 or more; got {shapes}",
                             field="inputs")
        if a.enable_gqa and len(query) < 3:
            raise GraphError(f"enable_gqa needs heads at dim -3; got {shapes}", field="enable_gqa")
        if sizes_differ(query[-1], key[-1]) or sizes_differ(key[-2], value[-2]) or any(
                sizes_differ(x, y) for x, y in zip(key[:-2], value[:-2])):
            raise GraphError(f"needs q (..., L, E), k (..., S, E), v (..., S, Ev); got {shapes}",
                             field="inputs")
        self._check_heads(query, key, a, shapes)
        out = tuple(query[:-1]) + (value[-1],)
        if len(ins) == 4:
            self._check_mask(ins[3], out[:-1] + (key[-2],), a)
        return out

    @staticmethod
    def _check_heads(query: Any, key: Any, a: SdpaAttrs, shapes: str) -> None:
        """Batch dims equal, or k's (and v's) 1, broadcast as torch does (multi-query attention:
        MobileNetV5's one k and v head for 8 query heads); with enable_gqa, q's heads (dim -3) a
        multiple of k's."""
        batch = len(query) - 2
        for d, (x, y) in enumerate(zip(query[:batch], key[:batch])):
            if a.enable_gqa and d == batch - 1:
                if is_concrete(x) and is_concrete(y) and x % y:
                    raise GraphError(f"q's {x} heads are no multiple of k's {y}; got {shapes}",
                                     field="enable_gqa")
            elif sizes_differ(x, y) and y != 1:
                raise GraphError(f"q, k and v must share their batch dims (or k's and v's be 1); "
                                 f"got {shapes}",
                                 field="inputs")

    @staticmethod
    def _check_mask(mask: Any, weights: Any, a: SdpaAttrs) -> None:
        if a.is_causal:
            raise GraphError("takes a mask or is_causal, not both (torch refuses both)",
                             field="is_causal")
        if not broadcasts_into(mask, weights):
            raise GraphError(f"the mask {format_shape(mask)} does not broadcast to the attention "
                             f"weights {format_shape(weights)}", field="inputs")

    def conditions(self, ins: Any, out: Any, a: SdpaAttrs) -> Any:
        query, key, value = ins[:3]
        batch = len(query) - 2
        shared = batch - 1 if a.enable_gqa else batch
        pairs = [(query[-1], key[-1]), (key[-2], value[-2])]
        pairs += list(zip(key[:-2], value[:-2]))
        pairs += [(x, y) for x, y in zip(query[:shared], key[:shared]) if y != 1]
        if len(ins) == 4:
            pairs += broadcast_mismatches(out[:-1] + (key[-2],), ins[3])
        return tuple((x, y) for x, y in pairs if x != y)

    params = {"pycls": zero}
    flops = {"pycls": sdpa_macs, "fvcore": zero,
             "torch": lambda ins, out, a: 2 * sdpa_macs(ins, out, a)}
    acts = {"pycls": sdpa_acts, "fvcore": zero}

    def torch(self, ins: Any, out: Any, a: SdpaAttrs) -> Any:
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel

        def attention(query: Any, key: Any, value: Any, mask: Any = None) -> Any:
            # the math backend: its two bmm's are what FlopCounterMode's formula counts, where
            # CPU's fused flash kernel would count 0 (see the module docstring)
            with sdpa_kernel(SDPBackend.MATH):
                return F.scaled_dot_product_attention(query, key, value, attn_mask=mask,
                                                      is_causal=a.is_causal, scale=a.scale,
                                                      enable_gqa=a.enable_gqa)
        return attention

    def example(self) -> Any:
        return ((1, 4, 5, 6), (1, 2, 7, 6), (1, 2, 7, 3), (5, 1)), SdpaAttrs(enable_gqa=True)


# -- baddbmm --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaddbmmAttrs:
    """``beta * input + alpha * (b1 @ b2)``."""

    beta: float = 1.0
    alpha: float = 1.0


def bmm_macs(ins: Any, out: Any, a: Any) -> Any:
    return math.prod(out) * ins[1][-1]


@register_op
class Baddbmm(OpDef):
    """``torch.baddbmm(input, b1, b2)``: b1 (B, M, K), b2 (B, K, N), input broadcast to
    (B, M, N)."""

    name = "baddbmm"
    Attrs = BaddbmmAttrs
    arity = (3, 3)
    aten = {"baddbmm": lambda call: Node(
        {"beta": float(call.arg("beta", 1)), "alpha": float(call.arg("alpha", 1))},
        inputs=_data_operands(call, ("self", "batch1", "batch2")))}

    def parse(self, f: Any) -> BaddbmmAttrs:
        return BaddbmmAttrs(f.float("beta", 1.0, lo=-MAX_ATTENTION_SCALE, hi=MAX_ATTENTION_SCALE),
                            f.float("alpha", 1.0, lo=-MAX_ATTENTION_SCALE, hi=MAX_ATTENTION_SCALE))

    def infer_shape(self, ins: Any, a: BaddbmmAttrs) -> Any:
        base, left, right = ins
        if len(left) != 3 or len(right) != 3 or sizes_differ(left[0], right[0]) or sizes_differ(
                left[2], right[1]):
            raise GraphError(f"needs b1 (B, M, K) and b2 (B, K, N), got {format_shape(left)} "
                             f"and {format_shape(right)}", field="inputs")
        out = (left[0], left[1], right[2])
        if not broadcasts_into(base, out):
            raise GraphError(f"input {format_shape(base)} does not broadcast to "
                             f"{format_shape(out)}", field="inputs")
        return out

    def conditions(self, ins: Any, out: Any, a: BaddbmmAttrs) -> Any:
        base, left, right = ins
        pairs = ((left[0], right[0]), (left[2], right[1])) + broadcast_mismatches(out, base)
        return tuple((x, y) for x, y in pairs if x != y)

    params = {"pycls": zero}
    flops = {"pycls": bmm_macs, "fvcore": zero,
             "torch": lambda ins, out, a: 2 * bmm_macs(ins, out, a)}
    acts = {"pycls": numel_out, "fvcore": zero}

    def torch(self, ins: Any, out: Any, a: BaddbmmAttrs) -> Any:
        import torch

        return lambda base, left, right: torch.baddbmm(base, left, right, beta=a.beta,
                                                       alpha=a.alpha)

    def example(self) -> Any:
        return ((3, 1), (2, 3, 4), (2, 4, 5)), BaddbmmAttrs(0.5, 2.0)
