"""Benchmark of the analytic path (issue 2): run by hand, ratios measured in one run.

(a) ``netcalc count specs/regnetx_800mf.yaml`` as a whole process vs ``python -c "import torch,
    fvcore.nn"`` -- the floor of any trace-based count. Target: netcalc at least 15x faster.
(b) In process, ``netcalc.count(spec)`` on a spec from ``netcalc.load_spec`` vs a minimal
    hand-written pycls-style counter of the same network written below. Target: at most 3x slower.
    Reported twice: with netcalc's per-spec graph cache warm (repeated counting, the documented fast
    path) and with the cache cleared before every call (expansion + counting each time).

Usage: python benchmarks/bench_count.py [--runs N] [--netcalc PATH]   (needs torch and fvcore)
"""
import argparse
import os
import sys
import timeit

from timing import netcalc_command, wall

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "specs", "regnetx_800mf.yaml")






# -- (b) baseline: a minimal hand-written counter of RegNetX-800MF (pycls convention) ----------
def hand_count_regnetx_800mf():
    """pycls-style complexity of RegNetX-800MF, hard-wired: stages (1,64) (3,128) (7,288) (5,672),
    group width 16, bottleneck 1, simple stem 32, 224 px, 1000 classes."""
    cx = {"h": 224, "w": 224, "flops": 0, "params": 0, "acts": 0}

    def conv(w_in, w_out, k, stride=1, groups=1):
        h = (cx["h"] + 2 * (k // 2) - k) // stride + 1
        w = (cx["w"] + 2 * (k // 2) - k) // stride + 1
        cx["flops"] += k * k * w_in * w_out * h * w // groups
        cx["params"] += k * k * w_in * w_out // groups
        cx["acts"] += w_out * h * w
        cx["h"], cx["w"] = h, w

    def bn(w_in):
        cx["params"] += 2 * w_in

    conv(3, 32, 3, 2)
    bn(32)
    w_in = 32
    for depth, width in ((1, 64), (3, 128), (7, 288), (5, 672)):
        for j in range(depth):
            stride = 2 if j == 0 else 1
            h, w = cx["h"], cx["w"]
            if stride != 1 or w_in != width:
                conv(w_in, width, 1, stride)
                bn(width)
                cx["h"], cx["w"] = h, w
            conv(w_in, width, 1)
            bn(width)
            conv(width, width, 3, stride, width // 16)
            bn(width)
            conv(width, width, 1)
            bn(width)
            w_in = width
    cx["flops"] += w_in * 1000 + 1000
    cx["params"] += w_in * 1000 + 1000
    cx["acts"] += 1000
    return cx["flops"], cx["params"], cx["acts"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--netcalc", default=None,
                        help="netcalc executable to time (default: the one beside this Python); "
                             "e.g. one from a plain, non-editable `pip install .`")
    args = parser.parse_args()

    import netcalc
    from netcalc.families import _expand_cached

    spec = netcalc.load_spec(SPEC)
    report = netcalc.count(spec)
    hand = hand_count_regnetx_800mf()
    assert (report.flops, report.params, report.acts) == hand, (report, hand)

    cli = wall(([args.netcalc] if args.netcalc else netcalc_command()) + ["count", SPEC], args.runs)
    floor = wall([sys.executable, "-c", "import torch, fvcore.nn"], args.runs)
    print(f"(a) netcalc count (process): {cli * 1e3:7.1f} ms")
    print(f"    import torch, fvcore.nn:  {floor * 1e3:7.1f} ms   -> netcalc is {floor / cli:.1f}x "
          f"faster (target >= 15x)")

    number = 2000

    def uncached():
        _expand_cached.cache_clear()
        return netcalc.count(spec)

    best = lambda fn: min(timeit.repeat(fn, number=number, repeat=5)) / number  # noqa: E731
    t_hand = best(hand_count_regnetx_800mf)
    t_warm = best(lambda: netcalc.count(spec))
    t_cold = best(uncached)
    print(f"(b) hand-written counter:        {t_hand * 1e6:7.1f} us")
    print(f"    netcalc.count(spec), cached:  {t_warm * 1e6:7.1f} us   -> {t_warm / t_hand:.2f}x "
          f"(target <= 3x)")
    print(f"    netcalc.count(spec), no cache:{t_cold * 1e6:7.1f} us   -> {t_cold / t_hand:.2f}x")


if __name__ == "__main__":
    main()
