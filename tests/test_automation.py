"""Drops picked up by the sensor and run through Dagster: twenty sites at once through the writer pool,
a broken drop that leaves the registry as it was, and files still being written left for the next tick."""

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from fixtures.samples import write_cohort
from schemas.contract import CONTRACT

pytestmark = pytest.mark.slow  # real processes or whole-pipeline runs: the full tier (`pytest --full`, CI)

ROOT = Path(__file__).resolve().parent.parent
SITE_PATIENT_ID = re.compile(r"\b(WAR|SEO|BOS|CAN)-\d{6}\b")  # the generator's site-local ids
SETTLED = time.time() - 3600  # an mtime well outside the sensor's settle window


def _settle(*paths: Path) -> None:
    for path in paths:
        os.utime(path, (SETTLED, SETTLED))


def _evaluate(instance):
    """One sensor tick, applying its requests to add site partitions."""
    from pipelines.defs.automation import site_drop_sensor

    result = site_drop_sensor(dg.build_sensor_context(instance=instance))
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return {r.partition_key: r.run_key for r in result.run_requests}


def _ingest_job() -> dg.JobDefinition:
    """The job a sensor request starts (ingest assets and their blocking check), bound to resources read from the
    current environment (not ``pipelines.definitions``, whose resources are fixed by whoever imports it first)."""
    from pipelines.defs.automation import ingest_job
    from pipelines.defs.ingest import core_checks, core_registry, raw_drop
    from pipelines.resources import default_resources

    definitions = dg.Definitions(
        assets=[raw_drop, core_registry],
        asset_checks=[core_checks],
        jobs=[ingest_job],
        resources=default_resources(),
    )
    return definitions.resolve_job_def(ingest_job.name)


def _ingest(job, instance, site):
    return job.execute_in_process(partition_key=site, instance=instance, raise_on_error=False)


@dataclass
class Landed:
    root: Path
    truth: dict  # the generator's truth per site: files, rows to load and to quarantine
    instance: dg.DagsterInstance
    job: dg.JobDefinition
    run_keys: dict[str, str]  # site -> run key of the first sensor tick
    results: dict[str, dg.ExecuteInProcessResult]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """Twenty site folders (the four dialects, distinct site ids and profiles, a few invalid rows each) arrive at
    once; one sensor tick asks for their runs, which execute on an instance with the project's settings (its writer
    pool allows one step)."""
    root = tmp_path_factory.mktemp("twenty")
    truth = write_cohort(n_patients=100, n_sites=20, seed=7, out=root, invalid_fraction=0.03)
    _settle(*(root / "drops").rglob("*"))
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "GIST_DROP_DIR": root / "drops",
            "GIST_PROFILES_DIR": root / "profiles",
            "GIST_DUCKDB_PATH": root / "r.duckdb",
            "GIST_ARCHIVE_DIR": root / "archive",
            "GIST_OUTPUT_DIR": root / "out",
            "GIST_PSEUDONYM_KEY": "automation-key-0123456789abcdef0123",
        }.items():
            env.setenv(name, str(value))
        from pipelines.defs.event_log import instance_settings

        home = root / "dagster_home"  # the project's dagster.yaml: the one-writer pool, the pooled event log
        home.mkdir()
        with dg.instance_for_test(overrides=instance_settings(home), temp_dir=str(home)) as instance:
            run_keys = _evaluate(instance)
            job = _ingest_job()
            results = {site: _ingest(job, instance, site) for site in sorted(run_keys)}
            yield Landed(root, truth, instance, job, run_keys, results)


def _registry(root: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(root / "r.duckdb"), read_only=True)


