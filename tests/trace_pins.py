"""Independent pins: every shipped spec's counts traced from a module netcalc did not build.

For each spec of specs/ and specs/examples/, a torch module written elsewhere -- torchvision's
model builders (ResNet, ResNeXt, RegNet, EfficientNet, MobileNetV3, DenseNet classes), timm's
ReXNet, RegNet and EfficientNet builders (where torchvision's rounds differently from pycls), or
a module written by hand below for the two small example graphs -- is traced at the
spec's own resolution with the tools the conventions are defined by:

* fvcore 0.1.5: ``FlopCountAnalysis`` (flops), ``parameter_count`` (params),
  ``ActivationCountAnalysis`` (acts) -- the fvcore convention;
* ``torch.utils.flop_counter.FlopCounterMode`` (flops) and the sum of ``p.numel()`` (params) --
  the torch convention, whose acts are fvcore's.

The pycls convention has no tracer; its figures are checked against the published ones
(tests/test_zoo*.py, tests/reference_numbers.py). The output, tests/data/traced_counts.json, is
what tests/test_pinned_counts.py compares netcalc with. Run (a few minutes per large model on a
loaded CPU):

    python tests/trace_pins.py [SPEC...]      # all shipped specs by default; merges into the file
"""
from __future__ import annotations

import glob
import json
import os
import sys
from typing import Any, Callable, Dict, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "data", "traced_counts.json")
sys.path.insert(0, HERE)


def shipped() -> list:
    return sorted(os.path.relpath(p, ROOT) for pattern in ("specs/*.yaml", "specs/examples/*.yaml")
                  for p in glob.glob(os.path.join(ROOT, pattern)))


# -- modules netcalc did not build, per spec ----------------------------------------------------
def _regnet(depth: int, w0: int, wa: float, wm: float, group_w: int, se: bool) -> Any:
    from torchvision.models.regnet import BlockParams, RegNet

    return RegNet(BlockParams.from_init_params(depth=depth, w_0=w0, w_a=wa, w_m=wm,
                                               group_width=group_w,
                                               se_ratio=0.25 if se else None))


# torchvision rounds RegNet's compatibility step half up where pycls rounds half to even (the
# RegNet paper's own code; tests/test_zoo_regnet_resnet.py::test_half_to_even_matters), which
# changes these networks: they come from timm's RegNet builder, which rounds as pycls does.
TIMM_REGNETS = {"specs/regnetx_400mf.yaml": "regnetx_004", "specs/regnetx_4.0gf.yaml": "regnetx_040",
                "specs/regnety_800mf.yaml": "regnety_008", "specs/regnety_4.0gf.yaml": "regnety_040",
                "specs/regnety_8.0gf.yaml": "regnety_080"}


def _timm(name: str) -> Any:
    import timm

    return _pooled_squeeze_excite(timm.create_model(name))


def _pooled_squeeze_excite(model: Any) -> Any:
    """timm's squeeze-excite modules pool with ``x.mean``, which fvcore does not count; the
    modules netcalc's conventions describe (pycls's, torchvision's) pool with
    ``AdaptiveAvgPool2d(1)``, which it does. Each SE of ``model`` pools that way instead, nothing
    else changed."""
    import torch.nn.functional as F
    from timm.layers.squeeze_excite import SEModule
    from timm.models._efficientnet_blocks import SqueezeExcite

    def se_module(se: Any, x: Any) -> Any:
        assert not se.add_maxpool
        return x * se.gate(se.fc2(se.act(se.bn(se.fc1(F.adaptive_avg_pool2d(x, 1))))))

    def squeeze_excite(se: Any, x: Any) -> Any:
        return x * se.gate(se.conv_expand(se.act1(se.conv_reduce(F.adaptive_avg_pool2d(x, 1)))))

    for module in model.modules():
        if isinstance(module, SEModule):
            module.forward = se_module.__get__(module)
        elif isinstance(module, SqueezeExcite):
            module.forward = squeeze_excite.__get__(module)
    return model


