"""Drops are picked up without anyone starting a run, and reach the results: once the drops that arrived
together have loaded, one refresh of the analyses, views, report and published tiers follows; the
nightly schedule refreshes them again for the cut-off date moving."""

import time

import dagster as dg

from pipelines.defs.ingest import core_registry, raw_drop, site_partitions
from pipelines.ingest.drops import DropError, find_drop, ignored_folders, sha256_of, site_ids
from pipelines.ingest.profiles import ProfileError, load_profile
from pipelines.settings import load_settings

SETTLE_SECONDS = 30  # a file modified more recently than this may still be being written
DROP_TAG = "gist/drop"  # site, drop id and profile checksum: what a run ingests
MAX_ATTEMPTS = (
    3  # runs of one drop that failed for a reason other than its data (a lock, a crash) are retried up to this
)
ingest_job = dg.define_asset_job("ingest_site", selection=dg.AssetSelection.assets(raw_drop, core_registry))
refresh_job = dg.define_asset_job(
    "refresh_analyses", selection=dg.AssetSelection.groups("analysis", "results", "publish")
)


def settled(folder_mtimes: list[float], now: float) -> bool:
    return all(now - mtime >= SETTLE_SECONDS for mtime in folder_mtimes)


def _refused_by_its_data(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether the run failed because the drop was rejected (final until the drop changes), not for another reason."""
    failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    return any(
        (data := event.dagster_event.step_failure_data).user_failure_data
        and data.user_failure_data.metadata.get("status", dg.MetadataValue.text("")).value == "rejected"
        for event in failures
    )


def run_key_for(instance: dg.DagsterInstance, site_id: str, drop_key: str) -> str:
    """The run key for the site's current drop: new when the drop (or its profile) differs from the site's last run,
    also when it returns to a version run before; a retry when that run failed for a reason other than its data;
    otherwise the last run's own key, which Dagster does not run twice."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=ingest_job.name, tags={"dagster/partition": site_id}), limit=1
    )
    earlier = instance.get_runs_count(filters=dg.RunsFilter(job_name=ingest_job.name, tags={DROP_TAG: drop_key}))
    if runs and runs[0].tags.get(DROP_TAG) == drop_key:
        last = runs[0]
        if (
            last.status != dg.DagsterRunStatus.FAILURE
            or earlier >= MAX_ATTEMPTS
            or _refused_by_its_data(instance, last)
        ):
            return last.tags.get("dagster/run_key", drop_key)
    return drop_key if earlier == 0 else f"{drop_key}#{earlier + 1}"


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def site_drop_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per new drop or corrected profile (see :func:`run_key_for`); half-written folders wait a tick."""
    settings = load_settings(with_key=False)  # the sensor reads folders and profiles only
    requests, new_sites = [], []
    known = set(context.instance.get_dynamic_partitions(site_partitions.name))
    for name in ignored_folders(settings.drop_dir):
        context.log.warning(
            f"{settings.drop_dir / name}: ignored, not a site folder (a symbolic link, or a name other than "
            "a site id: lowercase letters, digits and _, starting with a letter, at most 40 characters)"
        )
    for site_id in site_ids(settings.drop_dir):
        folder = settings.drop_dir / site_id
        if not settled([p.stat().st_mtime for p in folder.iterdir()], time.time()):
            continue
        try:
            profile_path = settings.profiles_dir / f"{site_id}.yaml"
            drop = find_drop(settings.drop_dir, load_profile(profile_path))
        except (DropError, ProfileError, OSError) as err:
            context.log.warning(f"{site_id}: not picked up: {err}")
            continue
        if site_id not in known:
            new_sites.append(site_id)
        drop_key = f"{drop.drop_id}:{sha256_of(profile_path)[:12]}"
        requests.append(
            dg.RunRequest(
                run_key=run_key_for(context.instance, site_id, drop_key),
                partition_key=site_id,
                tags={DROP_TAG: drop_key},
            )
        )
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=[site_partitions.build_add_request(new_sites)]
    )


IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def refresh_wanted(instance: dg.DagsterInstance) -> str | dg.SkipReason:
    """The run key of the refresh the latest loaded drops need, or why none is started now.

    A refresh follows the last successful ingest run (its blocking line-accounting check passed, else
    the run fails) once no other ingest is queued or running, so drops arriving together share one
    refresh; a refresh already in progress, or started after that ingest ended, covers it.
    """
    loaded = instance.get_run_records(
        dg.RunsFilter(job_name=ingest_job.name, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    )
    if not loaded:
        return dg.SkipReason("no drop has been loaded yet")
    if instance.get_runs_count(dg.RunsFilter(job_name=ingest_job.name, statuses=IN_PROGRESS)):
        return dg.SkipReason("drops are still loading: one refresh follows them all")
    latest = loaded[0]
    refreshes = instance.get_run_records(dg.RunsFilter(job_name=refresh_job.name), limit=1)
    if refreshes and (
        refreshes[0].dagster_run.status in IN_PROGRESS
        or refreshes[0].create_timestamp.timestamp() >= (latest.end_time or 0)
    ):
        return dg.SkipReason("the latest refresh covers the latest loaded drop")
    return f"after-{latest.dagster_run.run_id}"


@dg.sensor(job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def refresh_after_drops(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Loaded drops reach the results without waiting for the nightly schedule (see :func:`refresh_wanted`)."""
    wanted = refresh_wanted(context.instance)
    return dg.RunRequest(run_key=wanted) if isinstance(wanted, str) else wanted


nightly_refresh = dg.ScheduleDefinition(
    job=refresh_job, cron_schedule="0 2 * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)
