"""The model zoo: the shipped specs (:mod:`netcalc.shipped`) with their published figures."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional

from .shipped import DATA_DIR, shipped_specs
from .spec import load_spec

# Published figures (papers, pycls MODEL_ZOO, official READMEs) of the zoo models
PUBLISHED_CSV = os.path.join(DATA_DIR, "model_zoo.csv")


@dataclass(frozen=True)
class ZooModel:
    """A shipped spec, with the figures its paper or model zoo publishes (None: not published)."""

    name: str
    model: str
    family: str
    resolution: int
    flops_g: Optional[float]
    params_m: Optional[float]
    acts_m: Optional[float]
    source: str
    group: str = ""         # the published family (RegNetX, ResNeXt...): what zoo sorts by

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "family": self.family,
                "resolution": self.resolution, "flops_G_published": self.flops_g,
                "params_M_published": self.params_m, "acts_M_published": self.acts_m,
                "source": self.source}


def published_rows() -> List[Dict[str, str]]:
    """The rows of the shipped published-figures table."""
    import csv

    with open(PUBLISHED_CSV, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def zoo_models() -> List[ZooModel]:
    """Every shipped spec with its family, own resolution and published figures."""
    published = {os.path.splitext(os.path.basename(r["spec_file"]))[0]: r
                 for r in published_rows()}
    models = []
    for name, path in shipped_specs().items():
        spec = load_spec(path)
        row = published.get(name, {})

        def figure(column: str) -> Optional[float]:
            return float(row[column]) if row.get(column) else None

        models.append(ZooModel(name, spec.name, spec.family,
                               spec.resolution, figure("flops_G_published"),
                               figure("params_M_published"), figure("acts_M_published"),
                               row.get("source", ""), row.get("family") or spec.family))
    return models
