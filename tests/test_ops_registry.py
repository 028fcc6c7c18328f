"""The op registry: every op has every facet, and every rule works on int, sympy and numpy sizes.

Rules must be pure, branch-free functions of sizes (see netcalc/ops/registry.py): counting
evaluates them on ints, closed forms on sympy expressions, the design-space sampler on numpy
arrays. Each op's ``example()`` is evaluated three ways here and the three must agree exactly;
its torch module, run on zeros of the example shapes, must give the shape infer_shape gives.
"""
import numpy as np
import pytest
import sympy

from netcalc.errors import GraphError
from netcalc.ops import OPS, OpDef, all_ops, get_op, register_op, unregister_op
from netcalc.ops.activation_extra import PreluAttrs
from netcalc.ops.norm_extra import LayerNormAttrs
from netcalc.ops.registry import FACETS, missing_facets
from netcalc.rules import CONVENTIONS

ALL_OPS = sorted(all_ops())        # the lazily registered groups too


def test_the_existing_ops_are_registered():
    assert {"conv", "bn", "relu", "relu6", "silu", "sigmoid", "maxpool", "avgpool", "gap",
            "linear", "add", "mul", "flatten", "dropout", "identity"} <= set(OPS)


@pytest.mark.parametrize("name", ALL_OPS)
def test_every_op_has_every_facet(name):
    op = OPS[name]
    assert missing_facets(op) == []
    assert all(hasattr(op, facet) for facet in FACETS)
    lo, hi = op.arity
    assert 1 <= lo and (hi is None or hi >= lo)
    ins, attrs = op.example()
    assert isinstance(attrs, op.Attrs)
    for convention in CONVENTIONS.values():        # a rule in every convention, via parents
        assert all(callable(rule) for rule in convention.table()[name])


def _rules(name):
    return [(c.name, kind, rule) for c in CONVENTIONS.values()
            for kind, rule in zip(("flops", "params", "acts"), c.table()[name])]


@pytest.mark.parametrize("name", ALL_OPS)
def test_every_rule_on_int_sympy_and_numpy(name):
    ins, attrs = OPS[name].example()
    check_rules_three_ways(name, ins, attrs)


def _more_examples():
    """Examples beyond each op's own: windows over 1 and 3 axes, a conv padded by name."""
    from netcalc.ops.conv import ConvAttrs, ConvTransposeAttrs
    from netcalc.ops.norm_extra import InstanceNormAttrs
    from netcalc.ops.pool import PoolAttrs
    from netcalc.ops.resample import AdaptiveAttrs
    from netcalc.ops.simple import NO_ATTRS

    signal, volume = (1, 4, 9), (1, 4, 3, 5, 7)
    return [("conv", (signal,), ConvAttrs(6, 3, 2, 1, 1, 2, True)),
            ("conv", (volume,), ConvAttrs(6, (1, 3, 3), (1, 2, 1), 1, (1, 1, 2), 1, False)),
            ("conv", ((1, 4, 9, 7),), ConvAttrs(6, 3, 1, 1, string_padding=True)),
            ("conv_transpose", (signal,), ConvTransposeAttrs(6, 3, 2, 1, output_padding=1)),
            ("conv_transpose", (volume,), ConvTransposeAttrs(6, 2, 2, groups=2, bias=True)),
            ("maxpool", (volume,), PoolAttrs((1, 3, 3), 2, (0, 1, 1), ceil_mode=True)),
            ("avgpool", (signal,), PoolAttrs(3, 2, 1)),
            ("adaptive_avgpool", (volume,), AdaptiveAttrs((2, 1, 3))),
            ("adaptive_maxpool", (signal,), AdaptiveAttrs(2)),
            ("gap", (volume,), NO_ATTRS),
            ("bn", (volume,), NO_ATTRS),
            ("instance_norm", (signal,), InstanceNormAttrs(affine=True))]


@pytest.mark.parametrize("name, ins, attrs", _more_examples(),
                         ids=[f"{name}-{len(ins[0]) - 2}d" for name, ins, _ in _more_examples()])
