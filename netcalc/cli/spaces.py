"""``netcalc space | sample | fit``: design-space sizes, sampling in a regime, quantized-linear fits.

numpy, tabulate and matplotlib are imported inside the commands (netcalc.spaces pulls numpy), so
the counting commands start without them.
"""
from __future__ import annotations

import contextlib
import json
import sys
from typing import Any, Callable, Iterator, Optional, Sequence, TextIO

import click

from ..errors import SpecError, safe_text
from ..rules import CONVENTIONS
from . import echo, main
from .outputs import output_path, plot_path, wrote

STEP_OPTIONS = ("depth", "w0", "wa", "wm")


# -- netcalc space ------------------------------------------------------------------------------
@main.command(name="space")
@click.argument("space", required=False, metavar="NAME|FILE")
@click.option("--all", "show_all", is_flag=True,
              help="The Table 1 chain AnyNetX_A ... E, RegNet: printed vs exact sizes.")
@click.option("--compatible-only", is_flag=True,
              help="Count only (w, b, g) with g dividing w*b (pycls leaves them unadjusted).")
@click.option("--distinct", is_flag=True,
              help="RegNet grids: count distinct networks (different parameters, same stages).")
@click.option("--depth-step", type=int, default=None, help="--distinct: depth grid step.")
@click.option("--w0-step", type=int, default=None, help="--distinct: w0 grid step.")
@click.option("--wa-step", type=float, default=None, help="--distinct: wa grid step.")
@click.option("--wm-step", type=float, default=None, help="--distinct: wm grid step.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def space_command(space: Optional[str], show_all: bool, compatible_only: bool, distinct: bool,
                  depth_step: Optional[int], w0_step: Optional[int], wa_step: Optional[float],
                  wm_step: Optional[float], fmt: str) -> None:
    """Exact size of a design space (a shipped NAME or a space FILE), never by enumeration.

    AnyNet-kind spaces are counted by dynamic programming over the stages; RegNet-kind spaces
    report their grid size and, with --distinct, how many distinct networks the grid holds.

    \b
    Examples:
      netcalc space anynetx_a
      netcalc space anynetx_e --compatible-only --format json
      netcalc space --all
      netcalc space regnet --distinct --wa-step 8 --wm-step 0.05
      netcalc space my_space.yaml
    """
    from ..spaces import load_space

    steps = dict(zip(STEP_OPTIONS, (depth_step, w0_step, wa_step, wm_step)))
    if show_all:
        if space is not None:
            raise SpecError("", "--all", "takes no NAME|FILE (it prints the whole Table 1 chain)")
        _echo_table1(fmt, distinct)
        return
    if space is None:
        raise SpecError("", "NAME|FILE", "give a space name or file, or --all")
    loaded = load_space(space)
    if any(v is not None for v in steps.values()) and not distinct:
        raise SpecError("", "--*-step", "grid steps apply to --distinct")
    _echo_space(loaded, compatible_only, distinct, steps, fmt)


def _echo_space(space: Any, compatible_only: bool, distinct: bool, steps: dict, fmt: str) -> None:
    from ..spaces.sizes import distinct_networks, size_report, with_steps

    report = size_report(space, compatible_only)
    data = report.to_dict()
    data["reading"] = ("grid points" if space.kind == "regnet" else
                       "compatible only" if compatible_only else "all (w, b, g) combinations")
    counted = None
    if distinct:
        grid = with_steps(space, steps)
        counted = distinct_networks(grid, progress=True)
        data["distinct"] = counted.to_dict()
    if fmt == "json":
        echo(json.dumps(data))
        return
    lines = [f"{safe_text(space.name)}  ({safe_text(shown_source(space.source))}; "
             f"{space.kind} space)",
             f"size ({data['reading']}): {report.size:,}  (~{report.size:.4g})"]
    if report.compatible_size is not None and not compatible_only:
        lines.append(f"compatible only: {report.compatible_size:,}  "
                     f"(~{report.compatible_size:.4g})")
    if report.formula_value is not None:
        lines.append(f"paper's formula: {float(report.formula_value):.6g}")
    if counted is not None:
        lines.append(f"distinct (d, w0, wa, wm) networks: {counted.distinct:,} of "
                     f"{counted.points:,} grid points; with b and g: "
                     f"{counted.distinct * counted.bg:,} of {counted.points * counted.bg:,}")
    lines += [f"note: {n}" for n in report.notes]
    echo("\n".join(lines))


