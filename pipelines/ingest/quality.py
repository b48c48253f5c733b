"""Data quality per core table, check and site, against thresholds (OHDSI DataQualityDashboard-style).

A check's measure is the share of a table's data lines, in each site's latest loaded drop, that the
check found failing (``audit.issues``, one finding per line and check); its threshold comes from
``quality_thresholds.yaml`` (``GIST_QUALITY_THRESHOLDS``).  An error check above its threshold
blocks: its Dagster asset check fails (blocking) and every refresh refuses to compute, naming site,
table, check and share (:func:`blocking_failures`); a warning check above its threshold is reported
only.  Each load appends its shares to ``audit.check_history``, so a check's trend over a site's
drops is kept beside the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pipelines.ingest.checks import ERROR, Check, all_checks, checks_for_table

SAMPLE_LINES = 5  # failing lines shown per check and site: file, line and column only (messages quote values)


class ThresholdsError(ValueError):
    """The thresholds file is missing or malformed (the message names the file and the key)."""


@dataclass(frozen=True)
class Thresholds:
    default: dict[str, float]  # severity -> share
    checks: dict[str, float]
    sites: dict[str, dict[str, float]]

    def limit(self, site_id: str, check: Check) -> float:
        site = self.sites.get(site_id, {})
        return site.get(check.check_id, self.checks.get(check.check_id, self.default[check.severity]))


def _share(path: Path, where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ThresholdsError(f"{path}: {where}: a share from 0 to 1 is required (0.05 = 5 %), got {value!r}")
    return float(value)


def load_thresholds(path: Path) -> Thresholds:
    """Read and check the thresholds file: every share in [0, 1], every check id known."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ThresholdsError(
            f"{path}: cannot read the quality thresholds ({error}); set GIST_QUALITY_THRESHOLDS"
        ) from None
    known = all_checks()

    def shares(section: object, where: str) -> dict[str, float]:
        if not isinstance(section, dict):
            raise ThresholdsError(f"{path}: {where}: a mapping of check id to share is required")
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ThresholdsError(
                f"{path}: {where}: unknown check id(s) {', '.join(map(str, unknown))} (docs/validation.md)"
            )
        return {check: _share(path, f"{where}.{check}", value) for check, value in section.items()}

    default = data.get("default", {})
    if not isinstance(default, dict) or set(default) != {ERROR, "warning"}:
        raise ThresholdsError(f"{path}: default: both 'error' and 'warning' shares are required")
    sites = data.get("sites") or {}
    if not isinstance(sites, dict):
        raise ThresholdsError(f"{path}: sites: a mapping of site id to check shares is required")
    return Thresholds(
        {severity: _share(path, f"default.{severity}", value) for severity, value in default.items()},
        shares(data.get("checks") or {}, "checks"),
        {str(site): shares(section, f"sites.{site}") for site, section in sites.items()},
    )


@dataclass(frozen=True)
class CheckMeasure:
    site_id: str
    drop_id: str
    table: str
    check: Check
    failing_lines: int
    data_lines: int
    threshold: float
    sample: list[dict[str, object]]
    previous_shares: list[float]  # the site's earlier drops, oldest first

    @property
    def share(self) -> float:
        return self.failing_lines / self.data_lines if self.data_lines else 0.0

    @property
    def exceeded(self) -> bool:
        return self.share > self.threshold

    @property
    def blocks(self) -> bool:
        return self.exceeded and self.check.severity == ERROR

    def describe(self) -> str:
        return (
            f"{self.site_id}.{self.table} {self.check.check_id}: {self.failing_lines} of {self.data_lines} lines "
            f"({self.share:.1%}) > threshold {self.threshold:.1%}"
        )


def _failing_lines(con: duckdb.DuckDBPyConnection, site_id: str, drop_id: str, table: str) -> dict[str, int]:
    """Check id -> the drop's distinct lines of ``table`` with a finding of that check."""
    return dict(
        con.execute(
            "SELECT check_id, count(DISTINCT line_number) FROM audit.issues "
            "WHERE site_id = ? AND drop_id = ? AND table_name = ? GROUP BY check_id",
            [site_id, drop_id, table],
        ).fetchall()
    )