def test_rules_on_int_sympy_and_numpy_over_1_and_3_axes(name, ins, attrs):
    check_rules_three_ways(name, ins, attrs)


def check_rules_three_ways(name, ins, attrs):
    """The op's rules on ``ins`` give the same counts on ints, sympy symbols and numpy arrays."""
    out = OPS[name].infer_shape(ins, attrs)
    # sympy: every dim a symbol; numpy: every dim an array holding it twice
    symbols = {}

    def symbolic(shape, tag):
        dims = []
        for i, d in enumerate(shape):
            s = sympy.Symbol(f"{tag}{i}", integer=True, positive=True)
            symbols[s] = d
            dims.append(s)
        return tuple(dims)

    sym_ins = tuple(symbolic(s, f"i{k}_") for k, s in enumerate(ins))
    sym_out = symbolic(out, "o")

    def array(shape):
        return tuple(np.array([d, d], dtype=np.int64) for d in shape)

    for convention, kind, rule in _rules(name):
        exact = rule(ins, out, attrs)
        assert isinstance(exact, int) and exact >= 0, (convention, kind)
        value = sympy.sympify(rule(sym_ins, sym_out, attrs)).xreplace(symbols)
        assert value == exact, (convention, kind, value, exact)
        vector = rule(tuple(array(s) for s in ins), array(out), attrs)
        assert np.all(np.asarray(vector) == exact), (convention, kind, vector, exact)


@pytest.mark.parametrize("name", ALL_OPS)
def test_torch_facet_builds_what_infer_shape_says(name):
    torch = pytest.importorskip("torch")
    op = OPS[name]
    ins, attrs = op.example()
    out = op.infer_shape(ins, attrs)
    module = op.torch(ins, out, attrs)
    with torch.no_grad():
        result = module(*(torch.zeros(*shape) for shape in ins))
    assert tuple(result.shape) == tuple(out)
    expected_params = CONVENTIONS["fvcore"].table()[name][1](ins, out, attrs)
    params = module.parameters() if isinstance(module, torch.nn.Module) else ()
    assert sum(p.numel() for p in params) == expected_params


def test_duplicates_and_incomplete_definitions_are_refused():
    with pytest.raises(ValueError, match="'relu' is already registered"):
        @register_op
        class AnotherRelu(type(OPS["relu"])):
            name = "relu"

    with pytest.raises(TypeError, match="lacks .*infer_shape"):
        @register_op
        class Incomplete(OpDef):
            name = "incomplete_toy"
            Attrs = object
            params = flops = acts = {"pycls": lambda ins, out, a: 0}

            def parse(self, f):
                return None
    assert "incomplete_toy" not in OPS


@pytest.mark.parametrize("table, rules, message", [
    ("flops", {"pycls": lambda ins, out, a: 0, "fvcor": lambda ins, out, a: 0},
     r"flops\['fvcor'\] names no convention"),
    ("acts", {"pycls": lambda ins, out, a: 0, "Torch": lambda ins, out, a: 0},
     r"acts\['Torch'\] names no convention"),
    ("flops", {"pycls": 0}, r"flops\['pycls'\] is not callable"),
    # params is a table like flops and acts, with its one rule under pycls
    ("params", staticmethod(lambda ins, out, a: 0),
     r"params is not a mapping of convention -> rule \(a bare rule\): write "
     r"params = \{'pycls': rule\}"),
    ("params", {"pycls": lambda ins, out, a: 0, "fvcore": lambda ins, out, a: 1},
     r"params\['fvcore'\]: params has one rule for every convention, params\['pycls'\]"),
    ("params", {"pycsl": lambda ins, out, a: 0},
     r"lacks params\['pycls'\]; params\['pycsl'\]: params has one rule"),
    ("params", {"pycls": 0}, r"params\['pycls'\] is not callable"),
    ("arity", (0, 1), r"arity \(0, 1\) is not"),
    ("sampler_attrs", ("out", "kernel"), r"sampler_attrs \('out', 'kernel'\) names attributes "
                                         r"other than out, groups"),
])
def test_a_misspelt_convention_or_malformed_facet_is_refused(table, rules, message):
    """Every key of a cost table is checked at registration: a typo would otherwise make the
    convention silently inherit its parent's rule."""
    relu = type(OPS["relu"])
    try:
        with pytest.raises(TypeError, match=message):
            register_op(type("MisspeltToy", (relu,), {"name": "misspelt_toy", table: rules}))
    finally:
        accepted = "misspelt_toy" in OPS
        if accepted:                    # leave the registry as found for the other cases
            unregister_op("misspelt_toy")
    assert not accepted


