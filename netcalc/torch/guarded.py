"""``netcalc.from_torch``: the importer's entry point with its arguments checked first, and a
model whose code calls ``sys.exit`` while it is traced turned into a one-line error rather than
the end of the caller's process."""
from __future__ import annotations

from typing import Any, Optional

from ..errors import ArgumentError, SpecError


def check_module(module: Any) -> None:
    from torch import nn

    if not isinstance(module, nn.Module):
        raise ArgumentError("", "module", f"expected a torch.nn.Module, got "
                                          f"{type(module).__name__}")


def from_torch(module: Any, resolution: Any = 224, name: Optional[str] = None,
               allow_unknown: bool = False, source: str = "",
               in_channels: Optional[int] = None, symbolic_timeout: Optional[float] = None) -> Any:
    """The graph spec of a torch module, checked against its traced shapes and parameters
    (:func:`netcalc.torch.importer.from_torch`), named ``name`` or after the module's class."""
    from ..spec import check_resolution
    from . import importer

    check_module(module)
    resolution = check_resolution(resolution)     # 224 or (h, w), by name, before tracing
    try:
        timeout = importer.SYMBOLIC_TIMEOUT if symbolic_timeout is None else symbolic_timeout
        return importer.from_torch(module, resolution, name, allow_unknown, source, in_channels,
                                   timeout)
    except SystemExit as exc:       # the model's own code, while it was traced
        raise SpecError(source or type(module).__name__, "",
                        f"the module's code called sys.exit({exc.code!r}) while it was "
                        "traced") from None

