"""The two published tiers: what each holds, dates protected per patient, read-only, swapped in atomically."""

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import stat
import threading

import duckdb
import polars as pl
import pytest

from pipelines.ingest.steps import load_core, receive_drop
from pipelines.publish import AGGREGATE, ANALYST, LEGACY_DATABASE, SHIFT_CONTEXT, database_name, describe_tiers, publish
from pipelines.settings import ConfigurationError, load_settings
from tests.conftest import EPISODE, GOOD_PATIENT, write_site

# P1: diagnosis 2015-01-02, advanced disease 2016-01-01, last contact 2020-01-01; imatinib from 2016-01-10
P1_DATES = {
    "diagnosis_date": dt.date(2015, 1, 2),
    "advanced_disease_date": dt.date(2016, 1, 1),
    "last_contact_date": dt.date(2020, 1, 1),
}
P1_EPISODE_START = dt.date(2016, 1, 10)


def _tables(path):
    reader = duckdb.connect(str(path), read_only=True)
    try:
        return [
            t
            for (t,) in reader.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1"
            ).fetchall()
        ]
    finally:
        reader.close()


def _query(path, sql):
    reader = duckdb.connect(str(path), read_only=True)
    try:
        return reader.execute(sql).fetchall()
    finally:
        reader.close()


def _pseudonym(con, site_patient_id):
    """The registry pseudonym of alpha's patient ``site_patient_id`` (P1 is the row whose episode exists)."""
    rows = (
        con.execute("SELECT DISTINCT patient_id FROM core.tki_episodes").fetchall()
        if site_patient_id == "P1"
        else con.execute(
            "SELECT patient_id FROM core.patients WHERE patient_id NOT IN (SELECT patient_id FROM core.tki_episodes)"
        ).fetchall()
    )
    ((pseudonym,),) = rows
    return pseudonym


def _expected_shift(key: bytes, pseudonym, days: int) -> int:
    """An independent reference: a nonzero shift in [-days, days] from the first 48 bits of the keyed HMAC."""
    derived = hmac.new(key, SHIFT_CONTEXT, hashlib.sha256).digest()
    v = int(hmac.new(derived, b"date-shift\x1f" + str(pseudonym).encode(), hashlib.sha256).hexdigest()[:12], 16) % (
        2 * days
    )
    return v - days if v < days else v - days + 1


def test_the_aggregate_tier_holds_only_the_suppressed_results_views(loaded, settings):
    published = publish(loaded, settings)
    tier = published.aggregate
    assert tier.directory == settings.publish_dir / AGGREGATE and tier.database.name == database_name(AGGREGATE)
    assert _tables(tier.database) == ["published.v_km_summary"]  # no core, no results.km_summary
    assert pl.read_parquet(tier.parquet_dir / "published.v_km_summary.parquet")["n"].to_list() == [None]
    assert sorted(p.name for p in tier.parquet_dir.iterdir()) == ["published.v_km_summary.parquet"]
    assert not tier.database.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    readme = (tier.directory / "README.md").read_text()
    assert "may be sent outside the registry" in readme and "`published.v_km_summary`" in readme


def test_without_results_views_the_aggregate_tier_is_empty_never_the_raw_results(loaded, settings):
    loaded.execute("DROP VIEW published.v_km_summary")
    published = publish(loaded, settings)
    assert _tables(published.aggregate.database) == [] and list(published.aggregate.parquet_dir.iterdir()) == []


def test_a_results_view_with_patient_level_columns_is_refused_and_the_last_copy_kept(loaded, settings):
    first = publish(loaded, settings)
    loaded.execute("CREATE VIEW published.v_leak AS SELECT patient_id, diagnosis_date FROM core.patients")
    with pytest.raises(ValueError, match="v_leak"):
        publish(loaded, settings)
    assert _tables(first.aggregate.database) == ["published.v_km_summary"]
    loaded.execute("CREATE OR REPLACE VIEW published.v_leak AS SELECT diagnosis_date AS d FROM core.patients")
    with pytest.raises(ValueError, match="DATE"):
        publish(loaded, settings)


