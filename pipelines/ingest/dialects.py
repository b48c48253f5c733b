"""What a profile may say beyond column names and codes: relative times, row filters, built-in dialects.

- ``relative_times``: the site sends durations from a per-patient anchor (days or months) instead of, or
  beside, calendar dates; the profile states the unit, the anchor and the site's export date, and the
  core stores them beside the values as sent (``time_anchor``, ``time_unit``, ``times_exported_on``).
- ``filter``: a file's rows are kept only where a site column holds (or does not hold) a value; the
  other rows are counted as filtered, with the rule, in the drop's accounting.
- ``relative_times.endpoint_anchors``: the anchor of each reported endpoint (``pfs``, ``dfs``: a time with its
  status, from its own anchor), stored as ``pfs_anchor`` / ``dfs_anchor`` where the patient has the endpoint.
- ``dialect: cbioportal``: the defaults of a cBioPortal study folder (tab-delimited files with ``#``
  metadata lines, ``OS_MONTHS``/``OS_STATUS``, ``PFS_*``/``DFS_*``, ``SAMPLE_TYPE``); the profile's own keys
  override them.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field

from schemas import vocabularies as V

RELATIVE_TIME_COLUMNS = {
    "patients": ("last_contact_time", "death_time", "pfs_time", "dfs_time"),
    "samples": ("sample_time",),
}
FILTER_PATTERN = re.compile(r"^\s*(?P<column>.+?)\s*(?P<op>==|!=)\s*(?P<value>.*?)\s*$")


class DialectError(ValueError):
    """A relative-times, filter or dialect key that cannot be used (raised as the profile's ProfileError)."""


@dataclass(frozen=True)
class RowFilter:
    """Keep a row only where the site column ``column`` (trimmed) equals ``value`` (``==``) or differs (``!=``)."""

    column: str
    op: str
    value: str

    @property
    def rule(self) -> str:
        return f"{self.column} {self.op} {self.value}"

    def keeps(self, received: str | None) -> bool:
        """Whether a row whose field holds ``received`` (None: no such field on a malformed line) is kept."""
        equal = (received or "").strip() == self.value
        return equal if self.op == "==" else not equal


@dataclass(frozen=True)
class RelativeTimes:
    unit: str
    export_date: dt.date
    anchor: str | None  # None: each patient's anchor is in the patients' time_anchor column
    # reported endpoint (pfs, dfs) -> the anchor of its time, where the profile states one for every patient
    endpoint_anchors: dict[str, str] = field(default_factory=dict)
    defaulted: tuple[str, ...] = ()  # the endpoints whose anchor is the dialect's default, not stated by the profile

    def constants(self) -> dict[str, str]:
        """Contract columns the profile states for every patient, as text the mapping types."""
        values = {"time_unit": self.unit, "times_exported_on": self.export_date.isoformat()}
        values |= {f"{endpoint}_anchor": anchor for endpoint, anchor in self.endpoint_anchors.items()}
        return values | ({"time_anchor": self.anchor} if self.anchor else {})


def endpoint_columns(endpoint: str) -> tuple[str, str]:
    """A reported endpoint's time and status: its anchor is stored only where the patient has one of them."""
    return f"{endpoint}_time", f"{endpoint}_event"


def row_filters(spec: object, where: str) -> tuple[RowFilter, ...]:
    """``filter: "<site column> == <value>"`` (or ``!=``), or a list of them that must all hold."""
    if spec is None:
        return ()
    items = spec if isinstance(spec, list) else [spec]
    filters = []
    for item in items:
        match = FILTER_PATTERN.match(item) if isinstance(item, str) else None
        if not match:
            raise DialectError(
                f"{where}: {item!r} is not a filter; write '<site column> == <value>' or '<site column> != <value>', "
                "e.g. 'CANCER_TYPE == Gastrointestinal Stromal Tumor'"
            )
        filters.append(RowFilter(match["column"], match["op"], match["value"]))
    return tuple(filters)


def relative_times(spec: object, where: str) -> RelativeTimes | None:
    """``relative_times: {unit: days|months, anchor: <anchor>, export_date: YYYY-MM-DD}`` (anchor optional)."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise DialectError(f"{where}: a mapping with unit, export_date and (optionally) anchor")
    unknown = sorted(set(spec) - {"unit", "anchor", "export_date", "endpoint_anchors"})
    if unknown:
        raise DialectError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: anchor, endpoint_anchors, export_date, unit"
        )
    unit = spec.get("unit")
    if unit not in V.TIME_UNIT:
        raise DialectError(f"{where}.unit: {unit!r} must be one of {', '.join(V.TIME_UNIT)}")
    anchor = spec.get("anchor")
    if anchor is not None and anchor not in V.TIME_ANCHOR:
        raise DialectError(f"{where}.anchor: {anchor!r} must be one of {', '.join(V.TIME_ANCHOR)}")
    exported = spec.get("export_date")
    if isinstance(exported, str):
        try:
            exported = dt.date.fromisoformat(exported)
        except ValueError:
            exported = None
    if not isinstance(exported, dt.date) or isinstance(exported, dt.datetime):
        raise DialectError(
            f"{where}.export_date: {spec.get('export_date')!r} must be the date (YYYY-MM-DD) the site exported the "
            "data: with no calendar dates it is the data cut-off of the site's times"
        )
    return RelativeTimes(unit, exported, anchor, _endpoint_anchors(spec.get("endpoint_anchors"), where))


def _endpoint_anchors(spec: object, where: str) -> dict[str, str]:
    """``endpoint_anchors: {pfs: first_tki, dfs: unknown}``: time 0 of each reported endpoint, for every patient."""
    if spec is None:
        return {}
    where = f"{where}.endpoint_anchors"
    if not isinstance(spec, dict):
        raise DialectError(
            f"{where}: a mapping of reported endpoints to anchors, e.g. {{pfs: first_tki, dfs: unknown}}"
        )
    for endpoint, anchor in spec.items():
        if endpoint not in V.REPORTED_ENDPOINTS:
            raise DialectError(f"{where}: '{endpoint}' is not a reported endpoint ({', '.join(V.REPORTED_ENDPOINTS)})")
        if anchor not in V.TIME_ANCHOR:
            raise DialectError(
                f"{where}.{endpoint}: {anchor!r} must be one of {', '.join(V.TIME_ANCHOR)} (the time 0 of "
                f"{endpoint}_time; 'unknown' when the site does not say which treatment it counts from)"
            )
    return {str(e): str(a) for e, a in spec.items()}


@dataclass(frozen=True)
class Dialect:
    """A built-in profile a site's own profile is laid over (its tables' keys replace the dialect's, per key)."""

    name: str
    defaults: dict
    endpoint_anchor: str | None = None  # the anchor of a reported endpoint the profile does not state

    def merged_into(self, profile: dict) -> dict:
        merged = copy.deepcopy(self.defaults)
        for key, value in profile.items():
            if key not in {"dialect", "tables"}:
                base = merged.get(key)
                merged[key] = base | value if isinstance(base, dict) and isinstance(value, dict) else value
        tables = copy.deepcopy(self.defaults["tables"])
        for table, spec in (profile.get("tables") or {}).items():
            base = tables.get(table, {})
            tables[table] = base | {
                key: (base.get(key, {}) | value)
                if isinstance(value, dict) and isinstance(base.get(key), dict)
                else value
                for key, value in (spec or {}).items()
            }
        merged["tables"] = tables
        return merged


# cBioPortal "File Formats" (docs.cbioportal.org/file-formats): clinical files are tab-delimited, start with
# four '#' lines (display names, descriptions, datatypes, priorities) before the header, and code survival as
# OS_MONTHS with OS_STATUS '1:DECEASED' / '0:LIVING'; 'NA' and the bracketed TCGA tokens mean no value.
# DFS_MONTHS / DFS_STATUS ('1:Recurred/Progressed' / '0:DiseaseFree') and PFS_MONTHS / PFS_STATUS ('1:PROGRESSED'
# or TCGA's '1:PROGRESSION' / '0:CENSORED') count "since treatment", naming none: reported endpoints whose anchor
# is 'unknown' unless the profile states it (relative_times.endpoint_anchors).
CBIOPORTAL = Dialect(
    "cbioportal",
    {
        "description": "cBioPortal study folder",
        "encoding": "utf-8",
        "delimiter": "\t",
        "header_comments": "#",
        "missing": ["", "NA", "[Not Available]", "[Not Applicable]", "[Unknown]", "[Not Evaluated]"],
        "relative_times": {"unit": "months"},
        "tables": {
            "patients": {
                "file": "data_clinical_patient.txt",
                "columns": {
                    "patient_id": "PATIENT_ID",
                    "sex": "SEX",
                    "last_contact_time": "OS_MONTHS",
                    "vital_status": "OS_STATUS",
                    "pfs_time": "PFS_MONTHS",
                    "pfs_event": "PFS_STATUS",
                    "dfs_time": "DFS_MONTHS",
                    "dfs_event": "DFS_STATUS",
                },
                "codes": {
                    "sex": {"Male": "male", "Female": "female", "MALE": "male", "FEMALE": "female"},
                    "vital_status": {"1:DECEASED": "dead", "0:LIVING": "alive"},
                    "pfs_event": {"1:PROGRESSED": "true", "1:PROGRESSION": "true", "0:CENSORED": "false"},
                    "dfs_event": {"1:Recurred/Progressed": "true", "0:DiseaseFree": "false"},
                },
            },
            "samples": {
                "file": "data_clinical_sample.txt",
                "columns": {"patient_id": "PATIENT_ID", "sample_id": "SAMPLE_ID", "sample_type": "SAMPLE_TYPE"},
                "codes": {
                    "sample_type": {
                        "Primary": "primary",
                        "Metastasis": "metastasis",
                        "Recurrence": "recurrence",
                        "Local Recurrence": "recurrence",
                    }
                },
            },
        },
    },
    endpoint_anchor="unknown",
)
DIALECTS = {CBIOPORTAL.name: CBIOPORTAL}
