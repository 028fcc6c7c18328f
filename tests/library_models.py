"""Other libraries' models that ``netcalc import`` is swept over, and what the tools count on each.

One definition shared by tests/test_import_timm.py and benchmarks/bench_import_timm.py (issue 16):
- which of timm's modules are CNNs (:data:`MODULE_KINDS`), and torchvision's segmentation models
  and detection backbones with FPN (the detectors themselves run NMS: not a static graph);
- building a model (``pretrained=False``, eval) on the CPU or on PyTorch's meta device;
- the references, measured on the model itself: FlopCounterMode's flops (on the meta device, so
  nothing is allocated; on the CPU where an op has no meta kernel), the numel of its unique
  parameters, and fvcore's flops and activations traced as fvcore's users call it (autograd on);
- the comparison of an imported spec with them, as one flag per check and a one-line reason.

It goes through netcalc's public API only (``netcalc.from_torch``, ``netcalc.count``), so it
measures whichever importer the checkout has. The expected numbers are never typed in: they are
what the tools report for the model, at the same input size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import tv

# Each timm module by how its models mix information across positions.
# cnn: convolutions and pooling in every stage (channel gates such as squeeze-excite,
#   selective-kernel or split attention weigh channels from pooled features: no attention
#   between positions). transformer: attention between patch tokens in every stage, whatever the
#   stem (also token MLPs and RNNs: MLP-Mixer, Sequencer). hybrid: convolutional stages beside
#   attention stages, or a module whose models differ (metaformer: PoolFormer and ConvFormer beside
#   CAFormer). A module goes by its family: byobnet's CLIP ResNets (attention pooling) and its
#   non-local BAT ResNet, and mobilenetv3's MobileNetV4 hybrids (multi-query attention) are swept
#   with their CNN modules. Issue 16 sweeps the cnn modules, issue 17 the other two kinds.
_KINDS = {
    "cnn": """byobnet convmixer convnext cspnet cspnext densenet dla dpn efficientnet fasternet
        focalnet ghostnet hardcorenas hgnet hrnet inception_next inception_resnet_v2 inception_v3
        inception_v4 lcnetv2 mambaout mobilenetv3 nasnet nfnet pnasnet rdnet regnet repghost
        repvit res2net resnest resnet resnetv2 rexnet selecsls senet sknet starnet tresnet vgg
        vovnet xception xception_aligned""",
    "transformer": """beit cait coat convit crossvit davit deepseek_vit deit eva gemma4_vit hiera
        hieradet_sam2 mlp_mixer mvitv2 naflexvit nest pit pvt_v2 qwen3_vit sequencer
        swin_transformer swin_transformer_v2 swin_transformer_v2_cr tnt twins vision_transformer
        vision_transformer_relpos vision_transformer_sam volo xcit""",
    "hybrid": """byoanet cpubone csatv2 edgenext efficientformer efficientformer_v2 efficientvim
        efficientvit_mit efficientvit_msra fastvit gcvit iformer levit lowformer maxxvit metaformer
        mobilenetv5 mobilevit nextvit shvit swiftformer tiny_vit visformer
        vision_transformer_hybrid vitamin""",
}
MODULE_KINDS: Dict[str, str] = {module: kind for kind, modules in _KINDS.items()
                                for module in modules.split()}
KIND_CHOICES = {"cnn": ("cnn",), "transformer": ("transformer", "hybrid"),
                "all": ("cnn", "transformer", "hybrid")}
SEGMENTATION = ("fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
                "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
DETECTION_BACKBONES = ("resnet50_fpn", "resnet50_fpn_p6p7", "mobilenet_v3_large_fpn")
# torchvision's vision transformers (issue 17), by their module in torchvision.models
VISION_TRANSFORMERS = {
    "vision_transformer": ("vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"),
    "swin_transformer": ("swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"),
    "maxvit": ("maxvit_t",)}
DEFAULT_SIZE = (224, 224)
ODD_SIZE = (193, 257)
# where a model refuses ODD_SIZE: the sides rounded up to the next multiple of 2, 4, ... 64
ROUNDINGS = (2, 4, 8, 16, 32, 64)
FVCORE_MAX_FLOPS = 20e9     # fvcore convention (a multiply-add is one flop): traced up to here

Size = Tuple[int, int]


# -- the models ----------------------------------------------------------------------------------
def _detection_backbone(name: str) -> Any:
    """The backbone + FPN a torchvision detector builds (its default norm, FrozenBatchNorm2d)."""
    from torchvision.models.detection.backbone_utils import mobilenet_backbone, \
        resnet_fpn_backbone
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    if name == "resnet50_fpn":          # Faster, Mask and Keypoint R-CNN
        return resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=5)
    if name == "resnet50_fpn_p6p7":     # RetinaNet and FCOS: P3-P5, then P6 and P7
        return resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=5,
                                   returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(256, 256))
    if name == "mobilenet_v3_large_fpn":    # Faster R-CNN MobileNetV3-Large FPN
        return mobilenet_backbone(backbone_name="mobilenet_v3_large", fpn=True, weights=None,
                                  trainable_layers=6)
    raise KeyError(name)


@dataclass(frozen=True)
class Model:
    library: str        # timm or torchvision
    module: str         # timm's module; segmentation or detection for torchvision
    name: str
    kind: str           # cnn, transformer or hybrid

    def build(self, device: str = "cpu") -> Any:
        """The model in eval mode, untrained; on ``meta`` nothing is allocated or initialised."""
        import torch

        torch.manual_seed(0)
        with torch.device(device):
            if self.library == "timm":
                module = _timm().create_model(self.name, pretrained=False)
            elif self.module == "segmentation":
                module = getattr(tv.import_torchvision().models.segmentation, self.name)(
                    weights=None, weights_backbone=None)
            elif self.module in VISION_TRANSFORMERS:
                module = getattr(tv.import_torchvision().models, self.name)(weights=None)
            else:
                tv.import_torchvision()
                module = _detection_backbone(self.name)
        return module.eval()


def _timm() -> Any:
    timm = tv.import_timm()
    if timm is None:
        raise ImportError("timm is not installed: pip install -e \".[test]\"")
    return timm


def timm_models(kinds: Tuple[str, ...] = ("cnn",)) -> List[Model]:
    """Every model of timm's registry whose module is of one of ``kinds``."""
    timm = _timm()
    return [Model("timm", module, name, MODULE_KINDS.get(module, "unclassified"))
            for module in timm.list_modules() if MODULE_KINDS.get(module, "unclassified") in kinds
            for name in timm.list_models(module=module)]