def test_twenty_drops_at_once_all_land_through_the_writer_pool(landed):
    from pipelines.resources import WRITER_POOL

    assert sorted(landed.run_keys) == sorted(landed.truth) and len(set(landed.run_keys.values())) == 20
    assert all(result.success for result in landed.results.values())
    accounting = [
        check
        for result in landed.results.values()
        for check in result.get_asset_check_evaluations()
        if check.asset_check_key.name == "every_line_accounted_for"
    ]
    assert len(accounting) == 20 * len(CONTRACT) and all(check.passed for check in accounting)
    pool = landed.instance.event_log_storage.get_concurrency_info(WRITER_POOL)
    assert (pool.slot_count, pool.claimed_slots, pool.pending_steps) == (
        1,
        [],
        [],
    )  # every writing step took and gave back the one slot
    con = _registry(landed.root)
    for site, expected in landed.truth.items():
        for table, counts in expected["tables"].items():
            got = con.execute(
                f"SELECT (SELECT count(*) FROM core.{table} WHERE site_id = $s), "
                "(SELECT count(*) FROM audit.quarantine WHERE site_id = $s AND table_name = $t)",
                {"s": site, "t": table},
            ).fetchall()[0]
            assert got == (counts["expected_loaded"], counts["expected_quarantined"]), (site, table)
    con.close()


def test_dagster_metadata_links_the_report_and_holds_no_site_patient_ids(landed):
    events = [e for result in landed.results.values() for e in landed.instance.all_logs(result.run_id)]
    reports = [
        e.asset_materialization.metadata["validation_report"].value
        for e in events
        if e.dagster_event
        and e.dagster_event.is_step_materialization
        and e.asset_materialization.asset_key.path == ["core", "patients"]
    ]
    assert len(reports) == 20 and all(Path(path).is_file() for path in reports)
    assert not SITE_PATIENT_ID.search("".join(str(e) for e in events))


def test_a_broken_drop_leaves_the_registry_as_it_was_and_yields_the_report(landed):
    root, truth, run_keys = landed.root, landed.truth, landed.run_keys
    site = sorted(truth)[0]
    con = _registry(root)
    before = [
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("core.patients", "raw.tki_episodes", "audit.quarantine")
    ]
    con.close()
    broken = root / "drops" / site / truth[site]["tables"]["tki_episodes"]["file"]
    original = broken.read_bytes()
    try:
        broken.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
        _settle(broken)
        keys = _evaluate(landed.instance)
        assert keys[site] != run_keys[site] and {s: k for s, k in keys.items() if s != site} == {
            s: k for s, k in run_keys.items() if s != site
        }
        result = _ingest(landed.job, landed.instance, site)
    finally:
        broken.write_bytes(original)
        _settle(broken)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    report = Path(failure.step_failure_data.user_failure_data.metadata["validation_report"].value)
    assert report.parent == root / "archive" / site / keys[site].split(":")[0]  # the run key starts with the drop id
    assert "rejected as a whole" in report.read_text(encoding="utf-8") and "a NUL byte" in report.read_text(
        encoding="utf-8"
    )
    con = _registry(root)
    assert [
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("core.patients", "raw.tki_episodes", "audit.quarantine")
    ] == before
    assert con.execute("SELECT status FROM audit.drops WHERE site_id = ? ORDER BY received_at", [site]).fetchall() == [
        ("received",),
        ("loaded",),
        ("rejected",),
    ]
    con.close()


def test_files_still_being_written_wait_and_an_identical_drop_has_the_same_run_key(landed):
    site = sorted(landed.truth)[1]
    patients = landed.root / "drops" / site / landed.truth[site]["tables"]["patients"]["file"]
    os.utime(patients, None)  # modified just now: it may still be being written
    assert site not in _evaluate(landed.instance)
    content = patients.read_bytes()
    patients.unlink()
    patients.write_bytes(content)  # the same bytes dropped again, settled
    _settle(patients)
    assert _evaluate(landed.instance)[site] == landed.run_keys[site]


def test_every_writing_asset_runs_in_the_one_writer_pool():
    from pipelines.definitions import ASSETS  # every asset opens the registry through DuckDBResource
    from pipelines.resources import WRITER_POOL

    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1
    pools = {key.to_user_string(): asset.op.pool for asset in ASSETS for key in asset.keys}
    assert "published_copy" in pools and all(pool == WRITER_POOL for pool in pools.values()), pools
