"""``netcalc bench``: measured forward time and memory of the real modules, beside their exact counts,
and least-squares fits of time on flops and activations. torch is imported inside the command.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence

import click

from ..errors import SpecError
from ..extras import require
from ..report import human
from ..rules import CONVENTIONS
from ..spec import format_resolution, jsonable_resolution
from . import RESOLUTION, echo, main, with_progress
from .outputs import plot_path as checked_plot_path
from .outputs import wrote

FORM_NAMES = ("flops", "acts", "both", "sqrt")


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto",
              show_default=True, help="auto = cuda when torch sees a GPU, else cpu.")
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True,
              help="Images per forward pass.")
@click.option("--resolution", type=RESOLUTION, default=None,
              help="Input resolution N or HxW (default: each spec's own).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]),
              default="float32", show_default=True)
@click.option("--repeat", type=click.IntRange(1), default=10, show_default=True,
              help="Timed forward passes per spec.")
@click.option("--warmup", type=click.IntRange(0), default=3, show_default=True,
              help="Untimed forward passes before timing.")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="CPU intra-op threads (default: torch's, stated in the output).")
@click.option("--clock", type=click.Choice(["wall", "process"]), default="wall",
              show_default=True, help="CPU timer: wall time, or the process's CPU time "
                                      "(steadier on a shared machine; all threads summed).")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
              show_default=True, help="Convention of the flops, params and acts shown and fitted.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.png", help="Time vs flops and vs acts (needs the plot extra).")
def bench(specs: Sequence[str], device: str, batch: int, resolution: Any,
          dtype: str, repeat: int, warmup: int, threads: Optional[int], clock: str,
          convention: str, fmt: str, plot_path: Optional[str]) -> None:
    """Time each SPEC's real torch module and measure its memory, beside its exact counts.

    Median, min, max and quartiles of the forward time of one batch (eval, inference mode, after
    warm-up), images per second, the memory estimated from the node shapes and the measured peak.
    With 3 or more SPECs, least-squares fits of time on flops, on acts, on both, and on
    flops + sqrt(flops), with R^2 and per-spec residuals (docs/bench.md). A SPEC whose estimated
    memory exceeds the device's is refused before anything runs (exit 2).

    \b
    Examples:
      netcalc bench regnetx_200mf regnetx_400mf regnetx_800mf
      netcalc bench regnety_200mf regnety_400mf regnety_800mf --device cuda --batch 64 --format json
      netcalc bench tiny_cnn se_mobile_block --threads 1 --repeat 20 --plot runtime.png
    """
    require("torch", "bench")
    check_threads(threads)
    plot_path = checked_plot_path(plot_path) if plot_path else None
    from ..torch import bench as runtime

    device, threads = runtime.configure(device, threads, clock)
    settings = runtime.Settings(device, batch, dtype, repeat, warmup, threads, clock, convention,
                                resolution)
    results = runtime.bench(specs, settings, lambda planned: with_progress(
        planned, "benchmarking", min_items=1))
    fits = fit_results(results)
    echo(RENDERERS[fmt](results, fits, runtime.environment(settings)))  # names escaped
    if plot_path:
        _plot(results, fits, plot_path, runtime.environment(settings))


def check_threads(threads: Optional[int]) -> None:
    """At most one intra-op thread per CPU core: more only competes for the same cores (and
    thousands of threads exhaust memory before the first forward)."""
    cores = os.cpu_count() or 1
    if threads is not None and threads > cores:
        raise SpecError("", "--threads", f"{threads} threads is more than the {cores} CPU "
                                         "cores of this machine")


def fit_results(results: Sequence[Any]) -> Optional[Dict[str, Any]]:
    """The four fits of median time (ms) on the counts, when there are enough specs."""
    from ..torch.runtime_fit import MIN_POINTS, fit_runtime

    if len(results) < MIN_POINTS:
        return None
    return fit_runtime([r.report.flops for r in results], [r.report.acts for r in results],
                       [r.timing.median for r in results])


def _plot(results: Sequence[Any], fits: Optional[Dict[str, Any]], path: str,
          env: Dict[str, Any]) -> None:
    from ..torch.runtime_fit import plot_runtime

    plot_runtime([r.report.name for r in results], [r.report.flops for r in results],
                 [r.report.acts for r in results], [r.timing.median for r in results],
                 fits, path, heading(env))
    wrote(path)


# -- rows and renderings ----------------------------------------------------------------------------
def result_row(result: Any, index: int, fits: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Every measured and counted field of one spec (exact ints for counts and bytes)."""
    report, timing, estimate = result.report, result.timing, result.estimate
    q1, q3 = timing.quartiles
    row: Dict[str, Any] = {
        "name": report.name, "spec": report.spec.source,
        "resolution": jsonable_resolution(report.resolution),
        "flops": report.flops, "params": report.params, "acts": report.acts,
        "time_ms_median": timing.median, "time_ms_min": min(timing.times_ms),
        "time_ms_max": max(timing.times_ms), "time_ms_q1": q1, "time_ms_q3": q3,
        "images_per_s": result.images_per_s,
        "mem_params_bytes": estimate.params_bytes, "mem_input_bytes": estimate.input_bytes,
        "mem_outputs_bytes": estimate.outputs_bytes, "mem_estimate_bytes": estimate.total,
        "mem_peak_bytes": result.peak_bytes}
    for form in (FORM_NAMES if fits else ()):
        row[f"residual_ms_{form}"] = fits[form].residuals[index]
    return row


