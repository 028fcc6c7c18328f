"""Finding and reading space files: shipped names, paths, and ``extends`` chains."""
from __future__ import annotations

import os
import re
from typing import Any, List, Optional, Tuple

from ..errors import SpecError
from ..fields import describe
from ..limits import MAX_EXTENDS
from ..reading import expect_mapping, read_data_file
from ..shipped import SPACES_DIR
from .schema import Space, parse_space

BUILTIN_DIR = SPACES_DIR        # the shipped spaces, package data (the repository's specs/spaces)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def shipped_names() -> List[str]:
    if not os.path.isdir(BUILTIN_DIR):
        return []
    return sorted(os.path.splitext(f)[0] for f in os.listdir(BUILTIN_DIR) if f.endswith(".yaml"))


def resolve(name_or_path: str, beside: Optional[str] = None) -> str:
    """A space file: an existing path, a file beside ``beside``, or a shipped name."""
    if os.path.exists(name_or_path):    # a path wins; reading it refuses what is not a file
        return name_or_path
    if beside is not None:
        for candidate in (name_or_path, name_or_path + ".yaml"):
            path = os.path.join(os.path.dirname(beside), candidate)
            if os.path.exists(path):
                return path
    if _NAME.match(name_or_path):
        path = os.path.join(BUILTIN_DIR, name_or_path + ".yaml")
        if os.path.isfile(path):
            return path
    known = ", ".join(shipped_names()) or "none installed"
    raise SpecError(name_or_path[:100], "", f"no such space file or shipped space (shipped: {known})")


def _merge(parent: Any, child: Any) -> Any:
    if isinstance(parent, dict) and isinstance(child, dict):
        merged = dict(parent)
        for key, value in child.items():
            merged[key] = _merge(parent[key], value) if key in parent else value
        return merged
    return child


def read_space_data(path: str, chain: Tuple[str, ...] = ()) -> Any:
    """The raw mapping of a space file with its ``extends`` chain merged in."""
    data = expect_mapping(read_data_file(path, "space"), path, "space")
    if "extends" not in data:
        return data
    parent_name = data["extends"]
    if not isinstance(parent_name, str) or not parent_name:
        raise SpecError(path, "extends", f"expected a space name or file, got {describe(parent_name)}")
    if len(chain) >= MAX_EXTENDS:
        raise SpecError(path, "extends", f"chain longer than {MAX_EXTENDS} files")
    parent_path = resolve(parent_name, beside=path)
    if os.path.realpath(parent_path) in chain + (os.path.realpath(path),):
        raise SpecError(path, "extends", f"{parent_name!r} extends this file again (a cycle)")
    parent = read_space_data(parent_path, chain + (os.path.realpath(path),))
    parent = {k: v for k, v in parent.items() if k not in ("name", "description", "table1")}
    child = {k: v for k, v in data.items() if k != "extends"}
    return _merge(parent, child)


def load_space(name_or_path: Any) -> Space:
    """A validated :class:`Space` from a shipped name, a file path or a mapping."""
    if isinstance(name_or_path, Space):
        return name_or_path
    if isinstance(name_or_path, dict):
        return parse_space(name_or_path, "<dict>")
    path = resolve(os.fspath(name_or_path))
    return parse_space(read_space_data(path), path)
