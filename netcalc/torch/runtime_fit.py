"""Does complexity predict speed? Least-squares fits of measured time on exact counts.

Four linear models of the median forward time ``t`` of each network, each with an intercept ``c``
(fixed per-call overhead), solved with ``numpy.linalg.lstsq``:

    flops  t = a*flops + c
    acts   t = a*acts + c
    both   t = a*flops + b*acts + c
    sqrt   t = a*flops + b*sqrt(flops) + c      (the RegNet paper's form, Sec. 5.2)

Each fit reports its coefficients, R^2 = 1 - SS_res / SS_tot, the adjusted R^2
1 - (1 - R^2) (n - 1) / (n - p) that charges for the p fitted coefficients (undefined when n = p:
a three-coefficient model through three points is exact whatever the data), and the residual
(measured - fitted) of every network. The arithmetic uses no torch (it sits beside
:mod:`netcalc.torch.bench`, which times the networks) and is tested on synthetic data.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence

# form -> (formula, names of the non-intercept coefficients, their columns from (flops, acts))
Columns = Callable[[float, float], List[float]]
FORMS: Dict[str, tuple] = {
    "flops": ("t = a*flops + c", ("a",), lambda f, acts: [f]),
    "acts": ("t = a*acts + c", ("a",), lambda f, acts: [acts]),
    "both": ("t = a*flops + b*acts + c", ("a", "b"), lambda f, acts: [f, acts]),
    "sqrt": ("t = a*flops + b*sqrt(flops) + c", ("a", "b"), lambda f, acts: [f, math.sqrt(f)]),
}
MIN_POINTS = 3


class Fit(NamedTuple):
    form: str
    formula: str
    coefficients: Dict[str, float]     # a, (b), c
    r2: Optional[float]                # None when every time is the same (SS_tot = 0)
    adj_r2: Optional[float]            # None when there are no spare degrees of freedom
    residuals: List[float]             # measured - fitted, in the order of the inputs

    def to_dict(self) -> Dict[str, Any]:
        return {"formula": self.formula, **self.coefficients, "r2": self.r2,
                "adj_r2": self.adj_r2, "residuals": self.residuals}


def fit_runtime(flops: Sequence[float], acts: Sequence[float],
                times: Sequence[float]) -> Dict[str, Fit]:
    """The four fits of ``times`` on the counts (one entry per network; at least three)."""
    if not len(flops) == len(acts) == len(times) >= MIN_POINTS:
        raise ValueError(f"fits need {MIN_POINTS} or more networks with flops, acts and a time")
    return {form: _fit(form, flops, acts, times) for form in FORMS}


def _fit(form: str, flops: Sequence[float], acts: Sequence[float],
         times: Sequence[float]) -> Fit:
    import numpy as np

    formula, names, columns = FORMS[form]
    design = np.array([columns(float(f), float(a)) + [1.0] for f, a in zip(flops, acts)])
    # Columns differ by ~1e9 (flops vs the intercept): scale each to max |x| = 1 so lstsq's
    # rank cut-off and rounding treat them alike, then undo the scale on the coefficients.
    scale = np.abs(design).max(axis=0)
    scale[scale == 0] = 1.0
    y = np.asarray(times, dtype=float)
    solution = np.linalg.lstsq(design / scale, y, rcond=None)[0] / scale
    fitted = design @ solution
    residuals = y - fitted
    r2 = _r_squared(y, residuals)
    n, p = design.shape
    adj = None if r2 is None or n <= p else 1.0 - (1.0 - r2) * (n - 1) / (n - p)
    coefficients = dict(zip((*names, "c"), (float(v) for v in solution)))
    return Fit(form, formula, coefficients, r2, adj, [float(r) for r in residuals])


def _r_squared(y: Any, residuals: Any) -> Optional[float]:
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0.0:
        return None
    return 1.0 - float((residuals ** 2).sum()) / total


def plot_runtime(names: Sequence[str], flops: Sequence[int], acts: Sequence[int],
                 times_ms: Sequence[float], fits: Optional[Dict[str, Fit]], path: str,
                 title: str) -> None:
    """Median time against flops and against acts, one labelled point per network, with the
    single-variable fit drawn as a line where there is one (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for axis, xs, form, label in ((axes[0], flops, "flops", "flops"),
                                  (axes[1], acts, "acts", "activations")):
        axis.scatter(xs, times_ms)
        for name, x, t in zip(names, xs, times_ms):
            axis.annotate(name, (x, t), fontsize=7, xytext=(3, 3), textcoords="offset points")
        if fits:
            fit = fits[form]
            ends = [min(xs), max(xs)]
            line = [fit.coefficients["a"] * x + fit.coefficients["c"] for x in ends]
            r2 = "n/a" if fit.r2 is None else f"{fit.r2:.3f}"
            axis.plot(ends, line, "--", label=f"{fit.formula}  (R^2 {r2})")
            axis.legend(fontsize=8)
        axis.set_xlabel(f"{label} per image (exact count)")
        axis.set_ylabel("median forward time (ms per batch)")
        axis.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    from ..figures import write_figure

    write_figure(figure, path, dpi=120)     # a failed write is an error, never a silent success
    plt.close(figure)