def _rows(results: Sequence[Any], fits: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [result_row(r, i, fits) for i, r in enumerate(results)]


def render_json(results: Sequence[Any], fits: Optional[Dict[str, Any]],
                env: Dict[str, Any]) -> str:
    rows = _rows(results, fits)
    for row, result in zip(rows, results):
        row["times_ms"] = result.timing.times_ms
    fit = {form: f.to_dict() for form, f in fits.items()} if fits else None
    return json.dumps({"environment": env, "results": rows, "fit": fit})


def render_csv(results: Sequence[Any], fits: Optional[Dict[str, Any]],
               env: Dict[str, Any]) -> str:
    import csv
    import io

    rows = _rows(results, fits)
    settings = ["device", "threads", "dtype", "batch", "convention"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(rows[0]) + settings)
    for row in rows:
        row["resolution"] = shown_resolution(row["resolution"])
        writer.writerow(list(row.values()) + [env[k] for k in settings])
    return buffer.getvalue().rstrip("\n")


def render_table(results: Sequence[Any], fits: Optional[Dict[str, Any]],
                 env: Dict[str, Any]) -> str:
    from tabulate import tabulate

    body = [[r["name"], shown_resolution(r["resolution"]), human(r["flops"]), human(r["params"]),
             human(r["acts"]), f"{r['time_ms_median']:.2f}",
             f"{r['time_ms_min']:.2f}-{r['time_ms_max']:.2f}",
             f"{r['time_ms_q1']:.2f}-{r['time_ms_q3']:.2f}", f"{r['images_per_s']:.1f}",
             mib(r["mem_params_bytes"]), mib(r["mem_outputs_bytes"]), mib(r["mem_estimate_bytes"]),
             mib(r["mem_peak_bytes"])] for r in _rows(results, fits)]
    headers = ["model", "res", "flops", "params", "acts", "median ms", "min-max ms", "IQR ms",
               "img/s", "params MiB", "outputs MiB", "estimate MiB", "peak MiB"]
    table = tabulate(body, headers=headers, disable_numparse=True,
                     colalign=("left",) + ("right",) * (len(headers) - 1))
    notes = (f"estimate = weights + input + every layer's output at batch {env['batch']}, all "
             f"held at once; peak = {env['peak_memory']}")
    parts = [heading(env), table, notes]
    if fits:
        parts.append(render_fits(results, fits))
    else:
        parts.append("fits of time on the counts need 3 or more specs")
    return "\n".join(parts)


def render_fits(results: Sequence[Any], fits: Dict[str, Any]) -> str:
    """The table footer: each fit's coefficients and R^2, then the residuals per spec."""
    from tabulate import tabulate

    body = [[form, f.formula, *(_coefficient(f.coefficients.get(k)) for k in "abc"),
             _ratio(f.r2), _ratio(f.adj_r2)] for form, f in fits.items()]
    fit_table = tabulate(body, headers=["fit", "model (t in ms)", "a", "b", "c", "R^2", "adj R^2"],
                         disable_numparse=True)
    residuals = tabulate([[r.report.name] + [f"{fits[form].residuals[i]:+.3f}"
                                             for form in FORM_NAMES]
                          for i, r in enumerate(results)],
                         headers=["residual ms (measured - fit)", *FORM_NAMES],
                         disable_numparse=True)
    return (f"\nfits of the median time on the counts per image ({len(results)} specs):\n"
            f"{fit_table}\n\n{residuals}")


def heading(env: Dict[str, Any]) -> str:
    threads = f", {env['threads']} threads" if env["threads"] else ""
    return (f"{env['device']} ({env['device_name']}{threads}), torch {env['torch']}, "
            f"{env['dtype']}, batch {env['batch']}, {env['warmup']} warm-up + {env['repeat']} "
            f"timed forwards per spec ({env['timer']}); counts: {env['convention']} convention")


def shown_resolution(resolution: Any) -> str:
    """``224`` or ``800x1333`` from a JSON resolution (an int or ``[h, w]``)."""
    return format_resolution(tuple(resolution) if isinstance(resolution, list) else resolution)


def mib(nbytes: Optional[int]) -> str:
    return "not measured" if nbytes is None else f"{nbytes / 2 ** 20:.1f}"


def _coefficient(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.4g}"


def _ratio(value: Optional[float]) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"


RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv}
