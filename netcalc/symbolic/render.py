"""Table, JSON and CSV renderings of closed forms.

Two forms of every count are shown: the exact one (floors and ceilings of r, valid for every
accepted r) and the polynomial one (valid when the total stride divides r). JSON and CSV write
both as strings that ``sympy.sympify`` parses, in the symbol ``r``; the table writes the exact
form with short names for the sides (``h4 = ceiling(r/4)``) and lists those names above it.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Sequence

import sympy

from ..report import QUANTITIES
from .closed_form import ClosedForm, condition_words
from .sides import Side


def format_expr(expr: Any, sides: Sequence[Side], label: Callable[[Side], str]) -> str:
    """A polynomial in the sides, terms ordered by side (stem first), constant last."""
    gens = sympy.symbols(f"_g0:{len(sides)}")
    poly = sympy.Poly(sympy.sympify(expr).xreplace({s.atom: g for s, g in zip(sides, gens)}),
                      *gens)
    text = ""
    for monom, coeff in poly.terms():
        factors = [label(s) + (f"**{e}" if e > 1 else "") for s, e in zip(sides, monom) if e]
        magnitude = abs(coeff)
        term = "*".join(([str(magnitude)] if magnitude != 1 or not factors else []) + factors)
        sign = "-" if coeff < 0 else "+"
        text = (f"{text} {sign} {term}" if text else ("-" if coeff < 0 else "") + term)
    return text or "0"


def exact_text(form: ClosedForm, expr: Any) -> str:
    """The exact form in r (what JSON and CSV write)."""
    return format_expr(expr, form.sides, lambda s: s.text)


def named_text(form: ClosedForm, expr: Any) -> str:
    """The exact form with the sides' short names (what tables write)."""
    return format_expr(expr, form.sides, lambda s: s.name)


def polynomial_text(form: ClosedForm, expr: Any) -> str:
    return str(form.polynomial(expr))


def legend(form: ClosedForm) -> str:
    named = ", ".join(f"{s.name} = {s.text}" for s in form.sides if s.m > 1)
    if named:
        return f"where {named}"
    sizes = "h or w" if form.axes == "hw" else "r"
    return f"(no strided layers: every side is {sizes} plus a constant)"


# -- JSON -----------------------------------------------------------------------------------------
def to_dict(form: ClosedForm, by: str, quantities: Sequence[str]) -> Dict[str, Any]:
    """The numeric JSON object with strings in r, plus the polynomial form and the domain."""
    out: Dict[str, Any] = {
        "name": form.name, "spec": form.spec.source, "convention": form.convention,
        "resolution": ["h", "w"] if form.axes == "hw" else "r", "domain": form.domain,
        "min_resolution": list(form.min_resolution) if form.axes == "hw" else form.min_resolution,
        "total_stride": form.total_stride,
        "sides": {s.name: s.text for s in form.sides if s.m > 1},
    }
    out.update(_quantities(form, {q: form.total(q) for q in quantities}, quantities))
    if by != "total":
        out["breakdown"] = [_row_dict(form, row, quantities) for row in form.rows(by)]
    return out


def _quantities(form: ClosedForm, values: Dict[str, Any], quantities: Sequence[str]) -> Dict:
    out: Dict[str, Any] = {q: exact_text(form, values[q]) for q in quantities}
    out["polynomial"] = {q: polynomial_text(form, values[q]) for q in quantities}
    return out


def _row_dict(form: ClosedForm, row: Dict[str, Any], quantities: Sequence[str]) -> Dict:
    plain = {k: v for k, v in row.items() if k not in QUANTITIES}
    return {**plain, **_quantities(form, row, quantities)}


def render_json(forms: Iterable[ClosedForm], by: str, quantities: Sequence[str]) -> str:
    import json

    return "\n".join(json.dumps(to_dict(f, by, quantities)) for f in forms)


# -- CSV ------------------------------------------------------------------------------------------
def render_csv(forms: Iterable[ClosedForm], by: str, quantities: Sequence[str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["spec", "model", "convention", "domain", "total_stride", "level", "name"]
                    + [f"{q}{suffix}" for q in quantities for suffix in ("", "_polynomial")])
    for form in forms:
        for row in form.rows(by):
            writer.writerow([form.spec.source, form.name, form.convention, form.domain,
                             form.total_stride, by, row["name"]]
                            + [text(form, row[q]) for q in quantities
                               for text in (exact_text, polynomial_text)])
    return buffer.getvalue().rstrip("\n")


# -- table ----------------------------------------------------------------------------------------
def render_table(forms: Iterable[ClosedForm], by: str, quantities: Sequence[str]) -> str:
    return "\n\n".join(_table(form, by, quantities) for form in forms)


def _table(form: ClosedForm, by: str, quantities: Sequence[str]) -> str:
    from tabulate import tabulate

    rows = form.rows(by)
    if by != "total":
        rows.append({"name": "total", **{q: form.total(q) for q in quantities}})
    extra = ["op"] if by == "layer" else []
    from ..units import quantity_headers

    headers = [by if by != "total" else "model"] + extra + quantity_headers(quantities,
                                                                           form.convention)

    def body(text: Callable[[ClosedForm, Any], str]) -> List[List[str]]:
        return [[row["name"]] + [row.get(k, "") for k in extra] + [text(form, row[q]) for q in
                                                                   quantities] for row in rows]

    stride = form.total_stride
    return "\n".join([
        f"{form.name}  ({form.spec.source}; {form.convention} convention)",
        f"exact for every input resolution {form.domain}, {legend(form)}",
        tabulate(body(named_text), headers=headers, disable_numparse=True),
        "",
        _polynomial_title(form)
        if stride > 1 else "polynomial form (the same: no strided layers):",
        tabulate(body(polynomial_text), headers=headers, disable_numparse=True),
    ])


def _polynomial_title(form: ClosedForm) -> str:
    stride = form.total_stride
    # a spec that fits one size only (a fixed position embedding, a hard-coded view) keeps
    # its conditions here too: the polynomial is not exact at the multiples they exclude
    also = "".join(f" and {condition_words(c)}" for c in form.conditions)
    if form.axes == "hw":
        return f"polynomial form, exact when h and w are each a multiple of {stride}{also}:"
    return f"polynomial form, exact when r is a multiple of {stride} (r = {stride}k){also}:"


RENDERERS: Dict[str, Callable[[Iterable[ClosedForm], str, Sequence[str]], str]] = {
    "table": render_table, "json": render_json, "csv": render_csv,
}


def render_symbolic(forms: Iterable[ClosedForm], by: str, fmt: str,
                    quantities: Sequence[str] = QUANTITIES) -> str:
    return RENDERERS[fmt](list(forms), by, quantities)
