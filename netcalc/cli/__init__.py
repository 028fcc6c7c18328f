"""The ``netcalc`` command line: thin click commands that parse, call the core, and render.

Each command group lives in its own module and registers itself on :data:`main`; modules other
than the counting commands are imported only when one of their commands runs (or for --help),
and heavy imports (torch, fvcore, sympy, numpy, tabulate) happen inside the commands.
"""
from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import Any, Callable, Iterator, Optional, Sequence

import click

from .. import __version__
from ..errors import NetcalcError, safe_text
from ..limits import MAX_SIDE_DIGITS


class NetcalcGroup(click.Group):
    """Imports each command's module only when that command is used, and turns every
    NetcalcError into exit 2 with one line on stderr, never a traceback; output that cannot be
    written (a full disk, /dev/full, a closed pipe) is one line and exit 2 as well."""

    # command -> module of this package that registers it (the counting commands always load)
    LAZY_COMMANDS = {
        "validate": "validation", "check": "validation", "lock": "validation",
        "space": "spaces", "sample": "spaces", "fit": "spaces",
        "solve": "closed_forms", "steps": "closed_forms", "trends": "closed_forms",
        "zoo": "zoo",
        "import": "importing",
        "bench": "bench",
    }

    def list_commands(self, ctx: click.Context) -> list:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str):  # type: ignore[no-untyped-def]
        if name not in self.commands and name in self.LAZY_COMMANDS:
            importlib.import_module(f".{self.LAZY_COMMANDS[name]}", __name__)
        return super().get_command(ctx, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """click's usage errors as one ``error:`` line too (click prints three by default);
        --help and --version print as usual. Output is flushed before exiting, whatever the
        status, so a full disk or closed pipe is reported here, once, not by the interpreter."""
        if not kwargs.pop("standalone_mode", True):    # an in-process caller handles the rest
            return super().main(*args, standalone_mode=False, **kwargs)
        if sys.stdout is None:          # started with standard output closed (>&-)
            sys.stdout = ClosedOutput()
        status: Any = 0
        try:
            super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as exc:
            status = exc.exit_code
        except SystemExit as exc:
            status = exc.code
        except click.ClickException as exc:
            fail(safe_text(exc.format_message()).replace("Error: ", ""), exc.exit_code or 2)
        except click.Abort:
            fail("aborted", 1)
        except OSError as exc:
            output_failed(exc)
        try:
            sys.stdout.flush()
        except OSError as exc:
            output_failed(exc)
        sys.exit(status)

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()      # a full disk must fail here, not at interpreter exit
            return result
        except NetcalcError as exc:
            fail(exc.cli_text())
        except (RecursionError, MemoryError) as exc:
            fail(f"input too large or too deeply nested ({type(exc).__name__})")
        except OSError as exc:
            output_failed(exc)


def output_failed(exc: OSError) -> None:
    """A failed write of the output (full disk, /dev/full, closed pipe) as one error line;
    any other OSError is a bug and keeps its traceback."""
    if exc.errno not in OUTPUT_ERRNOS:
        raise exc
    fail(f"cannot write the output: {exc.strerror or exc}", quiet_stdout=True)


class ClosedOutput:
    """Standard output when the process started without one: a command that writes nothing
    there works; the first write is the usual one-line output error."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


OUTPUT_ERRNOS = {errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EBADF}


def fail(line: str, status: int = 2, quiet_stdout: bool = False) -> None:
    """Print ``error: <line>`` (already one safe line) and exit ``status``. ``quiet_stdout``
    (stdout itself failed): swap it for /dev/null so the interpreter's last flush cannot add a
    second message."""
    if quiet_stdout:
        sys.stdout = open(os.devnull, "w")
    try:
        click.echo(f"error: {line}", err=True)
    except OSError:
        pass
    sys.exit(status)


def echo(text: str = "", *, err: bool = False, nl: bool = True, file: Any = None) -> None:
    """click.echo for text that may hold user strings (names, paths, stage labels): every
    control, bidi or format character but the newline is escaped, so it cannot steer the
    terminal. JSON output is ASCII with escapes already, so it passes unchanged."""
    safe = "\n".join(safe_text(line) for line in str(text).split("\n"))
    click.echo(safe, err=err, nl=nl, file=file)


def with_progress(items: Sequence[Any], label: str, min_items: int = 2,
                  show: Optional[Callable[[Any], str]] = None) -> Iterator[Any]:
    """Iterate ``items`` with a progress bar on an interactive stderr (from ``min_items`` on);
    silent in pipes, files and CI. ``show`` names the current item beside the bar (a short
    label: the bar is redrawn on every item)."""
    if len(items) < min_items or not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr,
                           item_show_func=lambda item: safe_text(show(item))
                           if show and item else None
                           ) as bar:
        yield from bar




class ResolutionType(click.ParamType):
    """``--resolution 224`` (square; every axis of a 1D or 3D input) or ``--resolution
    800x1333`` (height x width; ``16x112x112`` for a 3D input)."""

    name = "N|HxW"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from ..spec import MAX_RESOLUTION, check_resolution

        if not isinstance(value, str):
            return value
        parts = value.lower().split("x")
        if len(parts) > 3 or not all(p.strip().isascii() and p.strip().isdigit()
                                     for p in parts):
            self.fail(f"{value!r} is not N or HxW (e.g. 224 or 800x1333; DxHxW for a 3D "
                      "input)", param, ctx)
        digits = [p.strip().lstrip("0") or "0" for p in parts]
        if any(len(d) > MAX_SIDE_DIGITS for d in digits):
            # too long for int() (Python caps its digits) and far above any resolution
            self.fail(f"{safe_text(value, 40)} is above the maximum side "
                      f"{MAX_RESOLUTION}", param, ctx)
        sides = [int(d) for d in digits]
        try:
            return check_resolution(sides[0] if len(sides) == 1 else sides, "", "--resolution",
                                    any_rank=True)
        except NetcalcError as exc:
            self.fail(exc.message, param, ctx)


RESOLUTION = ResolutionType()


@click.group(cls=NetcalcGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
# the version from the package itself: the distribution is named netcalc-cnn, and reading its
# metadata would cost an importlib.metadata import on every call
@click.version_option(version=__version__, message="netcalc %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Exact flops, params and activations of CNNs and whole design spaces, without running them.

    A SPEC is a spec file or the name of a shipped model (netcalc zoo lists them); a file that
    exists wins over a name, and - reads the spec from standard input.

    \b
    Examples:
      netcalc flops regnetx_800mf
      netcalc count resnet50 --by stage --convention fvcore
      netcalc count regnetx_800mf --format json --by layer
      netcalc count my_net.yaml
    """
    if ctx.invoked_subcommand is None:      # plain `netcalc`: the help, as --help, exit 0
        click.echo(ctx.get_help())


from . import counting  # noqa: E402,F401  (registers commands)
