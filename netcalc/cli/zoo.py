"""``netcalc zoo``: the specs shipped with netcalc, usable by name in every command."""
from __future__ import annotations

import click

from . import main

COLUMNS = ("name", "model", "family", "resolution", "flops_G_published", "params_M_published",
           "acts_M_published", "source")


@main.command(name="zoo")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
def zoo_command(fmt: str) -> None:
    """The shipped models: name, family, resolution and published figures.

    Every NAME works where a spec file does (a path that exists always wins):

    \b
    Examples:
      netcalc zoo
      netcalc zoo --format json
      netcalc count regnetx_800mf
      netcalc count efficientnet_b7 --by stage
    """
    from ..zoo import zoo_models

    rows = [m.to_dict() for m in zoo_models()]
    if fmt == "json":
        import json

        click.echo("\n".join(json.dumps(row) for row in rows))
    elif fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue().rstrip("\n"))
    else:
        from tabulate import tabulate

        body = [[r["name"], r["family"], r["resolution"]]
                + ["-" if r[c] is None else str(r[c]) for c in COLUMNS[4:7]] for r in rows]
        click.echo(tabulate(body, headers=["name", "family", "px", "GF (published)",
                                           "M params (published)", "M acts (published)"],
                            colalign=("left", "left") + ("right",) * 4))
