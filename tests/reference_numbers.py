"""Reference numbers the tests compare netcalc with: each typed once here, each with its source.

A test that needs one imports it (``from reference_numbers import REGNETX_800MF``) instead of
typing the digits again, so a figure cannot drift between files, and the comment beside it says
where it comes from -- never from netcalc's own output.
"""
from typing import NamedTuple


class Counts(NamedTuple):
    flops: int
    params: int
    acts: int


# RegNetX-800MF at 224 px, pycls convention: pycls's complexity rules written out by hand for this
# one network in benchmarks/bench_count.py::hand_count_regnetx_800mf (stages (1, 64) (3, 128)
# (7, 288) (5, 672), group width 16, simple stem 32, 1000 classes), which that benchmark checks
# netcalc against; pycls's MODEL_ZOO prints 800MF / 7.3M / 5.1M (docs/conventions.md).
REGNETX_800MF = Counts(799_700_712, 7_259_656, 5_148_744)
# The same network's fvcore flops: fvcore 0.1.5 FlopCountAnalysis of torchvision's RegNet built
# from the same config (tests/trace_pins.py, tests/data/traced_counts.json).
REGNETX_800MF_FVCORE_FLOPS = 810_028_128
