"""netcalc import on other libraries' CNNs (issue 16): timm's registry, torchvision's segmentation
models and detection backbones with FPN. The spec's counts equal the tools' counts of the model.

The expected numbers are not typed in: they are FlopCounterMode's flops at two sizes (one with an
odd side), the numel of the unique parameters, and fvcore's flops and activations, all measured on
the model itself by tests/library_models.py (shared with benchmarks/bench_import_timm.py, which
sweeps every model and writes docs/import_sweep.md).

Fast tier: one small timm CNN at 64x64 and 65x97 (three more in the slow tier). Slow tier: the smallest model
(by parameters) of every timm CNN module, and torchvision's segmentation models and detection
backbones, each at its own size and 193x257 (or the next size it accepts), fvcore up to 20 GFLOPs.
A model the importer does not take yet is a strict xfail naming why: it turns into a failure
(XPASS) the day it is fixed, and the mark is then removed.
"""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import library_models as lib  # noqa: E402
import tv  # noqa: E402

if tv.import_timm() is None:
    pytest.skip("timm is not installed", allow_module_level=True)

def assert_exact(model, size=None, odd=None):
    reference, verdict = lib.import_and_compare(model, size, odd)
    assert verdict.ok, verdict.reason
    # every check ran: both sizes (the odd one found), params, and fvcore below its limit
    assert reference.odd_size is not None, "the model runs at no rectangular size tried"
    assert all(verdict.exact[k] for k in ("torch_size", "torch_odd", "params"))
    assert verdict.exact["fvcore"] or reference.torch_flops / 2 > lib.FVCORE_MAX_FLOPS
    return reference


def test_every_timm_module_is_classified():
    """The sweep's selection is by module: a module timm adds must be classified first."""
    listed = set(lib.timm_modules())
    assert sorted(listed - set(lib.MODULE_KINDS)) == [], "classify in tests/library_models.py"
    assert sorted(set(lib.MODULE_KINDS) - listed) == [], "timm no longer lists these modules"


@pytest.mark.parametrize("name", [
    "resnet10t",
    # 2 to 20 s of CPU each: the slow tier
    pytest.param("mobilenetv3_small_050", marks=pytest.mark.slow),
    pytest.param("regnetx_002", marks=pytest.mark.slow),
    pytest.param("tinynet_e", marks=pytest.mark.slow),
])
def test_small_timm_cnns_are_exact(name):
    assert_exact(lib.timm_model(name), (64, 64), (65, 97))


# -- slow tier: one model of each timm CNN module, torchvision's dense-prediction models ----------
# what the torch.export importer does not take yet (the sweep of docs/import_sweep.md measured
# each): strict xfails, so a fix shows as XPASS and the mark goes
KNOWN_FAILURES: dict = {}


def known(name):
    reason = KNOWN_FAILURES.get(name)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def cnn_modules():
    return sorted(m for m, kind in lib.MODULE_KINDS.items() if kind == "cnn")


@pytest.mark.slow
@pytest.mark.parametrize("module", [pytest.param(module, marks=known(module))
                                    for module in cnn_modules()])
def test_smallest_model_of_each_timm_cnn_module_is_exact(module):
    assert_exact(lib.smallest([m for m in lib.timm_models() if m.module == module]))


@pytest.mark.slow
@pytest.mark.parametrize("model", [pytest.param(model, marks=known(model.name))
                                   for model in lib.torchvision_models() if model.kind == "cnn"],
                         ids=lambda m: m.name)
def test_torchvision_segmentation_and_detection_backbones_are_exact(model):
    assert_exact(model)


@pytest.mark.slow
def test_an_attention_pool_with_a_resized_embedding_is_exact():
    """resnet50_clip: its attention pool resizes a (50, 2048) position embedding to the grid
    in forward (``param_add`` with ``resampled``); byobnet's smallest model has no such pool."""
    assert_exact(lib.timm_model("resnet50_clip"))


@pytest.mark.slow
def test_a_scalar_gain_and_standardised_weights_are_exact():
    """dm_nfnet_f0: a 0-d skip-init gain (``param_mul`` of shape []) and convs whose weights are
    standardised in forward (``bn_batch_stats`` on the weight, then ``conv`` with
    ``weight_input``); fvcore counts the batch norms of the weights."""
    assert_exact(lib.timm_model("dm_nfnet_f0"))


