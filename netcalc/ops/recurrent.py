"""Recurrent layers: ``nn.LSTM`` (Sequencer's bidirectional LSTMs over the rows and the columns
of a map).

An LSTM of hidden size H reads each of its T x B steps (all dims of the input but the last)
through four gates: per layer and direction, 4H x (I + H) multiply-adds a step, I the layer's
input features (the input's for the first layer, D x H after it, D = 2 when bidirectional).
FlopCounterMode counts the ``addmm`` the unfused kernel runs, 2 per multiply-add (on the meta
device, and on the CPU without oneDNN; the CPU's oneDNN kernel and the GPU's cuDNN one have no
formula and count 0); fvcore 0.1.5 has no handle for ``aten::lstm`` (0 flops, 0 acts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import GraphError
from ..limits import MAX_FEATURES, MAX_RECURRENT_LAYERS
from .aten import AtenCall, Node, NotModelled, Parts, Tensor
from .registry import OpDef, numel_out, register_op, zero


@dataclass(frozen=True)
class LstmAttrs:
    """``nn.LSTM(input_size, hidden, num_layers, bias, batch_first, bidirectional)``; the input
    size is the input's last dim."""

    hidden: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    bidirectional: bool = False


def _directions(a: LstmAttrs) -> int:
    return 2 if a.bidirectional else 1


def _gate_inputs(ins: Any, a: LstmAttrs) -> Any:
    """Per direction, the features every layer's gates read (its input's and H): summed."""
    later = (_directions(a) * a.hidden + a.hidden) * (a.num_layers - 1)
    return ins[0][-1] + a.hidden + later


def lstm_macs(ins: Any, out: Any, a: LstmAttrs) -> Any:
    steps = math.prod(ins[0][:-1])
    return steps * _directions(a) * 4 * a.hidden * _gate_inputs(ins, a)


def _lstm_params(ins: Any, out: Any, a: LstmAttrs) -> Any:
    biases = 8 * a.hidden * a.num_layers * int(a.bias)
    return _directions(a) * (4 * a.hidden * _gate_inputs(ins, a) + biases)


def _bias_adds(ins: Any, out: Any, a: LstmAttrs) -> Any:
    """Two biases added to each gate of each step, layer and direction (pycls, as for linear)."""
    steps = math.prod(ins[0][:-1])
    return steps * _directions(a) * a.num_layers * 8 * a.hidden * int(a.bias)


def lstm_from_aten(call: AtenCall) -> Parts:
    """``aten.lstm.input``: every weight a parameter, no projection (``proj_size``); the initial
    states zeros or another tensor not computed from the input. The output is the op; the final
    hidden and cell states are not modelled (a use of them is an unsupported call)."""
    if call.overload != "input":
        raise NotModelled("lstm of a packed sequence (a padded tensor is modelled)")
    weights, bias = call.arg("params"), bool(call.arg("has_biases"))
    layers, bidirectional = int(call.arg("num_layers")), bool(call.arg("bidirectional"))
    per_layer = (2 if bidirectional else 1) * (4 if bias else 2)
    if len(weights) != layers * per_layer:
        raise NotModelled("lstm with projections (proj_size)")
    if not all(isinstance(w, Tensor) and w.is_param for w in weights):
        raise NotModelled("lstm with weights that are not parameters")
    if any(not isinstance(h, Tensor) or h.is_data for h in call.arg("hx")):
        raise NotModelled("lstm with initial states computed from the input")
    attrs = {"hidden": int(weights[1].shape[1]), "num_layers": layers, "bias": bias,
             "batch_first": bool(call.arg("batch_first")), "bidirectional": bidirectional}
    return Parts((Node(attrs), None, None))


@register_op
class Lstm(OpDef):
    name = "lstm"
    Attrs = LstmAttrs
    aten = {"lstm": lstm_from_aten}

    def parse(self, f: Any) -> LstmAttrs:
        return LstmAttrs(f.int("hidden", lo=1, hi=MAX_FEATURES),
                         f.int("num_layers", 1, lo=1, hi=MAX_RECURRENT_LAYERS),
                         f.bool("bias", True), f.bool("batch_first", False),
                         f.bool("bidirectional", False))

    def infer_shape(self, ins: Any, a: LstmAttrs) -> Any:
        if len(ins[0]) not in (2, 3):
            raise GraphError("needs a (T, I) or a batched (T, B, I) / (B, T, I) input, got rank "
                             f"{len(ins[0])}", field="input")
        return tuple(ins[0][:-1]) + (_directions(a) * a.hidden,)

    params = {"pycls": _lstm_params}
    flops = {"pycls": lambda ins, out, a: lstm_macs(ins, out, a) + _bias_adds(ins, out, a),
             "fvcore": zero,
             "torch": lambda ins, out, a: 2 * lstm_macs(ins, out, a)}
    acts = {"pycls": numel_out, "fvcore": zero}

    def torch(self, ins: Any, out: Any, a: LstmAttrs) -> Any:
        from ..torch.tensor_modules import UnfusedLstm

        return UnfusedLstm(ins[0][-1], a.hidden, a.num_layers, a.bias, a.batch_first,
                           a.bidirectional)

    def example(self) -> Any:
        return ((2, 5, 8),), LstmAttrs(6, 2, True, True, True)
