"""``netcalc solve`` (budgets solved for r, width or phi) and ``netcalc trends`` (fits).

Closed forms themselves are ``--symbolic`` on the counting commands (counting.py). sympy is
imported only by ``solve --for r``; ``trends`` needs neither sympy nor numpy (matplotlib only for
``--plot``).
"""
from __future__ import annotations

import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence

import click

from ..errors import SpecError, safe_text
from ..quantity import parse_quantity
from ..report import QUANTITIES
from ..rules import CONVENTIONS
from . import echo, main, with_progress
from .outputs import plot_path as checked_plot_path
from .outputs import wrote

FORMATS = ("table", "json")


def _budget(flops: Optional[str], params: Optional[str], acts: Optional[str]) -> Dict[str, int]:
    given = {"flops": flops, "params": params, "acts": acts}
    limits = {q: parse_quantity(v, f"--{q}") for q, v in given.items() if v is not None}
    if not limits:
        raise SpecError("", "--flops", "give at least one budget: --flops, --params or --acts")
    return limits


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--flops", help="Flops budget (inclusive), e.g. 600M.")
@click.option("--params", help="Parameter budget, e.g. 5M.")
@click.option("--acts", help="Activation budget, e.g. 4.5M.")
@click.option("--for", "variable", type=click.Choice(["r", "width", "phi"]), default="r",
              show_default=True, help="What to solve for: the input resolution, the spec's "
              "width_mult (EfficientNet, ReXNet) or its phi (EfficientNet compound scaling).")
@click.option("--multiple-of", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="With --for r: only resolutions that are multiples of this (e.g. 32).")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def solve(specs, flops, params, acts, variable, multiple_of, convention, fmt):  # type: ignore
    """The largest resolution (or width, or phi) whose counts fit a budget, and the next one over.

    Answers are exact: r is found from the closed form and recounted concretely at the answer
    and one step above; width and phi are searched over floats until the answers are adjacent
    floats, each counted through the family's own code. Exit status 1 when nothing fits.

    \b
    Examples:
      netcalc solve regnetx_800mf --flops 600M
      netcalc solve resnet50 --flops 2G --acts 8M --multiple-of 32
      netcalc solve rexnet_1.0 --flops 600M --for width
      netcalc solve efficientnet_phi3 --flops 1.8G --for phi --format json
    """
    from ..symbolic.solve import Budget, solve as solve_budget

    if multiple_of != 1 and variable != "r":
        raise SpecError("", "--multiple-of", "applies to --for r only")
    budget = Budget(_budget(flops, params, acts))
    solutions = [solve_budget(s, budget, variable, convention, multiple_of) for s in specs]
    render = {"table": _solutions_table, "json": _solutions_json}[fmt]
    echo(render(solutions))
    if any(s.within is None for s in solutions):
        sys.exit(1)


def _point_row(label: str, point: Any) -> List[Any]:
    if point is None:
        return [label, "none", "", "", ""]
    if point.counts is None:
        return [label, repr(point.value), "refused by the spec", "", ""]
    return [label, repr(point.value)] + [f"{point.counts[q]:,}" for q in QUANTITIES]


def _solutions_table(solutions: Iterable[Any]) -> str:
    from tabulate import tabulate

    blocks = []
    for s in solutions:
        rows = [_point_row("largest within", s.within), _point_row("smallest over", s.over)]
        lines = [f"{safe_text(s.spec.name)}  ({safe_text(s.spec.source)}; {s.convention} "
                 "convention)",
                 f"budget: {s.budget}",
                 tabulate(rows, headers=["", s.variable] + list(QUANTITIES),
                          colalign=("left", "right", "right", "right", "right"),
                          disable_numparse=True)]
        if s.step:
            lines.append(f"step between them: {s.step}")
        lines += list(s.notes)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _solutions_json(solutions: Iterable[Any]) -> str:
    import json

    def point(p: Any) -> Any:
        return None if p is None else {"value": p.value, "accepted": p.counts is not None,
                                       **(p.counts or {})}

    return "\n".join(json.dumps({
        "name": s.spec.name, "spec": s.spec.source, "convention": s.convention,
        "for": s.variable, "budget": dict(s.budget.limits), "within": point(s.within),
        "over": point(s.over), "step": s.step, "notes": list(s.notes)}) for s in solutions)


