"""Property test: any data in a space file parses to a Space or fails with a one-line SpecError.

Values are drawn around the real shape of specs/spaces/*.yaml (field names, domains with
range/step/values/distribution, constraints, caps), wrong types included; a valid draw is sized.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcalc.errors import SpecError
from netcalc.spaces.schema import parse_space
from netcalc.spaces.sizes import space_size

DIMS = ["depth", "width", "bot_mul", "group_w", "w0", "wa", "wm", "x"]
NUMBER = st.one_of(st.integers(-4, 300), st.floats(-1, 300, allow_nan=False), st.integers(),
                   st.floats(), st.text(max_size=4), st.none(), st.booleans())
DOMAIN = st.one_of(
    st.fixed_dictionaries({"range": st.lists(NUMBER, min_size=0, max_size=3)},
                          optional={"step": NUMBER,
                                    "distribution": st.sampled_from(
                                        ["uniform", "log_uniform", "power2_or_log_uniform", "?"])}),
    st.fixed_dictionaries({"values": st.lists(NUMBER, max_size=5)}),
    NUMBER,
)
SPACE = st.fixed_dictionaries(
    {"kind": st.sampled_from(["anynet", "regnet", "other"])},
    optional={
        "name": st.text(max_size=8),
        "stages": st.one_of(st.integers(-1, 6), NUMBER),
        "stride": NUMBER,
        "network": st.dictionaries(st.sampled_from(["stem", "stem_w", "block", "resolution",
                                                    "num_classes", "q", "bad"]),
                                   st.one_of(NUMBER, st.sampled_from(["simple", "res_bottleneck"])),
                                   max_size=4),
        "domains": st.dictionaries(st.sampled_from(DIMS), DOMAIN, max_size=6),
        "constraints": st.dictionaries(
            st.sampled_from(["shared", "non_decreasing", "increasing", "stages",
                             "no_skipped_stages", "compatible", "bad"]),
            st.one_of(st.lists(st.sampled_from(DIMS), max_size=3), NUMBER), max_size=3),
        "caps": st.dictionaries(st.sampled_from(["flops", "params", "acts", "bad"]),
                                st.one_of(NUMBER, st.dictionaries(
                                    st.sampled_from(["M", "M_per_GF", "M_per_sqrt_GF", "max"]),
                                    NUMBER, max_size=2)), max_size=2),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPACE)
def test_space_files_parse_or_fail_cleanly(data):
    try:
        space = parse_space(data, "fuzz.yaml")
    except SpecError as exc:
        assert str(exc).startswith("fuzz.yaml") and "\n" not in str(exc)
    else:
        assert space_size(space) >= 0
