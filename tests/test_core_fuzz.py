"""Property test: whatever data a spec file can hold, loading it ends in a Spec or a SpecError.

Hypothesis draws mappings built from the real field names (so the drawn specs get deep into the
family parsers) with values of every YAML type, including wrong ones. Any other exception would
be a traceback for a user.
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netcalc
from netcalc.families import FAMILY_MODULES

FIELD_NAMES = [
    "name", "family", "resolution", "in_channels", "num_classes", "stem", "stem_w", "block",
    "se_r", "head_w", "stages", "depth", "width", "stride", "bot_mul", "group_w", "w0", "wa",
    "wm", "q", "layers", "op", "out", "kernel", "padding", "groups", "bias", "input", "with",
    "p", "variant", "phi", "width_mult", "depth_mult", "dropout", "se_ratio", "use_se", "alpha",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 5000), st.integers(), st.floats(allow_nan=True),
    st.sampled_from(sorted(FAMILY_MODULES) + ["conv", "relu", "gap", "linear", "add", "res",
                                              "simple", "res_bottleneck", "b3", "x"]),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=6)),
    max_leaves=20,
)
SPECS = st.fixed_dictionaries(
    {"family": st.sampled_from(sorted(FAMILY_MODULES))},
    optional={name: VALUES for name in FIELD_NAMES if name != "family"},
)


def loads_or_refuses(data):
    try:
        spec = netcalc.load_spec(data)
    except netcalc.SpecError as exc:
        assert str(exc).startswith("<dict>") and "\n" not in str(exc)
    else:
        report = netcalc.count(spec)
        assert report.flops >= 0 and report.params >= 0


# 100 drawn specs in the fast tier, 400 in the slow one (issue 19: 9 s of CPU for 400)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPECS)
def test_loading_never_raises_anything_but_spec_error(data):
    loads_or_refuses(data)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPECS)
def test_loading_never_raises_anything_but_spec_error_long_run(data):
    loads_or_refuses(data)
