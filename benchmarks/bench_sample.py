"""Benchmark of design-space sampling (issue 5): run by hand, both sides measured in one run.

Sample 500 AnyNetX_A models in the 360MF-400MF regime (pycls convention):

(a) ``netcalc.spaces.sample`` from a cold start: cost tables built from one-part graphs, then
    candidates drawn and counted in numpy batches. Target: under 1 s.
(b) The plain counting API in a per-model loop: the SAME candidate stream (same seed, same
    draws), each turned into its spec and counted with ``netcalc.count``, until 500 are inside.
    At ~0.1% acceptance that is ~500,000 calls of ~1 ms, so by default the loop runs over the
    first --loop candidates and the per-candidate time is extrapolated to the number of draws
    (a) examined (counting time does not depend on the order); --full runs all of them.

The two sides are checked to agree on every candidate the loop counts.

Usage: python benchmarks/bench_sample.py [--n 500] [--seed 0] [--loop 3000] [--full] [--runs 3]
"""
import argparse
import statistics
import time

import numpy as np

import netcalc
from netcalc.spaces import Regime, load_space, sample
from netcalc.spaces.candidates import ANYNET_BATCH, AnyNetCandidates

REGIME = (360_000_000, 400_000_000)


def vectorised(n, seed):
    space = load_space("anynetx_a")
    start = time.perf_counter()
    result = sample(space, n, Regime.of(space, flops=REGIME), seed=seed, verify=0)
    return time.perf_counter() - start, result


def plain_loop(n, seed, limit):
    """Count the same candidate stream with netcalc.count, one model at a time."""
    space = load_space("anynetx_a")
    candidates = AnyNetCandidates(space, "pycls", False)    # only to replay the same draws
    rng = np.random.default_rng(seed)
    kept = counted = 0
    elapsed = 0.0
    agree = True
    while kept < n and counted < limit:
        batch = candidates.draw(rng, ANYNET_BATCH)
        expected = candidates.quantity(batch, 0, np.arange(ANYNET_BATCH))
        specs = [candidates.record(batch, k)["spec"] for k in range(ANYNET_BATCH)]
        start = time.perf_counter()
        flops = []
        for spec in specs[: limit - counted]:
            report = netcalc.count(spec)
            flops.append(report.flops)
            if REGIME[0] <= report.flops <= REGIME[1]:
                kept += 1
                if kept == n:
                    break
        elapsed += time.perf_counter() - start
        agree &= flops == expected[: len(flops)].tolist()
        counted += len(flops)
    return elapsed, counted, kept, agree


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loop", type=int, default=3000, help="candidates for the plain loop")
    parser.add_argument("--full", action="store_true", help="run the plain loop to the end")
    parser.add_argument("--runs", type=int, default=3, help="repeats of (a); median reported")
    args = parser.parse_args()

    times, result = [], None
    for _ in range(args.runs):
        seconds, result = vectorised(args.n, args.seed)
        times.append(seconds)
    t_vec = statistics.median(times)
    draws = result.candidates
    print(f"(a) netcalc.spaces.sample: {len(result.records)} AnyNetX_A models in 360-400MF "
          f"from {draws:,} draws: first run (cold process) {times[0]:.3f} s, median "
          f"{t_vec:.3f} s over {args.runs} runs ({', '.join(f'{t:.3f}' for t in times)}); "
          f"{draws / t_vec:,.0f} candidates/s; target < 1 s: "
          f"{'met' if max(times) < 1 else 'MISSED'}")

    limit = draws if args.full else min(args.loop, draws)
    t_loop, counted, kept, agree = plain_loop(args.n, args.seed, limit)
    per_model = t_loop / counted
    total = per_model * draws
    how = "measured" if counted >= draws else f"extrapolated from {counted:,} candidates"
    print(f"(b) netcalc.count loop over the same draws: {per_model * 1e3:.3f} ms per model; "
          f"{total:.1f} s for {draws:,} draws ({how}); flops agree with (a) on all "
          f"{counted:,}: {agree}")
    print(f"ratio (b)/(a): {total / t_vec:,.0f}x")


if __name__ == "__main__":
    main()
