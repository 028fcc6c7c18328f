"""Complexity trends across models: activations ~ c*sqrt(flops), params ~ a + b*flops.

The RegNet paper (Radosavovic et al. 2020, Sec. 5) reports, for its best models, activations
growing like 6.5*sqrt(f) and parameters like 3.0 + 5.5*f, with f in GF and both in M. This module
fits the same two forms by least squares to any set of counted specs so they can be read beside
the paper's. Plain floats (fits are statistics, not counts); no sympy, no numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

from ..errors import SpecError


@dataclass(frozen=True)
class TrendPoint:
    """One model's exact counts, with the units of the fits (GF, M)."""

    name: str
    source: str
    flops: int
    params: int
    acts: int

    @property
    def f(self) -> float:
        return self.flops / 1e9

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def acts_m(self) -> float:
        return self.acts / 1e6


@dataclass(frozen=True)
class Trend:
    """acts = acts_c * sqrt(f) and params = params_a + params_b * f (f in GF, results in M)."""

    acts_c: float
    params_a: float
    params_b: float

    def acts(self, f: float) -> float:
        return self.acts_c * math.sqrt(f)

    def params(self, f: float) -> float:
        return self.params_a + self.params_b * f

    def describe(self) -> Dict[str, str]:
        return {"acts": f"{self.acts_c:.2f}*sqrt(f)",
                "params": f"{self.params_a:.2f} + {self.params_b:.2f}*f"}


PAPER = Trend(acts_c=6.5, params_a=3.0, params_b=5.5)


def fit(samples: Sequence[TrendPoint]) -> Trend:
    """Least squares: c minimises sum (acts - c*sqrt(f))^2; (a, b) the ordinary line fit."""
    fs = [s.f for s in samples]
    if len(set(fs)) < 2:
        raise SpecError("", "SPEC", "trends need at least two specs with different flops")
    acts_c = sum(s.acts_m * math.sqrt(s.f) for s in samples) / sum(fs)
    n, mean_f = len(fs), sum(fs) / len(fs)
    mean_p = sum(s.params_m for s in samples) / n
    params_b = (sum((s.f - mean_f) * (s.params_m - mean_p) for s in samples)
                / sum((f - mean_f) ** 2 for f in fs))
    return Trend(acts_c, mean_p - params_b * mean_f, params_b)


def mean_relative_error(trend: Trend, samples: Sequence[TrendPoint], quantity: str
                        ) -> Optional[float]:
    """Mean |predicted - counted| / counted of one quantity ("acts" or "params") over the
    specs whose count is not 0 (a relative error of a zero count is undefined); None if none."""
    predict = getattr(trend, quantity)
    counted = [(s.f, getattr(s, f"{quantity}_m")) for s in samples]
    counted = [(f, value) for f, value in counted if value]
    if not counted:
        return None
    return sum(abs(predict(f) - value) / value for f, value in counted) / len(counted)


def plot(samples: Sequence[TrendPoint], fitted: Trend, path: str) -> None:
    """Counts, the fitted trends and the paper's, side by side, written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fs = sorted(s.f for s in samples)
    grid = [fs[0] + (fs[-1] - fs[0]) * i / 200 for i in range(201)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, quantity in zip(axes, ("acts", "params")):
        ax.scatter([s.f for s in samples], [getattr(s, f"{quantity}_m") for s in samples],
                   s=14, color="black", label="counted", zorder=3)
        for trend, style, who in ((fitted, "-", "fit"), (PAPER, "--", "paper")):
            ax.plot(grid, [getattr(trend, quantity)(f) for f in grid], style,
                    label=f"{who}: {trend.describe()[quantity]}")
        ax.set_xlabel("flops (GF)")
        ax.set_ylabel(f"{quantity} (M)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    from ..figures import write_figure

    try:
        write_figure(fig, path, dpi=120)
    finally:
        plt.close(fig)
