"""The harness of benchmarks/bench_import_timm.py, on stand-in models: each model's process is
bounded (a hang, a crash, an error each cost their own row, with the stage they stopped in), and
the table counts what the rows say. The sweep's real checks are tests/test_import_timm.py's."""
import os
import signal
import sys
import time

import pytest

pytest.importorskip("torch")

from conftest import ROOT  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import bench_import_timm as bench  # noqa: E402
from library_models import Model  # noqa: E402


def stand_in(model, settings, send):
    """Measures, then behaves as the model's name says."""
    row = {"library": model.library, "module": model.module, "model": model.name,
           "kind": model.kind, "imported": "no", "size": "224x224", "torch_flops": 7}
    send(row, "measuring")
    if model.name == "hangs":
        time.sleep(60)
    elif model.name == "crashes":
        os.kill(os.getpid(), signal.SIGKILL)
    elif model.name == "raises":
        raise ValueError("no such layer\nsecond line")
    row.update(imported="yes", exact_torch_size="yes", exact_params="no", reason="params: ...")
    send(row, "done", done=True)


def test_each_model_costs_one_row_whatever_it_does(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "sweep_one", stand_in)
    models = [Model("timm", "m", name, "cnn") for name in ("hangs", "crashes", "raises", "runs")]
    settings = bench.Settings(jobs=2, timeout=1.0, fvcore_max=20e9, log=str(tmp_path / "log"))
    start = time.monotonic()
    rows = {row["model"]: row for row in bench.sweep(models, settings)}
    assert time.monotonic() - start < 10        # the hanging one is killed at its deadline
    assert {name: rows[name].get("reason") for name in rows} == {
        "hangs": "timed out after 1 s while measuring",
        "crashes": "crashed while measuring: killed by signal 9 (out of memory?)",
        "raises": "failed while measuring: ValueError: no such layer",
        "runs": "params: ..."}
    # what was measured before it stopped is kept
    assert all(row["torch_flops"] == 7 and row["size"] == "224x224" for row in rows.values())


def test_table_counts_imported_and_exact_per_module():
    def row(module, model, imported, *flags, reason="", import_s="1", fvcore_s="2"):
        exact = dict(zip(["exact_torch_size", "exact_torch_odd", "exact_params",
                          "exact_fvcore"], flags + ("",) * (4 - len(flags))))
        return {"library": "timm", "module": module, "model": model, "kind": "cnn",
                "imported": imported, **exact, "reason": reason, "import_s": import_s,
                "fvcore_s": fvcore_s, "ratio": str(float(import_s) / float(fvcore_s)),
                "size": "224x224", "odd_size": "193x257", "torch_flops": "1000",
                "params": "10"}

    rows = [row("a", "a1", "yes", "yes", "yes", "yes", "yes"),
            row("a", "a2", "yes", "yes", "yes", "yes", "", import_s="3"),   # fvcore not traced
            row("a", "a3", "yes", "yes", "no", "yes", "yes", reason="torch flops at 193x257"),
            row("b", "b1", "no", reason="no netcalc op for x", import_s="0.5")]
    table = bench.module_table(rows)
    # the import's times are those of the models imported
    assert table[2:] == ["| timm | a | cnn | 3 | 3 | 2 | 1.00 | 2.00 | 0.50 |",
                         "| timm | b | cnn | 1 | 0 | 0 |  | 2.00 |  |",
                         "| all |  |  | 4 | 3 | 2 | 1.00 | 2.00 | 0.50 |"]
    assert bench.failure_list(rows) == [
        "- timm a: `a3` (224x224, 193x257; FlopCounterMode 1,000 flops, numel 10): "
        "torch flops at 193x257",
        "- timm b: `b1` (224x224, 193x257; FlopCounterMode 1,000 flops, numel 10): "
        "no netcalc op for x"]


def test_round_robin_spreads_a_prefix_over_the_modules():
    models = [Model("timm", module, f"{module}{i}", "cnn") for module in "ab" for i in range(3)]
    models.append(Model("torchvision", "detection", "fpn", "cnn"))
    assert [m.name for m in bench.round_robin(models)][:4] == ["a0", "b0", "fpn", "a1"]


def test_comparison_flags_each_check_and_names_each_difference():
    """A one-conv spec (3 -> 8 channels, 3x3: 216 params, 2 * 216 flops per output position in
    the torch convention) against references that differ in params and fvcore acts only."""
    from library_models import Reference, compare

    spec = {"family": "graph", "name": "one_conv", "resolution": 32, "in_channels": 3,
            "layers": [{"name": "c", "op": "conv", "out": 8, "kernel": 3, "padding": 1}]}
    reference = Reference((32, 32), 2 * 216 * 32 * 32, 224, (33, 49), 2 * 216 * 33 * 49,
                          fvcore_flops=216 * 32 * 32, fvcore_acts=5)
    verdict = compare(spec, reference)
    assert verdict.exact == {"torch_size": True, "torch_odd": True, "params": False,
                             "fvcore": False}
    assert verdict.reason == ("params: netcalc 216, numel 224 (+8); fvcore acts at 32x32: "
                              "netcalc 8,192, fvcore 5 (-8,187)")
    # a check without its reference (no odd size accepted, fvcore not traced) is not made
    unchecked = compare(spec, Reference((32, 32), 2 * 216 * 32 * 32, 216))
    assert unchecked.exact == {"torch_size": True, "torch_odd": None, "params": True,
                               "fvcore": None}
    assert unchecked.ok and unchecked.reason == ""


def test_capture_column_names_the_path_the_importer_took():
    """The notes the importer opens each spec with say how its size rules were captured."""
    from types import SimpleNamespace

    def spec(*notes, ranged=False):
        return SimpleNamespace(raw={"notes": list(notes), **(
            {"resolution_range": {"h": [1, 227], "w": [1, 227]}} if ranged else {})})

    symbolic = "size rules from torch.export's symbolic shapes (sides from 8)"
    assert bench.capture(spec(symbolic)) == "symbolic"
    assert bench.capture(spec(symbolic, "holds for h up to 227: ...", ranged=True)) == \
        "symbolic, ranged"
    assert bench.capture(spec(symbolic, "fits only 224x224: at 225x225 the model runs another "
                                        "branch", ranged=True)) == "symbolic, pinned"
    assert bench.capture(spec("size rules from a capture at 225x225: at 224x224 ...",
                              "size rules from static exports at 224, 225 (...)")) == "general"
    assert bench.capture(spec("fits only 224x224: the graph differs", ranged=True)) == "one size"
    assert bench.capture(spec("a note of the user's")) == "?"
