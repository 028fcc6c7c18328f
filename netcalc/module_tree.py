"""``--by module``: a count as a tree of modules with nested totals, as fvcore's
``flop_count_table`` shows a traced model.

A layer's place in the tree comes from its qualified name: a dotted name is the path
(``s1.b1.se.reduce``: stage ``s1``, block ``s1.b1``, module ``s1.b1.se``, layer ``reduce``;
an imported module call ``down1.conv.0``; a function an imported module's forward calls is
named under that module, ``up1.cat``, and has a row of its own beneath it, which fvcore does not
show but counts in ``up1``). A layer whose name is not dotted (a hand-written layer) is counted
in the row of its block, or its stage, by their labels. A module's row sums every layer below
it, so each module's row equals what fvcore's ``by_module()`` gives that module
(docs/your_own_model.md); ``depth`` limits the rows shown, never the sums.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .report import QUANTITIES

DEFAULT_DEPTH = 3                   # as fvcore's flop_count_table
ROOT_LABEL = "top"                  # the importer's label for the root module's own calls
_CALL_SUFFIX = re.compile(r"-\d+$")   # the importer's name for a module's second call: conv-2


def layer_path(layer: Any, names: frozenset) -> Tuple[str, ...]:
    """The module path of one layer, the layer itself last."""
    name = layer.name
    stem = _CALL_SUFFIX.sub("", name)
    if stem != name and stem in names:      # the same module called again: counted there
        name = stem
    if "." in name:
        return tuple(name.split("."))
    # a call inside its block (or stage): counted in that module's own row, as fvcore counts
    # the functions a module's forward calls; the label "top" of an imported model is the root
    label = layer.block or layer.stage or ""
    return () if label == ROOT_LABEL else tuple(p for p in label.split(".") if p)


def module_rows(report: Any, depth: Optional[int] = DEFAULT_DEPTH) -> List[Dict[str, Any]]:
    """Rows ``{"name", "depth", "flops", "params", "acts"}``: the model (depth 0, name ``""``)
    then every module down to ``depth`` (None: every level), in order of first use, each with
    the totals of all layers below it."""
    layers = report.graph.layers
    names = frozenset(layer.name for layer in layers)
    rows: Dict[Tuple[str, ...], Dict[str, Any]] = {(): _row("", 0)}
    for layer, cost in zip(layers, report.costs):
        path = layer_path(layer, names)
        for level in range(len(path) + 1):
            if depth is not None and level > depth:
                break
            key = path[:level]
            row = rows.get(key)
            if row is None:
                row = rows[key] = _row(".".join(key), level)
            for quantity, value in zip(QUANTITIES, cost):
                row[quantity] += value
    return _preorder(rows)


def _row(name: str, depth: int) -> Dict[str, Any]:
    return {"name": name, "depth": depth, "flops": 0, "params": 0, "acts": 0}


def _preorder(rows: Dict[Tuple[str, ...], Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Parents before children, siblings in order of first use (dicts keep insertion order)."""
    children: Dict[Tuple[str, ...], List[Tuple[str, ...]]] = {}
    for key in rows:
        if key:
            children.setdefault(key[:-1], []).append(key)
    ordered: List[Dict[str, Any]] = []
    stack = [()]
    while stack:
        key = stack.pop()
        ordered.append(rows[key])
        stack.extend(reversed(children.get(key, [])))
    return ordered


# -- rendering ----------------------------------------------------------------------------------
def render_module_table(reports: Sequence[Any], depth: Optional[int],
                        quantities: Sequence[str]) -> str:
    from .errors import safe_text
    from .report import human, simple_table
    from .spec import format_resolution
    from .units import quantity_headers

    blocks = []
    for report in reports:
        title = (f"{safe_text(report.name)}  ({safe_text(report.spec.source)}; "
                 f"{report.convention.name} convention; "
                 f"{format_resolution(report.resolution)} px)")
        body = [["  " * row["depth"] + (safe_text(row["name"]) or "model")]
                + [human(row[q]) for q in quantities] for row in module_rows(report, depth)]
        headers = ["module", *quantity_headers(quantities, report.convention.name)]
        blocks.append(f"{title}\n"
                      + simple_table(body, headers, ("left",) + ("right",) * len(quantities)))
    return "\n\n".join(blocks)


def render_module_json(reports: Sequence[Any], depth: Optional[int],
                       quantities: Sequence[str]) -> str:
    import json

    lines = []
    for report in reports:
        data = report.to_dict("total", quantities)
        data["breakdown"] = [{"name": row["name"], "depth": row["depth"],
                              **{q: row[q] for q in quantities}}
                             for row in module_rows(report, depth)]
        lines.append(json.dumps(data))
    return "\n".join(lines)


def render_module_csv(reports: Sequence[Any], depth: Optional[int],
                      quantities: Sequence[str]) -> str:
    import csv
    import io

    from .errors import safe_text
    from .spec import format_resolution

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["spec", "model", "convention", "resolution", "level", "name", "depth",
                     *quantities])
    for report in reports:
        head = [safe_text(report.spec.source), safe_text(report.name),
                report.convention.name, format_resolution(report.resolution)]
        for row in module_rows(report, depth):
            writer.writerow(head + ["module", safe_text(row["name"]), row["depth"]]
                            + [row[q] for q in quantities])
    return buffer.getvalue().rstrip("\n")


MODULE_RENDERERS = {"table": render_module_table, "json": render_module_json,
                    "csv": render_module_csv}
