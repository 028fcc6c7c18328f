"""Benchmark of closed forms (issue 6): run by hand; every number comes from the same run.

(a) In process: the closed form of specs/regnetx_800mf.yaml (expansion at the symbol r,
    canonical sides, counting, totals and stage breakdown expanded, polynomial forms), with every
    cache cleared before each call (netcalc's and sympy's), against ``netcalc.count`` of the same spec with its caches
    cleared (the baseline). Target: the closed form in under 1 s. The first call in the process
    is reported apart: it also pays for sympy's own first-use caches.
(b) As processes: ``netcalc count SPEC --symbolic`` against ``netcalc count SPEC`` (the
    difference is mostly importing sympy).

Usage: python benchmarks/bench_symbolic.py [--runs N]
"""
import argparse
import os
import statistics
import sys
import time

from timing import wall

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "specs", "regnetx_800mf.yaml")


def clear_caches():
    """Every netcalc cache (closed forms included), and sympy's own expression cache."""
    from sympy.core.cache import clear_cache

    from netcalc import caches

    clear_cache()
    caches.clear()


def closed_form_of(spec):
    """Everything `--symbolic --by stage` computes before rendering."""
    import netcalc.symbolic as symbolic

    form = symbolic.count_symbolic(spec)
    totals = [form.total(q) for q in ("flops", "params", "acts")]
    rows = form.rows("stage")
    return form, [form.polynomial(t) for t in totals], rows


def timed(fn, runs):
    times = []
    for _ in range(runs):
        clear_caches()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    start = time.perf_counter()
    import sympy  # noqa: F401
    t_import = time.perf_counter() - start

    import netcalc

    spec = netcalc.load_spec(SPEC)
    clear_caches()
    start = time.perf_counter()
    form, polys, _ = closed_form_of(spec)
    t_first = time.perf_counter() - start
    assert form.evaluate(form.total("flops"), 224) == netcalc.count(spec).flops == 799_700_712

    t_closed = timed(lambda: closed_form_of(spec), args.runs)
    t_count = timed(lambda: netcalc.count(spec), args.runs)
    print(f"RegNetX-800MF closed form: flops = {polys[0]} when 32 | r")
    print(f"(a) import sympy (once per process):        {t_import * 1e3:8.1f} ms")
    print(f"    closed form, first call in the process: {t_first * 1e3:8.1f} ms   (target < 1000)")
    print(f"    closed form, caches cleared (median):   {t_closed * 1e3:8.1f} ms   (target < 1000)")
    print(f"    netcalc.count, caches cleared (median): {t_count * 1e3:8.1f} ms   -> closed form "
          f"costs {t_closed / t_count:.0f}x a concrete count")

    cli = [sys.executable, "-m", "netcalc", "count", SPEC]
    t_cli_sym = wall(cli + ["--symbolic"], max(3, args.runs // 4))
    t_cli = wall(cli, max(3, args.runs // 4))
    print(f"(b) netcalc count --symbolic (process):     {t_cli_sym * 1e3:8.1f} ms")
    print(f"    netcalc count (process):                {t_cli * 1e3:8.1f} ms   -> "
          f"{t_cli_sym / t_cli:.1f}x")


if __name__ == "__main__":
    main()
