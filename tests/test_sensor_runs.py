"""The sensor asks for a run whenever the site's drop differs from its last run, retries what failed for a reason
other than the data, and never retries a drop its data got rejected: runs launched with the sensor's own tags."""

import os
import time

import dagster as dg
import duckdb
import pytest

from tests.conftest import EPISODE, GOOD_PATIENT, lock_held, write_site

OLD = time.time() - 3600  # outside the sensor's settle window


def _write(root, patients):
    write_site(root, "alpha", patients, [EPISODE])
    for path in (root / "drops" / "alpha").iterdir():
        os.utime(path, (OLD, OLD))


@pytest.fixture
def site(tmp_path, monkeypatch):
    for name, value in {
        "GIST_DROP_DIR": tmp_path / "drops",
        "GIST_PROFILES_DIR": tmp_path / "profiles",
        "GIST_DUCKDB_PATH": tmp_path / "r.duckdb",
        "GIST_ARCHIVE_DIR": tmp_path / "archive",
        "GIST_OUTPUT_DIR": tmp_path / "out",
        "GIST_PSEUDONYM_KEY": "sensor-test-key-0123456789abcdef0123",
        "GIST_LOCK_TIMEOUT_SECONDS": "0.5",
    }.items():
        monkeypatch.setenv(name, str(value))
    from pipelines.defs.automation import ingest_job
    from pipelines.defs.ingest import core_checks, core_registry, raw_drop
    from pipelines.resources import default_resources

    job = dg.Definitions(
        assets=[raw_drop, core_registry],
        asset_checks=[core_checks],
        jobs=[ingest_job],
        resources=default_resources(),
    ).resolve_job_def(ingest_job.name)
    with dg.instance_for_test() as instance:
        yield tmp_path, instance, job


def _tick(instance) -> dg.RunRequest:
    from pipelines.defs.automation import site_drop_sensor

    result = site_drop_sensor(dg.build_sensor_context(instance=instance))
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    (request,) = result.run_requests
    return request


def _launch(job, instance, request) -> dg.ExecuteInProcessResult:
    """What the daemon does with a request whose run key is new."""
    return job.execute_in_process(
        partition_key=request.partition_key,
        instance=instance,
        raise_on_error=False,
        tags={**request.tags, "dagster/run_key": request.run_key},
    )


def _patients(root) -> int:
    con = duckdb.connect(str(root / "r.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM core.patients").fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.slow
def test_a_drop_restored_to_an_earlier_version_gets_a_new_run(site):
    root, instance, job = site
    _write(root, [GOOD_PATIENT])
    first = _tick(instance)
    assert _launch(job, instance, first).success
    assert _tick(instance).run_key == first.run_key  # nothing new: the same key, which the daemon does not run again
    _write(root, [GOOD_PATIENT, GOOD_PATIENT.replace("P1,", "P2,")])
    assert _launch(job, instance, second := _tick(instance)).success and _patients(root) == 2
    _write(root, [GOOD_PATIENT])
    restored = _tick(instance)
    assert restored.run_key not in {first.run_key, second.run_key} and restored.tags == first.tags
    assert _launch(job, instance, restored).success and _patients(root) == 1


@pytest.mark.slow
def test_a_run_that_failed_on_the_lock_is_retried_but_a_rejected_drop_is_not(site):
    root, instance, job = site
    _write(root, [GOOD_PATIENT])
    with lock_held(root / "r.duckdb"):
        first = _tick(instance)
        assert not _launch(job, instance, first).success
    retry = _tick(instance)
    assert retry.run_key != first.run_key and retry.tags == first.tags
    assert _launch(job, instance, retry).success and _patients(root) == 1
    (root / "drops" / "alpha" / "patients.csv").write_bytes(b"\x00binary")
    os.utime(root / "drops" / "alpha" / "patients.csv", (OLD, OLD))
    rejected = _tick(instance)
    assert not _launch(job, instance, rejected).success
    assert _tick(instance).run_key == rejected.run_key  # refused by its data: not run again until the drop changes
    assert _patients(root) == 1


def test_loaded_drops_are_followed_by_one_refresh(site):
    from pipelines.defs.automation import refresh_after_drops, refresh_job

    root, instance, job = site
    assert isinstance(
        refresh_after_drops(dg.build_sensor_context(instance=instance)), dg.SkipReason
    )  # nothing loaded yet
    _write(root, [GOOD_PATIENT])
    loaded = _launch(job, instance, _tick(instance))
    first = refresh_after_drops(dg.build_sensor_context(instance=instance))
    assert isinstance(first, dg.RunRequest) and first.run_key == f"after-{loaded.run_id}"
    assert (
        refresh_after_drops(dg.build_sensor_context(instance=instance)).run_key == first.run_key
    )  # one refresh, not two
    instance.add_run(dg.DagsterRun(job_name=refresh_job.name, run_id="refresh-1", status=dg.DagsterRunStatus.STARTED))
    assert isinstance(
        refresh_after_drops(dg.build_sensor_context(instance=instance)), dg.SkipReason
    )  # in progress covers it
    instance.add_run(dg.DagsterRun(job_name=job.name, run_id="ingest-2", status=dg.DagsterRunStatus.STARTED))
    skipped = refresh_after_drops(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason) and "still loading" in skipped.skip_message