def test_params_are_one_rule_for_every_convention():
    """Looked up like flops and acts, params resolve to the op's one pycls rule everywhere."""
    for name in ALL_OPS:
        rules = {CONVENTIONS[c].params[name] for c in CONVENTIONS}
        assert rules == {CONVENTIONS["pycls"].table()[name][1]}, name


@pytest.mark.parametrize("name, shape, attrs, expected", [
    # a slope per channel: 4 channels, then 8 (the sampler tabulates a rule over widths)
    ("prelu", (1, 4, 5, 6), PreluAttrs(4), [4, 8]),
    ("prelu", (1, 4, 5, 6), PreluAttrs(1), [1, 1]),         # one shared slope
    ("prelu", (3,), PreluAttrs(1), [1, 1]),                 # a 1-D input has no channels
    # a scale and a shift per normalised element: the last two dims, 5 * 6, then 10 * 12
    ("layer_norm", (1, 4, 5, 6), LayerNormAttrs((5, 6)), [60, 240]),
    ("layer_norm", (1, 4, 5, 6), LayerNormAttrs((4,), channels_first=True), [8, 16]),
    ("layer_norm", (1, 4, 5, 6), LayerNormAttrs((6,), affine=False), [0, 0]),
])
def test_parameters_sized_by_the_input_follow_its_shape(name, shape, attrs, expected):
    """The design-space sampler evaluates a rule on arrays of sizes with the attributes as
    built: prelu's slopes and a layer norm's scale and shift are sized by the input shape, so
    they follow it (the attributes only choose the dims). On ints: the first width's count."""
    rule = CONVENTIONS["pycls"].params[name]
    out = OPS[name].infer_shape((shape,), attrs)
    assert rule((shape,), out, attrs) == expected[0]
    widths = tuple(np.array([d, 2 * d]) if axis else d for axis, d in enumerate(shape))
    assert np.broadcast_to(rule((widths,), widths, attrs), 2).tolist() == expected


def test_only_conv_and_linear_let_the_sampler_substitute_attributes():
    """The design-space sampler replaces an op's output width or groups only where the op says
    so (not by attribute name: channel_shuffle's ``groups`` is not a conv's)."""
    assert {name: op.sampler_attrs for name, op in all_ops().items() if op.sampler_attrs} == \
        {"conv": ("out", "groups"), "linear": ("out",)}


def test_the_registry_knows_every_convention():
    from netcalc.ops.registry import CONVENTION_NAMES

    assert tuple(CONVENTIONS) == CONVENTION_NAMES


def test_load_all_imports_the_lazy_groups():
    from netcalc.ops import registry

    assert set(registry.load_all()) == set(all_ops()) and "matmul" in registry.load_all()
    with pytest.raises(GraphError, match="unknown op 'nope'"):
        get_op("nope")


def test_conventions_are_read_only():
    with pytest.raises(TypeError):
        CONVENTIONS["fvcore"].flops["conv"] = lambda ins, out, a: 0


def test_conventions_doc_has_a_row_per_op():
    import os
    import re

    from conftest import ROOT

    doc = open(os.path.join(ROOT, "docs", "conventions.md")).read()
    table = doc[doc.index("## Per op"):doc.index("## Identities")]
    listed = {name for row in table.splitlines() if row.startswith("| `")
              for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert set(all_ops()) <= listed, sorted(set(all_ops()) - listed)
