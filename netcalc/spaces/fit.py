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

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from ..errors import ArgumentError, SpecError
from ..families.regnet import block_widths
from ..limits import MAX_CHANNELS, MAX_FIT_WIDTHS

WM_RANGE = (1.05, 4.0)          # the grid search
WM_MIN, WM_MAX = 1.0 + 1e-3, 64.0   # the exact search: every wm a RegNet spec may have (> 1)
WM_PROBES = 5                   # wm probes between neighbouring breakpoints
EXACT_WORK = 20_000_000        # wm probes x stages of the exact search (~1 s)
EXACT_TRIES = 60                # candidates regenerated, widest wa interval first


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
    searched: str = ""      # a grid fit: what the exact search covered, and so did not find

    def to_dict(self) -> dict:
        return {"w0": self.w0, "wa": self.wa, "wm": self.wm, "depth": self.depth, "q": self.q,
                "e_fit": self.e_fit, "method": self.method, "searched": self.searched,
                "widths": list(self.widths), "fitted": list(self.fitted)}


def e_fit(observed: Sequence[int], predicted: Sequence[int]) -> float:
    """Mean absolute log-ratio of predicted to observed per-block widths."""
    return sum(abs(math.log(p / o)) for p, o in zip(predicted, observed)) / len(observed)


def fit_widths(widths: Sequence[int], q: int = 8,
               rule: Optional[Tuple[float, float]] = None) -> Fit:
    """The quantized-linear fit of per-block ``widths`` (quantum ``q``, 1 to 1024). ``rule``:
    a ``(wa, wm)`` known to be near (a regnet spec's own), tried before the exact search."""
    from ..arguments import checked_int

    q = checked_int(q, "q", 1, 1024)
    widths = _checked(widths)
    exact = _exact(widths, q, [rule] if rule else [])
    if exact is not None:
        return exact
    return dataclasses.replace(_grid(widths, q), searched=_exact_reach(widths, q))


def _checked(widths: Sequence[Any]) -> Tuple[int, ...]:
    from ..arguments import checked_int

    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise ArgumentError("", "widths", f"expected a list of integer widths, got "
                                          f"{type(widths).__name__}")
    if not 1 <= len(widths) <= MAX_FIT_WIDTHS:
        raise ArgumentError("", "widths", f"expected 1 to {MAX_FIT_WIDTHS} per-block widths, got "
                                          f"{len(widths)}")
    return tuple(checked_int(w, f"widths[{i}]", 1, MAX_CHANNELS) for i, w in enumerate(widths))


def _make(widths: Tuple[int, ...], q: int, w0: int, wa: float, wm: float, method: str) -> Fit:
    fitted = tuple(block_widths(w0, wa, wm, len(widths), q))
    return Fit(w0, wa, wm, len(widths), q, e_fit(widths, fitted), widths, fitted, method)


# -- exact ------------------------------------------------------------------------------------------
def _stages(widths: Tuple[int, ...]) -> Tuple[List[int], List[int]]:
    """Stage widths and the index of each stage's first block."""
    starts = [0] + [j for j in range(1, len(widths)) if widths[j] != widths[j - 1]]
    return [widths[j] for j in starts], starts


def _exact(widths: Tuple[int, ...], q: int,
           known: List[Tuple[float, float]]) -> Optional[Fit]:
    if any(b < a for a, b in zip(widths, widths[1:])) or widths[0] % q:
        return None
    stage_w, starts = _stages(widths)
    w0, d = stage_w[0], len(widths)
    if len(stage_w) == 1:
        wa = 0.0 if d == 1 else w0 * (math.sqrt(2.0) - 1) / (d - 1) / 2
        candidates = [(wa, 2.0)]
    else:
        candidates = itertools.chain(known, _exact_candidates(stage_w, starts, d, q))
    for wa, wm in candidates:
        if tuple(block_widths(w0, wa, wm, d, q)) == widths:
            wa, wm = _shortest(widths, q, w0, wa, wm)
            return _make(widths, q, w0, wa, wm, "exact")
    return None


