"""What a profile may say beyond column names and codes: relative times, row filters, built-in dialects.

- ``relative_times``: the site sends durations from a per-patient anchor (days or months) instead of, or
  beside, calendar dates; the profile states the unit, the anchor and the site's export date, and the
  core stores them beside the values as sent (``time_anchor``, ``time_unit``, ``times_exported_on``).
- ``filter``: a file's rows are kept only where a site column holds (or does not hold) a value; the
  other rows are counted as filtered, with the rule, in the drop's accounting.
- ``dialect: cbioportal``: the defaults of a cBioPortal study folder (tab-delimited files with ``#``
  metadata lines, ``OS_MONTHS``/``OS_STATUS``, ``SAMPLE_TYPE``); the profile's own keys override them.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass

from schemas import vocabularies as V

RELATIVE_TIME_COLUMNS = {
    "patients": ("last_contact_time", "death_time"),
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

    def constants(self) -> dict[str, str]:
        """Contract columns the profile states for every patient, as text the mapping types."""
        values = {"time_unit": self.unit, "times_exported_on": self.export_date.isoformat()}
        return values | ({"time_anchor": self.anchor} if self.anchor else {})


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
    unknown = sorted(set(spec) - {"unit", "anchor", "export_date"})
    if unknown:
        raise DialectError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: anchor, export_date, unit")
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
    return RelativeTimes(unit, exported, anchor)


@dataclass(frozen=True)
class Dialect:
    """A built-in profile a site's own profile is laid over (its tables' keys replace the dialect's, per key)."""

    name: str
    defaults: dict

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
                },
                "codes": {
                    "sex": {"Male": "male", "Female": "female", "MALE": "male", "FEMALE": "female"},
                    "vital_status": {"1:DECEASED": "dead", "0:LIVING": "alive"},
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
)
DIALECTS = {CBIOPORTAL.name: CBIOPORTAL}