def timm_model(name: str) -> Model:
    """One timm model by name, with its module and kind."""
    found = [m for m in timm_models(KIND_CHOICES["all"] + ("unclassified",)) if m.name == name]
    if not found:
        raise KeyError(f"{name} is not in timm's registry")
    return found[0]


def torchvision_models() -> List[Model]:
    return ([Model("torchvision", "segmentation", name, "cnn") for name in SEGMENTATION]
            + [Model("torchvision", "detection", name, "cnn") for name in DETECTION_BACKBONES]
            + [Model("torchvision", module, name, "transformer")
               for module, names in VISION_TRANSFORMERS.items() for name in names])


def timm_modules() -> List[str]:
    """The modules of timm's registry (those that define models)."""
    return list(_timm().list_modules())


def unique_numel(module: Any) -> int:
    """The parameters' numel, a tensor shared by several layers counted once (as
    ``Module.parameters()`` yields it)."""
    return sum(p.numel() for p in module.parameters())


def smallest(models: List[Model]) -> Model:
    """The model with the fewest parameters, each built on the meta device (nothing allocated)."""
    return min(models, key=lambda m: (unique_numel(m.build("meta")), m.name))


def own_size(module: Any) -> Size:
    """The input size a timm model was made for (its ``pretrained_cfg``), else 224x224."""
    size = getattr(module, "pretrained_cfg", {}).get("input_size")
    return (int(size[1]), int(size[2])) if size else DEFAULT_SIZE


def text(size: Optional[Size]) -> str:
    """``193x257``; empty for no size."""
    from netcalc.spec import format_resolution

    return format_resolution(tuple(size)) if size else ""


