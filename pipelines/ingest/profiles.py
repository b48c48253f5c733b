"""Site profiles: the declarative mapping of a site's export dialect onto the contract.

The format is documented in ``docs/site-profiles.md``.  A profile is checked
when it is loaded, so a typo names the profile and the key instead of surfacing
later as thousands of quarantined rows.  Profiles are read on every sensor tick,
so the YAML reader refuses what a profile never needs and an attacker could use:
anchors and aliases (an "alias bomb" expands a few lines into gigabytes), explicit
tags (``!!python/...``, ``!!binary``, ...) and files over ``MAX_PROFILE_BYTES``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import yaml

from pipelines.ingest.dialects import (
    DIALECTS,
    RELATIVE_TIME_COLUMNS,
    DialectError,
    RelativeTimes,
    RowFilter,
    endpoint_columns,
    relative_times,
    row_filters,
)
from pipelines.ingest.grain import GRAINS
from schemas import vocabularies as V
from schemas.contract import CONTRACT, polars_schema

SITE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TOP_LEVEL_KEYS = {
    "site_id",
    "description",
    "encoding",
    "delimiter",
    "decimal",
    "date_format",
    "missing",
    "true_values",
    "false_values",
    "tables",
    "dialect",
    "header_comments",
    "relative_times",
}
TABLE_KEYS = {"file", "columns", "codes", "missing", "date_format", "drop_columns", "filter", "grain"}
MAX_PROFILE_BYTES = 256 * 1024  # the largest real profile is a few KiB, with every code list


class ProfileError(ValueError):
    """A site profile that cannot be used, with the profile and key named."""


@dataclass(frozen=True)
class TableProfile:
    file: str
    columns: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    date_format: dict[str, list[str]] = field(default_factory=dict)
    drop_columns: tuple[str, ...] = ()  # the site's columns never stored as site columns (core.site_columns)
    filters: tuple[RowFilter, ...] = ()  # rows kept only where every filter holds; the others are counted as filtered
    grain: str = "patient"  # "sample": a patients file with one row per sample (pipelines/ingest/grain.py)

    def source_column(self, canonical: str) -> str:
        """The site's column name for a canonical column."""
        return self.columns.get(canonical, canonical)


@dataclass(frozen=True)
class SiteProfile:
    site_id: str
    description: str
    encoding: str
    delimiter: str
    decimal: str
    date_format: list[str]
    missing: list[str]
    true_values: list[str]
    false_values: list[str]
    tables: dict[str, TableProfile]
    header_comments: str | None = None  # lines at a file's start beginning with this are metadata (cBioPortal '#')
    relative_times: RelativeTimes | None = None

    def constant(self, table: str, column: str) -> str | None:
        """A value the profile states for every row of ``table`` (the anchor, unit and export date of relative
        times), or None: the column then comes from the file."""
        if self.relative_times is None or table != "patients":
            return None
        return self.relative_times.constants().get(column)

    def constant_where(self, table: str, column: str) -> tuple[str, ...]:
        """The columns of which a row must hold one for ``column``'s constant to apply (none: every row): a
        reported endpoint's anchor belongs to the patients who have the endpoint."""
        endpoint = column.removesuffix("_anchor")
        return endpoint_columns(endpoint) if table == "patients" and endpoint in V.REPORTED_ENDPOINTS else ()

    def date_formats(self, table: str, column: str) -> list[str]:
        return self.tables[table].date_format.get(column, self.date_format)

    def missing_tokens(self, table: str, column: str) -> list[str]:
        return self.missing + self.tables[table].missing.get(column, [])


def _as_list(value: object, where: str) -> list[str]:
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise ProfileError(f"{where}: expected a string or a list of strings, got {value!r}")