def test_the_analyst_tier_shifts_every_date_of_a_patient_by_the_same_keyed_amount(loaded, settings):
    """P1's dates, checked by hand: each moved by the same nonzero shift within +-182 days (intervals kept), the shift
    the keyed HMAC of the pseudonym gives; provenance that points into the archive is gone; site_id stays."""
    p1, p2 = _pseudonym(loaded, "P1"), _pseudonym(loaded, "P2")
    published = publish(loaded, settings)
    tier = published.analyst
    assert tier.database.name == database_name(ANALYST)
    assert _tables(tier.database) == [
        "core.patients",
        "core.progressions",
        "core.responses",
        "core.samples",
        "core.surgeries",
        "core.tki_episodes",
    ]
    columns = [
        c for (c,) in _query(tier.database, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'patients'")
    ]
    assert columns[0] == "site_id" and not {"drop_id", "source_file", "line_number"} & set(columns)

    dates = ", ".join(P1_DATES)
    ((*patient,),) = _query(tier.database, f"SELECT {dates} FROM core.patients WHERE patient_id = '{p1}'")
    ((start,),) = _query(tier.database, f"SELECT start_date FROM core.tki_episodes WHERE patient_id = '{p1}'")
    shifts = {
        (published_date - true).days
        for published_date, true in zip([*patient, start], [*P1_DATES.values(), P1_EPISODE_START], strict=True)
    }
    assert len(shifts) == 1, shifts  # one shift for all of P1's dates: every interval is preserved
    shift = shifts.pop()
    assert shift != 0 and abs(shift) <= 182 and shift == _expected_shift(settings.pseudonym_key, p1, 182)

    ((p2_diagnosis,),) = _query(tier.database, f"SELECT diagnosis_date FROM core.patients WHERE patient_id = '{p2}'")
    assert (p2_diagnosis - P1_DATES["diagnosis_date"]).days == _expected_shift(settings.pseudonym_key, p2, 182) != shift

    exported = pl.read_parquet(tier.parquet_dir / "core.patients.parquet")  # pseudonyms as text, the same shifted dates
    assert exported.filter(pl.col("patient_id") == str(p1))["diagnosis_date"].to_list() == [patient[0]]
    readme = (tier.directory / "README.md").read_text()
    assert "data-use agreement" in readme and "Not for release" in readme and "182" in readme

    # the true dates are nowhere in the aggregate tier, and the next publish shifts P1 by the same amount
    true_dates = [str(d) for d in [*P1_DATES.values(), P1_EPISODE_START]]
    assert not any(d in (published.aggregate.directory / "README.md").read_text() for d in true_dates)
    for name in _tables(published.aggregate.database):
        assert not any(
            d in str(row) for row in _query(published.aggregate.database, f"SELECT * FROM {name}") for d in true_dates
        )
    again = publish(loaded, settings)
    assert _query(again.analyst.database, f"SELECT {dates} FROM core.patients WHERE patient_id = '{p1}'") == [
        tuple(patient)
    ]


def test_a_configured_shift_width_bounds_the_shift(loaded, settings):
    narrow = dataclasses.replace(settings, analyst_date_shift_days=3)
    p1 = _pseudonym(loaded, "P1")
    ((diagnosis,),) = _query(
        publish(loaded, narrow).analyst.database, f"SELECT diagnosis_date FROM core.patients WHERE patient_id = '{p1}'"
    )
    shift = (diagnosis - P1_DATES["diagnosis_date"]).days
    assert shift == _expected_shift(settings.pseudonym_key, p1, 3) and 1 <= abs(shift) <= 3


def test_follow_up_and_analysis_frames_are_shifted_with_the_patient_and_operations_renumbered(loaded, settings):
    """The frames keep their exact times (aval) and their dates move with the patient; an operation-level subject_id
    (pseudonym @ surgery date) becomes pseudonym#n, so no exact date is left in any text column."""
    p1 = _pseudonym(loaded, "P1")
    loaded.execute("CREATE MACRO core.data_cutoff() AS DATE '2025-06-30'")
    loaded.execute(
        "CREATE VIEW intermediate.int_follow_up AS SELECT site_id, patient_id, least(last_contact_date, core.data_cutoff()) AS censor_date "
        "FROM core.patients"
    )
    loaded.execute(f"""CREATE TABLE analysis.ops AS SELECT * FROM (VALUES
        ('{p1}@2017-03-01', 'alpha', '{p1}'::UUID, DATE '2017-03-01', DATE '2017-03-01', DATE '2018-03-01', 12.0, 'OS'),
        ('{p1}@2017-03-01', 'alpha', '{p1}'::UUID, DATE '2017-03-01', DATE '2017-03-01', DATE '2017-09-01', 6.0, 'PFS'),
        ('{p1}@2016-05-01', 'alpha', '{p1}'::UUID, DATE '2016-05-01', DATE '2016-05-01', DATE '2018-03-01', 22.0, 'OS'))
        AS t(subject_id, site_id, patient_id, origin_date, startdt, adt, aval, paramcd)""")
    shift = _expected_shift(settings.pseudonym_key, p1, 182)
    tier = publish(loaded, settings).analyst
    assert {"intermediate.int_follow_up", "analysis.ops"} <= set(_tables(tier.database))
    assert _query(
        tier.database, "SELECT censor_date FROM intermediate.int_follow_up WHERE patient_id = ?".replace("?", f"'{p1}'")
    ) == [(dt.date(2020, 1, 1) + dt.timedelta(days=shift),)]
    ops = _query(
        tier.database, "SELECT subject_id, origin_date, startdt, adt, aval FROM analysis.ops ORDER BY subject_id, aval"
    )
    move = lambda iso: dt.date.fromisoformat(iso) + dt.timedelta(days=shift)  # noqa: E731
    assert ops == [
        (f"{p1}#1", move("2016-05-01"), move("2016-05-01"), move("2018-03-01"), 22.0),
        (f"{p1}#2", move("2017-03-01"), move("2017-03-01"), move("2017-09-01"), 6.0),
        (f"{p1}#2", move("2017-03-01"), move("2017-03-01"), move("2018-03-01"), 12.0),
    ]
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", subject) for subject, *_ in ops)


def test_coarsened_dates_go_to_the_first_of_the_month_and_leave_the_frames_out(loaded, settings):
    loaded.execute(
        "CREATE TABLE analysis.frame AS SELECT site_id, patient_id, diagnosis_date AS adt, 1.0 AS aval FROM core.patients"
    )
    monthly = dataclasses.replace(settings, analyst_dates="month")
    published = publish(loaded, monthly)
    assert "analysis.frame" not in _tables(published.analyst.database)
    assert {d for (d,) in _query(published.analyst.database, "SELECT diagnosis_date FROM core.patients")} == {
        dt.date(2015, 1, 1)
    }
    assert "first day of their month" in (published.analyst.directory / "README.md").read_text()
    yearly = publish(loaded, dataclasses.replace(settings, analyst_dates="year"))
    assert {d for (d,) in _query(yearly.analyst.database, "SELECT last_contact_date FROM core.patients")} == {
        dt.date(2020, 1, 1)
    }


def test_each_tier_has_a_line_saying_what_it_is(loaded, settings):
    published = publish(loaded, settings)
    assert published.lines() == describe_tiers(settings)
    aggregate, analyst = published.lines()
    assert aggregate.startswith("Aggregate tier  : ") and "may be shared outside the registry" in aggregate
    assert analyst.startswith("Analyst tier    : ") and "not for release" in analyst and "182 days" in analyst


def test_the_old_single_patient_level_copy_is_removed_once_the_tiers_exist(loaded, settings):
    old = settings.publish_dir
    (old / "versions" / "20260101T000000000000").mkdir(parents=True)
    (old / "versions" / "20260101T000000000000" / "core.patients.parquet").write_text("x")
    (old / "parquet").symlink_to("versions/20260101T000000000000")
    (old / LEGACY_DATABASE).write_text("x")
    (old / f".{LEGACY_DATABASE}.20260102T000000000000.partial.wal").write_text("x")
    (old / "notes.txt").write_text("someone else's file")
    published = publish(loaded, settings)
    assert sorted(p.name for p in old.iterdir()) == [".publish.lock", AGGREGATE, ANALYST, "notes.txt"]
    assert "parquet" in published.legacy_removed and LEGACY_DATABASE in published.legacy_removed


def test_a_reader_keeps_its_consistent_copy_while_a_new_one_is_published(loaded, settings, tmp_path):
    first = publish(loaded, settings)
    reader = duckdb.connect(str(first.analyst.database), read_only=True)
    old_parquet = first.analyst.parquet_dir.resolve()
    write_site(tmp_path, "beta", [GOOD_PATIENT], [EPISODE])
    receive_drop(loaded, settings, "beta"), load_core(loaded, settings, "beta")
    second = publish(loaded, settings)
    assert reader.execute("SELECT count(*) FROM core.patients").fetchall() == [(2,)]
    assert pl.read_parquet(old_parquet / "core.patients.parquet").height == 2
    reader.close()
    assert _query(second.analyst.database, "SELECT count(*) FROM core.patients") == [(3,)]
    assert pl.read_parquet(second.analyst.parquet_dir / "core.patients.parquet").height == 3


def test_readers_never_see_a_half_written_copy(loaded, settings, tmp_path):
    """While copies with different contents are published, every read of either tier finds a complete copy whose
    tables agree: the aggregate tier's two marker views, the analyst tier's patients and episodes (P2 has none)."""
    seen, errors, done = set(), [], threading.Event()
    loaded.execute("CREATE TABLE results.marker (patients BIGINT)")
    loaded.execute("CREATE VIEW published.v_marker AS SELECT patients FROM results.marker")
    loaded.execute("CREATE VIEW published.v_marker_too AS SELECT patients FROM results.marker")
    checks = {
        AGGREGATE: ("(SELECT patients FROM published.v_marker)", "(SELECT patients FROM published.v_marker_too)"),
        ANALYST: ("(SELECT count(*) FROM core.patients)", "(SELECT count(*) + 1 FROM core.tki_episodes)"),
    }

    def publish_with_marker():
        loaded.execute("DELETE FROM results.marker; INSERT INTO results.marker SELECT count(*) FROM core.patients")
        publish(loaded, settings)

    def read(tier):
        target = settings.publish_dir / tier
        reader = duckdb.connect(str(target / database_name(tier)), read_only=True)
        try:
            ((one, other),) = reader.execute(f"SELECT {', '.join(checks[tier])}").fetchall()
        finally:
            reader.close()
        version = duckdb.connect()  # the Parquet version folder the link points to now, as the same relations
        try:
            for parquet in (target / "parquet").resolve().iterdir():
                schema, name = parquet.name.removesuffix(".parquet").split(".")
                version.execute(
                    f"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE VIEW {schema}.{name} AS FROM '{parquet}'"
                )
            ((one_parquet, other_parquet),) = version.execute(f"SELECT {', '.join(checks[tier])}").fetchall()
        finally:
            version.close()
        if one != other or one_parquet != other_parquet:
            errors.append((tier, one, other, one_parquet, other_parquet))
        return one

    def read_until_done():
        while not done.is_set():
            try:
                read(AGGREGATE)
                seen.add(read(ANALYST))
            except Exception as err:  # noqa: BLE001 - any failure to read is the bug under test
                errors.append(repr(err))

    publish_with_marker()
    thread = threading.Thread(target=read_until_done)
    thread.start()
    for i in range(4):
        write_site(tmp_path, f"site{i}", [GOOD_PATIENT], [EPISODE])
        receive_drop(loaded, settings, f"site{i}"), load_core(loaded, settings, f"site{i}")
        publish_with_marker()
    done.set()
    thread.join()
    assert errors == []
    assert len(seen) >= 2
    assert all(len(list((settings.publish_dir / tier / "versions").iterdir())) == 2 for tier in (AGGREGATE, ANALYST))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GIST_ANALYST_DATES", "exact"),
        ("GIST_ANALYST_DATE_SHIFT_DAYS", "0"),
        ("GIST_ANALYST_DATE_SHIFT_DAYS", "-3"),
        ("GIST_ANALYST_DATE_SHIFT_DAYS", "abc"),
        ("GIST_ANALYST_DATE_SHIFT_DAYS", "99999"),
    ],
)
def test_bad_date_protection_settings_are_refused_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv("GIST_PSEUDONYM_KEY", "publish-test-key-0123456789abcdef0123")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_date_protection_settings_are_read(monkeypatch):
    monkeypatch.setenv("GIST_PSEUDONYM_KEY", "publish-test-key-0123456789abcdef0123")
    assert (load_settings().analyst_dates, load_settings().analyst_date_shift_days) == ("shift", 182)
    monkeypatch.setenv("GIST_ANALYST_DATES", "Month")
    monkeypatch.setenv("GIST_ANALYST_DATE_SHIFT_DAYS", "30")
    assert (load_settings().analyst_dates, load_settings().analyst_date_shift_days) == ("month", 30)


