"""Safe loading and validation of spec files (YAML or JSON, one schema).

``load_spec`` reads untrusted text with ``yaml.safe_load`` semantics plus limits (file size, node
count after alias expansion, nesting depth), checks the common fields, hands the rest to the
family's parser, and finally expands the graph once at the spec's resolution so that a spec that
loads is a spec that counts. Every failure is a :class:`SpecError` naming the file and field.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple, Union

from .errors import SpecError
from .fields import Fields, describe
from .graph import GraphError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000         # after alias expansion: an alias bomb stops here
MAX_DEPTH = 64              # nesting of mappings/lists; real specs need 4
MAX_RESOLUTION = 8192
MAX_CHANNELS = 65536


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


# -- reading untrusted text ---------------------------------------------------------------------
def _yaml_load(text: str, source: str) -> Any:
    import yaml

    class _Loader(yaml.SafeLoader):
        """SafeLoader that refuses alias bombs: it counts nodes as aliases would expand them."""

    nodes = [0]
    expanded_size: dict = {}

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            node = self.anchors.get(anchor)
            nodes[0] += expanded_size.get(id(node), 1)
        else:
            nodes[0] += 1
        if nodes[0] > MAX_NODES:
            raise SpecError(source, "", f"document too large (over {MAX_NODES} nodes after "
                                        "expanding aliases)")
        before = nodes[0]
        node = yaml.SafeLoader.compose_node(self, parent, index)
        expanded_size.setdefault(id(node), nodes[0] - before + 1)
        return node

    _Loader.compose_node = compose_node
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(source, "", f"invalid YAML: {where}{problem}") from None


def _check_shape(data: Any, source: str) -> None:
    """Bounded walk: nesting depth and total size, whatever the parser let through."""
    stack = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            raise SpecError(source, "", f"nesting deeper than {MAX_DEPTH} levels")
        if seen > MAX_NODES:
            raise SpecError(source, "", f"document too large (over {MAX_NODES} values)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise SpecError(source, "", f"keys must be strings, got {describe(key)}")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def read_spec_file(path: str) -> Any:
    """Parse a YAML or JSON file into plain data, refusing anything unsafe or oversized."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise SpecError(path, "", f"file is {size} bytes; specs are limited to "
                                      f"{MAX_FILE_BYTES}")
        with open(path, "rb") as handle:
            raw_bytes = handle.read()
    except FileNotFoundError:
        raise SpecError(path, "", "no such file") from None
    except IsADirectoryError:
        raise SpecError(path, "", "is a directory, not a spec file") from None
    except OSError as exc:
        raise SpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(path, "", "is not UTF-8 text") from None
    try:
        if path.endswith(".json"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SpecError(path, "", f"invalid JSON: line {exc.lineno}, column "
                                          f"{exc.colno}: {exc.msg}") from None
        else:
            data = _yaml_load(text, path)
    except RecursionError:
        raise SpecError(path, "", "nesting too deep") from None
    _check_shape(data, path)
    return data


# -- validation ---------------------------------------------------------------------------------
def parse_spec(data: Any, source: str = "<dict>") -> Spec:
    """Validate plain data (as loaded from a file) into a :class:`Spec`."""
    from .families import FAMILY_MODULES, get_family

    if source == "<dict>":
        _check_shape(data, source)
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
        raise SpecError(spec.source, where, f"{prefix}{exc}") from None


def load_spec(source: SpecLike) -> Spec:
    """A validated :class:`Spec` from a path, a mapping or an existing spec.

    Raises :class:`netcalc.SpecError` with a one-line message for anything invalid.
    """
    if isinstance(source, Spec):
        return source
    if isinstance(source, Mapping):
        return parse_spec(dict(source))
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return parse_spec(read_spec_file(path), path)
    raise SpecError("", "", f"cannot load a spec from {type(source).__name__}")
