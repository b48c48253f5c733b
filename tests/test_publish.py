"""The published copy: what it holds, read-only, and swapped in atomically while readers read."""

import stat
import threading

import duckdb
import polars as pl
import pytest

from pipelines.publish import DATABASE_NAME, publish
from pipelines.registry.loading import load_core, receive_drop
from tests.conftest import EPISODE, GOOD_PATIENT, write_site


@pytest.fixture
def loaded(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT, GOOD_PATIENT.replace("P1,", "P2,")], [EPISODE])
    receive_drop(con, settings, "alpha"), load_core(con, settings, "alpha")
    con.execute("CREATE TABLE results.km_summary AS SELECT 'a' AS analysis_id, 3 AS n")
    return con


def _snapshot(path):
    reader = duckdb.connect(str(path), read_only=True)
    try:
        tables = reader.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        return [t for (t,) in tables], reader.execute("SELECT count(*) FROM core.patients").fetchall()[0][0]
    finally:
        reader.close()


def test_publishes_core_and_results_tables_read_only_with_parquet(loaded, tmp_path):
    published = publish(loaded, tmp_path / "pub")
    tables, patients = _snapshot(published.database)
    assert tables == ["core.patients", "core.progressions", "core.surgeries", "core.tki_episodes", "results.km_summary"]
    assert patients == 2 and published.rows["core.patients"] == 2
    assert not published.database.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    exported = pl.read_parquet(published.parquet_dir / "core.patients.parquet")
    in_registry = {str(pseudonym) for pseudonym, in loaded.execute("SELECT patient_id FROM core.patients").fetchall()}
    assert exported.height == 2 and set(exported["patient_id"]) == in_registry  # the UUIDs as text, not 16 raw bytes
    assert sorted(p.name for p in published.parquet_dir.iterdir()) == [f"{t}.parquet" for t in tables]
    assert [p.name for p in (tmp_path / "pub").iterdir() if p.name.startswith(".")] == []


def test_publishes_the_results_views_instead_of_tables_when_they_exist(loaded, tmp_path):
    loaded.execute("CREATE VIEW results.v_km_summary AS SELECT analysis_id, CASE WHEN n < 5 THEN NULL ELSE n END AS n FROM results.km_summary")
    published = publish(loaded, tmp_path / "pub")
    tables, _ = _snapshot(published.database)
    assert [t for t in tables if t.startswith("results.")] == ["results.v_km_summary"]
    assert pl.read_parquet(published.parquet_dir / "results.v_km_summary.parquet")["n"].to_list() == [None]


def test_a_reader_keeps_its_consistent_copy_while_a_new_one_is_published(loaded, settings, tmp_path):
    first = publish(loaded, tmp_path / "pub")
    reader = duckdb.connect(str(first.database), read_only=True)
    old_parquet = first.parquet_dir.resolve()
    write_site(tmp_path, "beta", [GOOD_PATIENT], [EPISODE])
    receive_drop(loaded, settings, "beta"), load_core(loaded, settings, "beta")
    second = publish(loaded, tmp_path / "pub")
    assert reader.execute("SELECT count(*) FROM core.patients").fetchall() == [(2,)]
    assert pl.read_parquet(old_parquet / "core.patients.parquet").height == 2
    reader.close()
    assert _snapshot(second.database)[1] == 3
    assert pl.read_parquet(second.parquet_dir / "core.patients.parquet").height == 3


def test_readers_never_see_a_half_written_copy(loaded, settings, tmp_path):
    """While copies with different contents are published, every read finds a complete copy whose tables agree."""
    target = tmp_path / "pub"
    seen, errors, done = set(), [], threading.Event()

    def publish_with_marker():
        loaded.execute("CREATE OR REPLACE TABLE results.marker AS SELECT count(*) AS patients FROM core.patients")
        publish(loaded, target)

    def read_until_done():
        while not done.is_set():
            try:
                reader = duckdb.connect(str(target / DATABASE_NAME), read_only=True)
                (patients, marker), = reader.execute(
                    "SELECT (SELECT count(*) FROM core.patients), (SELECT patients FROM results.marker)").fetchall()
                reader.close()
                version = (target / "parquet").resolve()
                parquet = (pl.read_parquet(version / "core.patients.parquet").height,
                           pl.read_parquet(version / "results.marker.parquet")["patients"][0])
                if patients != marker or parquet[0] != parquet[1]:
                    errors.append((patients, marker, parquet))
                seen.add(patients)
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
    assert len(list((target / "versions").iterdir())) == 2


def test_the_published_copy_asset_publishes_through_dagster(loaded, monkeypatch, tmp_path):
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.publish import published_copy
    from pipelines.resources import RegistrySettings

    loaded.close()  # the asset opens the registry itself, as in a run
    monkeypatch.setenv("GIST_PUBLISH_DIR", str(tmp_path / "pub"))
    monkeypatch.setenv("GIST_PSEUDONYM_KEY", "test-key")
    result = dg.materialize([published_copy], resources={"duckdb": DuckDBResource(database=str(tmp_path / "registry.duckdb")),
                                                         "registry": RegistrySettings()})
    metadata = result.asset_materializations_for_node("published_copy")[0].metadata
    assert metadata["database"].value == str(tmp_path / "pub" / DATABASE_NAME)
    assert metadata["rows"].value["core.patients"] == 2
