"""Does the registry hold exactly what its ledger says it loaded?  Asked before anything is computed from it.

For each site, the latest loaded drop's ledger entry (``audit.drops``) gives per table the archived
file's data lines and how many were loaded, quarantined and merged (a patient's repeated rows); the core and quarantine tables must
hold exactly those rows, all from that drop.  The load enforces this in its transaction; this
second look is what the blocking asset check and every refresh path (CLI, sensor, schedule, a
manual materialization) rely on, so no result is ever computed from a registry that does not balance.
"""

from __future__ import annotations

import duckdb

from schemas.contract import CONTRACT

_HELD = " UNION ALL ".join(
    f"SELECT site_id, '{table}' AS table_name, count(*) AS rows, count(*) FILTER (WHERE c.drop_id <> l.drop_id) AS other_drops "
    f"FROM core.{table} AS c JOIN loaded AS l USING (site_id) GROUP BY site_id"
    for table in CONTRACT
)

PROBLEMS_SQL = f"""
WITH loaded AS (
    SELECT site_id, arg_max(drop_id, received_at) AS drop_id, arg_max(row_counts, received_at) AS row_counts
    FROM audit.drops WHERE status = 'loaded' GROUP BY site_id
), ledger AS (
    SELECT site_id, drop_id, t.key AS table_name, (t.value ->> 'data_lines')::BIGINT AS data_lines,
           (t.value ->> 'loaded')::BIGINT AS loaded, (t.value ->> 'quarantined')::BIGINT AS quarantined,
           coalesce((t.value ->> 'merged')::BIGINT, 0) AS merged  -- a patient's repeated rows (grain: sample)
    FROM loaded, json_each(row_counts) AS t
), held AS ({_HELD}
), quarantined AS (
    SELECT site_id, table_name, count(*) AS rows FROM audit.quarantine JOIN loaded USING (site_id, drop_id) GROUP BY ALL
)
SELECT site_id, drop_id, table_name, data_lines, loaded, quarantined,
       coalesce(held.rows, 0) AS core_rows, coalesce(held.other_drops, 0) AS core_rows_of_other_drops,
       coalesce(quarantined.rows, 0) AS quarantine_rows
FROM ledger
LEFT JOIN held USING (site_id, table_name)
LEFT JOIN quarantined USING (site_id, table_name)
WHERE data_lines IS NULL OR data_lines <> loaded + quarantined + merged OR coalesce(held.rows, 0) <> loaded
   OR coalesce(held.other_drops, 0) > 0 OR coalesce(quarantined.rows, 0) <> quarantined
ORDER BY ALL
"""
COLUMNS = (
    "site_id",
    "drop_id",
    "table",
    "data_lines",
    "loaded",
    "quarantined",
    "core_rows",
    "core_rows_of_other_drops",
    "quarantine_rows",
)


def registry_problems(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every (site, table) whose rows do not match its loaded drop's accounting (empty when the registry balances)."""
    return [dict(zip(COLUMNS, row, strict=True)) for row in con.execute(PROBLEMS_SQL).fetchall()]


def describe(problems: list[dict]) -> str:
    """The problems in one sentence per table, for a failure message."""
    return "; ".join(
        f"{p['site_id']}.{p['table']} (drop {p['drop_id']}): ledger {p['data_lines']} data lines = {p['loaded']} loaded "
        f"+ {p['quarantined']} quarantined, core holds {p['core_rows']} ({p['core_rows_of_other_drops']} from other drops), "
        f"quarantine {p['quarantine_rows']}"
        for p in problems
    )


def grain_problems(con: duckdb.DuckDBPyConnection, grains: dict[str, tuple[str, ...]]) -> list[dict]:
    """Relations whose declared grain does not hold: each with its key, duplicated keys and one example.

    A frame with two rows for one subject and endpoint would count the subject twice in every estimate,
    silently; this is asked before any statistic is computed from the frames.
    """
    problems = []
    for relation, key in grains.items():
        columns = ", ".join(f'"{c}"' for c in key)
        duplicated, example = con.execute(
            f"SELECT count(*), any_value(struct_pack({columns})::VARCHAR) FROM "
            f"(SELECT {columns} FROM {relation} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        if duplicated:
            problems.append({"relation": relation, "key": list(key), "duplicated_keys": duplicated, "example": example})
    return problems


FRAME_GRAIN = ("subject_id", "paramcd")  # analysis.<id>: one row per subject and endpoint


def describe_grain(problems: list[dict]) -> str:
    return "; ".join(
        f"{p['relation']} has {p['duplicated_keys']} duplicated ({', '.join(p['key'])}), e.g. {p['example']}"
        for p in problems
    )
