"""The analysis catalogue (``sql/analysis/catalogue.yaml``) as typed, validated entries.

Analysts extend the catalogue without writing Python, so every entry is checked here and a
mistake is reported with the file and the analysis it is in, before any asset runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.sql_models import SQL_DIR
from pipelines.stats.timevarying import time_varying_models

CATALOGUE_PATH = SQL_DIR / "analysis" / "catalogue.yaml"
ENDPOINTS = ("PFS", "RFS", "OS")
REQUIRED = ("id", "title", "seed", "endpoints", "groups", "reference")
OPTIONAL = (
    "origin",
    "covariates",
    "characteristics",
    "landmarks",
    "exposure",
    "exposure_landmarks",
    "binary_outcome",
    "cluster",
    "confounders_not_held",
    "adjust",
    "rmst_horizons",
    "exposure_split",
    "time_varying_covariates",
    "primary",
)
DEFAULT_LANDMARKS = (6.0, 12.0, 24.0, 36.0, 60.0)
DEFAULT_EXPOSURE_LANDMARKS = (6.0, 12.0)
DEFAULT_RMST_HORIZONS = (24.0, 60.0)


@dataclass(frozen=True)
class BinaryOutcome:
    """An event of ``endpoint`` within ``within_months`` of the origin, as a 0/1 outcome per subject."""

    endpoint: str
    within_months: float

    @property
    def label(self) -> str:
        return f"{self.endpoint} event within {self.within_months:g} months"


@dataclass(frozen=True)
class Adjustment:
    """Confounding adjustment of a two-group comparison: ``method`` (iptw) on the propensity ``covariates``."""

    method: str
    covariates: tuple[str, ...]
    truncate: tuple[float, float] | None = None


@dataclass(frozen=True)
class Analysis:
    """One catalogue entry; the keys are documented at the top of catalogue.yaml."""

    id: str
    title: str
    seed: str
    endpoints: tuple[str, ...]
    groups: tuple[str, ...]
    reference: str
    origin: str = "origin"
    covariates: tuple[str, ...] = ()
    characteristics: tuple[str, ...] = ()
    landmarks: tuple[float, ...] = DEFAULT_LANDMARKS
    exposure: str | None = None
    exposure_landmarks: tuple[float, ...] = DEFAULT_EXPOSURE_LANDMARKS
    binary_outcome: BinaryOutcome | None = None
    cluster: str | None = None
    confounders_not_held: str = "not stated"
    adjust: Adjustment | None = None
    rmst_horizons: tuple[float, ...] = DEFAULT_RMST_HORIZONS
    exposure_split: Mapping[str, str] | None = None
    time_varying_covariates: Mapping[str, tuple[str, ...]] | None = None
    primary: str | None = None

    def models(self, endpoint: str) -> tuple[str, ...]:
        """Every Cox model name one endpoint of this entry reports (results.cox and results.immortal_time)."""
        names = ["univariable", *(["multivariable"] if self.covariates else [])]
        if self.exposure:
            tvc = (self.time_varying_covariates or {}).get(endpoint, ())
            base = [
                "naive",
                *(f"landmark_{at:g}" for at in self.exposure_landmarks),
                *time_varying_models(self.exposure, self.exposure_split, tvc),
            ]
            names += [f"{m}{suffix}" for suffix in ("", *(["_adjusted"] if self.covariates else [])) for m in base]
        return tuple(names)

    @property
    def frame(self) -> str:
        return f"analysis.{self.id}"

    @property
    def columns(self) -> tuple[str, ...]:
        """Frame columns beyond subject, group, time and event that the statistics read, each once."""
        named = [
            *self.covariates,
            *self.characteristics,
            *(self.adjust.covariates if self.adjust else ()),
            self.exposure,
            *(self.exposure_split or {}).values(),
            *(c for columns in (self.time_varying_covariates or {}).values() for c in columns),
            self.cluster,
        ]
        return tuple(dict.fromkeys(c for c in named if c))


class CatalogueError(ValueError):
    """A catalogue entry that cannot be run; the message names the file and the analysis."""


def _names(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise CatalogueError(f"{where}: '{key}' must be a list of names")
    names = tuple(str(v) for v in value)
    if len(set(names)) != len(names):
        raise CatalogueError(f"{where}: '{key}' lists a name twice")
    return names


def _months(value: object, where: str, key: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int | float) and v > 0 for v in value):
        raise CatalogueError(f"{where}: '{key}' must be a non-empty list of positive numbers of months")
    return tuple(float(v) for v in value)


def _name(value: object, where: str, key: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.isidentifier()):
        raise CatalogueError(f"{where}: '{key}' must be a column name")
    return value


def _binary(value: object, endpoints: tuple[str, ...], where: str) -> BinaryOutcome | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"endpoint", "within_months"}:
        raise CatalogueError(f"{where}: 'binary_outcome' must have exactly the keys endpoint and within_months")
    if value["endpoint"] not in endpoints:
        raise CatalogueError(f"{where}: binary_outcome endpoint '{value['endpoint']}' is not one of its endpoints")
    return BinaryOutcome(
        str(value["endpoint"]), _months([value["within_months"]], where, "binary_outcome.within_months")[0]
    )


def _adjust(value: object, groups: tuple[str, ...], where: str) -> Adjustment | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not {"method", "covariates"} <= set(value) <= {
        "method",
        "covariates",
        "truncate",
    }:
        raise CatalogueError(f"{where}: 'adjust' must have the keys method and covariates (and optionally truncate)")
    if value["method"] != "iptw":
        raise CatalogueError(f"{where}: adjust method '{value['method']}' is not known (known: iptw)")
    if len(groups) != 2:
        raise CatalogueError(f"{where}: adjust: iptw compares exactly two groups ({len(groups)} listed)")
    covariates = _names(value["covariates"], where, "adjust.covariates")
    if not covariates:
        raise CatalogueError(f"{where}: adjust: iptw needs at least one covariate")
    truncate = value.get("truncate")
    if truncate is not None and not (
        isinstance(truncate, list)
        and len(truncate) == 2
        and all(isinstance(v, int | float) for v in truncate)
        and 0 <= truncate[0] < truncate[1] <= 100
    ):
        raise CatalogueError(
            f"{where}: adjust.truncate must be two percentiles [lower, upper], 0 <= lower < upper <= 100"
        )
    return Adjustment("iptw", covariates, None if truncate is None else (float(truncate[0]), float(truncate[1])))


def _split(value: object, exposure: str | None, where: str) -> dict[str, str] | None:
    """``exposure_split``: exposure kind -> column of months to an exposure of that kind (needs ``exposure``)."""
    if value is None:
        return None
    if not exposure:
        raise CatalogueError(f"{where}: 'exposure_split' needs 'exposure' (the pooled exposure it splits)")
    if not isinstance(value, Mapping) or len(value) < 2:
        raise CatalogueError(f"{where}: 'exposure_split' must map at least two exposure kinds to columns")
    for level, column in value.items():
        if not str(level).isidentifier() or str(level) == "unexposed":
            raise CatalogueError(f"{where}: exposure_split kind '{level}' must be a name other than 'unexposed'")
        _name(column, where, f"exposure_split.{level}")
    return {str(k): str(v) for k, v in value.items()}


def _time_varying(value: object, exposure: str | None, endpoints: tuple[str, ...], where: str) -> dict | None:
    """``time_varying_covariates``: endpoint -> columns of months to a time-dependent confounder (needs ``exposure``)."""
    if value is None:
        return None
    if not exposure:
        raise CatalogueError(f"{where}: 'time_varying_covariates' needs 'exposure'")
    if not isinstance(value, Mapping) or not set(value) <= set(endpoints):
        raise CatalogueError(f"{where}: 'time_varying_covariates' must map some of its endpoints to lists of columns")
    parsed = {str(k): _names(v, where, f"time_varying_covariates.{k}") for k, v in value.items()}
    for key, columns in parsed.items():
        for column in columns:
            _name(column, where, f"time_varying_covariates.{key}")
    return parsed


def parse_entry(raw: object, source: Path, defaults: Mapping[str, object] | None = None) -> Analysis:
    """Validate one entry (merged over the catalogue's ``defaults``) into an :class:`Analysis`."""
    name = raw.get("id", "?") if isinstance(raw, Mapping) else "?"
    where = f"{source.name}: analysis '{name}'"
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: an entry must be a mapping of keys")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(REQUIRED + OPTIONAL)})")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise CatalogueError(f"{where}: missing key(s) {', '.join(missing)}")
    entry = {**(defaults or {}), **raw}
    if not str(entry["id"]).isidentifier():
        raise CatalogueError(f"{where}: id must be a SQL identifier (letters, digits, underscores)")
    endpoints = _names(entry["endpoints"], where, "endpoints")
    if not endpoints or not set(endpoints) <= set(ENDPOINTS):
        raise CatalogueError(f"{where}: endpoints must be among {', '.join(ENDPOINTS)}")
    groups = _names(entry["groups"], where, "groups")
    if str(entry["reference"]) not in groups:
        raise CatalogueError(f"{where}: reference '{entry['reference']}' is not one of its groups")
    if not (source.parent / f"{entry['id']}.sql").is_file():
        raise CatalogueError(f"{where}: no SQL file sql/analysis/{entry['id']}.sql")
    exposure = _name(entry.get("exposure"), where, "exposure")
    analysis = Analysis(
        id=str(entry["id"]),
        title=str(entry["title"]),
        seed=str(entry["seed"]),
        endpoints=endpoints,
        groups=groups,
        reference=str(entry["reference"]),
        origin=str(entry.get("origin", "origin")),
        covariates=_names(entry.get("covariates", []), where, "covariates"),
        characteristics=_names(entry.get("characteristics", []), where, "characteristics"),
        landmarks=_months(entry.get("landmarks", list(DEFAULT_LANDMARKS)), where, "landmarks"),
        exposure=exposure,
        exposure_landmarks=_months(
            entry.get("exposure_landmarks", list(DEFAULT_EXPOSURE_LANDMARKS)), where, "exposure_landmarks"
        ),
        binary_outcome=_binary(entry.get("binary_outcome"), endpoints, where),
        cluster=_name(entry.get("cluster"), where, "cluster"),
        confounders_not_held=str(entry.get("confounders_not_held", "not stated")),
        adjust=_adjust(entry.get("adjust"), groups, where),
        rmst_horizons=_months(entry.get("rmst_horizons", list(DEFAULT_RMST_HORIZONS)), where, "rmst_horizons"),
        exposure_split=_split(entry.get("exposure_split"), exposure, where),
        time_varying_covariates=_time_varying(entry.get("time_varying_covariates"), exposure, endpoints, where),
        primary=None if entry.get("primary") is None else str(entry["primary"]),
    )
    missing_primary = [e for e in endpoints if analysis.primary and analysis.primary not in analysis.models(e)]
    if missing_primary:
        raise CatalogueError(
            f"{where}: primary model '{analysis.primary}' is not reported for {', '.join(missing_primary)} "
            f"(its models: {', '.join(analysis.models(missing_primary[0]))})"
        )
    return analysis


def load_catalogue(path: Path = CATALOGUE_PATH) -> list[Analysis]:
    """Every entry of the catalogue file, validated; ids are unique."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, Mapping) or not isinstance(document.get("analyses"), list):
        raise CatalogueError(f"{path.name}: needs a list under 'analyses'")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping) or set(defaults) - set(OPTIONAL):
        raise CatalogueError(f"{path.name}: 'defaults' may only set {', '.join(OPTIONAL)}")
    analyses = [parse_entry(raw, path, defaults) for raw in document["analyses"]]
    ids = [a.id for a in analyses]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise CatalogueError(f"{path.name}: duplicate analysis id(s) {', '.join(duplicated)}")
    return analyses
