"""The quantized-linear fit of the RegNet paper: (w0, wa, wm) from per-block widths.

The paper (Sec. 3.3) fits a model's per-block widths w_j by choosing d = len(widths) and
searching (w0, wa, wm) to minimise e_fit, the mean log-ratio between the widths the rule
generates and the observed ones; here ``e_fit = mean_j |ln(w_hat_j / w_j)|``. Predictions
always come from :func:`netcalc.families.regnet.block_widths`, the generation netcalc counts.

Two searches, best first:

1. Exact: widths that the rule can produce are matched exactly. With stage widths W_0 < W_1 <
   ... and the index j_i where stage i starts, the rule needs w0 = W_0, quantize(w0 * wm^i) =
   W_i (an interval of wm per stage) and round(log(1 + wa*j/w0) / log(wm)) = i on every block
   of stage i (an interval of wa for each wm). The wm with the widest wa interval, and the
   geometric middle of that interval, are checked by regenerating the widths; the shortest
   decimals that still regenerate them are reported. Such a fit has e_fit = 0 exactly: equal
   integer widths make every log-ratio ln(1) = 0.
2. Grid: otherwise (widths no (w0, wa, wm) produces, like ResNet-50's), a coarse grid over w0,
   wa and wm, then zooming in around the best point.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from ..errors import SpecError
from ..families.regnet import block_widths

MAX_BLOCKS = 4096
WM_RANGE = (1.05, 4.0)


@dataclass(frozen=True)
class Fit:
    w0: int
    wa: float
    wm: float
    depth: int
    q: int
    e_fit: float
    widths: Tuple[int, ...]
    fitted: Tuple[int, ...]
    method: str

    def to_dict(self) -> dict:
        return {"w0": self.w0, "wa": self.wa, "wm": self.wm, "depth": self.depth, "q": self.q,
                "e_fit": self.e_fit, "method": self.method, "widths": list(self.widths),
                "fitted": list(self.fitted)}


def e_fit(observed: Sequence[int], predicted: Sequence[int]) -> float:
    """Mean absolute log-ratio of predicted to observed per-block widths."""
    return sum(abs(math.log(p / o)) for p, o in zip(predicted, observed)) / len(observed)


def fit_widths(widths: Sequence[int], q: int = 8) -> Fit:
    """The quantized-linear fit of per-block ``widths`` (quantum ``q``)."""
    widths = _checked(widths)
    exact = _exact(widths, q)
    return exact if exact is not None else _grid(widths, q)


def _checked(widths: Sequence[Any]) -> Tuple[int, ...]:
    if not 1 <= len(widths) <= MAX_BLOCKS:
        raise SpecError("", "widths", f"expected 1 to {MAX_BLOCKS} per-block widths, got "
                                      f"{len(widths)}")
    out = []
    for i, w in enumerate(widths):
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise SpecError("", f"widths[{i}]", f"{w!r} is not a positive integer width")
        out.append(w)
    return tuple(out)


def _make(widths: Tuple[int, ...], q: int, w0: int, wa: float, wm: float, method: str) -> Fit:
    fitted = tuple(block_widths(w0, wa, wm, len(widths), q))
    return Fit(w0, wa, wm, len(widths), q, e_fit(widths, fitted), widths, fitted, method)


# -- exact ------------------------------------------------------------------------------------------
def _stages(widths: Tuple[int, ...]) -> Tuple[List[int], List[int]]:
    """Stage widths and the index of each stage's first block."""
    starts = [0] + [j for j in range(1, len(widths)) if widths[j] != widths[j - 1]]
    return [widths[j] for j in starts], starts


def _exact(widths: Tuple[int, ...], q: int) -> Optional[Fit]:
    if any(b < a for a, b in zip(widths, widths[1:])) or widths[0] % q:
        return None
    stage_w, starts = _stages(widths)
    w0, d = stage_w[0], len(widths)
    if len(stage_w) == 1:
        wa = 0.0 if d == 1 else w0 * (math.sqrt(2.0) - 1) / (d - 1) / 2
        candidates = [(wa, 2.0)]
    else:
        candidates = _exact_candidates(stage_w, starts, d, q)
    for wa, wm in candidates:
        if tuple(block_widths(w0, wa, wm, d, q)) == widths:
            wa, wm = _shortest(widths, q, w0, wa, wm)
            return _make(widths, q, w0, wa, wm, "exact")
    return None


