"""Counts of the new ops derived by hand, where the counters differ: matmul broadcasting, norms,
upsampling, adaptive pooling, learned parameters (the traces agree: tests/test_ops_new.py)."""
import pytest

import netcalc

from new_op_specs import RECTANGLE, SQUARE, spec


def node_costs(op, convention, resolution=SQUARE, case=None):
    """The costs of the ``op`` nodes of the spec that exercises ``op`` (or of ``case``), in
    graph order (found by op, not by their generated names)."""
    report = netcalc.count(spec(case or op, resolution), convention)
    return [dict(zip(("flops", "params", "acts"), cost))
            for layer, cost in zip(report.graph.layers, report.costs) if layer.op == op]


def test_matmul_broadcast_over_the_second_operand():
    """(1, 400, 8) @ (2, 8, 1) at 20x20: fvcore counts prod(A) * N = 400 * 8 * 1 = 3,200, the
    true MACs are 2 * 400 * 8 = 6,400 (pycls), FlopCounterMode 2 per MAC = 12,800."""
    last = -1       # the spec's last matmul: the broadcasting one
    assert node_costs("matmul", "fvcore")[last]["flops"] == 3_200
    assert node_costs("matmul", "pycls")[last]["flops"] == 6_400
    assert node_costs("matmul", "torch")[last]["flops"] == 12_800
    assert node_costs("matmul", "fvcore")[last]["acts"] == 2 * 400


def test_attention_matmul():
    """q (1, 400, 8) @ k^T (1, 8, 400): 400 * 400 * 8 = 1,280,000 MACs in fvcore and pycls."""
    assert node_costs("matmul", "fvcore")[0]["flops"] == 1_280_000      # the first matmul
    assert node_costs("matmul", "torch")[0]["flops"] == 2_560_000


def test_norms_count_per_element():
    """fvcore: 5 per element with an affine transform, 4 without; 8 x 20 x 20 = 3,200 elements."""
    ln = node_costs("layer_norm", "fvcore")
    assert [c["flops"] for c in ln] == [16_000, 16_000, 12_800]
    assert [c["params"] for c in ln] == [16, 16, 0]
    gn = node_costs("group_norm", "fvcore")
    assert [c["flops"] for c in gn] == [16_000, 12_800]
    assert [c["flops"] for c in node_costs("group_norm", "pycls")] == [0, 0]


def test_resampling_counts():
    """Adaptive average pooling: 1 per input element (8 x 17 x 26 = 3,536) whatever the output;
    adaptive max pooling: nothing in fvcore, its outputs are pycls activations; bilinear
    upsampling 4 per output element (4 x 11 x 13 x 4 = 2,288)."""
    avg = node_costs("adaptive_avgpool", "fvcore", RECTANGLE)[0]
    assert avg["flops"] == 3_536
    assert node_costs("adaptive_maxpool", "fvcore")[0]["flops"] == 0
    assert node_costs("adaptive_maxpool", "pycls")[0]["acts"] == 8 * 3 * 3
    bilinear = 1        # the second upsample of the spec: bilinear to 11x13
    assert node_costs("upsample", "fvcore")[bilinear]["flops"] == 2_288
    assert node_costs("upsample", "pycls")[bilinear]["flops"] == 2_288    # fvcore's count
    assert node_costs("upsample", "torch")[bilinear]["flops"] == 0


def test_prelu_and_learned_tensors_count_their_parameters():
    assert [c["params"] for c in node_costs("prelu", "torch")] == [8, 1]
    assert [c["params"] for c in node_costs("param_add", "torch")] == [8, 8]


def adaptive_windows(size, out):
    """Adaptive pooling windows along one axis, as docs/conventions.md states torch's rule:
    cell i reads [floor(i n / m), ceil((i + 1) n / m))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def test_adaptive_windows_are_torchs():
    """The documented window rule is torch's, on means and maxima of a ramp, including sizes the
    output does not divide and outputs larger than the input; netcalc's shape is the output
    size alone, and no count depends on the windows."""
    torch = pytest.importorskip("torch")
    for n, m in [(7, 3), (10, 4), (5, 5), (3, 7), (26, 7), (17, 5)]:
        ramp = torch.arange(n, dtype=torch.float64).reshape(1, 1, n)
        pooled = torch.nn.functional.adaptive_avg_pool1d(ramp, m).flatten().tolist()
        expected = [sum(range(lo, hi)) / (hi - lo) for lo, hi in adaptive_windows(n, m)]
        assert pooled == pytest.approx(expected)
        maxed = torch.nn.functional.adaptive_max_pool1d(ramp, m).flatten().tolist()
        assert maxed == [hi - 1 for lo, hi in adaptive_windows(n, m)]


def test_an_upsample_the_model_skips_where_the_size_is_unchanged():
    """``only_if_resized``: the 4 x 4 / 4 conv's 7 x 7 map at sides 28 to 31 is not resized (0),
    at 32 its 8 x 8 map is: bilinear, 4 per output element in fvcore, 4 x 8 x 49 = 1,568."""
    def resize_flops(resolution):
        return [cost["flops"] for cost in node_costs("upsample", "fvcore", resolution,
                                                      case="upsample_if_resized")]

    assert resize_flops(32) == [1_568]
    assert resize_flops(28) == resize_flops(31) == resize_flops((28, 30)) == [0]
    assert resize_flops((28, 32)) == [1_568]    # 7 x 8: one side resized, the whole output priced
