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
from .limits import MAX_CHANNELS, MAX_INPUT_RANK, MAX_INPUTS, MAX_RESOLUTION
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
                     in_spec: bool = False, any_rank: bool = False) -> Resolution:
    """A resolution as netcalc keeps it: an int side, or ``(h, w)`` from a pair ``[h, w]``;
    with ``any_rank`` also ``(l,)`` and ``(d, h, w)`` (a graph spec's 1D or 3D input).

    Anything else (a bool, a float, a string, nan, a side outside 1..MAX_RESOLUTION) is a
    SpecError naming ``field``; spec data (``in_spec``) may also write a side as ``224.0``, as
    for every integer field of a spec.
    """
    if isinstance(value, (list, tuple)):
        if not (1 <= len(value) <= 3 if any_rank else len(value) == 2):
            wanted = "[l], [h, w] or [d, h, w]" if any_rank else "[h, w]"
            raise SpecError(source, field, f"expected an integer or {wanted}, got {len(value)} "
                                           "entries")
        return tuple(_side(side, source, f"{field}[{i}]", in_spec)  # type: ignore[return-value]
                     for i, side in enumerate(value))
    return _side(value, source, field, in_spec)


RANKS = {3: "a 1D signal (1, C, L)", 4: "an image (1, C, H, W)", 5: "a volume (1, C, D, H, W)"}


def check_input_shape(shape: Any, source: str = "", field: str = "inputs") -> Tuple[
        Any, int]:
    """The resolution and channels of the first input of ``shape``: one input's shape or a list
    of them (:func:`check_input_shapes`)."""
    resolution, channels, _ = check_input_shapes(shape, source, field)
    return resolution, channels


def check_input_shapes(shapes: Any, source: str = "", field: str = "inputs") -> Tuple[
        Any, int, Tuple[Tuple[int, ...], ...]]:
    """The resolution and channels of the first input, and the shapes of the others, from one
    input's shape ``(1, C, L)``, ``(1, C, H, W)`` or ``(1, C, D, H, W)`` (a list or tuple of
    ints) or a list of shapes. The resolution is N for a square image, else the tuple of
    sides; a further input is any shape of batch 1 (a mask, a second image, a vector). Other
    ranks of the first, another batch, or a size out of bounds are a SpecError naming
    ``field``."""
    if not isinstance(shapes, (list, tuple)) or not shapes:
        raise SpecError(source, field, f"expected a shape (1, C, H, W), got {describe(shapes)}")
    if not all(isinstance(s, (list, tuple)) for s in shapes):
        shapes = [shapes]
    if len(shapes) > MAX_INPUTS:
        raise SpecError(source, field, f"{len(shapes)} inputs: at most {MAX_INPUTS}")
    resolution, channels = _first_input(shapes[0], source, f"{field}[0]" if len(shapes) > 1
                                        else field)
    extras = tuple(_further_input(shape, source, f"{field}[{i}]")
                   for i, shape in enumerate(shapes[1:], 1))
    return resolution, channels, extras


def plain_shapes(shapes: Any) -> Any:
    """Recorded input shapes (a tuple of ints, or of such tuples for several inputs) as JSON
    holds them: a list, or a list of lists; None stays None."""
    if shapes is None:
        return None
    return [list(s) for s in shapes] if isinstance(shapes[0], (list, tuple)) else list(shapes)


def frozen_shapes(shapes: Any) -> Any:
    """:func:`plain_shapes` undone: tuples, as ``ImportOptions`` records them."""
    if shapes is None:
        return None
    return tuple(tuple(s) for s in shapes) if isinstance(shapes[0], (list, tuple)) \
        else tuple(shapes)


def _integers(shape: Any, source: str, field: str) -> Tuple[int, ...]:
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise SpecError(source, field, f"expected a shape of integers, got {describe(shape)}")
    if shape and shape[0] != 1:
        raise SpecError(source, field, f"batch {shape[0]}: the shape's first dim must be 1 "
                                       "(netcalc counts one sample)")
    return tuple(shape)


def _first_input(shape: Any, source: str, field: str) -> Tuple[Any, int]:
    shape = _integers(shape, source, field)
    if len(shape) not in RANKS:
        raise SpecError(source, field, f"{list(shape)} has {len(shape)} dims: netcalc's first "
                                       f"input is {RANKS[3]}, {RANKS[4]} or {RANKS[5]}")
    if not 1 <= shape[1] <= MAX_CHANNELS:
        raise SpecError(source, field, f"{shape[1]} channels: expected 1 to {MAX_CHANNELS}")
    sides = tuple(_side(side, source, field, False) for side in shape[2:])
    square = len(sides) == 2 and sides[0] == sides[1]
    return (sides[0] if square else sides), shape[1]


def _further_input(shape: Any, source: str, field: str) -> Tuple[int, ...]:
    shape = _integers(shape, source, field)
    if not 1 <= len(shape) <= MAX_INPUT_RANK:
        raise SpecError(source, field, f"{list(shape)} has {len(shape)} dims: expected 1 to "
                                       f"{MAX_INPUT_RANK}")
    for size in shape:
        if not 1 <= size <= MAX_RESOLUTION:
            raise SpecError(source, field, f"size {size} is outside 1..{MAX_RESOLUTION}")
    return shape


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
        return "x".join(map(str, resolution))
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
                  else check_resolution(raw_resolution, source, in_spec=True,
                                        any_rank=family_name == "graph"))
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
        fixed = fits_only(spec)
        suffix = f" (the spec {fixed}, as its notes say)" if fixed else ""
        raise SpecError(spec.source, where, f"{prefix}{exc}{suffix}") from None


FITS_ONLY = "fits only"     # how the note of an imported spec that fits one size begins


def fits_only_note(where: str, why: str) -> str:
    """The note of an imported spec that fits one size (``where``: ``224x224``, or "the traced
    resolution"), which :func:`fits_only` reads back."""
    return f"{FITS_ONLY} {where}: {why}"


def fits_only(spec: Spec) -> str:
    """``fits only 224x224`` where an imported spec's notes say it fits one size (a fixed
    position embedding, a hard-coded view): why another size fails, in the error itself; ""
    where they do not."""
    notes = (spec.raw or {}).get("notes") if isinstance(spec.raw, Mapping) else None
    found = [str(n).split(":")[0] for n in notes or () if str(n).startswith(FITS_ONLY)]
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
