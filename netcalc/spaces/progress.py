"""Progress of a long library loop on an interactive stderr: click's progress bar, the one the
command line uses too (netcalc.cli.with_progress); silent in pipes, files and tests."""
from __future__ import annotations

import sys
from typing import Any, Optional

from ..errors import safe_text


class Progress:
    """``with Progress(total, label, enabled) as bar: bar.update(done, extra)``.

    ``done`` counts towards ``total`` (the unit is named in the label); ``extra``, a second count
    shown beside the bar (``extra_unit``), e.g. the draws that the kept samples took.
    """

    def __init__(self, total: int, label: str, enabled: bool = True, unit: str = "in regime",
                 extra_unit: str = "draws"):
        self.total = total
        self.label = f"{safe_text(label)} ({unit})"     # holds a space's name: a file's text
        self.extra_unit = extra_unit
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._done = 0

    def __enter__(self) -> "Progress":
        if self.enabled:
            import click

            self._bar = click.progressbar(length=self.total, label=self.label, file=sys.stderr,
                                          item_show_func=self._extra)
            self._bar.__enter__()
        return self

    def _extra(self, extra: Optional[int]) -> Optional[str]:
        return None if extra is None else f"{extra:,} {self.extra_unit}"

    def update(self, done: int, extra: Optional[int] = None) -> None:
        if self._bar is not None:
            self._bar.update(done - self._done, extra)
            self._done = done

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