@pytest.mark.slow
def test_a_constant_tensor_multiplied_in_is_exact_at_the_only_maps_the_model_runs():
    """bat_resnext26ts multiplies a map by ``torch.eye(t, t)`` built in forward (a ``constant``
    node); its bilinear attention is laid out for the maps of 256x256, so it runs only at
    sizes whose attention maps are 256's (at 253 x 255 the stem's maps are smaller, its
    attention's the same). The import finds those sizes from torch.export's checks, ends the
    spec's range where the model stops running, and is exact at both sizes."""
    reference, verdict = lib.import_and_compare(lib.timm_model("bat_resnext26ts"))
    assert verdict.ok, verdict.reason
    assert reference.odd_size == (253, 255)
    assert all(verdict.exact.values())


# -- slow tier: transformers and hybrids the sweep of issue 17 found and this branch fixed --------
@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "swiftformer_xs",       # a matmul by a parameter (additive attention); tokens folded back
    "shvit_s1",             # tokens folded back into the grid
    "iformer_t",            # tokens folded back into the grid
    "nextvit_small",        # tokens folded back into the grid
    "pvt_v2_b0",            # tokens folded back into the grid
    "test_vit",             # its position embedding resampled to the token grid
    "edgenext_xx_small",    # Fourier positions by cumsum (netcalc lacks it): one constant node
    "vit_tiny_patch16_dinov3_qkvb",     # a qkv bias joined in forward; a rotary grid (meshgrid)
    "xcit_nano_12_p8_224",  # a position grid from arange of the patch grid's sides
    "efficientvit_b0",      # attention under torch.autocast (a wrapped block)
    "lowformer_b0",         # an upsampled map cropped to an earlier map's sides
    "crossvit_tiny_240",    # resizes other sizes to its own: captured where it does
    "csatv2",               # a linear by a buffer; an upsample to a 5-D tensor's sides
    "lambda_resnet26rpt_256",   # a relative-position table indexed by two index buffers
    "sequencer2d_s",        # bidirectional LSTMs over the rows and the columns (static exports)
    "naflexvit_base_patch16_siglip",    # its position grid resized with antialiasing
    # maps resized up to whole patches where a side is odd, and (v1) back: at 256 no map is
    "mobilevitv2_050", "mobilevit_xxs",
    # relative logits padded by a table's length less a side (by no rule netcalc writes): the
    # traced size's amounts, which hold in the band of sizes whose maps are 256's
    "botnet50ts_256",
])
def test_transformers_the_sweep_fixed_are_exact(name):
    assert_exact(lib.timm_model(name))


@pytest.mark.slow
def test_a_position_grid_resized_only_off_its_own_size_is_exact_on_both_sides():
    """Qwen3-ViT resizes its 48 x 48 position grid (bilinear, which fvcore prices) only where
    the patch grid is not 48 x 48: imported at 768 (no resize), the spec comes from a capture
    where it resizes, the upsample marked to run only where it does. FlopCounterMode at 768
    and 224 x 288, and fvcore at 224 x 288, where the resize costs 4 per output element."""
    import netcalc
    from netcalc.torch.validate import MEASURES

    model = lib.timm_model("qwen3_vit_88m_enc")
    module = model.build("cpu")
    spec = netcalc.from_torch(module, 768, name=model.name)
    reference = lib.measure_torch(model.build("meta"), lambda: module, (768, 768), (224, 288))
    assert lib.compare(spec, reference).ok
    x = torch.randn(1, 3, 224, 288)
    assert netcalc.count(spec, "fvcore", (224, 288)).flops == \
        MEASURES["fvcore.flops"](module, (x,)).total
    assert [layer.get("only_if_resized") for layer in spec.raw["layers"]
            if layer["op"] == "upsample"] == [True]


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    # its class token, expanded under no_grad, is a view FlopCounterMode's module tracker refuses
    # there: the reference is measured with autograd on
    "pit_ti_224",
    "vit_little_patch16_reg4_gap_256",      # a class token and 4 register tokens side by side
    "convit_tiny",                          # 1 - sigmoid(gate): aten.rsub
    "beit_base_patch16_224",                # its q, zero k and v biases joined in forward
    "gcvit_xxtiny",         # its global query repeated for every window (repeat_interleave)
])
def test_transformers_of_one_size_the_sweep_fixed_are_exact(name):
    """Exact at their own size; their fixed position embeddings or windows fit that size only
    (the model runs at no rectangular size)."""
    reference, verdict = lib.import_and_compare(lib.timm_model(name))
    assert verdict.ok, verdict.reason
    assert reference.odd_size is None
    assert verdict.exact["torch_size"] and verdict.exact["params"] and verdict.exact["fvcore"]
