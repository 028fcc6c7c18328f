"""``netcalc import``: a torch module becomes a graph spec (YAML), checked against its trace.

Importing TARGET runs the user's own code: in a child process (:mod:`netcalc.isolation`), so
this process imports no torch and only the child's answer reaches the output.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple, Union

import click

from ..errors import SpecError, safe_text
from ..extras import require
from ..isolation import DEFAULT_TIMEOUT_S
from ..limits import MAX_TIMEOUT_S
from . import RESOLUTION, main
from .outputs import wrote



class Seconds(click.ParamType):
    """A finite number of seconds from 0 (``zero`` says what 0 means) to MAX_TIMEOUT_S."""

    name = "SECONDS"

    def __init__(self, zero: str = "no limit"):
        self.zero = zero

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float):
            return value
        try:
            seconds = float(value)
        except ValueError:
            self.fail(f"{safe_text(value, 40)!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIMEOUT_S:
            self.fail(f"{value} is not a number of seconds from 0 ({self.zero}) to "
                      f"{MAX_TIMEOUT_S:,}", param, ctx)
        return seconds


class InputShape(click.ParamType):
    """``--input-shape 1x1x224x224``: one input's shape as a list of ints (the whole list of
    inputs is checked by :func:`input_shapes`, as the API's ``inputs`` is)."""

    name = "1xCx..."

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = [p.strip() for p in value.lower().split("x")]
        if not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
            self.fail(f"{safe_text(value, 40)!r} is not a shape like 1x3x224x224", param, ctx)
        return [int(p) for p in parts]


INPUT_SHAPE_HELP = ("The input's whole shape: 1xCxHxW (1x1x224x224 for one channel), 1xCxL "
                    "for a 1D signal, 1xCxDxHxW for a volume; repeat it for a model of several "
                    "inputs, in forward's order (a further input's sides follow the first "
                    "input's where they equal them)")


def input_shapes(values: Sequence[list]) -> Optional[Tuple[Any, ...]]:
    """The repeated ``--input-shape`` as recorded: None, one shape, or a tuple of shapes;
    checked (a bad one is a SpecError naming the option)."""
    from ..spec import check_input_shapes

    if not values:
        return None
    check_input_shapes(list(values), "", "--input-shape")
    return tuple(values[0]) if len(values) == 1 else tuple(tuple(v) for v in values)


def shown_shapes(shapes: Tuple[Any, ...]) -> str:
    """``1x3x224x224`` or ``1x3x64x64 --input-shape 1x16``, as the command line gives them."""
    several = shapes if isinstance(shapes[0], tuple) else (shapes,)
    return " --input-shape ".join("x".join(map(str, shape)) for shape in several)


@main.command("import")
@click.argument("target")
@click.option("--resolution", type=RESOLUTION, default=None,
              help="Input size the module is captured at: N or HxW (192x256); default 224.")
@click.option("--input-shape", "input_shape", type=InputShape(), multiple=True,
              metavar="1xCx...",
              help=f"{INPUT_SHAPE_HELP}. Instead of --resolution (default: the first conv's "
                   "channels, else 3, at --resolution).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the YAML spec here (default: stdout).")
@click.option("--name", default=None, help="Spec name (default: the module's class name).")
@click.option("--allow-unknown", is_flag=True,
              help="Record ops netcalc cannot count as free identity ops (listed in the spec's "
                   "notes) instead of failing.")
@click.option("--timeout", type=Seconds(), default=DEFAULT_TIMEOUT_S, show_default=True,
              help="Seconds allowed for importing, building and capturing, a hard limit: the "
                   "process running the model's code is killed (0: no limit).")
@click.option("--symbolic-timeout", type=Seconds("static exports only"), default=None,
              help="Seconds of CPU time the export with symbolic sizes may take before "
                   "static exports replace it (default 20; 0: static exports only; CPU time, "
                   "which a busy machine stretches far less than the clock's). A model whose pads follow "
                   "its size TF-style needs the symbolic export for a spec of every size.")
@click.option("--verbose", is_flag=True,
              help="Show what the model's code and torch print (on stderr; hidden otherwise).")
def import_command(target: str, resolution: Optional[Union[int, Tuple[int, int]]],
                   input_shape: Sequence[list], out: Optional[str], name: Optional[str],
                   allow_unknown: bool, timeout: float, symbolic_timeout: Optional[float],
                   verbose: bool) -> None:
    """Capture the torch module TARGET builds (torch.export) and write it as a graph spec.

    TARGET is package.module:callable or path/to/file.py:callable; the callable is called with
    no arguments and must return a torch.nn.Module. Importing TARGET executes its Python code,
    as any import does: import only code you trust. It runs in a child process: what it prints
    stays out of the spec, and an exit, crash or hang of it is one error line (exit 2).

    Every op must map to a netcalc op (exit 2 lists all that do not), and the spec's shapes and
    parameters are checked against the traced module before it is written.

    \b
    Examples:
      netcalc import torchvision.models:mobilenet_v3_large --out mnv3.yaml
      netcalc import models/net.py:build --resolution 192x256 --name net
      netcalc import models/unet.py:build --input-shape 1x1x256x256
      netcalc import models/audio.py:build --input-shape 1x2x16000
      netcalc import models/masked.py:build --input-shape 1x3x224x224 --input-shape 1x1x224x224
    """
    require("torch", "import", ("torch",))
    from ..export import to_yaml
    from ..spec import plain_shapes
    from ..isolation import import_isolated
    from . import echo

    shapes = input_shapes(input_shape)
    if resolution is not None and shapes is not None:
        raise SpecError("", "--input-shape", "give --resolution or --input-shape, not both")
    if shapes is None and resolution is None:
        resolution = 224
    spec = import_isolated(target, resolution, name, allow_unknown, timeout, verbose,
                           plain_shapes(shapes), symbolic_timeout)
    size = shown_shapes(shapes) if shapes else "x".join(
        map(str, [resolution] if isinstance(resolution, int) else resolution))
    option = "--input-shape" if shapes else "--resolution"
    # the target is the user's text: escaped, it stays one comment line
    text = f"# netcalc import {safe_text(target)} {option} {size}\n" + to_yaml(spec)
    for note in spec.raw.get("notes", ()):
        echo(f"note: {note}", err=True)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise SpecError(out, "--out", f"cannot write: {exc.strerror or exc}") from None
    wrote(out)
