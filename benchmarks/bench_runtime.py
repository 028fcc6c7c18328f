"""Does complexity predict speed? The RegNetX and RegNetY zoo (200MF-4.0GF), timed (issue 13).

Times the forward pass of the 14 zoo models at one batch size on the device it finds, and prints a
table of time, flops and acts per model with the R^2 of the fits of time on flops, on acts, on both,
and on flops + sqrt(flops) (the RegNet paper's form, Sec. 5.2), over all 14 models and per family.

Usage: python benchmarks/bench_runtime.py [--batch 64] [--device auto|cpu|cuda] [--repeat 5]
                                          [--warmup 2] [--threads T] [--clock wall|process]
                                          [--out FILE]
(needs torch; run by hand, never by the test suite)
"""
import argparse
import os
import sys

from tabulate import tabulate

from netcalc.cli import with_progress
from netcalc.cli.bench import FORM_NAMES, fit_results, heading, render_fits
from netcalc.torch import bench as runtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ("200mf", "400mf", "600mf", "800mf", "1.6gf", "3.2gf", "4.0gf")
FAMILIES = ("regnetx", "regnety")


def zoo_specs():
    return [os.path.join(ROOT, "specs", f"{family}_{size}.yaml")
            for family in FAMILIES for size in SIZES]


def summary(results):
    """Per model: time, images/s, exact flops and acts (pycls)."""
    body = [[r.report.name, f"{r.timing.median:.1f}", f"{r.timing.quartiles[0]:.1f}-"
             f"{r.timing.quartiles[1]:.1f}", f"{r.images_per_s:.1f}", f"{r.report.flops:,}",
             f"{r.report.acts:,}", f"{r.report.params:,}"] for r in results]
    return tabulate(body, headers=["model", "median ms", "IQR ms", "img/s", "flops", "acts",
                                   "params"], disable_numparse=True,
                    colalign=("left",) + ("right",) * 6)


def r2_table(groups):
    """R^2 (adjusted R^2) of each fit, for each group of models."""
    body = []
    for label, results in groups:
        fits = fit_results(results)
        body.append([label, len(results)] + [f"{fits[f].r2:.4f} ({fits[f].adj_r2:.4f})"
                                             for f in FORM_NAMES])
    return tabulate(body, headers=["models", "n", *(f"R^2 {f} (adj)" for f in FORM_NAMES)],
                    disable_numparse=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--clock", choices=["wall", "process"], default="wall",
                        help="CPU timer: wall time or the process's CPU time (shared machines)")
    parser.add_argument("--out", help="also write the report to this file")
    args = parser.parse_args()

    device, threads = runtime.configure(args.device, args.threads, args.clock)
    settings = runtime.Settings(device, args.batch, "float32", args.repeat, args.warmup, threads,
                                args.clock)
    results = runtime.bench(zoo_specs(), settings,
                            lambda planned: with_progress(planned, "timing", min_items=1))
    env = runtime.environment(settings)
    groups = [("all", results)] + [
        (family, [r for r in results if os.path.basename(r.report.spec.source).startswith(family)])
        for family in FAMILIES]
    text = "\n\n".join([heading(env), summary(results), r2_table(groups),
                        render_fits(results, fit_results(results))])
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
