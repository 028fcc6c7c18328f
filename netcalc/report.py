"""Reports: totals and breakdowns of one count, and their table / JSON / CSV renderings."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

from .spec import format_resolution, jsonable_resolution

from .errors import safe_text  # names and paths reach the terminal: control characters escaped

QUANTITIES = ("flops", "params", "acts")
LEVELS = ("total", "stage", "block", "layer")


class Report:
    """Counts of one spec under one convention at one resolution.

    ``flops``, ``params`` and ``acts`` are exact totals (ints, or sympy expressions for symbolic
    resolutions); :meth:`breakdown` groups the per-layer counts by stage, block or layer.
    """

    def __init__(self, spec: Any, convention: Any, graph: Any, costs: Sequence[tuple],
                 totals: Optional[tuple] = None):
        self.spec = spec
        self.convention = convention
        self.graph = graph
        self.costs = costs
        self.flops, self.params, self.acts = (
            totals if totals is not None else (sum(column) for column in zip(*costs)))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def resolution(self) -> Any:
        return self.graph.resolution

    @property
    def notes(self) -> tuple:
        """What a reader of these numbers should know about the spec (from its family)."""
        from .families import get_family

        family_notes = get_family(self.spec.family).notes
        return family_notes(self.spec.config) if family_notes else ()

    def __repr__(self) -> str:
        return (f"Report({self.name!r}, convention={self.convention.name!r}, "
                f"resolution={self.resolution}, flops={self.flops}, params={self.params}, "
                f"acts={self.acts})")

    def totals(self) -> Dict[str, Any]:
        return {"flops": self.flops, "params": self.params, "acts": self.acts}

    def breakdown(self, by: str = "stage") -> List[Dict[str, Any]]:
        """Rows ``{"name", "flops", "params", "acts"}`` per stage, block or layer, in order.

        Layer rows also carry the op and shapes; ``by="total"`` gives one row for the network.
        """
        if by not in LEVELS:
            raise ValueError(f"by must be one of {LEVELS}, got {by!r}")
        if by == "total":
            return [{"name": self.name, **self.totals()}]
        if by == "layer":
            return [_layer_row(layer, cost) for layer, cost in zip(self.graph.layers, self.costs)]
        rows: Dict[str, Dict[str, Any]] = {}
        for layer, (flops, params, acts) in zip(self.graph.layers, self.costs):
            key = (layer.block or layer.stage) if by == "block" else layer.stage
            row = rows.setdefault(key, {"name": key, "flops": 0, "params": 0, "acts": 0})
            row["flops"] += flops
            row["params"] += params
            row["acts"] += acts
        return list(rows.values())

    def to_dict(self, by: str = "total", quantities: Sequence[str] = QUANTITIES) -> Dict[str, Any]:
        """The JSON object of ``--format json`` (exact ints; strings for symbolic counts)."""
        out: Dict[str, Any] = {"name": self.name, "spec": self.spec.source,
                               "convention": self.convention.name,
                               "resolution": jsonable_resolution(self.resolution)}
        out.update({q: _jsonable(getattr(self, q)) for q in quantities})
        if self.notes:
            out["notes"] = list(self.notes)
        if by != "total":
            out["breakdown"] = [
                {k: (_jsonable(v) if k in QUANTITIES else v) for k, v in row.items()
                 if k not in QUANTITIES or k in quantities}
                for row in self.breakdown(by)]
        return out


def _layer_row(layer: Any, cost: tuple) -> Dict[str, Any]:
    return {"name": layer.name, "op": layer.op, "stage": layer.stage, "block": layer.block,
            "in": _dims(layer.in_shapes[0]),           # the first operand, as ever
            "out": _dims(layer.shape),
            "flops": cost[0], "params": cost[1], "acts": cost[2]}


def _dims(shape: tuple) -> str:
    """A shape without its batch dim, as ``CxHxW`` (``C`` for a flat tensor)."""
    return "x".join(str(d) for d in shape[1:])


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, int) else str(value)


# -- rendering ----------------------------------------------------------------------------------
def human(value: Any) -> str:
    """799700712 -> '799.70 M' (exact values stay in JSON and CSV)."""
    if not isinstance(value, int):
        return str(value)
    for unit, scale in (("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6), ("k", 10 ** 3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return str(value)


def render_table(reports: Sequence[Report], by: str, quantities: Sequence[str]) -> str:
    if by == "total":  # one row per spec, in one table
        body = [[safe_text(r.name), safe_text(r.spec.source), r.convention.name,
                 format_resolution(r.resolution)]
                + [human(getattr(r, q)) for q in quantities] for r in reports]
        table = simple_table(body, ["model", "spec", "convention", "resolution",
                                    *_headers(reports, quantities)],
                             _align(["spec", "convention", "resolution"], quantities))
        return table + "".join(f"\nnote ({safe_text(r.name)}): {n}" for r in reports
                               for n in r.notes)
    blocks = []
    extra = ["op", "in", "out"] if by == "layer" else []
    for report in reports:
        title = (f"{safe_text(report.name)}  ({safe_text(report.spec.source)}; "
                 f"{report.convention.name} convention; "
                 f"{format_resolution(report.resolution)} px)")
        body = [[safe_text(row["name"])] + [row[k] for k in extra]
                + [human(row[q]) for q in quantities]
                for row in report.breakdown(by)]
        body.append(["total"] + [""] * len(extra) + [human(getattr(report, q)) for q in quantities])
        table = simple_table(body, [by, *extra, *_headers([report], quantities)],
                             _align(extra, quantities))
        notes = "".join(f"\nnote: {note}" for note in report.notes)
        blocks.append(f"{title}\n{table}{notes}")
    return "\n\n".join(blocks)


def _headers(reports: Sequence[Report], quantities: Sequence[str]) -> List[str]:
    """``flops (MACs)`` where every report's convention counts MACs (netcalc/units.py)."""
    from .units import quantity_headers

    conventions = {r.convention.name for r in reports}
    return quantity_headers(quantities, conventions.pop() if len(conventions) == 1 else "")


