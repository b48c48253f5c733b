"""The two published tiers of the sample-drop registry built through Dagster: nothing patient level in the aggregate
tier; in the analyst tier every row of the registry, each date moved by its patient's one shift, no exact date left."""

import re

import pytest

from pipelines.publish import AGGREGATE, ANALYST, DROPPED_PROVENANCE, database_name

ISO_DATE = re.compile(r"(19|20)\d\d-[01]\d-[0-3]\d")
# Temporal columns the aggregate tier may hold: when a site's latest drop was received (not a patient's date).
SITE_LEVEL_TIMES = {("published.v_registry_sites", "latest_received_at")}


@pytest.fixture
def tiers(registry):
    con, tmp = registry
    for tier in (AGGREGATE, ANALYST):
        con.execute(f"ATTACH '{tmp / 'published' / tier / database_name(tier)}' AS {tier} (READ_ONLY)")
    yield con, tmp
    for tier in (AGGREGATE, ANALYST):
        con.execute(f"DETACH {tier}")


def _relations(con, database):
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2", [database]
        ).fetchall()
    ]


def _columns(con, database, relation):
    schema, name = relation.split(".")
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index",
        [database, schema, name],
    ).fetchall()


def test_the_aggregate_tier_is_the_results_views_and_nothing_patient_level(tiers):
    con, tmp = tiers
    published = _relations(con, AGGREGATE)
    views = [
        f"published.{v}"
        for (v,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
            "AND schema_name = 'published' AND view_name LIKE 'v\\_%' ESCAPE '\\' ORDER BY 1"
        ).fetchall()
    ]
    assert published == views and "published.v_survival_summary" in published  # every published.v_* view, nothing else
    pseudonyms = {str(p) for (p,) in con.execute("SELECT patient_id FROM core.patients").fetchall()}
    for relation in published:
        for column, kind in _columns(con, AGGREGATE, relation):
            assert column.lower() not in {"patient_id", "subject_id", "usubjid"} and kind != "UUID", (relation, column)
            assert not (kind == "DATE" or kind.startswith("TIMESTAMP")) or (relation, column) in SITE_LEVEL_TIMES, (
                relation,
                column,
            )
            if kind == "VARCHAR":
                values = {
                    v
                    for (v,) in con.execute(
                        f'SELECT DISTINCT "{column}" FROM {AGGREGATE}.{relation} WHERE "{column}" IS NOT NULL'
                    ).fetchall()
                }
                assert not any(p in v for v in values for p in pseudonyms), (relation, column)
    parquet = sorted(p.name.removesuffix(".parquet") for p in (tmp / "published" / AGGREGATE / "parquet").iterdir())
    assert parquet == published


def test_the_analyst_tier_holds_every_row_with_each_patients_dates_moved_by_one_shift(tiers):
    """For every relation: the analyst rows, each date moved back by its patient's shift (read off diagnosis_date), are
    exactly the registry's rows (operation subject ids aside); frames keep their times (aval) to the last digit."""
    con, tmp = tiers
    published = _relations(con, ANALYST)
    frames = [
        f"analysis.{t}"
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'analysis' ORDER BY 1"
        ).fetchall()
    ]
    assert published == sorted(
        [
            "intermediate.int_follow_up",
            "core.patients",
            "core.progressions",
            "core.responses",
            "core.samples",
            "core.surgeries",
            "core.tki_episodes",
            *frames,
        ]
    )
    assert frames
    # every patient has a date to read its shift from: the diagnosis, or (sent in times) the site's export date
    con.execute(f"""CREATE OR REPLACE TEMP TABLE shift AS SELECT a.patient_id, CAST(datediff('day',
                        coalesce(r.diagnosis_date, r.times_exported_on), coalesce(a.diagnosis_date, a.times_exported_on))
                    AS INTEGER) AS days FROM {ANALYST}.core.patients AS a JOIN core.patients AS r USING (site_id, patient_id)""")
    shifts = [d for (d,) in con.execute("SELECT days FROM shift").fetchall()]
    assert len(shifts) == con.execute("SELECT count(*) FROM core.patients").fetchall()[0][0]
    assert all(1 <= abs(d) <= 182 for d in shifts) and len(set(shifts)) > 100  # per patient, not one shift for all
    for relation in published:
        columns = _columns(con, ANALYST, relation)
        assert not {c for c, _ in columns} & set(DROPPED_PROVENANCE), relation
        compared = [c for c, _ in columns if c != "subject_id"]
        unshifted = ", ".join(
            f'a."{c}" - s.days AS "{c}"' if kind == "DATE" else f'a."{c}"' for c, kind in columns if c != "subject_id"
        )
        listed = ", ".join(f'"{c}"' for c in compared)
        differ = con.execute(f"""SELECT count(*) FROM (
            (SELECT {unshifted} FROM {ANALYST}.{relation} AS a JOIN shift AS s USING (patient_id)
             EXCEPT ALL SELECT {listed} FROM {relation})
            UNION ALL (SELECT {listed} FROM {relation}
             EXCEPT ALL SELECT {unshifted} FROM {ANALYST}.{relation} AS a JOIN shift AS s USING (patient_id)))""").fetchall()[
            0
        ][0]
        assert differ == 0, relation
        for column in (
            c for c, kind in columns if kind == "VARCHAR"
        ):  # no exact date written out as text (operation ids)
            dated = con.execute(
                f'SELECT count(*) FROM {ANALYST}.{relation} WHERE regexp_matches("{column}", ?)', [ISO_DATE.pattern]
            ).fetchall()
            assert dated == [(0,)], (relation, column)
    readme = (tmp / "published" / ANALYST / "README.md").read_text()
    assert "data-use agreement" in readme and all(f"`{r}`" in readme for r in published)