# -- trends ---------------------------------------------------------------------------------------
@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
              show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True),
              help="Also draw counts, fit and paper trends into this PNG (needs matplotlib).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def trends(specs, convention, plot_path, fmt):  # type: ignore
    """Fit acts = c*sqrt(f) and params = a + b*f across SPECs, beside the RegNet paper's.

    f is flops in GF, acts and params in M; the paper's trends are acts = 6.5*sqrt(f) and
    params = 3.0 + 5.5*f. Each spec is counted at its own resolution.

    \b
    Examples:
      netcalc trends regnetx_200mf regnetx_400mf regnetx_800mf regnetx_1.6gf
      netcalc trends regnety_200mf regnety_800mf regnety_3.2gf --plot trends.png
      netcalc trends efficientnet_b0 efficientnet_b1 efficientnet_b2 --format json
    """
    from ..count import count
    from ..symbolic.trends import PAPER, TrendPoint, fit, plot

    plot_path = checked_plot_path(plot_path) if plot_path else None
    reports = [count(s, convention)
               for s in with_progress(specs, "counting", min_items=20, show=str)]
    samples = sorted((TrendPoint(r.name, r.spec.source, r.flops, r.params, r.acts)
                      for r in reports), key=lambda s: s.flops)
    fitted = fit(samples)
    render = {"table": _trends_table, "json": _trends_json}[fmt]
    echo(render(samples, fitted, PAPER, convention))
    if plot_path:
        plot(samples, fitted, plot_path)    # a failed write is a SpecError (figures.py)
        wrote(plot_path)




def _trends_table(samples: Sequence[Any], fitted: Any, paper: Any, convention: str) -> str:
    from tabulate import tabulate

    from ..symbolic.trends import mean_relative_error

    rows = [[safe_text(s.name), f"{s.f:.3f}", f"{s.params_m:.2f}", f"{fitted.params(s.f):.2f}",
             f"{paper.params(s.f):.2f}", f"{s.acts_m:.2f}", f"{fitted.acts(s.f):.2f}",
             f"{paper.acts(s.f):.2f}"] for s in samples]
    headers = ["model", "GF", "params M", "fit", "paper", "acts M", "fit", "paper"]
    table = tabulate(rows, headers=headers, colalign=("left",) + ("right",) * 7,
                     disable_numparse=True)
    summary = [[q, fitted.describe()[q], paper.describe()[q],
                _percent(mean_relative_error(fitted, samples, q)),
                _percent(mean_relative_error(paper, samples, q))] for q in ("acts", "params")]
    return "\n".join([
        f"{len(samples)} specs, {convention} convention; f = flops in GF, params and acts in M",
        table, "",
        tabulate(summary, headers=["", "fit", "paper", "fit error", "paper error"],
                 disable_numparse=True),
        "(error: mean |trend - count| / count over these specs)"])


def _percent(share: Optional[float]) -> str:
    return "n/a (every count is 0)" if share is None else f"{share:.1%}"


def _trends_json(samples: Sequence[Any], fitted: Any, paper: Any, convention: str) -> str:
    import json

    from ..symbolic.trends import mean_relative_error

    def trend(t: Any) -> Dict[str, Any]:
        return {"acts_c": t.acts_c, "params_a": t.params_a, "params_b": t.params_b,
                "acts_error": mean_relative_error(t, samples, "acts"),
                "params_error": mean_relative_error(t, samples, "params")}

    return json.dumps({
        "convention": convention,
        "models": [{"name": s.name, "spec": s.source, "flops": s.flops, "params": s.params,
                    "acts": s.acts} for s in samples],
        "fit": trend(fitted), "paper": trend(paper)})


