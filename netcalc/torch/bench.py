"""Measured forward time and memory of the real module, beside the exact counts of the same spec.

Timing: the module from :func:`~netcalc.torch.builder.build` (``init=False``: timings do not
depend on the values in dense kernels), in ``eval()`` and ``torch.inference_mode()``, run
``warmup`` times, then ``repeat`` timed forwards of one batch. On CUDA each forward sits between
two CUDA events (cuDNN autotuning on, so the warm-up picks the kernels), one synchronise at the
end; on CPU a clock read around each forward, on a fixed number of intra-op threads: wall time
(``time.perf_counter``) by default, or the CPU time of the process (``time.process_time``, all
threads summed), which leaves out the time other processes hold the cores -- on a shared machine
the steadier measure of what the network costs.

Memory, in bytes:

* estimate, from the node shapes alone (no module): :func:`netcalc.limits.module_memory` at the
  batch and item size -- weights, input and every node's output held at once, as a training
  forward or a tracer keeps them; an inference forward frees most of them.
* measured peak: the most bytes of tensors alive at once during one forward, weights and input
  included. CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (caching
  allocator's view: block rounding and cuDNN workspaces included). CPU: :class:`LiveTensorBytes`,
  the storages that ops return, counted from creation until their last tensor dies (kernel
  scratch buffers and allocator overhead are invisible to it).
"""
from __future__ import annotations

import gc
import os
import statistics
import time
import weakref
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .. import count
from ..errors import SpecError
from ..limits import MemoryEstimate, module_memory
from .builder import build, example_input
from .validate import resolve_device

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# CPU clocks: name -> (clock, what the output says it is)
CLOCKS = {"wall": (time.perf_counter, "time.perf_counter, wall time"),
          "process": (time.process_time, "time.process_time, CPU time of all threads")}
CPU_PEAK_METHOD = "live tensor bytes (TorchDispatchMode), weights and input included"
CUDA_PEAK_METHOD = "torch.cuda.max_memory_allocated, weights and input included"


class Settings(NamedTuple):
    device: str = "cpu"          # "cpu" or "cuda" (resolved)
    batch: int = 1
    dtype: str = "float32"
    repeat: int = 10
    warmup: int = 3
    threads: Optional[int] = None    # CPU intra-op threads; None: torch's current count
    clock: str = "wall"              # CPU only: "wall" or "process" (see CLOCKS)
    convention: str = "pycls"
    resolution: Any = None           # None: each spec's own


class Timing(NamedTuple):
    times_ms: List[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def quartiles(self) -> Tuple[float, float]:
        """First and third quartile (inclusive method: the min and max for two runs)."""
        if len(self.times_ms) < 2:
            return self.times_ms[0], self.times_ms[0]
        q1, _, q3 = statistics.quantiles(self.times_ms, n=4, method="inclusive")
        return q1, q3


class Planned(NamedTuple):
    """A spec counted and sized, not yet run."""
    report: Any                  # netcalc.Report: exact flops, params, acts of the timed graph
    estimate: MemoryEstimate

    def __str__(self) -> str:       # the progress bar's label
        return self.report.name


class Result(NamedTuple):
    report: Any
    estimate: MemoryEstimate
    timing: Timing
    peak_bytes: Optional[int]
    batch: int

    @property
    def images_per_s(self) -> float:
        return self.batch / (self.timing.median / 1000.0)


# -- planning: counts, estimate, refusal ------------------------------------------------------------
def plan(spec: Any, settings: Settings) -> Planned:
    """Count ``spec`` and estimate its memory at the batch and dtype (builds nothing)."""
    report = count(spec, settings.convention, settings.resolution)
    refuse_fixed_batch(report, settings.batch)
    return Planned(report, module_memory(report, settings.batch, DTYPES[settings.dtype].itemsize))


def refuse_fixed_batch(report: Any, batch: int) -> None:
    """SpecError (naming --batch) for a reshape to a constant batch other than ``batch``: an
    imported model traced at batch 1 keeps its literal sizes, and would fail mid-run."""
    for node in report.graph.layers:
        shape = getattr(node.attrs, "shape", None)
        if node.op == "reshape" and shape and isinstance(shape[0], int) \
                and shape[0] not in (-1, batch):
            raise SpecError(report.spec.source, "--batch", (
                f"{batch}: layer {node.name} reshapes to {list(shape)}, a batch of "
                f"{shape[0]} (its sizes were traced at batch {shape[0]}); bench it at --batch "
                f"{shape[0]}"))


def device_capacity(device: str) -> Tuple[int, str]:
    """Bytes a run may use on ``device``, and what that figure is."""
    if device == "cuda":
        return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory, \
            "total memory of " + torch.cuda.get_device_name()
    return available_ram(), "available RAM"


def available_ram() -> int:
    """MemAvailable of /proc/meminfo (free plus reclaimable), else the free physical pages."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def refuse_oversized(planned: Iterable[Planned], settings: Settings) -> None:
    """SpecError (naming --batch) for the first spec whose estimate exceeds the device's memory."""
    capacity, what = device_capacity(settings.device)
    for p in planned:
        if p.estimate.total > capacity:
            raise SpecError(p.report.spec.source, "--batch", (
                f"estimated memory {gib(p.estimate.total)} at batch {settings.batch} "
                f"{settings.dtype} exceeds the {gib(capacity)} {what} of {settings.device} "
                "(lower --batch, --resolution or --dtype)"))


def gib(nbytes: int) -> str:
    return f"{nbytes / 2 ** 30:.2f} GiB"


# -- running -----------------------------------------------------------------------------------------
def run(planned: Planned, settings: Settings) -> Result:
    """Build, warm up and time one spec; then its peak memory."""
    device = settings.device
    dtype = DTYPES[settings.dtype]
    module = build(planned.report.graph, device=device, init=False).to(dtype)
    one = example_input(planned.report.graph, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    x = torch.randn((settings.batch, *one.shape[1:]), generator=generator, device=device,
                    dtype=dtype)
    with torch.inference_mode():
        for _ in range(settings.warmup):
            module(x)
        if device == "cuda":
            times, peak = _time_cuda(module, x, settings.repeat)
        else:
            times = _time_cpu(module, x, settings.repeat, CLOCKS[settings.clock][0])
            peak = _cpu_peak(module, x)
    del module, x
    release(device)
    return Result(planned.report, planned.estimate, Timing(times), peak, settings.batch)


def _time_cpu(module: Any, x: Any, repeat: int, clock: Callable[[], float]) -> List[float]:
    times = []
    for _ in range(repeat):
        start = clock()
        module(x)
        times.append((clock() - start) * 1000.0)
    return times


def _time_cuda(module: Any, x: Any, repeat: int) -> Tuple[List[float], int]:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(repeat)]
    for start, end in events:
        start.record()
        module(x)
        end.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(end) for start, end in events], torch.cuda.max_memory_allocated()


