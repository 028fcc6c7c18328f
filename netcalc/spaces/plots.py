"""Plots (the ``plot`` extra): EDFs of a sample, per-block widths with the fitted rule.

matplotlib is imported here only, when a plot is asked for, with the non-interactive Agg backend.
"""
from __future__ import annotations

from typing import Any

from ..report import QUANTITIES

UNITS = {"flops": (1e6, "MF"), "params": (1e6, "M"), "acts": (1e6, "M")}


def _pyplot(option: str) -> Any:
    from ..extras import require

    require("plot", option)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str, option: str) -> None:
    from ..figures import write_figure

    write_figure(fig, path, option, dpi=120, bbox_inches="tight")


def plot_sample_edfs(sample: Any, path: str, option: str = "--plot") -> None:
    """One panel per quantity: the empirical distribution function over the sample."""
    from .stats import edf

    plt = _pyplot(option)
    totals = sample.totals
    fig, axes = plt.subplots(1, len(QUANTITIES), figsize=(4 * len(QUANTITIES), 3.4))
    for ax, (i, quantity) in zip(axes, enumerate(QUANTITIES)):
        scale, unit = UNITS[quantity]
        x, f = edf(totals[i])
        ax.step(x / scale, f, where="post")
        ax.set_xlabel(f"{quantity} ({unit})")
        ax.set_ylabel("cumulative prob.")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{sample.space.name}: {sample.kept} models, {sample.regime.describe()}")
    _save(fig, path, option)
    plt.close(fig)


def plot_fit(fit: Any, path: str, title: str = "", option: str = "--plot") -> None:
    """Observed per-block widths, the quantized linear fit, and its line u_j = w0 + wa*j."""
    plt = _pyplot(option)
    blocks = list(range(fit.depth))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(blocks, fit.widths, "o", label="observed w_j")
    ax.step(blocks, fit.fitted, where="mid", label="quantized linear fit")
    ax.plot(blocks, [fit.w0 + fit.wa * j for j in blocks], "--",
            label=f"u_j = {fit.w0} + {fit.wa:g} j  (wm = {fit.wm:g})")
    ax.set_yscale("log")
    ax.set_xlabel("block j")
    ax.set_ylabel("width")
    ax.set_title(f"{title} e_fit = {fit.e_fit:.4g}".strip())
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path, option)
    plt.close(fig)
