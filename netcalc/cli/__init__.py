"""The ``netcalc`` command line: thin click commands that parse, call the core, and render.

Each command group lives in its own module and registers itself on :data:`main`; heavy imports
(torch, fvcore, sympy, numpy, tabulate) happen inside the commands that need them.
"""
from __future__ import annotations

import sys

import click

from ..errors import SpecError


class NetcalcGroup(click.Group):
    """Turns every SpecError into exit 2 with one line on stderr, never a traceback."""

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
from . import validation, spaces, closed_forms  # noqa: E402,F401,I001