def _efficientnet_phi3() -> Any:
    """timm's EfficientNet generator at width 1.1^3, depth 1.2^3 (timm rounds widths and depths
    as pycls does; torchvision's builder scales the head differently), SE pooled as pycls's."""
    from timm.models.efficientnet import _gen_efficientnet

    return _pooled_squeeze_excite(_gen_efficientnet(
        "efficientnet_b0", channel_multiplier=1.1 ** 3, depth_multiplier=1.2 ** 3,
        pretrained=False))


def _resnext(layers: list) -> Any:
    from torchvision.models.resnet import Bottleneck, ResNet

    return ResNet(Bottleneck, layers, groups=32, width_per_group=4)


def _efficientnet(name: str) -> Any:
    import torchvision.models.efficientnet as effnet

    return getattr(effnet, name)()


def _rexnet(width_mult: float) -> Any:
    from timm.models.rexnet import RexNet

    return _pooled_squeeze_excite(RexNet(width_mult=width_mult))


def _tiny_cnn() -> Any:
    """specs/examples/tiny_cnn.yaml written as torch modules by hand."""
    from torch import nn

    class TinyCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2))
            self.a = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32),
                                   nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(32))
            self.proj = nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))
            self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Dropout(0.1), nn.Linear(32, 10))

        def forward(self, x: Any) -> Any:
            x = self.stem(x)
            return self.head(self.a(x) + self.proj(x))

    return TinyCNN()


