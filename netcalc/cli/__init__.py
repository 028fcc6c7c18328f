"""The ``netcalc`` command line: thin click commands that parse, call the core, and render.

Each command group lives in its own module and registers itself on :data:`main`; modules other
than the counting commands are imported only when one of their commands runs (or for --help),
and heavy imports (torch, fvcore, sympy, numpy, tabulate) happen inside the commands.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Iterator, Sequence

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
        "import": "importing",
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


def with_progress(items: Sequence[Any], label: str, min_items: int = 2) -> Iterator[Any]:
    """Iterate ``items`` with a progress bar on an interactive stderr (from ``min_items`` on);
    silent in pipes, files and CI."""
    if len(items) < min_items or not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr,
                           item_show_func=lambda item: str(item) if item else None) as bar:
        yield from bar


class ResolutionType(click.ParamType):
    """``--resolution 224`` (square) or ``--resolution 800x1333`` (height x width)."""

    name = "N|HxW"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from ..spec import check_resolution

        if not isinstance(value, str):
            return value
        parts = value.lower().split("x")
        if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
            self.fail(f"{value!r} is not N or HxW (e.g. 224 or 800x1333)", param, ctx)
        sides = [int(p) for p in parts]
        try:
            return check_resolution(sides[0] if len(sides) == 1 else sides, "", "--resolution")
        except SpecError as exc:
            self.fail(exc.message, param, ctx)


RESOLUTION = ResolutionType()


@click.group(cls=NetcalcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netcalc", message="netcalc %(version)s")
def main() -> None:
    """Exact flops, params and activations of CNNs and whole design spaces, without running them.

    \b
    Examples:
      netcalc flops specs/regnetx_800mf.yaml
      netcalc count specs/resnet50.yaml --by stage --convention fvcore
      netcalc count specs/regnetx_800mf.yaml --format json --by layer
    """


from . import counting  # noqa: E402,F401  (registers commands)
