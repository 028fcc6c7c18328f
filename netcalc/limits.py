"""Every bound of the package, each defined once with one meaning (docs/limits.md), and the
memory estimate that ``validate`` and ``bench`` refuse by.

Everything here is analytic (no torch): what a command would cost is estimated from exact
counts and node shapes, and refused at once, naming the parameter (option) that raises the
limit, when it would not fit. This module imports nothing of netcalc at load time, so every
other module may import its bounds.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from .errors import ArgumentError

# -- reading untrusted files (specs, space files, lock files) --------------------------------------
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DOCUMENT_VALUES = 200_000   # values after YAML alias expansion: an alias bomb stops here
MAX_NESTING = 64                # nesting of mappings/lists; real specs need 4
MAX_INT_DIGITS = 100            # integers in a document: far above any count, below int()'s limit
MAX_INT_BITS = 333              # 10**100 < 2**333: the same bound for data given as a mapping
MAX_LOCK_MODELS = 10_000        # models listed in one lock file
MAX_EXTENDS = 8                 # files in a space file's ``extends`` chain

# -- spec fields -----------------------------------------------------------------------------------
MAX_RESOLUTION = 8192           # a side of the input (also --resolution)
MAX_CHANNELS = 65536            # widths, stem, head, in_channels, conv/linear ``out``, groups
MAX_INPUTS = 16                 # inputs of an imported model (--input-shape, from_torch(inputs=))
MAX_INPUT_RANK = 8              # dims of a further input's shape (a mask, a vector, a volume)
MAX_STAGE_DEPTH = 1024          # blocks of one AnyNet or EfficientNet stage
MAX_REGNET_DEPTH = 1024         # blocks of a RegNet, all stages (its ``depth``)
MAX_TOTAL_DEPTH = 4096          # AnyNet blocks in all stages: no spec builds millions of layers
MAX_LAYERS = 100_000            # layers of a graph spec
MAX_OPERANDS = 1024             # inputs of one graph layer
MAX_LIKES = 3                   # further operands a reshape, index or slice reads "dK" sizes of
MAX_NOTES, MAX_NOTE_CHARS = 10_000, 1000    # a graph spec's notes, and the length of one

# -- op attributes ---------------------------------------------------------------------------------
MAX_RANK = 64                   # dims of a tensor; a dim argument lies in -MAX_RANK..MAX_RANK-1
MAX_DIM_SIZE = 1 << 30          # one dimension's size, slice bounds, padding, shuffle groups
MAX_NORM_SIZE = 1 << 20         # layer norm's normalized_shape entries, group norm's groups
MAX_PARAM_DIM = 1 << 20         # entries of a learned parameter's shape (scale, bias ops)
MAX_FEATURES = 1 << 30          # a linear layer's declared in_features and its out
MAX_RECURRENT_LAYERS = 64       # stacked layers of one LSTM
MAX_KERNEL = 64                 # kernel, stride, dilation and padding of a conv or pool
MAX_RESAMPLE_SIDE = 1 << 16     # an adaptive pool's or upsample's output side
MAX_SCALE = 64                  # an upsample's scale factor
MAX_COEFFICIENT = 1e6           # an activation's slope, alpha, beta or threshold
MAX_SCALAR = 1e30               # a constant operand of add, mul, ..., a pad's fill, clamp's bounds
MAX_EXPONENT = 1e6              # pow's constant exponent
MAX_ATTENTION_SCALE = 1e6       # sdpa's ``scale``, baddbmm's ``alpha`` and ``beta``
MAX_SAME_STRIDE = 16            # the stride of TF 'same' padding (its closed form has one term per phase)
MAX_MULTIPLE = 64               # the window a dim is padded (pad: {mode: multiple}) or a side resized
#                                 (upsample multiple_of) up to a multiple of
MAX_EQUATION = 200              # characters of an einsum equation

# -- design spaces ---------------------------------------------------------------------------------
MAX_DOMAIN = 1_000_000          # values of one dimension
MAX_STAGES = 16
MAX_STAGE_CHOICES = 4_000_000   # anynet kind: d x w x b x g choices of one stage
MAX_CHAIN_CELLS = 16_000_000    # choices per stage x stages of the exact-size dynamic program
MAX_DISTINCT_WIDTHS = 30_000_000    # widths `space --distinct` generates (points x depth)
MAX_TABLE = 8_000_000           # sampler's first-block table entries, all stages (x3, int64)
MAX_SAMPLE = 1_000_000          # kept members: ~40 s of drawing and writing
MAX_VERIFY = 10_000             # re-counts with netcalc.count (~5 ms each)
# draws before giving up: each keeps a fruitless search under ~30 s on a loaded machine
# (AnyNet draws cost ~1 us, RegNet draws ~0.3 ms: each generates and counts a network)
DEFAULT_MAX_CANDIDATES = {"anynet": 20_000_000, "regnet": 100_000}
MAX_FIT_WIDTHS = 4096           # per-block widths given to `fit`

# -- closed forms ----------------------------------------------------------------------------------
DEFAULT_MAX_PIECES = 200        # each costs up to ~64 expansions: `steps` under ~60 s by default
# evenly spaced first look at the interval: 2 per allowed piece (a dense interval is refused
# after ~1 s), 65 at least (to find the valid part between refused ends), 2049 at most
MIN_PROBES, MAX_PROBES = 65, 2049
MAX_PERIOD = 4096               # domain conditions with a longer period are written as equations

# -- importing (netcalc.torch) ---------------------------------------------------------------------
GUARD_SCAN = 512                # sides scanned each way from the asked one for a failing size check

# -- command line ----------------------------------------------------------------------------------
MAX_SIDE_DIGITS = 9             # digits of one --resolution side read as a number (more: too large)
MAX_TIMEOUT_S = 1_000_000       # import --timeout in seconds (about 11 days: no finite limit is longer)

# -- caches (netcalc.caches) ---------------------------------------------------------------------
MAX_EXPANSIONS = 256            # layer graphs kept (with what was counted from them)
MAX_MEMO_ENTRIES = 65536        # node costs kept per convention
MAX_TEMPLATES = 4096            # recorded block templates

# -- validation ---------------------------------------------------------------------------------
# estimated module memory (5G). Measured peaks of a trace stay below the estimate
# (tests/test_memory_estimate.py), so a run at the default stays under about 5 GB
MAX_MODULE_BYTES = 5_000_000_000
MAX_MISMATCH_ROWS = 40          # mismatched layers a validation table shows; JSON lists all
BYTES_PER_VALUE = 4             # float32 weights and activations
GiB = 1 << 30


class MemoryEstimate(NamedTuple):
    """Bytes of a forward pass that keeps every tensor it makes, as a tracer does: the weights,
    the input and every node's output, each node's shape times the batch (views counted too)."""
    params_bytes: int
    input_bytes: int
    outputs_bytes: int

    @property
    def total(self) -> int:
        return self.params_bytes + self.input_bytes + self.outputs_bytes


def module_memory(report: Any, batch: int = 1, itemsize: int = BYTES_PER_VALUE) -> MemoryEstimate:
    """The memory estimate of ``report``'s module at ``batch``, from the shapes of its nodes
    (graph shapes carry a batch of 1), ``itemsize`` bytes per value."""
    graph = report.graph
    outputs = sum(math.prod(node.shape) for node in graph.layers)
    return MemoryEstimate(itemsize * report.params, itemsize * batch * math.prod(graph.input_shape),
                          itemsize * batch * outputs)


def check_module_memory(report: Any, max_bytes: int = MAX_MODULE_BYTES) -> int:
    """The estimate's total at batch 1, or an ArgumentError naming ``max_memory`` when it is
    above ``max_bytes``."""
    from .spec import format_resolution

    need = module_memory(report).total
    if need > max_bytes:
        where = f"{report.name} at {format_resolution(report.resolution)} px"
        raise ArgumentError(report.spec.source, "max_memory",
                            f"building and tracing {where} needs about {need / GiB:.3g} GiB "
                            "(float32 weights, input and every "
                            f"layer's output), over the limit of {max_bytes:,} bytes; raise "
                            "`max_memory` (bytes, or a quantity like 16G) if the machine has it")
    return need