def shown_source(source: str) -> str:
    """Shipped spaces by name (their installed path means little to a reader)."""
    import os

    from ..spaces.loading import BUILTIN_DIR

    if os.path.dirname(os.path.abspath(source)) == BUILTIN_DIR:
        return f"shipped space {os.path.splitext(os.path.basename(source))[0]}"
    return source


def _echo_table1(fmt: str, distinct: bool) -> None:
    from tabulate import tabulate

    from ..spaces.sizes import table1

    lines = table1(distinct=distinct)
    if fmt == "json":
        echo("\n".join(json.dumps(line.to_dict()) for line in lines))
        return
    body = [[line.name, line.restriction, line.printed, f"{line.figure:.2g}", f"{line.exact:,}",
             f"{line.exact / line.figure:.3f}",
             f"{line.compatible:,}" if line.compatible is not None else "-", f"[{i}]"]
            for i, line in enumerate(lines, start=1)]
    table = tabulate(body, headers=["space", "restriction added", "printed", "printed size",
                                    "exact size", "exact/printed", "compatible only", "note"],
                     colalign=("left", "left", "left", "right", "right", "right", "right",
                               "left"))
    notes = [f"[{i}] {line.note}" for i, line in enumerate(lines, start=1)]
    notes.append("compatible only: (w, b, g) with g dividing w*b, which pycls's "
                 "adjust_block_compatibility leaves as is; the paper counts every combination.")
    echo(table + "\n\n" + "\n".join(notes))


# -- netcalc sample -----------------------------------------------------------------------------
@main.command(name="sample")
@click.argument("space", metavar="SPACE")
@click.option("--n", "n", type=click.IntRange(1, 1_000_000), required=True,
              help="Number of models to keep.")
