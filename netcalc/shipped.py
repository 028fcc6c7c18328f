"""The specs shipped inside the package, found by name.

Every spec and design-space file lives once, in ``netcalc/data/specs/`` (package data); the
repository's ``specs/`` folder is a link to it, so ``specs/resnet50.yaml`` in a clone and the name
``resnet50`` anywhere are the same file. A path that exists always wins over a name. Their
published figures are :mod:`netcalc.zoo`'s.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

from .caches import memoised
from .errors import SpecError

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SPECS_DIR = os.path.join(DATA_DIR, "specs")
EXAMPLES_DIR = os.path.join(SPECS_DIR, "examples")
SPACES_DIR = os.path.join(SPECS_DIR, "spaces")


@memoised(maxsize=1)       # package data: listed once per process (a lock may name 10,000 specs)
def shipped_specs() -> Dict[str, str]:
    """name -> installed path of every shipped spec: the zoo models, then the examples."""
    names: Dict[str, str] = {}
    for folder in (SPECS_DIR, EXAMPLES_DIR):
        if os.path.isdir(folder):
            for file in sorted(os.listdir(folder)):
                if file.endswith(".yaml"):
                    names.setdefault(file[:-len(".yaml")], os.path.join(folder, file))
    return names


def is_bare_name(text: str) -> bool:
    """A word without folder or extension: what a user types for a shipped model."""
    return bool(text) and os.sep not in text and "/" not in text and not text.endswith(
        (".yaml", ".yml", ".json"))


def resolve_spec(path_or_name: str) -> Optional[str]:
    """The file of a spec argument: an existing path as given, else a shipped model's file.

    None when it is neither (the caller reports the missing file); a bare name that matches no
    shipped model is a SpecError suggesting the closest names.
    """
    if os.path.exists(path_or_name) or not is_bare_name(path_or_name):
        return None
    shipped = shipped_specs()
    if path_or_name in shipped:
        return shipped[path_or_name]
    from .fields import closest

    hint = closest(path_or_name, list(shipped))
    suggestion = f" (did you mean {', '.join(hint)}?)" if hint else " (see netcalc zoo)"
    raise SpecError(path_or_name[:100], "", f"no such file or shipped model{suggestion}")
