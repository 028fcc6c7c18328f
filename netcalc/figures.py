"""Writing matplotlib figures so that a failed write is an error, never a silent success."""
from __future__ import annotations

import io
from typing import Any

from .errors import SpecError


def write_figure(fig: Any, path: str, option: str = "--plot", **savefig: Any) -> None:
    """Render ``fig`` as PNG in memory, then write and flush it to ``path`` ourselves: a full
    disk or a device like /dev/full fails here (matplotlib may not report a failed close)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", **savefig)
    except ValueError as exc:
        raise SpecError(path, option, f"cannot draw the plot: {exc}") from None
    try:
        with open(path, "wb") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
    except OSError as exc:
        raise SpecError(path, option, f"cannot write the plot: {exc.strerror or exc}") from None
