"""The analysis catalogue (``sql/analysis/catalogue.yaml``) as typed entries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.sql_models import SQL_DIR

CATALOGUE_PATH = SQL_DIR / "analysis" / "catalogue.yaml"
ENDPOINTS = {"PFS", "OS"}


@dataclass(frozen=True)
class Analysis:
    id: str
    title: str
    seed: str
    endpoints: tuple[str, ...]
    groups: tuple[str, ...]
    reference: str
    covariates: tuple[str, ...]
    landmarks: tuple[float, ...]
    confounders_not_held: str

    @property
    def frame(self) -> str:
        return f"analysis.{self.id}"


def _entry(raw: dict, source: Path) -> Analysis:
    where = f"{source.name}: analysis '{raw.get('id', '?')}'"
    missing = {"id", "title", "seed", "endpoints", "groups", "reference"} - set(raw)
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(sorted(missing))}")
    if not set(raw["endpoints"]) <= ENDPOINTS:
        raise ValueError(f"{where}: endpoints must be among {sorted(ENDPOINTS)}")
    if raw["reference"] not in raw["groups"]:
        raise ValueError(f"{where}: reference '{raw['reference']}' is not one of its groups")
    if not (SQL_DIR / "analysis" / f"{raw['id']}.sql").is_file():
        raise ValueError(f"{where}: no SQL file sql/analysis/{raw['id']}.sql")
    return Analysis(
        id=raw["id"], title=raw["title"], seed=str(raw["seed"]), endpoints=tuple(raw["endpoints"]),
        groups=tuple(str(g) for g in raw["groups"]), reference=str(raw["reference"]),
        covariates=tuple(raw.get("covariates", ())), landmarks=tuple(float(x) for x in raw.get("landmarks", (6, 12, 24))),
        confounders_not_held=str(raw.get("confounders_not_held", "not stated")),
    )


def load_catalogue(path: Path = CATALOGUE_PATH) -> list[Analysis]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["analyses"]
    analyses = [_entry(raw, path) for raw in entries]
    ids = [a.id for a in analyses]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path.name}: duplicate analysis ids")
    return analyses