def _check_keys(found: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _check_columns(names: object, table: str, where: str) -> None:
    contract_columns = set(CONTRACT[table].to_schema().columns)
    for name in names or {}:
        if name not in contract_columns:
            raise ProfileError(f"{where}: '{name}' is not a column of the contract table '{table}'")


def _plain_file_name(value: object, where: str) -> str:
    """A profile's ``file`` is a file name inside the site's folder: no folders, no '..', no absolute path."""
    name = str(value)
    if (
        not name
        or name in {".", ".."}
        or any(c in name for c in "/\\\0:")
        or Path(name).name != name
        or Path(name).is_absolute()
    ):
        raise ProfileError(
            f"{where}.file: '{name}' must be a plain file name in the site's drop folder (no folders, '..', "
            "drive or absolute path), e.g. 'patients.csv'"
        )
    return name


def _table_profile(table: str, spec: object, where: str) -> TableProfile:
    if table not in CONTRACT:
        raise ProfileError(f"{where}: '{table}' is not a contract table ({', '.join(CONTRACT)})")
    if not isinstance(spec, dict) or "file" not in spec:
        raise ProfileError(f"{where}.{table}: needs at least 'file: <name>.csv'")
    _check_keys(spec, TABLE_KEYS, f"{where}.{table}")
    for key in ("columns", "codes", "missing", "date_format"):
        _check_columns(spec.get(key), table, f"{where}.{table}.{key}")
    codes = {col: {str(k): str(v) for k, v in mapping.items()} for col, mapping in (spec.get("codes") or {}).items()}
    _check_yes_no_codes(table, codes, f"{where}.{table}.codes")
    return TableProfile(
        file=_plain_file_name(spec["file"], f"{where}.{table}"),
        columns={str(k): str(v) for k, v in (spec.get("columns") or {}).items()},
        codes=codes,
        missing={c: _as_list(v, f"{where}.{table}.missing.{c}") for c, v in (spec.get("missing") or {}).items()},
        date_format={
            c: _as_list(v, f"{where}.{table}.date_format.{c}") for c, v in (spec.get("date_format") or {}).items()
        },
        drop_columns=tuple(_as_list(spec.get("drop_columns") or [], f"{where}.{table}.drop_columns")),
        filters=row_filters(spec.get("filter"), f"{where}.{table}.filter"),
        grain=_grain(table, spec.get("grain", "patient"), f"{where}.{table}.grain"),
    )


def _check_yes_no_codes(table: str, codes: dict[str, dict[str, str]], where: str) -> None:
    """A code list of a yes/no column (e.g. cBioPortal's PFS_STATUS) maps each site code to true or false."""
    schema = polars_schema(table)
    for column, mapping in codes.items():
        wrong = [code for code, value in mapping.items() if value.lower() not in {"true", "false"}]
        if schema[column] == pl.Boolean and wrong:
            raise ProfileError(
                f"{where}.{column}: a yes/no column's codes map to true or false; {', '.join(map(repr, wrong))} "
                "map to something else"
            )


def _grain(table: str, grain: object, where: str) -> str:
    if grain not in GRAINS:
        raise ProfileError(f"{where}: '{grain}' must be one of {', '.join(GRAINS)} (what one row of the file is)")
    if grain == "sample" and table != "patients":
        raise ProfileError(f"{where}: only the patients file may have one row per sample")
    return str(grain)


def parse_profile(data: object, source: str) -> SiteProfile:
    """Check and convert a profile's parsed YAML; ``source`` names it in messages."""
    try:
        return _parsed(data, source)
    except DialectError as err:
        raise ProfileError(str(err)) from None


def _parsed(data: object, source: str) -> SiteProfile:
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile is a YAML mapping")
    _check_keys(data, TOP_LEVEL_KEYS, source)
    dialect = DIALECTS.get(data.get("dialect"))
    if "dialect" in data:
        if data["dialect"] not in DIALECTS:
            raise ProfileError(
                f"{source}.dialect: '{data['dialect']}' is not a built-in dialect ({', '.join(DIALECTS)})"
            )
        data = DIALECTS[data["dialect"]].merged_into(data)
    site_id = str(data.get("site_id", ""))
    if not SITE_ID_PATTERN.match(site_id):
        raise ProfileError(f"{source}: site_id '{site_id}' must be lower-case letters, digits and '_' (max 40)")
    encoding = str(data.get("encoding", "utf-8"))
    try:
        codecs.lookup(encoding)
    except LookupError as err:
        raise ProfileError(f"{source}: encoding '{encoding}' is not a known codec") from err
    delimiter = str(data.get("delimiter", ","))
    if len(delimiter) != 1:
        raise ProfileError(f"{source}: delimiter must be one character, got {delimiter!r}")
    decimal = str(data.get("decimal", "."))
    if decimal not in {".", ","}:
        raise ProfileError(f"{source}: decimal must be '.' or ',', got {decimal!r}")
    tables = data.get("tables")
    if not isinstance(tables, dict) or "patients" not in tables:
        raise ProfileError(f"{source}: 'tables' must map contract tables to files and include 'patients'")
    table_profiles = {t: _table_profile(t, spec, f"{source}.tables") for t, spec in tables.items()}
    times = relative_times(data.get("relative_times"), f"{source}.relative_times")
    _check_relative_times(times, table_profiles, source)
    times = _anchor_each_endpoint(
        times, table_profiles["patients"], source, dialect.endpoint_anchor if dialect else None
    )
    comments = data.get("header_comments")
    if comments is not None and (not isinstance(comments, str) or len(comments) != 1):
        raise ProfileError(f"{source}.header_comments: one character that starts a metadata line, e.g. '#'")
    return SiteProfile(
        site_id=site_id,
        description=str(data.get("description", "")),
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        date_format=_as_list(data.get("date_format", "%Y-%m-%d"), f"{source}.date_format"),
        missing=_as_list(data.get("missing", [""]), f"{source}.missing"),
        true_values=_as_list(data.get("true_values", ["true"]), f"{source}.true_values"),
        false_values=_as_list(data.get("false_values", ["false"]), f"{source}.false_values"),
        tables=table_profiles,
        header_comments=comments,
        relative_times=times,
    )


def _check_relative_times(times: RelativeTimes | None, tables: dict[str, TableProfile], source: str) -> None:
    """Times from an anchor need the anchor and unit stated; an anchor column needs the anchors it may hold."""
    timed = [f"{t}.{c}" for t, spec in tables.items() for c in RELATIVE_TIME_COLUMNS.get(t, ()) if c in spec.columns]
    anchor_column = "time_anchor" in tables["patients"].columns
    if timed and times is None:
        raise ProfileError(
            f"{source}: {', '.join(timed)} are times from an anchor: add 'relative_times' with their unit, the "
            "anchor (or an anchor column) and the site's export date (docs/site-profiles.md, 'Relative times')"
        )
    if times is None:
        return
    if anchor_column == (times.anchor is not None):
        raise ProfileError(
            f"{source}.relative_times: state the anchor either as 'anchor' (the same for every patient) or as the "
            "patients' column 'time_anchor' with a code list of the anchors it may hold, not both and not neither"
        )
    if anchor_column and "time_anchor" not in tables["patients"].codes:
        raise ProfileError(
            f"{source}.tables.patients.codes.time_anchor: declare the anchors the column may hold (site code: "
            "diagnosis, advanced_disease, first_tki, sequencing or unknown); an undeclared one is quarantined"
        )


def _anchor_each_endpoint(
    times: RelativeTimes | None, patients: TableProfile, source: str, default: str | None
) -> RelativeTimes | None:
    """Each reported endpoint the profile maps has one anchor: stated in ``relative_times.endpoint_anchors``, or
    the patients' ``<endpoint>_anchor`` column with its code list, or else the dialect's default (said so in the
    drop's accounting); never both, and a plain profile must state it."""
    if times is None:
        return None
    where = f"{source}.relative_times.endpoint_anchors"
    anchors, defaulted = dict(times.endpoint_anchors), []
    for endpoint in V.REPORTED_ENDPOINTS:
        mapped = any(c in patients.columns for c in endpoint_columns(endpoint))
        column = f"{endpoint}_anchor"
        if endpoint in anchors and not mapped:
            raise ProfileError(f"{where}.{endpoint}: no column is mapped to {' or '.join(endpoint_columns(endpoint))}")
        if column in patients.columns:
            if endpoint in anchors:
                raise ProfileError(
                    f"{where}.{endpoint}: state the anchor of {endpoint} either here or as the patients' column "
                    f"'{column}', not both"
                )
            if column not in patients.codes:
                raise ProfileError(
                    f"{source}.tables.patients.codes.{column}: declare the anchors the column may hold (site code: "
                    f"{', '.join(V.TIME_ANCHOR)}); an undeclared one is quarantined"
                )
        elif mapped and endpoint not in anchors:
            if default is None:
                raise ProfileError(
                    f"{where}: {endpoint}_time is a reported endpoint from its own anchor: state it, e.g. "
                    f"'endpoint_anchors: {{{endpoint}: first_tki}}' (one of {', '.join(V.TIME_ANCHOR)}; 'unknown' "
                    f"when the site does not say), or map the patients' column '{column}' with its code list"
                )
            anchors[endpoint] = default
            defaulted.append(endpoint)
    return replace(times, endpoint_anchors=anchors, defaulted=tuple(defaulted))


class _ProfileLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors, aliases and explicit tags: plain mappings, lists and scalars only."""

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        event = self.peek_event()
        mark = f"line {event.start_mark.line + 1}, column {event.start_mark.column + 1}"
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ProfileError(
                f"{mark}: YAML anchors and aliases ('&name', '*name') are not allowed in a profile — write the "
                "values out"
            )
        if getattr(event, "tag", None) is not None:  # only an explicit tag sets it
            raise ProfileError(f"{mark}: the YAML tag '{event.tag}' is not allowed in a profile — plain values only")
        return super().compose_node(parent, index)


def load_profile(path: Path) -> SiteProfile:
    """Load ``<site_id>.yaml``; the file name must equal the declared site id."""
    size = path.stat().st_size
    if size > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path.name}: {size} bytes; a profile is at most {MAX_PROFILE_BYTES // 1024} KiB")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_ProfileLoader)  # noqa: S506 - a safe loader, narrowed
    except ProfileError as err:
        raise ProfileError(f"{path.name}: {err}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ProfileError(f"{path.name}: not valid YAML ({err})") from err
    profile = parse_profile(data, path.name)
    if profile.site_id != path.stem:
        raise ProfileError(f"{path.name}: site_id '{profile.site_id}' differs from the file name '{path.stem}'")
    return profile
