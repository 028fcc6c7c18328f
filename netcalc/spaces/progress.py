"""A one-line progress report on stderr, shown only when stderr is a terminal."""
from __future__ import annotations

import sys
import time
from typing import Any, Optional

from ..errors import safe_text


class Progress:
    """``with Progress(total, label, enabled) as bar: bar.update(done, extra)``.

    Redraws at most ten times a second; quiet in pipes, files and tests (stderr not a tty).
    """

    def __init__(self, total: int, label: str, enabled: bool = True, unit: str = "in regime",
                 extra_unit: str = "draws"):
        self.total = total
        self.label = safe_text(label)      # holds a space's name: a file's text
        self.unit = unit
        self.extra_unit = extra_unit
        self.enabled = enabled and sys.stderr.isatty()
        self._last = 0.0
        self._drawn = False

    def __enter__(self) -> "Progress":
        return self

    def update(self, done: int, extra: Optional[int] = None) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < self.total):
            return
        self._last = now
        width = 24
        filled = int(width * done / self.total) if self.total else width
        tail = f", {extra:,} {self.extra_unit}" if extra is not None else ""
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done}/{self.total} {self.unit}{tail}")
        sys.stderr.flush()
        self._drawn = True

    def __exit__(self, *exc: Any) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
