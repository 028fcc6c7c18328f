"""Benchmark of ``netcalc import`` over torchvision's classification models (issue 11): run by hand.

For each model: whether it imports and its counts equal the traces of the real module (fvcore
flops and acts, FlopCounterMode flops, numel less the parameters the eval forward never uses)
at its default resolution and at 192x256; how long the import takes (trace + fake-tensor shapes +
checks, the module already built); and how long counting the imported spec takes (in process,
from its data: parse, validate, expand, count) against one fvcore FlopCountAnalysis of the module.

Usage: python benchmarks/bench_import.py [MODEL ...] [--resolution HxW] [--rectangular HxW|none]
                                        [--json FILE]
(needs torch, fvcore and torchvision; the transformers are listed with the ops they lack)
"""
import argparse
import json
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import tv  # noqa: E402  (defines torchvision's operator schemas before importing it)


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def fvcore_seconds(module, resolution):
    import torch
    from fvcore.nn import FlopCountAnalysis

    from netcalc.torch.importer import _hw
    from netcalc.torch.validate import quiet_fvcore

    x = torch.randn(1, 3, *_hw(resolution))
    with quiet_fvcore(), torch.no_grad():
        analysis = FlopCountAnalysis(module.eval(), x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return timed(analysis.total)[1]


def compare(module, name, resolution):
    """(ok, import seconds, spec, first difference or error)."""
    import netcalc
    from netcalc.torch.importer import import_checked, imported_totals, traced_totals

    try:
        (spec, imported), seconds = timed(import_checked, module, resolution, name)
    except netcalc.SpecError as exc:
        return False, None, None, str(exc)
    counted = imported_totals(spec)
    traced = traced_totals(module, resolution)
    traced["torch.numel"] -= sum(imported.unused_params.values())
    diff = {k: (counted[k], traced[k]) for k in traced if counted[k] != traced[k]}
    return not diff, seconds, spec, (f"netcalc vs traced: {diff}" if diff else "")


def bench(name, rectangular, resolution=None):
    import netcalc

    module = getattr(tv.torchvision_models(), name)().eval()
    resolution = resolution or tv.DEFAULT_RESOLUTION.get(name, 224)
    ok, seconds, spec, why = compare(module, name, resolution)
    row = {"model": name, "resolution": resolution, "ok": ok, "import_s": seconds,
           "why": why}
    if not ok:
        return row
    data = dict(spec.raw)
    row["count_s"] = min(timed(netcalc.count, dict(data), "fvcore")[1] for _ in range(3))
    row["fvcore_s"] = fvcore_seconds(module, resolution)
    row["nodes"] = len(data["layers"])
    if rectangular:
        rect_ok, _, _, rect_why = compare(module, name, rectangular)
        row.update(rect_ok=rect_ok, rect_why=rect_why, ok=rect_ok)
    return row


def render(rows):
    lines = [f"{'model':22} {'pass':>5} {'nodes':>6} {'import s':>9} {'count ms':>9} "
             f"{'fvcore s':>9} {'ratio':>7}"]
    for r in rows:
        if r.get("count_s") is None:
            lines.append(f"{r['model']:22} {'FAIL':>5}  {r['why']}")
            continue
        ratio = r["fvcore_s"] / r["count_s"]
        lines.append(f"{r['model']:22} {'ok' if r['ok'] else 'FAIL':>5} {r['nodes']:>6} "
                     f"{r['import_s']:>9.2f} {r['count_s'] * 1e3:>9.1f} {r['fvcore_s']:>9.2f} "
                     f"{ratio:>6.0f}x" + ("" if r["ok"] else f"  {r.get('rect_why')}"))
    passed = sum(r["ok"] for r in rows)
    lines.append(f"{passed} of {len(rows)} pass")
    return "\n".join(lines)


def netcalc_resolution(text):
    from netcalc.cli import RESOLUTION

    return RESOLUTION.convert(text, None, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="default: every classifier, then the "
                                                  "transformers")
    parser.add_argument("--resolution", help="HxW or N instead of each model's default")
    parser.add_argument("--rectangular", default="192x256", help="HxW, or none")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rectangular, resolution = (None if text in (None, "none") else
                               netcalc_resolution(text)
                               for text in (args.rectangular, args.resolution))
    names = args.models or list(tv.CLASSIFIERS) + list(tv.TRANSFORMERS)
    rows = []
    for name in names:
        rows.append(bench(name, rectangular, resolution))
        print(render(rows[-1:]).splitlines()[1], flush=True)
        if args.json:       # after every model: a long sweep cut short keeps what it measured
            with open(args.json, "w") as handle:
                json.dump(rows, handle, indent=1)
    print(render(rows))


if __name__ == "__main__":
    main()