def _cpu_peak(module: Any, x: Any) -> int:
    resident = [*module.parameters(), *module.buffers(), x]
    with LiveTensorBytes(resident) as live:
        module(x)
    return live.peak


def release(device: str) -> None:
    """Free the last spec's tensors so the next one's peak starts from nothing."""
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of tensor storage alive while the mode is on.

    ``resident`` tensors (weights, input) count from the start; every storage an op returns counts
    once (views and aliases share it) from its creation until the last tensor on it is freed.
    """

    def __init__(self, resident: Iterable[Any] = ()):
        super().__init__()
        self._storages: Dict[int, List[int]] = {}      # data_ptr -> [live tensors, bytes]
        self._resident = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                          for t in resident}
        self.current = self.peak = sum(self._resident.values())

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor):
                self._track(tensor)
        return out

    def _track(self, tensor: Any) -> None:
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
        if pointer in self._resident or storage.nbytes() == 0:
            return
        entry = self._storages.get(pointer)
        if entry is None:
            entry = self._storages[pointer] = [0, storage.nbytes()]
            self.current += entry[1]
            self.peak = max(self.peak, self.current)
        entry[0] += 1
        weakref.finalize(tensor, self._release, pointer)

    def _release(self, pointer: int) -> None:
        entry = self._storages[pointer]
        entry[0] -= 1
        if entry[0] == 0:
            self.current -= entry[1]
            del self._storages[pointer]


# -- the whole benchmark ------------------------------------------------------------------------------
def configure(device: str, threads: Optional[int],
              clock: str = "wall") -> Tuple[str, Optional[int]]:
    """The resolved device and, on CPU, the fixed intra-op thread count every spec runs with."""
    device = resolve_device(device)
    if device == "cuda":
        if clock != "wall":
            raise SpecError("", "--clock", f"{clock} is a CPU clock; CUDA runs use CUDA events")
        torch.backends.cudnn.benchmark = True
        return device, None
    if threads is not None:
        torch.set_num_threads(threads)
    return device, torch.get_num_threads()


def bench(specs: Iterable[Any], settings: Settings,
          progress: Callable[[List[Planned]], Iterable[Planned]] = iter) -> List[Result]:
    """Count and size every spec, refuse any too big for the device, then time each in turn."""
    planned = [plan(spec, settings) for spec in specs]
    refuse_oversized(planned, settings)
    return [run(p, settings) for p in progress(planned)]


def environment(settings: Settings) -> Dict[str, Any]:
    """What the timings depend on, stated beside them."""
    device = settings.device
    return {"device": device,
            "device_name": torch.cuda.get_device_name() if device == "cuda" else _cpu_name(),
            "threads": settings.threads, "torch": torch.__version__, "dtype": settings.dtype,
            "batch": settings.batch, "warmup": settings.warmup, "repeat": settings.repeat,
            "convention": settings.convention,
            "timer": "CUDA events" if device == "cuda" else CLOCKS[settings.clock][1],
            "peak_memory": CUDA_PEAK_METHOD if device == "cuda" else CPU_PEAK_METHOD}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()