# -- the references ------------------------------------------------------------------------------
def _input(module: Any, size: Size, device: str) -> Any:
    import torch

    channels = getattr(module, "pretrained_cfg", {}).get("input_size", (3,))[0]
    return torch.randn(1, channels, *size, device=device)


def torch_flops(meta: Any, size: Size, real: Callable[[], Any]) -> int:
    """FlopCounterMode's flops of one eval forward at ``size``: on the meta module, else (an op
    without a meta kernel, a value read from a tensor) on ``real()``, the module on the CPU.
    Raises what the CPU forward raises where the model refuses the size."""
    from netcalc.torch.validate import run_measures

    try:
        return run_measures(meta, (_input(meta, size, "meta"),), ["torch.flops"])[
            "torch.flops"].total
    except Exception:       # noqa: BLE001 -- a meta kernel missing, or data read on meta
        module = real()
        try:
            return run_measures(module, (_input(module, size, "cpu"),), ["torch.flops"])[
                "torch.flops"].total
        except AssertionError as exc:
            if "Expected gradient function" not in str(exc):
                raise
            return _torch_flops_with_autograd(module, size)


def _torch_flops_with_autograd(module: Any, size: Size) -> int:
    """FlopCounterMode with autograd on, in eval, the math attention backend: a class token
    expanded under no_grad (CaiT's, PiT's) is a view that requires grad without a grad function,
    which FlopCounterMode's module tracker refuses; the forward's flops are the same."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from netcalc.torch.validate import MEASURES

    module.eval()
    with sdpa_kernel(SDPBackend.MATH):
        return MEASURES["torch.flops"](module, (_input(module, size, "cpu"),)).total


def odd_within_range(spec: Any) -> Optional[Size]:
    """Where the imported spec has a resolution_range (the model branches on its size, found
    by torch.export): 193x257 with each side raised to the range's first odd side (timm's
    vgg11, h, w >= 224: 225x257) or lowered to its last (torchvision's Swin-T imported at 224,
    sides up to 227: 193x227), so the odd size is one the spec holds for; None otherwise, or
    where the range holds no odd side."""
    limits = spec.raw.get("resolution_range")
    if not limits or sorted(limits) != ["h", "w"]:
        return None
    sides = []
    for axis, side in zip("hw", ODD_SIZE):
        low, high = limits[axis]
        side = max(side, low + 1 - low % 2)
        if high is not None:
            side = min(side, high - 1 + high % 2)
        if side < low:
            return None
        sides.append(side)
    return sides[0], sides[1]


def odd_size(meta: Any, real: Callable[[], Any], wanted: Size = ODD_SIZE
             ) -> Tuple[Optional[Size], Optional[int]]:
    """(size, FlopCounterMode flops there): ``wanted`` where the model runs at it, else its sides
    rounded up to the first multiple of 2, 4, ... 64 it accepts; (None, None) if none."""
    candidates = [wanted] + [tuple(-(-side // k) * k for side in wanted) for k in ROUNDINGS]
    for size in dict.fromkeys(candidates):
        try:
            return size, torch_flops(meta, size, real)
        except Exception:       # noqa: BLE001 -- any error of the model's forward is a refusal
            continue
    return None, None


@dataclass
class Reference:
    """What the tools count on the model itself."""

    size: Size
    torch_flops: int
    params: int
    odd_size: Optional[Size] = None
    torch_flops_odd: Optional[int] = None
    fvcore_flops: Optional[int] = None     # None: not traced (over the limit)
    fvcore_acts: Optional[int] = None
    fvcore_s: Optional[float] = None       # one fvcore trace (its flops)


def measure_torch(meta: Any, real: Callable[[], Any], size: Size, odd: Optional[Size] = None,
                  wanted: Size = ODD_SIZE) -> Reference:
    """FlopCounterMode at ``size`` and at an odd size (``odd``, else searched from ``wanted``),
    and the unique numel; all on the meta module where it runs."""
    if odd is None:
        found, flops_odd = odd_size(meta, real, wanted)
    else:
        found, flops_odd = odd, torch_flops(meta, odd, real)
    return Reference(size, torch_flops(meta, size, real), unique_numel(meta), found, flops_odd)


def measure_fvcore(module: Any, reference: Reference,
                   max_flops: float = FVCORE_MAX_FLOPS) -> None:
    """fvcore's flops (timed: one trace) and acts at the reference size, traced with autograd on
    as fvcore's users call it; skipped above ``max_flops`` (estimated as half FlopCounterMode's,
    which counts 2 per multiply-add)."""
    from netcalc.torch.validate import MEASURES

    if reference.torch_flops / 2 > max_flops:
        return
    x = _input(module, reference.size, "cpu")
    start = time.perf_counter()
    reference.fvcore_flops = MEASURES["fvcore.flops"](module, (x,)).total
    reference.fvcore_s = time.perf_counter() - start
    reference.fvcore_acts = MEASURES["fvcore.acts"](module, (x,)).total


# -- the comparison ------------------------------------------------------------------------------
@dataclass
class Verdict:
    """One flag per check (None: not checked) and what differed, in words."""

    exact: Dict[str, Optional[bool]] = field(default_factory=dict)
    differences: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(flag is not False for flag in self.exact.values())

    @property
    def reason(self) -> str:
        return "; ".join(self.differences)

    def check(self, key: str, what: Tuple[str, ...], counted: Callable[[], Tuple[int, ...]],
              measured: Tuple[Optional[int], ...], tool: str) -> None:
        """Flag ``key``: the spec's counts (``counted()``) equal the tool's (``measured``), each
        named in ``what``; not checked where the tool measured nothing."""
        if any(value is None for value in measured):
            self.exact[key] = None
            return
        try:
            values = counted()
        except Exception as exc:    # noqa: BLE001 -- the spec refusing a size is a finding
            self.exact[key] = False
            self.differences.append(f"{what[0]}: netcalc cannot count: {one_line(exc)}")
            return
        self.exact[key] = values == measured
        self.differences += [f"{name}: netcalc {a:,}, {tool} {b:,} ({b - a:+,})"
                             for name, a, b in zip(what, values, measured) if a != b]


def compare(spec: Any, reference: Reference) -> Verdict:
    """The imported spec's counts against the references, at the same sizes."""
    import netcalc

    def counts(convention: str, size: Size, *quantities: str) -> Callable[[], Tuple[int, ...]]:
        return lambda: tuple(getattr(netcalc.count(spec, convention, size), q)
                             for q in quantities)

    verdict = Verdict()
    size, odd = reference.size, reference.odd_size
    verdict.check("torch_size", (f"torch flops at {text(size)}",), counts("torch", size, "flops"),
                  (reference.torch_flops,), "FlopCounterMode")
    verdict.check("torch_odd", (f"torch flops at {text(odd)}",),
                  counts("torch", odd or size, "flops"),    # not checked without an odd size
                  (reference.torch_flops_odd,), "FlopCounterMode")
    verdict.check("params", ("params",), counts("torch", size, "params"), (reference.params,),
                  "numel")
    verdict.check("fvcore", (f"fvcore flops at {text(size)}", f"fvcore acts at {text(size)}"),
                  counts("fvcore", size, "flops", "acts"),
                  (reference.fvcore_flops, reference.fvcore_acts), "fvcore")
    return verdict


def one_line(exc: BaseException, limit: int = 400) -> str:
    """An error as one line: its type where it is not netcalc's own, its first line, shortened."""
    import netcalc

    first = (str(exc).strip().splitlines() or [""])[0]
    line = first if isinstance(exc, netcalc.NetcalcError) else f"{type(exc).__name__}: {first}"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def import_and_compare(model: Model, size: Optional[Size] = None, odd: Optional[Size] = None,
                       fvcore: bool = True) -> Tuple[Reference, Verdict]:
    """The whole check of one model, as a test runs it: references at ``size`` (default: the
    model's own) and ``odd`` (default: searched from 193x257), fvcore where in reach, then
    ``netcalc.from_torch`` and the comparison. An import failure raises."""
    import netcalc

    meta = model.build("meta")
    module = model.build("cpu")
    size = size or own_size(meta)
    spec = netcalc.from_torch(module, size, name=model.name)
    reference = measure_torch(meta, lambda: module, size, odd,
                              odd_within_range(spec) or ODD_SIZE)
    if fvcore:
        measure_fvcore(module, reference)
    return reference, compare(spec, reference)
