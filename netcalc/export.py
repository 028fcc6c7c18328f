"""Specs as YAML text: what ``netcalc import`` writes and ``netcalc.to_yaml`` returns."""
from __future__ import annotations

from typing import Any, Mapping


def to_yaml(spec: Any) -> str:
    """YAML text of a spec: a :class:`~netcalc.Spec` (from ``netcalc.from_torch`` or
    ``load_spec``) or its data. Short nodes are written on one line each, so a per-layer diff
    of two specs is one line per changed layer."""
    import yaml

    from .spec import Spec

    data = spec.raw if isinstance(spec, Spec) else spec
    if not isinstance(data, Mapping):
        raise TypeError(f"to_yaml takes a Spec or a mapping, not {type(data).__name__}")
    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=None, width=100)