def simple_table(rows: Sequence[Sequence[Any]], headers: Sequence[str],
                 align: Sequence[str]) -> str:
    """tabulate's "simple" format: headers, a dashed rule, columns two spaces apart; ``align``
    is "left" or "right" per column. Cells are shown as given (no number parsing: a name that
    reads as a number keeps its digits, and leading spaces stay: the module tree indents its
    names with them)."""
    import tabulate as tabulate_module      # here: JSON and CSV output do not need it

    # tabulate strips cells unless this module-level switch is on: set for this call only
    preserved, tabulate_module.PRESERVE_WHITESPACE = tabulate_module.PRESERVE_WHITESPACE, True
    try:
        return tabulate_module.tabulate(rows, headers=list(headers), tablefmt="simple",
                                        colalign=tuple(align), disable_numparse=True)
    finally:
        tabulate_module.PRESERVE_WHITESPACE = preserved


def _align(extra: Sequence[str], quantities: Sequence[str]) -> tuple:
    return ("left",) * (1 + len(extra)) + ("right",) * len(quantities)


def render_json(reports: Iterable[Report], by: str, quantities: Sequence[str]) -> str:
    import json

    return "\n".join(json.dumps(r.to_dict(by, quantities)) for r in reports)


def render_csv(reports: Iterable[Report], by: str, quantities: Sequence[str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # layer rows carry every column JSON has (op, stage, block, in, out); other levels' empty
    extra = ["op", "stage", "block", "in", "out"] if by == "layer" else []
    writer.writerow(["spec", "model", "convention", "resolution", "level", "name", *extra]
                    + list(quantities))
    for r in reports:
        head = [safe_text(r.spec.source), safe_text(r.name), r.convention.name,
                format_resolution(r.resolution)]
        for row in r.breakdown(by):
            writer.writerow(head + [by, safe_text(row["name"])]
                            + [safe_text(row[k]) for k in extra] + [row[q] for q in quantities])
        if by != "total":  # the rows sum to this line, as the table's "total" line
            writer.writerow(head + ["total", safe_text(r.name)] + [""] * len(extra)
                            + [getattr(r, q) for q in quantities])
    return buffer.getvalue().rstrip("\n")


RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv}
