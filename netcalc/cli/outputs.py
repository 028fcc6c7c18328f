"""What commands say on stderr besides errors: the files they write.

Every file a command writes is announced as ``wrote FILE`` on stderr (stdout stays the data),
under the name it really has: a plot named without an extension gets ``.png``, as matplotlib
would add it, but here before any work, so the name announced and the name checked agree.
"""
from __future__ import annotations

import os

import click

from ..errors import SpecError, safe_text

PLOT_EXTENSIONS = (".png",)     # write_figure renders PNG only


def plot_path(path: str, option: str = "--plot") -> str:
    """The file a plot option will write (``.png`` added to a bare name that names nothing yet;
    an existing file or device is written as named), checked before the work: the plot extra is
    installed and the folder exists."""
    from ..extras import require

    require("plot", option)
    extension = os.path.splitext(path)[1]
    if extension and extension.lower() not in PLOT_EXTENSIONS:
        raise SpecError(path, option, f"plots are written as PNG: {extension} is not a "
                                      f"supported extension ({', '.join(PLOT_EXTENSIONS)})")
    bare = not extension and not os.path.exists(path)
    return output_path(path + ".png" if bare else path, option)


def output_path(path: str, option: str) -> str:
    """``path`` when its folder exists; a SpecError naming the option otherwise."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise SpecError(path, option, f"no such folder {folder!r}")
    return path


def wrote(path: str, what: str = "") -> None:
    """``wrote PATH``: the path is the user's text, escaped so it cannot steer the terminal."""
    click.echo(f"wrote {safe_text(path)}{f' ({what})' if what else ''}", err=True)