def test_the_published_copy_asset_publishes_both_tiers_through_dagster(loaded, monkeypatch, tmp_path):
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.publish import published_copy
    from pipelines.resources import RegistrySettings

    loaded.close()  # the asset opens the registry itself, as in a run
    monkeypatch.setenv("GIST_PUBLISH_DIR", str(tmp_path / "pub"))
    monkeypatch.setenv("GIST_PSEUDONYM_KEY", "publish-test-key-0123456789abcdef0123")
    result = dg.materialize(
        [published_copy],
        resources={
            "duckdb": DuckDBResource(database=str(tmp_path / "registry.duckdb")),
            "registry": RegistrySettings(),
        },
    )
    metadata = result.asset_materializations_for_node("published_copy")[0].metadata
    assert metadata["aggregate database"].value == str(tmp_path / "pub" / AGGREGATE / database_name(AGGREGATE))
    assert metadata["analyst database"].value == str(tmp_path / "pub" / ANALYST / database_name(ANALYST))
    assert metadata["analyst rows"].value["core.patients"] == 2 and metadata["aggregate rows"].value == {
        "published.v_km_summary": 1
    }
    assert "not for release" in metadata["analyst"].value and "outside the registry" in metadata["aggregate"].value


def test_the_copies_keep_the_column_comments_of_the_views(loaded, settings):
    """An analyst opening the published file reads what each column holds (quotes in a comment survive)."""
    loaded.execute("COMMENT ON COLUMN published.v_km_summary.n IS 'Subjects in the group; NULL where it''s withheld'")
    published = publish(loaded, settings)
    assert _query(
        published.aggregate.database,
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'v_km_summary' AND column_name = 'n'",
    ) == [("Subjects in the group; NULL where it's withheld",)]
