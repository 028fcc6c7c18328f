"""``netcalc zoo``: the specs shipped with netcalc, usable by name in every command."""
from __future__ import annotations

from typing import Any, Dict, List

import click

from . import main

COLUMNS = ("name", "model", "family", "resolution", "flops", "params", "acts",
           "flops_G_published", "params_M_published", "acts_M_published", "source")


@main.command(name="zoo")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
def zoo_command(fmt: str) -> None:
    """The shipped models by family, smallest first: netcalc's counts (pycls convention, each
    at its own resolution) beside the published figures.

    Every NAME works where a spec file does (a path that exists always wins):

    \b
    Examples:
      netcalc zoo
      netcalc zoo --format json
      netcalc count regnetx_800mf
      netcalc count efficientnet_b7 --by stage
    """
    rows = zoo_rows()
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
        click.echo(_table(rows))


def zoo_rows() -> List[Dict[str, Any]]:
    """Every shipped model with its exact pycls counts, published families first, each family
    from its smallest model up (200MF before 1.6GF); the examples after them."""
    from ..count import count
    from ..zoo import zoo_models

    rows = []
    for model in zoo_models():
        report = count(model.name, "pycls")
        rows.append((model, {**model.to_dict(), **report.totals()}))
    rows.sort(key=lambda pair: (not pair[0].source, pair[0].group.lower(), pair[1]["flops"],
                                pair[0].name))
    return [row for _, row in rows]


def _table(rows: List[Dict[str, Any]]) -> str:
    from tabulate import tabulate

    def published(value: Any) -> str:
        return "-" if value is None else str(value)

    body = [[r["name"], r["family"], r["resolution"],
             f"{r['flops'] / 1e9:.3f}", published(r["flops_G_published"]),
             f"{r['params'] / 1e6:.2f}", published(r["params_M_published"]),
             f"{r['acts'] / 1e6:.2f}", published(r["acts_M_published"])] for r in rows]
    return tabulate(body, headers=["name", "family", "px", "GF", "(published)", "M params",
                                   "(published)", "M acts", "(published)"],
                    colalign=("left", "left") + ("right",) * 7, disable_numparse=True)
