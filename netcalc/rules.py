"""Cost rules: one small function per op, grouped into named counting conventions.

Each rule maps a :class:`~netcalc.graph.Layer` to an exact count (int, or a sympy expression when
sizes are symbolic). Params do not depend on the convention, so they have one table; flops and
activations are per convention. A convention is its parent's rules plus the few it overrides,
which keeps the differences of ``../docs/conventions.md`` visible in a few lines each:

    fvcore flops = pycls flops - conv/linear bias + 2 * BN input elements + GAP input elements
    fvcore acts  = pycls acts - max-pool output elements
    torch  flops = 2 * (conv MACs + linear MACs)

Adding an op is one entry per table; adding a convention is one :func:`derive` call.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional

from .graph import OPS, Layer

Rule = Callable[[Layer], Any]


def _zero(layer: Layer) -> int:
    return 0


# -- shared building blocks -----------------------------------------------------------------------
def conv_macs(l: Layer) -> Any:
    """Multiply-accumulates of a (grouped) conv, bias excluded."""
    return l.kernel * l.kernel * (l.c_in // l.groups) * l.c_out * l.hw_out * l.hw_out


def linear_macs(l: Layer) -> int:
    return l.c_in * l.c_out


def out_elems(l: Layer) -> Any:
    return l.c_out * l.hw_out * l.hw_out


def in_elems(l: Layer) -> Any:
    return l.c_in * l.hw_in * l.hw_in


# -- params: identical in every convention (BN: gamma and beta; running stats are buffers) --------
PARAMS: Dict[str, Rule] = {op: _zero for op in OPS}
PARAMS.update(
    conv=lambda l: l.kernel * l.kernel * (l.c_in // l.groups) * l.c_out + (l.c_out if l.bias else 0),
    linear=lambda l: l.c_in * l.c_out + (l.c_out if l.bias else 0),
    bn=lambda l: 2 * l.c_in,
)


class Convention:
    """Flops and activation rules for every op, under one name."""

    def __init__(self, name: str, flops: Mapping[str, Rule], acts: Mapping[str, Rule],
                 doc: str, reports_acts: bool = True):
        missing = [op for op in OPS if op not in flops or op not in acts]
        if missing:
            raise TypeError(f"convention {name} has no rule for {missing}")
        self.name = name
        self.flops: Dict[str, Rule] = dict(flops)
        self.acts: Dict[str, Rule] = dict(acts)
        self.doc = doc
        self.reports_acts = reports_acts

    def derive(self, name: str, doc: str, *, flops: Optional[Mapping[str, Rule]] = None,
               acts: Optional[Mapping[str, Rule]] = None, reports_acts: bool = True) -> "Convention":
        """A new convention: this one's rules with some overridden."""
        return Convention(name, {**self.flops, **(flops or {})}, {**self.acts, **(acts or {})},
                          doc, reports_acts)

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


# pycls (RegNet's reference code; what the RegNet, EfficientNet and ReXNet papers print).
# A conv's bias is added once per output channel, not per output position (pycls's conv2d_cx);
# acts are conv/linear outputs plus max-pool outputs.
PYCLS = Convention(
    "pycls",
    flops={**{op: _zero for op in OPS},
           "conv": lambda l: conv_macs(l) + (l.c_out if l.bias else 0),
           "linear": lambda l: linear_macs(l) + (l.c_out if l.bias else 0)},
    acts={**{op: _zero for op in OPS},
          "conv": out_elems, "linear": out_elems, "maxpool": out_elems},
    doc="pycls: conv/linear MACs + biases; acts = conv/linear/max-pool outputs",
)

# fvcore 0.1.5 with the module in eval(): no bias flops, BN 2 per input element, adaptive
# average pool 1 per input element, max-pool outputs are not activations.
FVCORE = PYCLS.derive(
    "fvcore",
    "fvcore 0.1.5 FlopCountAnalysis/ActivationCountAnalysis in eval mode",
    flops={"conv": conv_macs, "linear": linear_macs,
           "bn": lambda l: 2 * in_elems(l), "gap": in_elems},
    acts={"maxpool": _zero},
)

# torch.utils.flop_counter.FlopCounterMode: 2 flops per MAC of conv and linear, nothing else.
# It reports no activations; netcalc gives fvcore's definition there (conv/linear outputs).
TORCH = FVCORE.derive(
    "torch",
    "torch FlopCounterMode: 2 x (conv + linear MACs); acts as fvcore",
    flops={"conv": lambda l: 2 * conv_macs(l), "linear": lambda l: 2 * linear_macs(l),
           "bn": _zero, "gap": _zero},
    reports_acts=False,
)

CONVENTIONS: Dict[str, Convention] = {c.name: c for c in (PYCLS, FVCORE, TORCH)}


def get_convention(name: str) -> Convention:
    from .errors import ArgumentError

    if not isinstance(name, str) or name not in CONVENTIONS:
        raise ArgumentError("", "convention",
                            f"{name!r:.40} is not one of {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
