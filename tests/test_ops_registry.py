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
from netcalc.ops import OPS, OpDef, all_ops, get_op, register_op
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
            params = staticmethod(lambda ins, out, a: 0)
            flops = acts = {"pycls": params}

            def parse(self, f):
                return None
    assert "incomplete_toy" not in OPS


@pytest.mark.parametrize("table, rules, message", [
    ("flops", {"pycls": lambda ins, out, a: 0, "fvcor": lambda ins, out, a: 0},
     r"flops\['fvcor'\] names no convention"),
    ("acts", {"pycls": lambda ins, out, a: 0, "Torch": lambda ins, out, a: 0},
     r"acts\['Torch'\] names no convention"),
    ("flops", {"pycls": 0}, r"flops\['pycls'\] is not callable"),
    ("arity", (0, 1), r"arity \(0, 1\) is not"),
    ("sampler_attrs", ("out", "kernel"), r"sampler_attrs \('out', 'kernel'\) names attributes "
                                         r"other than out, groups"),
])
def test_a_misspelt_convention_or_malformed_facet_is_refused(table, rules, message):
    """Every key of a cost table is checked at registration: a typo would otherwise make the
    convention silently inherit its parent's rule."""
    relu = type(OPS["relu"])
    with pytest.raises(TypeError, match=message):
        register_op(type("MisspeltToy", (relu,), {"name": "misspelt_toy", table: rules}))
    assert "misspelt_toy" not in OPS


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
