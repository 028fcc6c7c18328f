"""``netcalc bench`` (issue 13): timings and memory beside the exact counts, and the runtime fits.

The CLI runs on the CPU with one intra-op thread (the test machine is shared; two OpenMP threads
on two busy cores wait on each other). The fits' arithmetic is checked on synthetic timings whose
answer is known exactly.
"""
import json
import math
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

import netcalc  # noqa: E402
from netcalc.torch.runtime_fit import fit_runtime  # noqa: E402
from netcalc.torch import bench as runtime  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from netcalc.cli import main  # noqa: E402

from conftest import run_cli  # noqa: E402

# Each at its own resolution: TinyCNN 32 px, SEMobileBlock 64 px, RegNetX-200MF 224 px.
SMALL = ("specs/examples/tiny_cnn.yaml", "specs/examples/se_mobile_block.yaml",
         "specs/regnetx_200mf.yaml")
# Hand derivations (tests/test_core_rules.py): pycls (flops, params, acts).
HAND = {"TinyCNN": (1_360_202, 15_322, 26_634), "SEMobileBlock": (1_040_984, 1_760, 81_965)}
# TinyCNN's layer outputs, from its spec: stem conv, bn, relu 3 x 16x32x32; max-pool 16x16x16;
# nine 32x8x8 tensors (a, bn, relu, b, b_bn, proj, proj_bn, add, relu); gap, flatten, dropout
# 3 x 32; fc 10
TINY_CNN_OUTPUTS = 3 * 16 * 32 * 32 + 16 * 16 * 16 + 9 * 32 * 8 * 8 + 3 * 32 + 10
BATCH = 2
RUN = ("--repeat", "3", "--warmup", "1", "--threads", "1", "--batch", str(BATCH),
       "--device", "cpu")
ROW_FIELDS = {"name", "spec", "resolution", "flops", "params", "acts", "time_ms_median",
              "time_ms_min", "time_ms_max", "time_ms_q1", "time_ms_q3", "images_per_s",
              "mem_params_bytes", "mem_input_bytes", "mem_outputs_bytes", "mem_estimate_bytes",
              "mem_peak_bytes", "residual_ms_flops", "residual_ms_acts", "residual_ms_both",
              "residual_ms_sqrt"}


def bench_cli(*args):
    """`netcalc bench ARGS` in this process: torch is imported already, so no interpreter and
    torch start per call (about 2 s of CPU each, issue 19). torch's thread count, which
    --threads sets for the process, is restored after."""
    threads = torch.get_num_threads()
    try:
        result = CliRunner().invoke(main, ["bench", *args])
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout,
                           stderr=result.stderr)


