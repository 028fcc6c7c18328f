"""``netcalc flops | params | acts | count``: counts of one or more specs."""
from __future__ import annotations

from typing import Optional, Sequence

import click

from ..module_tree import DEFAULT_DEPTH
from ..report import LEVELS, QUANTITIES
from ..rules import CONVENTIONS
from . import RESOLUTION, echo, main

FORMATS = ("table", "json", "csv")
BY = (*LEVELS, "module")


def count_options(default_by: str):  # type: ignore[no-untyped-def]
    """The options every counting command shares (docs/cli.md)."""
    def decorate(func):  # type: ignore[no-untyped-def]
        options = [
            click.argument("specs", nargs=-1, required=True, metavar="SPEC..."),
            click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
                         show_default=True, help="Counting convention (docs/conventions.md): "
                         + "; ".join(f"{c.name}: {c.doc}" for c in CONVENTIONS.values()) + "."),
            click.option("--resolution", type=RESOLUTION, default=None,
                         help="Input resolution: N (every spatial axis), HxW, or DxHxW for a 3D "
                              "input (default: the spec's own)."),
            click.option("--by", type=click.Choice(BY), default=default_by,
                         show_default=True, help="Breakdown rows; module: the module tree "
                         "with nested totals (fvcore's flop_count_table)."),
            click.option("--depth", type=click.IntRange(0, 1000), default=None,
                         help=f"Levels of the --by module tree shown (default "
                              f"{DEFAULT_DEPTH}; sums always include every level)."),
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
              resolution: Optional[int], by: str, fmt: str, symbolic: Optional[str],
              depth: Optional[int] = None) -> None:
    from ..count import count
    from ..errors import SpecError
    from ..report import RENDERERS

    if depth is not None and by != "module":
        raise SpecError("", "--depth", "applies to --by module only")
    if symbolic:
        from ..symbolic import count_symbolic, render_symbolic

        if resolution is not None:
            raise SpecError("", "--resolution", "cannot be combined with --symbolic (the closed "
                                                "form holds for every resolution r)")
        if by == "module":
            raise SpecError("", "--by", "module cannot be combined with --symbolic")

        reports = [count_symbolic(s, convention, symbolic) for s in specs]
        echo(render_symbolic(reports, by, fmt, quantities))
        return
    reports = [count(s, convention, resolution) for s in specs]
    if by == "module":
        from ..module_tree import MODULE_RENDERERS

        echo(MODULE_RENDERERS[fmt](reports, DEFAULT_DEPTH if depth is None else depth,
                                   quantities))
        return
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
    def command(specs, convention, resolution, by, depth, fmt,  # type: ignore[no-untyped-def]
                symbolic):
        run_count(specs, (quantity,), convention, resolution, by, fmt, symbolic, depth)


_quantity_command("flops", "Flops (multiply-adds in pycls/fvcore, 2 per MAC in torch) of SPECs.")
_quantity_command("params", "Parameters (weights, biases, BN affine) of SPECs.")
_quantity_command("acts", "Activations (output elements of conv/linear layers) of SPECs.")


@main.command(name="count")
@count_options("stage")
def count_command(specs, convention, resolution, by, depth, fmt,  # type: ignore[no-untyped-def]
                  symbolic):
    """Flops, params and activations of SPECs, by stage unless --by says otherwise.

    \b
    Examples:
      netcalc count regnetx_800mf
      netcalc count regnety_4.0gf --by block --format json
      netcalc count tiny_cnn --by layer --resolution 64
      netcalc count my_imported_net.yaml --by module --depth 2 --convention fvcore
      python -m netcalc count resnet50 --by total
    """
    run_count(specs, QUANTITIES, convention, resolution, by, fmt, symbolic, depth)
