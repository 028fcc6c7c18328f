"""``netcalc import``: a torch module becomes a graph spec (YAML), checked against its trace.

torch is imported inside the command only; importing TARGET runs the user's own code.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import click

from ..errors import SpecError
from . import RESOLUTION, main


@main.command("import")
@click.argument("target")
@click.option("--resolution", type=RESOLUTION, default="224", show_default=True,
              help="Input size the module is captured at: N or HxW (192x256).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the YAML spec here (default: stdout).")
@click.option("--name", default=None, help="Spec name (default: the callable's name).")
@click.option("--allow-unknown", is_flag=True,
              help="Record ops netcalc cannot count as free identity ops (listed in the spec's "
                   "notes) instead of failing.")
@click.option("--timeout", type=click.FloatRange(0), default=120.0, show_default=True,
              help="Seconds allowed for importing, building and capturing (0: no limit).")
def import_command(target: str, resolution: Union[int, Tuple[int, int]], out: Optional[str], name: Optional[str],
                   allow_unknown: bool, timeout: float) -> None:
    """Capture the torch module TARGET builds (torch.export) and write it as a graph spec.

    TARGET is package.module:callable or path/to/file.py:callable; the callable is called with
    no arguments and must return a torch.nn.Module. Importing TARGET executes its Python code,
    as any import does: import only code you trust.

    Every op must map to a netcalc op (exit 2 lists all that do not), and the spec's shapes and
    parameters are checked against the traced module before it is written.

    \b
    Examples:
      netcalc import torchvision.models:mobilenet_v3_large --out mnv3.yaml
      netcalc import models/net.py:build --resolution 192x256 --name net
    """
    try:
        from ..torch.target import import_target
    except ImportError as exc:
        raise SpecError("", "import", f"needs torch ({exc.name} is missing): "
                                      "pip install 'netcalc[torch]'") from None
    from ..export import to_yaml

    spec = import_target(target, resolution, name, allow_unknown, timeout)
    size = resolution if isinstance(resolution, int) else "x".join(map(str, resolution))
    text = f"# netcalc import {target} --resolution {size}\n" + to_yaml(spec)
    for note in spec.raw.get("notes", ()):
        click.echo(f"note: {note}", err=True)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise SpecError(out, "--out", f"cannot write: {exc.strerror or exc}") from None
    click.echo(f"wrote {out}", err=True)