def _exact_candidates(stage_w: List[int], starts: List[int], d: int,
                      q: int) -> List[Tuple[float, float]]:
    """(wa, wm) pairs inside the feasible region, widest wa interval first."""
    import numpy as np

    w0 = stage_w[0]
    lo, hi = 1.0, math.inf
    for i, w in enumerate(stage_w[1:], start=1):
        lo = max(lo, ((w - q / 2) / w0) ** (1 / i))
        hi = min(hi, ((w + q / 2) / w0) ** (1 / i))
    if not lo < hi:
        return []
    wm = np.linspace(lo, hi, 4003)[1:-1]
    ends = starts[1:] + [d]
    lower = np.zeros_like(wm)
    upper = np.full_like(wm, np.inf)
    for i, (start, end) in enumerate(zip(starts, ends)):
        if i:
            lower = np.maximum(lower, w0 * (wm ** (i - 0.5) - 1) / start)
        if end - 1 >= 1:
            upper = np.minimum(upper, w0 * (wm ** (i + 0.5) - 1) / (end - 1))
    margin = np.log(upper) - np.log(np.maximum(lower, 1e-300))
    order = np.argsort(-margin)[:40]
    return [(float(math.sqrt(max(lower[k], 1e-12) * upper[k])) if lower[k] > 0
             else float(upper[k] / 2), float(wm[k])) for k in order if margin[k] > 0]


def _shortest(widths: Tuple[int, ...], q: int, w0: int, wa: float, wm: float
              ) -> Tuple[float, float]:
    """The (wa, wm) with the fewest decimals that still regenerate the widths."""
    for total in range(0, 13):
        for wa_digits in range(0, min(total, 6) + 1):
            wm_digits = total - wa_digits
            if wm_digits > 6:
                continue
            a, m = round(wa, wa_digits), round(wm, wm_digits)
            if m > 1 and a >= 0 and tuple(block_widths(w0, a, m, len(widths), q)) == widths:
                return float(a), float(m)
    return wa, wm


# -- grid search ------------------------------------------------------------------------------------
def _geometric(lo: float, hi: float, n: int) -> List[float]:
    return [lo * (hi / lo) ** (k / (n - 1)) for k in range(n)]


def _grid(widths: Tuple[int, ...], q: int) -> Fit:
    base = max(q, int(round(widths[0] / q)) * q)
    w0s = sorted({max(q, int(round(base * f / q)) * q)
                  for f in (0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 2.0)} | {base - q, base + q}
                 - {0})
    was = [0.0] + _geometric(0.25, 2.0 * max(widths), 40)
    wms = _geometric(*WM_RANGE, 40)
    best = min((_make(widths, q, w0, wa, wm, "grid") for w0 in w0s for wa in was for wm in wms),
               key=lambda f: f.e_fit)
    return _zoom(widths, q, best)


def _zoom(widths: Tuple[int, ...], q: int, best: Fit, rounds: int = 5) -> Fit:
    span = 2.0
    for _ in range(rounds):
        if best.e_fit == 0:
            break
        was = _geometric(max(best.wa, 0.05) / span, max(best.wa, 0.05) * span, 15)
        wms = [wm for wm in _geometric(best.wm / span ** 0.25, best.wm * span ** 0.25, 15)
               if wm > 1.0]
        w0s = [w for w in (best.w0 - q, best.w0, best.w0 + q) if w > 0]
        best = min([best] + [_make(widths, q, w0, wa, wm, "grid")
                             for w0 in w0s for wa in was for wm in wms], key=lambda f: f.e_fit)
        span = span ** 0.5
    return best


# -- widths of a spec ------------------------------------------------------------------------------
def spec_widths(spec: Any) -> Tuple[List[int], int, str]:
    """Per-block widths of an anynet or regnet spec, its quantum, and what they are."""
    from ..spec import load_spec

    spec = load_spec(spec)
    cfg = spec.config
    if spec.family == "regnet":
        return (block_widths(cfg.w0, cfg.wa, cfg.wm, cfg.depth, cfg.q), cfg.q,
                "generated by the quantized linear rule (before the group-width adjustment)")
    if spec.family == "anynet":
        return ([s.width for s in cfg.stages for _ in range(s.depth)], 8,
                "the spec's stage widths, one per block")
    raise SpecError(spec.source, "family", f"{spec.family}: the fit needs an anynet or regnet spec")