def _se_mobile_block() -> Any:
    """specs/examples/se_mobile_block.yaml written as torch modules by hand."""
    from torch import nn

    class SEMobileBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=True), nn.SiLU())
            self.expand = nn.Sequential(nn.Conv2d(8, 32, 1, bias=False), nn.BatchNorm2d(32),
                                        nn.ReLU6(), nn.Conv2d(32, 32, 3, 1, 1, groups=32,
                                                              bias=False),
                                        nn.BatchNorm2d(32), nn.SiLU())
            self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(32, 8, 1), nn.SiLU(),
                                    nn.Conv2d(8, 32, 1), nn.Sigmoid())
            self.project = nn.Sequential(nn.Conv2d(32, 8, 1, bias=False), nn.BatchNorm2d(8))
            self.head = nn.Sequential(nn.AvgPool2d(2, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Linear(8, 5, bias=False))

        def forward(self, x: Any) -> Any:
            x = self.stem(x)
            y = self.expand(x)
            return self.head(self.project(y * self.se(y)) + x)

    return SEMobileBlock()


def _torchvision(name: str, **kwargs: Any) -> Callable[[], Any]:
    def make() -> Any:
        import torchvision.models as models

        return getattr(models, name)(**kwargs)
    return make


def _densenet_block() -> Any:
    from torchvision.models.densenet import DenseNet

    return DenseNet(growth_rate=32, block_config=(4, 2), num_init_features=64, bn_size=4)


def vit_base_patch16_dynamic() -> Any:
    """timm's ViT-B/16 whose position embedding is resampled to the token grid of any input
    (``dynamic_img_size=True``): specs/examples/vit_b_16.yaml is its import
    (``netcalc import tests/trace_pins.py:vit_base_patch16_dynamic``)."""
    import tv

    tv.import_torchvision()
    import timm

    return timm.create_model("vit_base_patch16_224", dynamic_img_size=True)


def modules() -> Dict[str, Tuple[str, Callable[[], Any]]]:
    """spec path -> (what the module is, its constructor)."""
    import yaml

    table: Dict[str, Tuple[str, Callable[[], Any]]] = {}
    for path in glob.glob(os.path.join(ROOT, "specs", "regnet*.yaml")):
        # the published pycls config (the RegNet paper's), given to torchvision's RegNet builder
        c = yaml.safe_load(open(path))
        se = "se_r" in c
        table[os.path.relpath(path, ROOT)] = (
            f"torchvision.models.regnet.RegNet(BlockParams.from_init_params(depth={c['depth']}, "
            f"w_0={c['w0']}, w_a={c['wa']}, w_m={c['wm']}, group_width={c['group_w']}"
            + (", se_ratio=0.25))" if se else "))"),
            lambda c=c, se=se: _regnet(c["depth"], c["w0"], c["wa"], c["wm"], c["group_w"], se))
    for path, name in TIMM_REGNETS.items():
        table[path] = (f"timm.create_model({name!r}), SE pooled by F.adaptive_avg_pool2d",
                       lambda name=name: _timm(name))
    for depth in (50, 101, 152):
        table[f"specs/resnet{depth}.yaml"] = (f"torchvision.models.resnet{depth}()",
                                              _torchvision(f"resnet{depth}"))
    for depth, layers in ((50, [3, 4, 6, 3]), (101, [3, 4, 23, 3]), (152, [3, 8, 36, 3])):
        table[f"specs/resnext{depth}_32x4d.yaml"] = (
            f"torchvision.models.resnet.ResNet(Bottleneck, {layers}, groups=32, "
            "width_per_group=4)", lambda layers=layers: _resnext(layers))
    for b in range(8):
        table[f"specs/efficientnet_b{b}.yaml"] = (f"torchvision.models.efficientnet_b{b}()",
                                                  lambda b=b: _efficientnet(f"efficientnet_b{b}"))
    for mult in ("0.9", "1.0", "1.3", "1.5", "2.0", "3.0"):
        table[f"specs/rexnet_{mult}.yaml"] = (f"timm.models.rexnet.RexNet(width_mult={mult}), SE "
                                              "pooled by F.adaptive_avg_pool2d",
                                              lambda m=float(mult): _rexnet(m))
    table["specs/examples/efficientnet_phi3.yaml"] = (
        "timm.models.efficientnet._gen_efficientnet('efficientnet_b0', channel_multiplier=1.1**3, "
        "depth_multiplier=1.2**3), SE pooled by F.adaptive_avg_pool2d",
        _efficientnet_phi3)
    table["specs/examples/mobilenetv3_small.yaml"] = (
        "torchvision.models.mobilenet_v3_small()", _torchvision("mobilenet_v3_small"))
    table["specs/examples/densenet_block.yaml"] = (
        "torchvision.models.densenet.DenseNet(growth_rate=32, block_config=(4, 2), "
        "num_init_features=64, bn_size=4)", _densenet_block)
    table["specs/examples/tiny_cnn.yaml"] = ("TinyCNN written by hand in tests/trace_pins.py",
                                             _tiny_cnn)
    table["specs/examples/se_mobile_block.yaml"] = (
        "SEMobileBlock written by hand in tests/trace_pins.py", _se_mobile_block)
    table["specs/examples/vit_b_16.yaml"] = (
        "timm.create_model('vit_base_patch16_224', dynamic_img_size=True), traced with autograd "
        "on and the math attention backend", vit_base_patch16_dynamic)
    return table


def trace(path: str) -> dict:
    """The fvcore and torch counts of ``path``'s independent module at the spec's resolution."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    import netcalc
    from netcalc.torch.validate import MEASURES

    what, make = modules()[path]
    resolution = netcalc.load_spec(os.path.join(ROOT, path)).resolution
    module = make().eval()
    x = torch.zeros(1, 3, resolution, resolution)
    # autograd on: fvcore's users call it so (nn.MultiheadAttention takes a fused path without);
    # the math backend: FlopCounterMode then counts attention as its CUDA formula does
    with sdpa_kernel(SDPBackend.MATH):
        got = {name: MEASURES[name](module, (x,)).total for name in
               ("fvcore.flops", "fvcore.params", "fvcore.acts", "torch.flops", "torch.numel")}
    return {"resolution": resolution, "module": what,
            "fvcore": [got["fvcore.flops"], got["fvcore.params"], got["fvcore.acts"]],
            "torch": [got["torch.flops"], got["torch.numel"], got["fvcore.acts"]]}


def main(paths: list) -> None:
    import tv

    tv.import_torchvision()
    pins = json.load(open(OUT)) if os.path.exists(OUT) else {}
    for path in paths or shipped():
        pins[path] = trace(path)
        import netcalc

        counted = {c: list(netcalc.count(os.path.join(ROOT, path), c).totals().values())
                   for c in ("fvcore", "torch")}
        same = all(pins[path][c] == counted[c] for c in counted)
        print(f"{path}: {'equal' if same else 'DIFFERS'} {pins[path]} netcalc {counted}",
              flush=True)
        with open(OUT, "w") as handle:
            json.dump(dict(sorted(pins.items())), handle, indent=1)
            handle.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
