"""Benchmark of the analytic path (issue 2): run by hand, ratios measured in one run.

(a) ``netcalc count specs/regnetx_800mf.yaml`` as a whole process vs ``python -c "import torch,
    fvcore.nn"`` -- the floor of any trace-based count. Target: netcalc at least 15x faster.
    The package's bytecode is compiled first (``python -m compileall``), as ``pip install .``
    does: this environment may set PYTHONDONTWRITEBYTECODE, and without .pyc files every
    process would recompile netcalc. The output says which command and bytecode it measured.
(b) In process, against a minimal hand-written pycls-style counter of the same network written
    below, all ratios from one run. What each row clears before every call:
    - ``count(spec), caches warm``: nothing (repeated counting, the documented fast path).
      Target: at most 3x.
    - ``count(fresh dict), expansion cache cleared``: a new dict each call and the expansion
      cache (graphs, and the counts memoised with each graph) cleared: what a user's own search
      loop pays (parse, validate, expand, count). Target: at most 8x.
    - ``count(spec), expansion cache cleared``: the same for a spec from ``load_spec``
      (expansion + counting). Target: at most 5x.
    These two keep the block templates (``GraphBuilder.cached_block``) and the costs memoised
    for template nodes, which a search loop over many networks of one family keeps too (blocks
    repeat across them). For information the last two rows clear every cache
    (``netcalc.caches.clear``: expansions, block templates, all memoised costs).

Usage: python benchmarks/bench_count.py [--runs N] [--netcalc PATH]   (needs torch and fvcore)
"""
import argparse
import os
import subprocess
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
    from netcalc import caches

    spec = netcalc.load_spec(SPEC)
    report = netcalc.count(spec)
    hand = hand_count_regnetx_800mf()
    assert (report.flops, report.params, report.acts) == hand, (report, hand)

    command = [args.netcalc] if args.netcalc else netcalc_command()
    package = os.path.dirname(os.path.abspath(netcalc.__file__))
    if not args.netcalc:        # the .pyc files a plain install writes (see the docstring)
        subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    print(f"(a) timing {' '.join(command)} count {os.path.relpath(SPEC, ROOT)}; "
          + ("its own install's bytecode" if args.netcalc else f"bytecode of {package} compiled"))
    cli = wall(command + ["count", SPEC], args.runs)
    floor = wall([sys.executable, "-c", "import torch, fvcore.nn"], args.runs)
    print(f"    netcalc count (process):  {cli * 1e3:7.1f} ms")
    print(f"    import torch, fvcore.nn:  {floor * 1e3:7.1f} ms   -> netcalc is {floor / cli:.1f}x "
          f"faster (target >= 15x)")

    import yaml

    raw = yaml.safe_load(open(SPEC))
    number = 500

    def uncached():
        caches.expansions.clear()
        return netcalc.count(spec)

    def fresh_dict():
        caches.expansions.clear()
        return netcalc.count(dict(raw))

    def cold(fn):
        def run():
            caches.clear()
            return fn()
        return run

    best = lambda fn: min(timeit.repeat(fn, number=number, repeat=7)) / number  # noqa: E731
    timings = [("hand-written counter", hand_count_regnetx_800mf, None),
               ("count(spec), caches warm", lambda: netcalc.count(spec), 3),
               ("count(fresh dict), expansion cache cleared", fresh_dict, 8),
               ("count(spec), expansion cache cleared", uncached, 5),
               ("  fresh dict, every cache cleared", cold(lambda: netcalc.count(dict(raw))), None),
               ("  spec, every cache cleared", cold(lambda: netcalc.count(spec)), None)]
    t_hand = best(hand_count_regnetx_800mf)
    print(f"(b) {'hand-written counter':44s} {t_hand * 1e6:8.1f} us")
    for label, fn, target in timings[1:]:
        t = best(fn)
        goal = f"(target <= {target}x)" if target else ""
        print(f"    {label:44s} {t * 1e6:8.1f} us   -> {t / t_hand:5.2f}x {goal}")


if __name__ == "__main__":
    main()
