"""Reading untrusted files: specs, space files and lock files, one set of rules.

Any file netcalc reads may come from a pull request, so every read is bounded before parsing:
regular files only, opened non-blocking, at most ``MAX_FILE_BYTES`` read, UTF-8; YAML through a
``yaml.SafeLoader`` subclass that counts values as aliases would expand them, refuses duplicate
keys and over-long integers; JSON with the same refusals; then a bounded walk of nesting depth
and size (docs/limits.md). Every failure is a one-line :class:`SpecError` naming the file, and no
message quotes the file's content. What the data means is for the caller (:mod:`netcalc.spec`,
:mod:`netcalc.spaces.loading`, :mod:`netcalc.lockfile`).
"""
from __future__ import annotations

import os
import stat
from typing import Any

from .errors import SpecError
from .fields import describe
from .limits import (MAX_DOCUMENT_VALUES, MAX_FILE_BYTES, MAX_INT_BITS, MAX_INT_DIGITS,
                     MAX_NESTING)


def load_yaml(text: str, source: str) -> Any:
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
        if nodes[0] > MAX_DOCUMENT_VALUES:
            raise SpecError(source, "", f"document too large (over {MAX_DOCUMENT_VALUES} nodes after "
                                        "expanding aliases)")
        before = nodes[0]
        node = yaml.SafeLoader.compose_node(self, parent, index)
        expanded_size.setdefault(id(node), nodes[0] - before + 1)
        return node

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen: dict = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise SpecError(source, "", f"line {key_node.start_mark.line + 1}: duplicate "
                                                f"key {shown_key(key_node.value)} (first on line "
                                                f"{seen[key] + 1}); a key may appear once")
                seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(self, node, deep)

    def construct_yaml_int(self, node):  # type: ignore[no-untyped-def]
        digits = len(str(node.value).lstrip("+-"))     # decimal, hex, octal or sexagesimal
        if digits > MAX_INT_DIGITS:
            raise SpecError(source, "", f"line {node.start_mark.line + 1}: integer with {digits} "
                                        f"digits; netcalc reads at most {MAX_INT_DIGITS}")
        return yaml.SafeLoader.construct_yaml_int(self, node)

    _Loader.compose_node = compose_node
    _Loader.construct_mapping = construct_mapping
    _Loader.add_constructor("tag:yaml.org,2002:int", construct_yaml_int)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(source, "", f"invalid YAML: {where}{problem}") from None


def shown_key(key: Any) -> str:
    """A key from an untrusted document, quoted and short, for messages."""
    text = repr(str(key))
    return text[:40] + "..." if len(text) > 40 else text


def json_load(text: str, source: str, what: str = "") -> Any:
    """json.loads that refuses duplicate keys and integers longer than MAX_INT_DIGITS."""
    import json        # here: a YAML spec, the common case, does not need it

    def unique_pairs(pairs: list) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise SpecError(source, "", f"duplicate key {shown_key(key)}; a key may appear "
                                            "once")
            out[key] = value
        return out

    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise SpecError(source, "", f"integer with {len(digits.lstrip('-'))} digits; netcalc "
                                        f"reads at most {MAX_INT_DIGITS}")
        return int(digits)

    try:
        return json.loads(text, object_pairs_hook=unique_pairs, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        kind = f"not a JSON {what}" if what else "invalid JSON"
        raise SpecError(source, "", f"{kind}: line {exc.lineno}, column {exc.colno}: "
                                    f"{exc.msg}") from None


def check_shape(data: Any, source: str) -> None:
    """Bounded walk: nesting depth and total size, whatever the parser let through."""
    stack = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_NESTING:
            raise SpecError(source, "", f"nesting deeper than {MAX_NESTING} levels")
        if seen > MAX_DOCUMENT_VALUES:
            raise SpecError(source, "", f"document too large (over {MAX_DOCUMENT_VALUES} values)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise SpecError(source, "", f"keys must be strings, got {describe(key)}")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise SpecError(source, "", f"an integer of about {int(value.bit_length() * 0.30103)} "
                                        f"digits; netcalc reads at most {MAX_INT_DIGITS}")


def read_bounded(path: str, limit: int = MAX_FILE_BYTES, what: str = "spec") -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, without ever blocking.

    The file is opened non-blocking (a FIFO opens at once instead of waiting for a writer),
    refused unless it is a regular file (FIFOs, devices like /dev/zero, sockets, directories),
    and read only up to ``limit`` + 1 bytes, so a file that lies about its size or grows while
    read still costs at most ``limit`` bytes.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if "\0" in path:
        raise SpecError(path, "", "a path cannot hold a NUL character")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SpecError(path, "", "no such file") from None
    except OSError as exc:
        raise SpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SpecError(path, "", f"is a directory, not a {what} file")
        if not stat.S_ISREG(mode):
            raise SpecError(path, "", f"is not a regular file (a pipe, device or socket); give "
                                      f"a {what} file")
        raw_bytes = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise SpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return _bounded_text(raw_bytes, path, limit, what)


def _bounded_text(raw_bytes: bytes, path: str, limit: int, what: str) -> str:
    if len(raw_bytes) > limit:
        raise SpecError(path, "", f"file is larger than {limit} bytes, the limit for {what} files")
    try:
        return raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(path, "", "is not UTF-8 text") from None


def _read_at_most(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def read_stdin() -> Any:
    """A spec piped on standard input (``netcalc count -``), with the limits of a file."""
    import sys

    if sys.stdin is None:                   # started with standard input closed (<&-)
        raise SpecError("<stdin>", "", "standard input is closed")
    raw_bytes = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    return parse_data_text(_bounded_text(raw_bytes, "<stdin>", MAX_FILE_BYTES, "spec"),
                           "<stdin>")


def read_data_file(path: str, what: str = "spec") -> Any:
    """Parse a YAML or JSON file (a spec or a space file) into plain data, refusing anything
    unsafe or oversized."""
    return parse_data_text(read_bounded(path, MAX_FILE_BYTES, what), path)


def parse_data_text(text: str, path: str) -> Any:
    """Plain data from a file's text (YAML, or JSON when ``path`` ends in .json)."""
    try:
        if path.endswith(".json"):
            data = json_load(text, path)
        else:
            data = load_yaml(text, path)
    except RecursionError:
        raise SpecError(path, "", "nesting too deep") from None
    check_shape(data, path)
    return data


def read_lock_data(path: str) -> dict:
    """The top-level mapping of a lock file: strict JSON (no duplicate keys), bounded."""
    text = read_bounded(path, MAX_FILE_BYTES, "lock")
    try:
        data = json_load(text, path, what="lock file")
    except RecursionError:
        raise SpecError(path, "", "nesting too deep") from None
    return expect_mapping(data, path, "lock")


def expect_mapping(data: Any, path: str, what: str = "spec") -> dict:
    """The top level of a file must be a mapping; say so without echoing the file's content
    (any file can be named, and its first line may be a secret)."""
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "nothing" if data is None else \
            "a string" if isinstance(data, str) else "a boolean" if isinstance(data, bool) \
            else "a number"
        raise SpecError(path, "", f"expected a mapping, got {kind} (a {what} file is a mapping "
                                  "of fields)")
    return data