_LATEST = """
SELECT site_id, arg_max(drop_id, received_at) AS drop_id, arg_max(row_counts, received_at) AS row_counts
FROM audit.drops WHERE status = 'loaded' GROUP BY site_id ORDER BY site_id
"""

# Per site and check, over each site's latest loaded drop of one table: failing lines, the first
# SAMPLE_LINES of them, and the shares of the site's earlier drops (oldest first) -- one query per table.
_MEASURES = """
WITH latest AS (
    SELECT site_id, arg_max(drop_id, received_at) AS drop_id FROM audit.drops WHERE status = 'loaded' GROUP BY site_id
),
found AS (
    SELECT i.site_id, i.check_id, i.source_file, i.line_number, i.column_name,
           row_number() OVER (PARTITION BY i.site_id, i.check_id ORDER BY i.line_number, i.column_name) AS nth
    FROM audit.issues AS i JOIN latest USING (site_id, drop_id)
    WHERE i.table_name = $table
),
failing AS (
    SELECT site_id, check_id, count(DISTINCT line_number) AS failing_lines,
           list({'source_file': source_file, 'line_number': line_number, 'column_name': column_name}
                ORDER BY nth) FILTER (WHERE nth <= $sample) AS sample
    FROM found GROUP BY site_id, check_id
),
history AS (
    SELECT h.site_id, h.check_id,
           list(coalesce(h.failing_lines / nullif(h.data_lines, 0), 0.0) ORDER BY h.measured_at) AS previous_shares
    FROM audit.check_history AS h JOIN latest AS l ON l.site_id = h.site_id AND h.drop_id <> l.drop_id
    WHERE h.table_name = $table GROUP BY h.site_id, h.check_id
)
SELECT coalesce(f.site_id, h.site_id), coalesce(f.check_id, h.check_id), f.failing_lines, f.sample, h.previous_shares
FROM failing AS f FULL JOIN history AS h USING (site_id, check_id)
"""


def measure_table(con: duckdb.DuckDBPyConnection, table: str, thresholds: Thresholds) -> list[CheckMeasure]:
    """Every check of ``table`` for every site with a loaded drop (a check with no failing line measures 0)."""
    found = {
        (site_id, check_id): (failing or 0, sample or [], shares or [])
        for site_id, check_id, failing, sample, shares in con.execute(
            _MEASURES, {"table": table, "sample": SAMPLE_LINES}
        ).fetchall()
    }
    measures = []
    for site_id, drop_id, row_counts in con.execute(_LATEST).fetchall():
        data_lines = int((yaml.safe_load(row_counts) or {}).get(table, {}).get("data_lines", 0))
        for check in checks_for_table(table):
            failing, sample, shares = found.get((site_id, check.check_id), (0, [], []))
            measures.append(
                CheckMeasure(
                    site_id,
                    drop_id,
                    table,
                    check,
                    int(failing),
                    data_lines,
                    thresholds.limit(site_id, check),
                    list(sample),
                    [float(share) for share in shares],
                )
            )
    return measures


def blocking_failures(con: duckdb.DuckDBPyConnection, thresholds: Thresholds, tables: list[str]) -> list[CheckMeasure]:
    """The error checks above their threshold, over ``tables``: what stops a refresh."""
    return [m for table in tables for m in measure_table(con, table, thresholds) if m.blocks]


def record_check_history(
    con: duckdb.DuckDBPyConnection, site_id: str, drop_id: str, data_lines: dict[str, int]
) -> None:
    """Append the drop's failing lines per table and check (every check of the table, zeros too) to the history.

    Called inside the load's transaction, after ``audit.issues`` holds the drop's findings; a drop
    loaded again (e.g. under a corrected profile) replaces its own rows.
    """
    con.execute("DELETE FROM audit.check_history WHERE site_id = ? AND drop_id = ?", [site_id, drop_id])
    for table, lines in data_lines.items():
        failing = _failing_lines(con, site_id, drop_id, table)
        con.executemany(
            "INSERT INTO audit.check_history VALUES (?, ?, now(), ?, ?, ?, ?, ?)",
            [
                [site_id, drop_id, table, c.check_id, c.severity, int(failing.get(c.check_id, 0)), int(lines)]
                for c in checks_for_table(table)
            ],
        )
