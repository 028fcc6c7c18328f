"""The ``netcalc`` command line: thin click commands that parse, call the core, and render.

Each command group lives in its own module and registers itself on :data:`main`; modules other
than the counting commands are imported only when one of their commands runs (or for --help),
and heavy imports (torch, fvcore, sympy, numpy, tabulate) happen inside the commands.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Iterator, Optional, Sequence

import click

from ..errors import SpecError


class NetcalcGroup(click.Group):
    """Imports each command's module only when that command is used, and turns every
    SpecError into exit 2 with one line on stderr, never a traceback."""

    # command -> module of this package that registers it (the counting commands always load)
    LAZY_COMMANDS = {
        "validate": "validation", "check": "validation", "lock": "validation",
        "space": "spaces", "sample": "spaces", "fit": "spaces",
        "solve": "closed_forms", "steps": "closed_forms", "trends": "closed_forms",
        "zoo": "zoo",
    }

    def list_commands(self, ctx: click.Context) -> list:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str):  # type: ignore[no-untyped-def]
        if name not in self.commands and name in self.LAZY_COMMANDS:
            importlib.import_module(f".{self.LAZY_COMMANDS[name]}", __name__)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except (RecursionError, MemoryError) as exc:
            click.echo(f"error: input too large or too deeply nested ({type(exc).__name__})",
                       err=True)
            sys.exit(2)


def with_progress(items: Sequence[Any], label: str, min_items: int = 2,
                  show: Optional[Callable[[Any], str]] = None) -> Iterator[Any]:
    """Iterate ``items`` with a progress bar on an interactive stderr (from ``min_items`` on);
    silent in pipes, files and CI. ``show`` names the current item beside the bar (a short
    label: the bar is redrawn on every item)."""
    if len(items) < min_items or not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr,
                           item_show_func=lambda item: show(item) if show and item else None
                           ) as bar:
        yield from bar


@click.group(cls=NetcalcGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netcalc", message="netcalc %(version)s")
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