# -- steps ----------------------------------------------------------------------------------------
@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("--for", "variable", type=click.Choice(["width", "phi"]), required=True,
              help="The spec field to vary: width_mult (EfficientNet, ReXNet) or phi.")
@click.option("--from", "lo", type=float, required=True, help="Start of the interval.")
@click.option("--to", "hi", type=float, required=True, help="End of the interval.")
@click.option("--symbolic", is_flag=True,
              help="Also give each piece's flops as a closed form in r.")
@click.option("--max-pieces", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Refuse intervals with more pieces (each costs up to ~64 expansions).")
@click.option("--convention", type=click.Choice(list(CONVENTIONS)), default="pycls",
              show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def steps(spec, variable, lo, hi, symbolic, max_pieces, convention, fmt):  # type: ignore
    """Counts as a step function of width_mult or phi: every piece of [--from, --to].

    Rounded channel counts, depths and resolutions make the counts piecewise constant in these
    variables; each piece is one network, counted at its own resolution (and, with --symbolic,
    as a closed form in r). Piece ends are exact: adjacent floats on either side of each step.

    \b
    Examples:
      netcalc steps rexnet_1.0 --for width --from 1.0 --to 1.01
      netcalc steps efficientnet_phi3 --for phi --from 0 --to 0.2
      netcalc steps rexnet_1.0 --for width --from 0.99 --to 1.0 --symbolic
    """
    from ..count import count
    from ..symbolic.scaling import pieces
    from ..symbolic.solve import SCALING_FIELDS

    found = pieces(spec, SCALING_FIELDS[variable], lo, hi, convention, max_pieces)
    rows = []
    for piece in with_progress(found, "counting pieces", min_items=20):
        counts = count(piece.spec, convention).totals() if piece.spec is not None else None
        rows.append({"first": piece.first, "last": piece.last, "change": piece.change,
                     "resolution": piece.spec.resolution if piece.spec else None,
                     **(counts or {}), **(_piece_closed_form(piece, convention) if symbolic
                                          and piece.spec else {})})
    head = found[0].spec or _load(spec)
    if fmt == "json":
        import json

        echo(json.dumps({"name": head.name, "spec": head.source, "convention": convention,
                               "for": SCALING_FIELDS[variable], "pieces": rows}))
        return
    echo(_steps_table(head, SCALING_FIELDS[variable], convention, rows, symbolic))


def _load(path: str) -> Any:
    from ..spec import load_spec

    return load_spec(path)


def _piece_closed_form(piece: Any, convention: str) -> Dict[str, str]:
    from ..symbolic import count_symbolic
    from ..symbolic.render import exact_text, polynomial_text

    form = count_symbolic(piece.spec, convention)
    flops = form.total("flops")
    return {"flops_r": exact_text(form, flops), "flops_polynomial": polynomial_text(form, flops),
            "total_stride": form.total_stride}


def _steps_table(spec: Any, key: str, convention: str, rows: Sequence[Dict[str, Any]],
                 symbolic: bool) -> str:
    from tabulate import tabulate

    extra = ["flops_polynomial"] if symbolic else []
    body = [[repr(r["first"]), repr(r["last"]), r["resolution"] or "refused"]
            + [f"{r[q]:,}" if q in r else "" for q in QUANTITIES]
            + [r.get(k, "") for k in extra] + [safe_text(r["change"])] for r in rows]
    headers = [f"{key} from", "to", "r"] + list(QUANTITIES) + \
        (["flops when the stride divides r"] if symbolic else []) + ["change at this piece"]
    return "\n".join([
        f"{safe_text(spec.name)}  ({safe_text(spec.source)}; {convention} convention): "
        f"{len(rows)} pieces",
        tabulate(body, headers=headers, disable_numparse=True)])
