"""TF "same" padding recognised at import: a pad whose amounts follow the input size becomes
``pad: {mode: same, ...}`` when TF's rule gives them at every size its symbolic rules are
evaluated at; by another rule, it holds the traced size's amounts (a ``fixed`` node: the import
holds the spec to the traced size where they differ from the model's at its second check size)."""
import pytest
import sympy

from netcalc.ops.aten import DATA, AtenCall, Dim, NotModelled, Tensor
from netcalc.ops.pad import pad_from_aten

H = sympy.Symbol("h", integer=True, positive=True)
W = sympy.Symbol("w", integer=True, positive=True)
TRACED = {H: 37, W: 50}


def dim(rule):
    rule = sympy.sympify(rule)
    value = int(rule.subs(TRACED))
    return Dim(value, rule) if rule.free_symbols else value


def tf_total(size, kernel, stride):
    """TF's total padding, as timm's pad_same computes it on a symbolic size."""
    return sympy.Max((sympy.ceiling(size / stride) - 1) * stride + kernel - size, 0)


def pad_call(amounts, value=0.0):
    source = Tensor((1, 8, dim(H), dim(W)), DATA)
    total_h = sum(amounts[2:])
    out = (1, 8, dim(H + total_h), dim(W + sum(amounts[:2])))
    named = {"input": source, "pad": tuple(dim(a) for a in amounts), "mode": "constant",
             "value": value}
    return AtenCall("pad", "default", tuple(named.values()), named, (out,))


def same_amounts(kernel_h, stride_h, kernel_w, stride_w):
    th, tw = tf_total(H, kernel_h, stride_h), tf_total(W, kernel_w, stride_w)
    return [sympy.floor(tw / 2), tw - sympy.floor(tw / 2), sympy.floor(th / 2),
            th - sympy.floor(th / 2)]


def test_tf_same_padding_is_recognised_per_axis():
    node = pad_from_aten(pad_call(same_amounts(3, 2, 3, 2), float("-inf")))
    assert node.attrs == {"pad": {"mode": "same", "kernel": 3, "stride": 2}, "value": float("-inf")}
    node = pad_from_aten(pad_call(same_amounts(2, 3, 5, 1)))
    assert node.attrs == {"pad": {"mode": "same", "kernel": [2, 5], "stride": [3, 1]}}


def test_amounts_following_another_rule_fit_the_traced_size_only():
    # floor(37 / 3) = 12 rows at the traced h = 37, by neither TF's rule nor up to a multiple
    node = pad_from_aten(pad_call([0, 0, sympy.floor(H / 3), 0]))
    assert node.attrs == {"pad": [0, 0, 12, 0]}
    assert "follow the input size by no rule netcalc writes" in node.fixed
    assert "other than TF's 'same' padding" in node.fixed


def test_static_sizes_cannot_tell_the_rule():
    """Sizes seen at two static sizes only (a rule that is not a symbolic expression): refused."""
    class Probed(tuple):
        pass

    source = Tensor((1, 8, Dim(37, Probed((37, 69))), Dim(51, Probed((51, 115)))), DATA)
    out = (1, 8, Dim(39, Probed((39, 70))), Dim(52, Probed((52, 116))))
    named = {"input": source, "pad": (0, 1, 1, 1), "mode": "constant", "value": 0.0}
    with pytest.raises(NotModelled, match="two static sizes"):
        pad_from_aten(AtenCall("pad", "default", tuple(named.values()), named, (out,)))


@pytest.mark.slow
def test_timms_same_padded_layers_import_exact_at_even_and_odd_sizes():
    """timm's Conv2dSame and MaxPool2dSame imported with symbolic sizes: the spec's pads are
    TF's rule, so counts equal fvcore's trace (autograd on) at sizes of either parity, where
    constant pads read at one size would be off by a row or column."""
    torch = pytest.importorskip("torch")
    import tv

    tv.import_torchvision()
    pytest.importorskip("timm")
    import netcalc
    from timm.layers import Conv2dSame
    from timm.layers.pool2d_same import MaxPool2dSame
    from netcalc.torch.importer import import_checked
    from test_ops_torch_modules import measured

    module = torch.nn.Sequential(Conv2dSame(3, 8, 5, stride=2), torch.nn.ReLU(),
                                 MaxPool2dSame(3, stride=2))
    spec, info = import_checked(module.eval(), (37, 50), "tf_same", in_channels=3,
                                symbolic_timeout=60)
    assert info.how == "symbolic"
    pads = [layer["pad"] for layer in spec.raw["layers"] if layer["op"] == "pad"]
    assert pads == [{"mode": "same", "kernel": k, "stride": 2} for k in (5, 3)]
    for size in ((64, 64), (65, 65), (64, 97)):
        fvcore, torch_count = netcalc.count(spec, "fvcore", size), netcalc.count(spec, "torch",
                                                                                size)
        assert (fvcore.flops, fvcore.acts, torch_count.flops, fvcore.params) == \
            measured(module, (1, 3) + size)[:4]