@click.option("--flops", default=None, metavar="LO:HI", help="Flops regime, e.g. 360M:400M.")
@click.option("--params", default=None, metavar="LO:HI", help="Params regime, e.g. :5M.")
@click.option("--acts", default=None, metavar="LO:HI", help="Activations regime.")
@click.option("--seed", type=click.IntRange(0, 2 ** 128 - 1), default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the JSON Lines here instead of stdout.")
@click.option("--stats", is_flag=True,
              help="Quantiles and the in-regime fraction with a bootstrap 95% CI.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="EDFs of flops, params and acts (needs the plot extra).")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
              show_default=True, help="Counting convention of the regime and the output.")
@click.option("--compatible-only", is_flag=True,
              help="Draw only (w, b, g) with g dividing w*b (no pycls adjustment needed).")
@click.option("--max-candidates", type=click.IntRange(1, 10 ** 10), default=None,
              help="Give up after this many draws (default 20M anynet, 100k regnet).")
@click.option("--verify", type=click.IntRange(0, 10_000), default=1, show_default=True,
              help="Re-count this many kept models with netcalc.count and fail on a difference.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Format of --stats.")
def sample_command(space: str, n: int, flops: Optional[str], params: Optional[str],
                   acts: Optional[str], seed: int, out: Optional[str], stats: bool,
                   plot: Optional[str], convention: str, compatible_only: bool,
                   max_candidates: Optional[int], verify: int, fmt: str) -> None:
    """Draw N models of SPACE inside a complexity regime; print one JSON object per model.

    Members are drawn uniformly (AnyNet-kind spaces) or from the space's parameter
    distributions (RegNet-kind), counted exactly, and kept when inside every bound (inclusive)
    and the space's caps. Each line: {"spec": ..., "flops": ..., "params": ..., "acts": ...};
    the spec, saved as .json, is what `netcalc count` counts to the same numbers.
    With --stats the summary goes to stdout when --out is given, else to stderr.

    \b
    Examples:
      netcalc sample anynetx_a --n 500 --flops 360M:400M --seed 1 --out a.jsonl --stats
      netcalc sample regnetx --n 100 --flops 360M:400M --stats --plot edf.png
      netcalc sample anynetx_e --n 20 --flops 360M:400M --params :4M --compatible-only
    """
    from ..quantity import parse_range
    from ..spaces import Regime, load_space
    from ..spaces import sample as draw

    plot = plot_path(plot) if plot else None
    out = output_path(out, "--out") if out else None
    loaded = load_space(space)
    none = (None, None)
    regime = Regime.of(loaded,
                       parse_range(flops, "--flops") if flops else none,
                       parse_range(params, "--params") if params else none,
                       parse_range(acts, "--acts") if acts else none)
    with _line_sink(out) as sink:
        result = draw(loaded, n, regime, seed=seed, convention=convention,
                      compatible_only=compatible_only, max_candidates=max_candidates,
                      verify=verify, progress=True, sink=sink)
    if out:
        wrote(out, f"{result.kept} models")
    if any(cap.relative for cap in loaded.caps) and regime_upper(flops) is None:
        echo(f"note: {loaded.name}'s caps relative to the flops cap F are not applied "
             "without an upper end of --flops", err=True)
    if stats:
        _echo_stats(result, fmt, sys.stdout if out else sys.stderr)
    if plot:
        from ..spaces.plots import plot_sample_edfs

        plot_sample_edfs(result, plot)
        wrote(plot)


def regime_upper(text: Optional[str]) -> Optional[int]:
    from ..quantity import parse_range

    return parse_range(text, "--flops")[1] if text else None


@contextlib.contextmanager
def _line_sink(out: Optional[str]) -> Iterator[Callable[[dict], None]]:
    """Write each record as one JSON line the moment it is kept: memory stays flat for any --n.
    (Written in place, never renamed over: --out may be a device or a pipe.)"""
    if out is None:
        yield lambda record: sys.stdout.write(json.dumps(record) + "\n")
        return
    try:
        with open(out, "w") as handle:
            yield lambda record: handle.write(json.dumps(record) + "\n")
    except OSError as exc:
        raise SpecError(out, "--out", f"cannot write: {exc.strerror or exc}") from None


def _echo_stats(result: Any, fmt: str, stream: TextIO) -> None:
    from ..spaces.stats import render_summary, summary

    stats = summary(result)
    text = json.dumps(stats) if fmt == "json" else render_summary(stats)
    echo(text, file=stream)


# -- netcalc fit --------------------------------------------------------------------------------
@main.command(name="fit")
@click.argument("widths", nargs=-1, type=click.IntRange(1, 10 ** 6), metavar="W1 W2 ...")
@click.option("--spec", "spec", default=None, metavar="SPEC",
              help="Take the per-block widths of an anynet or regnet spec.")
@click.option("--q", type=click.IntRange(1, 1024), default=None,
              help="Width quantum (default 8, or the spec's).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Widths per block with the fitted rule (needs the plot extra).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def fit_command(widths: Sequence[int], spec: Optional[str], q: Optional[int],
                plot: Optional[str], fmt: str) -> None:
    """Quantized-linear fit (w0, wa, wm, e_fit) of per-block widths, as in the RegNet paper.

    e_fit is the mean |ln(fitted / observed)| over blocks; 0 means the rule regenerates every
    width exactly.

    \b
    Examples:
      netcalc fit 24 56 56 152 152 152 152 368 368 368 368 368 368 368
      netcalc fit --spec regnetx_400mf --plot fit.png
      netcalc fit --spec resnet50 --format json
    """
    from ..spaces.fit import fit_widths, spec_widths

    if bool(widths) == bool(spec):
        problem = "not both" if widths else "one of them is needed"
        raise SpecError("", "W1 W2 ... | --spec", f"give per-block widths or --spec, {problem}")
    plot = plot_path(plot) if plot else None
    source, rule = "the widths given", None
    if spec:
        block_widths, spec_q, source, rule = spec_widths(spec)
        q = q or spec_q
        widths = block_widths
    result = fit_widths(list(widths), q or 8, rule)
    if fmt == "json":
        echo(json.dumps({**result.to_dict(), "spec": spec, "widths_are": source}))
    else:
        echo(f"w0 = {result.w0}, wa = {result.wa:g}, wm = {result.wm:g}, "
                   f"d = {result.depth}, e_fit = {result.e_fit:.6g} ({result.method} fit; "
                   f"widths: {source})\n"
                   f"observed: {' '.join(map(str, result.widths))}\n"
                   f"fitted:   {' '.join(map(str, result.fitted))}"
                   + (f"\nnote: {result.searched}" if result.searched else ""))
    if plot:
        from ..spaces.plots import plot_fit

        plot_fit(result, plot, title=spec or "")
        wrote(plot)
