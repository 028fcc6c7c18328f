"""Specs: validating plain data into a :class:`Spec`, and the resolution it is counted at.

``load_spec`` reads a file through :mod:`netcalc.reading` (bounded, safe parsing of untrusted
text), checks the common fields, hands the rest to the family's parser, and finally expands the
graph once at the spec's resolution so that a spec that loads is a spec that counts. Every
failure is a :class:`SpecError` naming the file and field.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple, Union

from .errors import SpecError
from .fields import Fields, describe
from .graph import GraphError
from .limits import MAX_CHANNELS, MAX_RESOLUTION
from .reading import check_shape, expect_mapping, read_data_file, read_stdin
from .shipped import resolve_spec



@dataclass(frozen=True)
class Spec:
    """A validated network description: common fields plus the family's frozen config."""

    name: str
    family: str
    resolution: Any             # int (square) or (h, w)
    in_channels: int
    num_classes: int
    config: Any
    source: str = "<dict>"
    raw: Mapping = field(default=None, compare=False, hash=False, repr=False)


SpecLike = Union[Spec, Mapping, str, "os.PathLike[str]"]
Resolution = Union[int, Tuple[int, int]]


def check_resolution(value: Any, source: str = "", field: str = "resolution",
                     in_spec: bool = False) -> Resolution:
    """A resolution as netcalc keeps it: an int side, or ``(h, w)`` from a pair ``[h, w]``.

    Anything else (a bool, a float, a string, nan, a side outside 1..MAX_RESOLUTION) is a
    SpecError naming ``field``; spec data (``in_spec``) may also write a side as ``224.0``, as
    for every integer field of a spec.
    """
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise SpecError(source, field, f"expected an integer or [h, w], got {len(value)} "
                                           "entries")
        return (_side(value[0], source, f"{field}[0]", in_spec),
                _side(value[1], source, f"{field}[1]", in_spec))
    return _side(value, source, field, in_spec)


def _side(value: Any, source: str, field: str, in_spec: bool) -> int:
    if in_spec and isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(source, field, f"expected an integer or [h, w], got {describe(value)}")
    if value < 1:
        raise SpecError(source, field, f"{value} is below the minimum 1")
    if value > MAX_RESOLUTION:
        raise SpecError(source, field, f"{value} is above the maximum {MAX_RESOLUTION}")
    return value


def format_resolution(resolution: Any) -> str:
    """``224`` or ``800x1333``."""
    if isinstance(resolution, tuple):
        return f"{resolution[0]}x{resolution[1]}"
    return str(resolution)


def jsonable_resolution(resolution: Any) -> Any:
    """An int, ``[h, w]``, or the text of a symbolic resolution."""
    if isinstance(resolution, tuple):
        return [r if isinstance(r, int) else str(r) for r in resolution]
    return resolution if isinstance(resolution, int) else str(resolution)


# -- validation ---------------------------------------------------------------------------------
def parse_spec(data: Any, source: str = "<dict>") -> Spec:
    """Validate plain data (as loaded from a file) into a :class:`Spec`."""
    from .families import FAMILY_MODULES, get_family

    if source == "<dict>":
        check_shape(data, source)
    fields = Fields(data, source)
    family_name = fields.str("family", choices=sorted(FAMILY_MODULES))
    family = get_family(family_name)
    default_name = os.path.splitext(os.path.basename(source))[0] if source != "<dict>" else "net"
    name = fields.str("name", default_name)
    fields.str("description", "", max_len=10_000)
    raw_resolution = fields.value("resolution", None)
    resolution = (family.default_resolution if raw_resolution is None
                  else check_resolution(raw_resolution, source, in_spec=True))
    in_channels = fields.int("in_channels", 3, lo=1, hi=MAX_CHANNELS)
    num_classes = fields.int("num_classes", 1000, lo=1, hi=1_000_000) if family.has_head else 0
    config = family.parse(fields)
    fields.finish()
    if data.get("resolution") is None and family.resolution_of is not None:
        resolution = family.resolution_of(config)
    spec = Spec(name, family_name, resolution, in_channels, num_classes, config, source, data)
    expand_checked(spec, resolution, field_name="resolution")
    return spec


def expand_checked(spec: Spec, resolution: Any, field_name: str = "resolution"):
    """Expand, turning shape errors into SpecErrors that name the field responsible."""
    from .families import expand

    try:
        return expand(spec, resolution)
    except GraphError as exc:
        where = getattr(exc, "field", None) or field_name
        prefix = "" if getattr(exc, "field", None) else f"{format_resolution(resolution)}: "
        fixed = _fits_only(spec)
        suffix = f" (the spec {fixed}, as its notes say)" if fixed else ""
        raise SpecError(spec.source, where, f"{prefix}{exc}{suffix}") from None


def _fits_only(spec: Spec) -> str:
    """``fits only 224x224`` where an imported spec's notes say it fits one size (a fixed
    position embedding, a hard-coded view): why another size fails, in the error itself."""
    notes = (spec.raw or {}).get("notes") if isinstance(spec.raw, Mapping) else None
    found = [str(n).split(":")[0] for n in notes or () if str(n).startswith("fits only")]
    return found[0] if found else ""


def load_spec(source: SpecLike) -> Spec:
    """A validated :class:`Spec` from a path, a shipped model's name (``resnet50``; a path that
    exists wins), ``-`` (standard input), a mapping or an existing spec.

    Raises :class:`netcalc.SpecError` with a one-line message for anything invalid.
    """
    if isinstance(source, Spec):
        return source
    if isinstance(source, Mapping):
        return parse_spec(dict(source))
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path == "-":
            return parse_spec(expect_mapping(read_stdin(), "<stdin>"), "<stdin>")
        shipped = None
        if not os.path.exists(path):          # a shipped model's name, unless a file has it
            shipped = resolve_spec(path)
        return parse_spec(expect_mapping(read_data_file(shipped or path), path), path)
    from .errors import ArgumentError

    raise ArgumentError("", "spec", f"expected a path, a mapping or a Spec, got "
                                    f"{type(source).__name__}")
