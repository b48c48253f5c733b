"""Dagster's SQLite storage commits without an fsync per event once the code location is loaded, and the
event log of dagster.yaml keeps an engine per file."""

import sqlalchemy


def _synchronous(url: str) -> int:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        return conn.execute(sqlalchemy.text("PRAGMA synchronous")).scalar_one()


def test_loading_the_code_location_sets_synchronous_normal_on_new_sqlite_connections(tmp_path):
    import pipelines.definitions  # noqa: F401  (registers the listener, as a run worker does)
    from pipelines.defs.event_log import relax_sqlite_sync

    relax_sqlite_sync()  # a second call adds no second listener
    assert _synchronous(f"sqlite:///{tmp_path / 'events.db'}") == 1  # NORMAL (SQLite's default is 2, FULL)


def test_a_dagster_run_on_a_sqlite_instance_records_its_events(tmp_path):
    """The instance still reads back what a run wrote (a run on Dagster's SQLite storage, as under dagster dev)."""
    import dagster as dg

    import pipelines.definitions  # noqa: F401

    @dg.asset
    def answer() -> int:
        return 42

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert dg.materialize([answer], instance=instance).success
        assert instance.get_latest_materialization_event(dg.AssetKey("answer")) is not None


def test_the_pooled_event_log_reads_back_every_run_and_keeps_only_the_recent_files_open(tmp_path):
    import dagster as dg

    from pipelines.defs.event_log import instance_settings
    from pipelines.defs.event_log_storage import OPEN_FILES, PooledSqliteEventLogStorage

    @dg.asset
    def answer() -> int:
        return 42

    runs = OPEN_FILES + 4  # more run files than engines kept: the oldest are closed, and opened again to read
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=instance_settings(tmp_path)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        results = [dg.materialize([answer], instance=instance) for _ in range(runs)]
        assert all(r.success for r in results) and len(storage._engines) <= OPEN_FILES
        first = instance.all_logs(results[0].run_id)
        assert [e.dagster_event.event_type_value for e in first if e.is_dagster_event][
            -1
        ] == dg.DagsterEventType.RUN_SUCCESS.value
        materialized = instance.fetch_materializations(dg.AssetKey("answer"), limit=100).records
        assert (
            len(materialized) == runs and len(list((tmp_path / "history" / "runs").glob("*.db"))) == runs + 1
        )  # + index
        instance.wipe()
        assert [url.rsplit("/", 1)[1] for url in storage._engines] == ["index.db"]  # no engine of a deleted file
        assert instance.fetch_materializations(dg.AssetKey("answer"), limit=1).records == []
        assert dg.materialize([answer], instance=instance).success  # the files are made again after a wipe


def test_the_project_instance_settings_use_it_under_dagster_home(tmp_path, monkeypatch):
    """dagster.yaml as the README copies it into DAGSTER_HOME: the event log is the pooled one, in Dagster's place."""
    import shutil
    from pathlib import Path

    import dagster as dg

    from pipelines.defs.event_log_storage import PooledSqliteEventLogStorage

    shutil.copy(Path(__file__).parent.parent / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert (tmp_path / "history" / "runs" / "index.db").exists()