@pytest.fixture(scope="module")
def bench_json():
    result = bench_cli(*SMALL, *RUN, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""          # no progress bar in a pipe
    return json.loads(result.stdout)


def test_json_reports_every_field_beside_exact_counts(bench_json):
    env = bench_json["environment"]
    assert (env["device"], env["threads"], env["batch"], env["repeat"], env["dtype"]) == \
        ("cpu", 1, BATCH, 3, "float32")
    assert env["timer"].startswith("time.perf_counter") and "TorchDispatchMode" in env["peak_memory"]
    rows = bench_json["results"]
    assert [r["spec"] for r in rows] == list(SMALL)
    for row in rows:
        assert set(row) == ROW_FIELDS | {"times_ms"}
        report = netcalc.count(row["spec"])
        assert (row["flops"], row["params"], row["acts"]) == \
            (report.flops, report.params, report.acts)
        if row["name"] in HAND:
            assert (row["flops"], row["params"], row["acts"]) == HAND[row["name"]]
        times = row["times_ms"]
        assert len(times) == 3 and all(t > 0 for t in times)
        assert row["time_ms_min"] <= row["time_ms_q1"] <= row["time_ms_median"] \
            <= row["time_ms_q3"] <= row["time_ms_max"]
        assert row["images_per_s"] == pytest.approx(BATCH * 1000 / row["time_ms_median"])
        # the estimate from the node shapes: 4 bytes (float32) per parameter, input element and
        # element of every layer's output (measured against real peaks: test_memory_estimate.py)
        assert row["mem_params_bytes"] == 4 * row["params"]
        if row["name"] == "TinyCNN":
            assert row["mem_outputs_bytes"] == 4 * BATCH * TINY_CNN_OUTPUTS
        side = row["resolution"]
        assert row["mem_input_bytes"] == 4 * BATCH * 3 * side * side
        assert row["mem_estimate_bytes"] == (row["mem_params_bytes"] + row["mem_input_bytes"]
                                             + row["mem_outputs_bytes"])
        # the measured peak holds the weights (BN buffers too) and the input, plus the output
        assert row["mem_peak_bytes"] > row["mem_params_bytes"] + row["mem_input_bytes"]


def test_json_fits_of_three_specs(bench_json):
    fit = bench_json["fit"]
    assert set(fit) == {"flops", "acts", "both", "sqrt"}
    times = [r["time_ms_median"] for r in bench_json["results"]]
    expected = fit_runtime([r["flops"] for r in bench_json["results"]],
                           [r["acts"] for r in bench_json["results"]], times)
    for form, entry in fit.items():
        assert entry["r2"] == pytest.approx(expected[form].r2)
        assert [r[f"residual_ms_{form}"] for r in bench_json["results"]] == \
            pytest.approx(entry["residuals"])
    # three coefficients through three points: exact, and no adjusted R^2
    assert fit["both"]["r2"] == pytest.approx(1.0) and fit["both"]["adj_r2"] is None


def test_table_and_csv_and_plot(tmp_path):
    plot = tmp_path / "runtime.png"
    table = bench_cli(*SMALL, *RUN, "--plot", str(plot))
    assert table.returncode == 0, table.stderr
    assert table.stderr.strip() == f"wrote {plot}"
    assert plot.stat().st_size > 10_000
    lines = table.stdout.splitlines()
    assert lines[0].startswith("cpu (") and "1 threads" in lines[0] and "batch 2" in lines[0]
    for header in ("median ms", "min-max ms", "IQR ms", "img/s", "params MiB", "outputs MiB",
                   "estimate MiB", "peak MiB", "R^2", "adj R^2"):
        assert header in table.stdout
    assert "1.36 M" in table.stdout and "15.32 k" in table.stdout     # TinyCNN's counts
    for formula in ("t = a*flops + c", "t = a*acts + c", "t = a*flops + b*acts + c",
                    "t = a*flops + b*sqrt(flops) + c"):
        assert formula in table.stdout

    csv = bench_cli(*SMALL[:2], *RUN, "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    header, *rows = csv.stdout.splitlines()
    assert set(header.split(",")) == (ROW_FIELDS - {f"residual_ms_{f}" for f in
                                                    ("flops", "acts", "both", "sqrt")}
                                      | {"device", "threads", "dtype", "batch", "convention"})
    assert len(rows) == 2 and rows[0].startswith("TinyCNN,specs/examples/tiny_cnn.yaml,32,"
                                                 "1360202,15322,26634,")


def test_fewer_than_three_specs_have_no_fit():
    result = bench_cli(SMALL[0], *RUN, "--format", "json", "--resolution", "16",
                     "--clock", "process")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["fit"] is None and data["results"][0]["resolution"] == 16
    assert data["environment"]["timer"].startswith("time.process_time")
    # TinyCNN at 16 px: every count scales with the positions except the fc (330 flops + params,
    # 10 acts): (1,360,202 - 330) / 4 + 330 flops, (26,634 - 10) / 4 + 10 acts.
    assert data["results"][0]["flops"] == 340_298 and data["results"][0]["acts"] == 6_666


# -- refusal by the memory estimate ------------------------------------------------------------
def test_oversized_batch_is_refused_before_anything_runs():
    result = bench_cli(SMALL[0], "--device", "cpu", "--batch", str(10 ** 12))
    assert result.returncode == 2 and result.stdout == ""
    line, = result.stderr.splitlines()
    assert line.startswith("error: specs/examples/tiny_cnn.yaml: --batch: estimated memory ")
    assert "exceeds" in line and "available RAM of cpu" in line


def test_a_batch_fixed_by_an_imported_reshape_is_refused_before_anything_runs(tmp_path):
    """An imported spec keeps the literal sizes torch traced at batch 1 (issue 19)."""
    spec = tmp_path / "fixed.yaml"
    spec.write_text("family: graph\nresolution: 8\nlayers:\n"
                    "  - {op: conv, out: 8, kernel: 3, padding: 1}\n"
                    "  - {name: view, op: reshape, shape: [1, 8, 8, 8]}\n")
    with pytest.raises(netcalc.SpecError) as caught:
        runtime.plan(str(spec), runtime.Settings(device="cpu", batch=2))
    assert str(caught.value) == (f"{spec}: --batch: 2: layer view reshapes to [1, 8, 8, 8], a "
                                 "batch of 1 (its sizes were traced at batch 1); bench it at "
                                 "--batch 1")
    settings = runtime.Settings(device="cpu", batch=1)
    assert runtime.plan(str(spec), settings).report.flops > 0     # its own batch: planned


def test_a_64x_upsample_is_refused_up_front_like_validate(tmp_path):
    """128 px, 2,048 channels upsampled 64x: the upsample output alone is 2,048 x 8,192^2 floats
    (512 GiB). The estimate counts every layer's output, so bench refuses it before building,
    as validate does (bench's old estimate from pycls acts left the upsample out and crashed)."""
    spec = tmp_path / "upsample64.yaml"
    spec.write_text("family: graph\nresolution: 128\nlayers:\n"
                    "  - {op: conv, out: 2048, kernel: 1}\n"
                    "  - {op: upsample, scale_factor: 64}\n")
    for command in (("bench", "--device", "cpu"), ("validate",)):
        result = run_cli(command[0], str(spec), *command[1:])
        assert result.returncode == 2 and result.stdout == "", result.stderr
        line, = result.stderr.splitlines()
        assert line.startswith(f"error: {spec}: ")
    settings = runtime.Settings(device="cpu")
    upsample_bytes = 4 * 2048 * 8192 * 8192
    assert runtime.plan(str(spec), settings).estimate.total > upsample_bytes == 512 * 2 ** 30


def test_refusal_against_a_fake_capacity(monkeypatch):
    settings = runtime.Settings(device="cpu", batch=4)
    planned = [runtime.plan(path, settings) for path in SMALL]
    # TinyCNN at batch 4, float32: 4 * (15,322 params + 4 * 3 * 32 * 32 input + 4 * 71,786
    # layer output elements)
    assert planned[0].estimate.total == 4 * (15_322 + 4 * 3 * 32 * 32 + 4 * TINY_CNN_OUTPUTS) \
        == 1_259_016
    largest = max(p.estimate.total for p in planned)
    monkeypatch.setattr(runtime, "device_capacity", lambda device: (largest, "fake memory"))
    runtime.refuse_oversized(planned, settings)            # exactly at capacity: accepted
    monkeypatch.setattr(runtime, "device_capacity", lambda device: (largest - 1, "fake memory"))
    with pytest.raises(netcalc.SpecError, match=r"--batch: .* exceeds the .* fake memory of cpu"):
        runtime.refuse_oversized(planned, settings)


def test_available_ram_is_positive():
    assert runtime.available_ram() > 0


# -- resolution option -------------------------------------------------------------------------
def test_rectangular_resolution():
    result = bench_cli(SMALL[0], *RUN, "--resolution", "32x48", "--format", "csv")
    assert result.returncode == 0, result.stderr
    row = dict(zip(*(line.split(",") for line in result.stdout.splitlines())))
    # TinyCNN at 32 x 48: every spatial count is 1.5 times the 32 x 32 one, the fc (330 flops and
    # params, 10 acts) stays: 1,359,872 * 1.5 + 330 flops, 26,624 * 1.5 + 10 acts.
    assert (row["resolution"], row["flops"], row["acts"]) == ("32x48", "2040138", "39946")
    assert row["mem_input_bytes"] == str(4 * BATCH * 3 * 32 * 48)
    bad = bench_cli(SMALL[0], "--resolution", "64x", "--device", "cpu")
    assert bad.returncode == 2 and "is not N or HxW" in bad.stderr


# -- the CPU peak-memory measure --------------------------------------------------------------
def test_live_tensor_bytes_of_a_linear_layer():
    layer = torch.nn.Linear(4, 8)
    x = torch.zeros(2, 4)
    # resident: weight 32 + bias 8 + input 8 floats = 192 bytes; the output is 2 x 8 floats = 64
    # (addmm reads a transposed view of the weight: no new storage)
    with runtime.LiveTensorBytes([*layer.parameters(), x]) as live, torch.inference_mode():
        out = layer(x)
    assert (live.peak, live.current) == (256, 256)
    del out
    assert live.current == 192


def test_live_tensor_bytes_frees_dead_intermediates():
    x = torch.zeros(2, 4)                                   # 32 bytes
    with runtime.LiveTensorBytes([x]) as live:
        y = torch.relu(torch.relu(x))                       # inner alive while the outer is made
        z = torch.relu(y).flatten()                         # a view shares its storage
    assert live.peak == 32 * 3
    assert live.current == 32 * 3                           # x, y and z (the inner relu is gone)
    del y, z


# -- the fits on synthetic timings -------------------------------------------------------------
FLOPS = [200e6, 400e6, 600e6, 1.6e9, 4.0e9]
ACTS = [2.2e6, 3.1e6, 4.3e6, 7.9e6, 12.2e6]


@pytest.mark.parametrize("form, model, coefficients", [
    ("flops", lambda f, a: 2e-9 * f + 0.5, {"a": 2e-9, "c": 0.5}),
    ("acts", lambda f, a: 3e-7 * a + 1.5, {"a": 3e-7, "c": 1.5}),
    ("both", lambda f, a: 2e-9 * f + 3e-7 * a + 5.0, {"a": 2e-9, "b": 3e-7, "c": 5.0}),
    ("sqrt", lambda f, a: 1e-9 * f + 2e-5 * math.sqrt(f) + 0.25,
     {"a": 1e-9, "b": 2e-5, "c": 0.25}),
])
def test_fit_recovers_exact_coefficients(form, model, coefficients):
    times = [model(f, a) for f, a in zip(FLOPS, ACTS)]
    fit = fit_runtime(FLOPS, ACTS, times)[form]
    assert fit.coefficients == pytest.approx(coefficients, rel=1e-9)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12) and fit.adj_r2 == pytest.approx(1.0, abs=1e-12)
    assert fit.residuals == pytest.approx([0.0] * 5, abs=1e-9)


def test_fit_with_known_r2():
    # t = f + e with e = (+1, -1, -1, +1): e sums to 0 and is orthogonal to f = (0, 1, 2, 3), so
    # least squares returns a = 1, c = 0 and residuals e; SS_res = 4, SS_tot = 5 + 4 = 9:
    # R^2 = 5/9, adjusted (n = 4, p = 2) 1 - (4/9)(3/2) = 1/3.
    flops = [0, 1, 2, 3]
    fits = fit_runtime(flops, flops, [1, 0, 1, 4])
    for form in ("flops", "acts"):
        fit = fits[form]
        assert fit.coefficients == pytest.approx({"a": 1.0, "c": 0.0}, abs=1e-12)
        assert fit.r2 == pytest.approx(5 / 9) and fit.adj_r2 == pytest.approx(1 / 3)
        assert fit.residuals == pytest.approx([1, -1, -1, 1])
    assert fits["sqrt"].r2 > 5 / 9          # one more free coefficient never fits worse


def test_fit_edge_cases():
    with pytest.raises(ValueError, match="3 or more"):
        fit_runtime([1, 2], [1, 2], [1.0, 2.0])
    flat = fit_runtime([1, 2, 3], [4, 5, 7], [2.0, 2.0, 2.0])
    assert flat["flops"].r2 is None and flat["flops"].coefficients["c"] == pytest.approx(2.0)


# -- CUDA --------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_bench_on_cuda():
    result = bench_cli(*SMALL, "--device", "cuda", "--repeat", "3", "--batch", "8",
                     "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["environment"]["device"] == "cuda"
    assert data["environment"]["timer"] == "CUDA events" and data["environment"]["threads"] is None
    for row in data["results"]:
        assert row["mem_peak_bytes"] >= row["mem_params_bytes"] + row["mem_input_bytes"]
        assert row["time_ms_median"] > 0
    assert set(data["fit"]) == {"flops", "acts", "both", "sqrt"}


def test_bench_runtime_script_tables():
    # The zoo script's tables, on synthetic timings t = 1e-6 * flops (ms) of three RegNets: every
    # one-variable-in-flops fit is exact (R^2 = 1).
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    import bench_runtime

    assert len(bench_runtime.zoo_specs()) == 14 and all(os.path.exists(p)
                                                        for p in bench_runtime.zoo_specs())
    estimate = runtime.MemoryEstimate(0, 0, 0)
    results = [runtime.Result(report, estimate, runtime.Timing([report.flops * 1e-6]), None, 64)
               for report in (netcalc.count(p) for p in bench_runtime.zoo_specs()[:4])]
    table = bench_runtime.r2_table([("all", results)])
    assert table.splitlines()[2].split()[:4] == ["all", "4", "1.0000", "(1.0000)"]   # flops fit
    assert "199,040,872" in bench_runtime.summary(results)      # RegNetX-200MF's pycls flops
