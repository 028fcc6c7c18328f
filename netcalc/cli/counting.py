"""``netcalc flops | params | acts | count``: counts of one or more specs."""
from __future__ import annotations

from typing import Optional, Sequence

import click

from ..report import LEVELS, QUANTITIES
from ..rules import CONVENTIONS
from . import RESOLUTION, echo, main

FORMATS = ("table", "json", "csv")


def count_options(default_by: str):  # type: ignore[no-untyped-def]
    """The options every counting command shares (docs/cli.md)."""
    def decorate(func):  # type: ignore[no-untyped-def]
        options = [
            click.argument("specs", nargs=-1, required=True, metavar="SPEC..."),
            click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
                         show_default=True, help="Counting convention (docs/conventions.md): "
                         + "; ".join(f"{c.name}: {c.doc}" for c in CONVENTIONS.values()) + "."),
            click.option("--resolution", type=RESOLUTION, default=None,
                         help="Input resolution: N or HxW (default: the spec's own)."),
            click.option("--by", type=click.Choice(LEVELS), default=default_by,
                         show_default=True, help="Breakdown rows."),
            click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                         show_default=True),
            click.option("--symbolic", type=click.Choice(["r", "hw"]), is_flag=False,
                         flag_value="r", default=None,
                         help="Closed form instead of numbers: in the square input side r "
                              "(--symbolic, or --symbolic r) or in height and width "
                              "(--symbolic hw). Put it after the specs."),
        ]
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


def run_count(specs: Sequence[str], quantities: Sequence[str], convention: str,
              resolution: Optional[int], by: str, fmt: str, symbolic: Optional[str]) -> None:
    from ..count import count
    from ..report import RENDERERS

    if symbolic:
        from ..errors import SpecError
        from ..symbolic import count_symbolic, render_symbolic

        if resolution is not None:
            raise SpecError("", "--resolution", "cannot be combined with --symbolic (the closed "
                                                "form holds for every resolution r)")

        reports = [count_symbolic(s, convention, symbolic) for s in specs]
        echo(render_symbolic(reports, by, fmt, quantities))
        return
    reports = [count(s, convention, resolution) for s in specs]
    echo(RENDERERS[fmt](reports, by, quantities))


def _quantity_command(quantity: str, summary: str) -> None:
    @main.command(name=quantity, help=f"""{summary}

    \b
    Examples:
      netcalc {quantity} regnetx_800mf
      netcalc {quantity} resnet50 --by stage --convention fvcore
      netcalc {quantity} my_nets/*.yaml --format csv
    """)
    @count_options("total")
    def command(specs, convention, resolution, by, fmt, symbolic):  # type: ignore[no-untyped-def]
        run_count(specs, (quantity,), convention, resolution, by, fmt, symbolic)


_quantity_command("flops", "Flops (multiply-adds in pycls/fvcore, 2 per MAC in torch) of SPECs.")
_quantity_command("params", "Parameters (weights, biases, BN affine) of SPECs.")
_quantity_command("acts", "Activations (output elements of conv/linear layers) of SPECs.")


@main.command(name="count")
@count_options("stage")
def count_command(specs, convention, resolution, by, fmt, symbolic):  # type: ignore[no-untyped-def]
    """Flops, params and activations of SPECs, by stage unless --by says otherwise.

    \b
    Examples:
      netcalc count regnetx_800mf
      netcalc count regnety_4.0gf --by block --format json
      netcalc count tiny_cnn --by layer --resolution 64
      python -m netcalc count resnet50 --by total
    """
    run_count(specs, QUANTITIES, convention, resolution, by, fmt, symbolic)
