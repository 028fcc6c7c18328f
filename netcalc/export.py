"""Specs as YAML text: what ``netcalc import`` writes and ``netcalc.to_yaml`` returns."""
from __future__ import annotations

from typing import Any, Mapping


def to_yaml(spec: Any) -> str:
    """YAML text of a spec: a :class:`~netcalc.Spec` (from ``netcalc.from_torch`` or
    ``load_spec``) or its data. Each layer is one line, so a diff of two specs shows one line
    per changed layer."""
    import yaml

    from .spec import Spec

    data = spec.raw if isinstance(spec, Spec) else spec
    if not isinstance(data, Mapping):
        raise TypeError(f"to_yaml takes a Spec or a mapping, not {type(data).__name__}")
    text = "".join(_field(yaml, key, value) for key, value in data.items() if key != "layers")
    if "layers" not in data:
        return text
    lines = [yaml.safe_dump(dict(layer), sort_keys=False, default_flow_style=True,
                            width=float("inf")).strip() for layer in data["layers"]]
    return text + "layers:\n" + "".join(f"- {line}\n" for line in lines)


def _field(yaml: Any, key: str, value: Any) -> str:
    """One top-level field; a list of numbers (``resolution: [192, 256]``) stays on one line."""
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return f"{key}: {yaml.safe_dump(value, default_flow_style=True).strip()}\n"
    return yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, width=100)