def _largest_exponent(stage_w: List[int], q: int) -> int:
    """The largest block exponent the exact search tries: every one down to wm = WM_MIN,
    unless probes x stages would exceed EXACT_WORK (many stages cost fewer exponents)."""
    top = math.log((stage_w[-1] + q / 2) / stage_w[0])
    stages = len(stage_w)
    return min(int(top / math.log(WM_MIN)) + 1, EXACT_WORK // (2 * WM_PROBES * stages * stages))


def _exact_reach(widths: Tuple[int, ...], q: int) -> str:
    """What the exact search covered for widths it found no exact fit of, in words."""
    if any(b < a for a, b in zip(widths, widths[1:])):
        return "widths that shrink: no (w0, wa, wm) of the rule makes them"
    if widths[0] % q:
        return f"w0 = {widths[0]} is not a multiple of q = {q}: no rule makes these widths"
    stage_w, _ = _stages(widths)
    e_max = _largest_exponent(stage_w, q)
    if e_max < len(stage_w) - 1:
        return (f"{len(stage_w)} stages are more than the exact search covers ({e_max + 1}); "
                "a grid was searched")
    smallest = max(((stage_w[-1] + q / 2) / stage_w[0]) ** (1 / e_max), WM_MIN)
    return (f"no (wa, wm) of the rule with wm >= {smallest:.6g} makes these widths (the exact "
            f"search's reach for {len(stage_w)} stages); a grid was searched")


def _wm_breakpoints(stage_w: List[int], q: int) -> Any:
    """Every wm in (WM_MIN, WM_MAX] where the exponents that quantize to some stage width
    change: ((W_i -+ q/2) / w0) ** (1/e). Between two neighbours the sets E_i are constant."""
    import numpy as np

    w0 = stage_w[0]
    stages = len(stage_w)
    e_max = _largest_exponent(stage_w, q)
    if e_max < stages - 1:      # each stage needs its own exponent: too many stages to search
        return np.array([WM_MIN, WM_MAX])
    exponents = np.arange(1, e_max + 1, dtype=np.float64)
    ends = np.array([w + side * q / 2 for w in stage_w[1:] for side in (-1, 1)], dtype=np.float64)
    points = np.exp(np.log(ends / w0)[:, None] / exponents[None, :]).ravel()
    points = points[(points > WM_MIN) & (points <= WM_MAX)]
    return np.unique(np.concatenate([points, [WM_MIN, WM_MAX]]))


def _exact_candidates(stage_w: List[int], starts: List[int], d: int,
                      q: int) -> List[Tuple[float, float]]:
    """(wa, wm) pairs inside the feasible region, widest wa interval first.

    Stage i takes every block exponent e with quantize(w0 * wm^e) = W_i, i.e. e in
    [lo_i, hi_i] = [ceil(log((W_i - q/2)/w0) / log wm), floor(log((W_i + q/2)/w0) / log wm)];
    exponents may skip values between stages (a fast-growing wm). Its blocks j need
    lo_i - 1/2 <= log(1 + wa*j/w0) / log wm <= hi_i + 1/2, an interval of wa. wm is probed
    between every pair of neighbouring breakpoints, where the sets [lo_i, hi_i] are constant,
    so no feasible piece of wm is stepped over.
    """
    import numpy as np

    w0 = stage_w[0]
    cuts = _wm_breakpoints(stage_w, q)
    fractions = np.linspace(0.0, 1.0, WM_PROBES + 2)[1:-1]
    wm = (cuts[:-1, None] + (cuts[1:] - cuts[:-1])[:, None] * fractions[None, :]).ravel()
    log_wm = np.log(wm)
    ends = starts[1:] + [d]
    lower = np.zeros_like(wm)
    upper = np.full_like(wm, np.inf)
    feasible = np.ones(wm.shape, dtype=bool)
    previous_hi = np.full(wm.shape, -1.0)
    for i, (width, start, end) in enumerate(zip(stage_w, starts, ends)):
        lo = np.zeros_like(wm) if i == 0 else \
            np.ceil(np.log((width - q / 2) / w0) / log_wm - 1e-12)
        hi = np.floor(np.log((width + q / 2) / w0) / log_wm + 1e-12)
        feasible &= (lo <= hi) & (lo > previous_hi)
        previous_hi = hi
        if i:
            lower = np.maximum(lower, w0 * (wm ** (lo - 0.5) - 1) / start)
        if end - 1 >= 1:
            upper = np.minimum(upper, w0 * (wm ** (hi + 0.5) - 1) / (end - 1))
    margin = np.where(feasible & (upper > lower),
                      np.log(upper) - np.log(np.maximum(lower, 1e-300)), -np.inf)
    order = np.argsort(-margin)[:EXACT_TRIES]
    return [(float(math.sqrt(max(lower[k], 1e-12) * upper[k])) if lower[k] > 0
             else float(upper[k] / 2), float(wm[k])) for k in order if margin[k] > -np.inf]


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
    return _zoom(widths, q, _best(widths, q, w0s, was, wms))


def _best(widths: Tuple[int, ...], q: int, w0s: Sequence[int], was: Sequence[float],
          wms: Sequence[float]) -> Fit:
    """The grid point of least e_fit, all points evaluated at once with numpy; the winner is
    recomputed with :func:`block_widths` (the generation netcalc counts)."""
    import numpy as np

    observed = np.array(widths, dtype=np.float64)
    j = np.arange(len(widths), dtype=np.float64)
    wa = np.array(was, dtype=np.float64)[:, None, None]
    log_wm = np.log(np.array(wms, dtype=np.float64))[None, :, None]
    best = None
    for w0 in w0s:
        exponents = np.round(np.log1p(wa * j[None, None, :] / w0) / log_wm)
        fitted = np.round(w0 * np.exp(exponents * log_wm) / q) * q
        with np.errstate(divide="ignore"):
            errors = np.abs(np.log(fitted / observed)).mean(axis=-1)
        a, m = np.unravel_index(int(np.argmin(errors)), errors.shape)
        if best is None or errors[a, m] < best[0]:
            best = (float(errors[a, m]), w0, float(was[a]), float(wms[m]))
    candidate = _make(widths, q, best[1], best[2], best[3], "grid")
    return candidate


def _zoom(widths: Tuple[int, ...], q: int, best: Fit, rounds: int = 5) -> Fit:
    span = 2.0
    for _ in range(rounds):
        if best.e_fit == 0:
            break
        was = _geometric(max(best.wa, 0.05) / span, max(best.wa, 0.05) * span, 15)
        wms = [wm for wm in _geometric(best.wm / span ** 0.25, best.wm * span ** 0.25, 15)
               if wm > 1.0]
        w0s = [w for w in (best.w0 - q, best.w0, best.w0 + q) if w > 0]
        best = min([best, _best(widths, q, w0s, was, wms)], key=lambda f: f.e_fit)
        span = span ** 0.5
    return best


# -- widths of a spec ------------------------------------------------------------------------------
def spec_widths(spec: Any) -> Tuple[List[int], int, str, Optional[Tuple[float, float]]]:
    """Per-block widths of an anynet or regnet spec, its quantum, what they are, and the
    (wa, wm) that made them (a regnet spec's own; None for anynet)."""
    from ..spec import load_spec

    spec = load_spec(spec)
    cfg = spec.config
    if spec.family == "regnet":
        return (block_widths(cfg.w0, cfg.wa, cfg.wm, cfg.depth, cfg.q), cfg.q,
                "generated by the quantized linear rule (before the group-width adjustment)",
                (cfg.wa, cfg.wm))
    if spec.family == "anynet":
        return ([s.width for s in cfg.stages for _ in range(s.depth)], 8,
                "the spec's stage widths, one per block", None)
    raise SpecError(spec.source, "family", f"{spec.family}: the fit needs an anynet or regnet spec")
