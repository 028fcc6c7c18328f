"""Statistics of a sample: quantiles, the in-regime fraction with a bootstrap CI, EDFs.

Floats appear only here (and in fits); the sampled counts themselves stay exact integers.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from ..report import QUANTITIES

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
RESAMPLES = 2000


def quantiles(values: Sequence[int], levels: Sequence[float] = QUANTILES) -> Dict[str, float]:
    """Empirical quantiles (linear interpolation between order statistics)."""
    data = np.asarray(values, dtype=np.float64)
    return {f"q{round(level * 100):02d}": float(np.quantile(data, level)) for level in levels}


def edf(values: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """The empirical distribution function: sorted values x and F(x) = share of values <= x."""
    x = np.sort(np.asarray(values))
    return x, np.arange(1, len(x) + 1) / len(x)


def fraction_ci(kept: int, draws: int, seed: int, resamples: int = RESAMPLES,
                level: float = 0.95) -> Tuple[float, float, float]:
    """The fraction of draws inside the regime and its bootstrap percentile interval.

    Resampling the draws' inside/outside indicators with replacement makes the resampled count
    Binomial(draws, kept/draws), so the bootstrap draws that count directly (same law, no
    million-element resamples). The generator is seeded from the sample's seed.
    """
    if draws == 0:
        return math.nan, math.nan, math.nan
    p = kept / draws
    rng = np.random.default_rng([seed, 0x5EED])
    boot = rng.binomial(draws, p, size=resamples) / draws
    tail = (1 - level) / 2 * 100
    return p, float(np.percentile(boot, tail)), float(np.percentile(boot, 100 - tail))


def summary(sample: Any) -> Dict[str, Any]:
    """Everything --stats reports, JSON-ready."""
    totals = sample.totals
    p, lo, hi = fraction_ci(sample.kept, sample.candidates, sample.seed)
    return {
        "space": sample.space.name,
        "regime": sample.regime.describe(),
        "n": sample.kept,
        "draws": sample.candidates,
        "rejected_by_constraints": sample.invalid,
        "fraction_in_regime": p,
        "fraction_ci95": [lo, hi],
        "quantiles": {q: quantiles(totals[i]) for i, q in enumerate(QUANTITIES)},
        # the EDF of each quantity: F(x[k]) = (k + 1) / n over the sorted values x
        "edf": {q: [int(v) for v in edf(totals[i])[0]] for i, q in enumerate(QUANTITIES)},
    }


def render_summary(stats: Dict[str, Any]) -> str:
    from tabulate import tabulate

    from ..report import human

    rows: List[List[Any]] = []
    for q, qs in stats["quantiles"].items():
        rows.append([q] + [human(int(round(v))) for v in qs.values()])
    levels = next(iter(stats["quantiles"].values())).keys()
    table = tabulate(rows, headers=["quantity", *levels],
                     colalign=("left",) + ("right",) * len(levels))
    lo, hi = stats["fraction_ci95"]
    head = (f"{stats['space']}: {stats['n']} models with {stats['regime']}, from "
            f"{stats['draws']:,} draws")
    if stats["rejected_by_constraints"]:
        head += f" ({stats['rejected_by_constraints']:,} rejected by the space's constraints)"
    frac = (f"fraction of draws in the regime: {stats['fraction_in_regime']:.4g} "
            f"(bootstrap 95% CI {lo:.4g} .. {hi:.4g}, {RESAMPLES} resamples)")
    return f"{head}\n{frac}\n{table}"
