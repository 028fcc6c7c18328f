"""docs/ops.md's "Adding an op" example, run as written: the toy op registers, counts, and
validates against the fvcore trace of the module its torch facet builds."""
import os
import re

import pytest
import yaml

import netcalc
from netcalc.ops import OPS, unregister_op

from conftest import ROOT

DOC = open(os.path.join(ROOT, "docs", "ops.md")).read()
SECTION = DOC[DOC.index("## Adding an op"):]


@pytest.fixture
def toy_op():
    code = re.search(r"```python\n(.*?)```", SECTION, re.S).group(1)
    exec(compile(code, "docs/ops.md", "exec"), {})
    try:
        yield OPS["toy_scale"]
    finally:
        unregister_op("toy_scale")


def test_the_worked_example_counts_as_the_doc_says(toy_op):
    spec = yaml.safe_load(re.search(r"```yaml\n(.*?)```", SECTION, re.S).group(1))
    pycls = netcalc.count(spec, "pycls")
    # conv 3 -> 4, 1x1, 8x8: 768 MACs, 12 weights; toy_scale: 4 * 64 multiplies (pycls), 4 params
    assert (pycls.flops, pycls.params, pycls.acts) == (768 + 256, 12 + 4, 256)
    assert netcalc.count(spec, "fvcore").flops == 768 and netcalc.count(spec, "torch").flops == 1536
    with pytest.raises(netcalc.SpecError, match=r"layers\[1\]\.init: 10000000.0 is above"):
        netcalc.load_spec({**spec, "layers": [spec["layers"][0], {"op": "toy_scale", "init": 1e7}]})
    pytest.importorskip("fvcore")
    from netcalc.torch import validate_conventions

    for v in validate_conventions(spec, ("fvcore", "torch")):
        assert v.ok, v.convention


def test_the_registry_refuses_it_twice(toy_op):
    with pytest.raises(ValueError, match="already registered"):
        @netcalc.ops.register_op
        class Again(type(toy_op)):
            pass
