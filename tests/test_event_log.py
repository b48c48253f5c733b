"""Dagster's SQLite storage commits without an fsync per event once the code location is loaded."""

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
