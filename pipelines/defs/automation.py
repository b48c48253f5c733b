"""Drops are picked up without anyone starting a run; analyses refresh nightly."""


import time

import dagster as dg

from pipelines.defs.ingest import core_registry, raw_drop, site_partitions
from pipelines.ingest.drops import DropError, find_drop, ignored_folders, site_ids
from pipelines.ingest.profiles import ProfileError, load_profile
from pipelines.settings import load_settings

SETTLE_SECONDS = 30  # a file modified more recently than this may still be being written
ingest_job = dg.define_asset_job("ingest_site", selection=dg.AssetSelection.assets(raw_drop, core_registry))
refresh_job = dg.define_asset_job("refresh_analyses", selection=dg.AssetSelection.groups("analysis", "results", "publish"))


def settled(folder_mtimes: list[float], now: float) -> bool:
    return all(now - mtime >= SETTLE_SECONDS for mtime in folder_mtimes)


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def site_drop_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per new drop (run key = the drop's content hash); half-written folders wait a tick."""
    settings = load_settings()
    requests, new_sites = [], []
    known = set(context.instance.get_dynamic_partitions(site_partitions.name))
    for name in ignored_folders(settings.drop_dir):
        context.log.warning(f"{settings.drop_dir / name}: ignored, not a site folder (site ids: lowercase letters, "
                            "digits and _, starting with a letter, at most 40 characters)")
    for site_id in site_ids(settings.drop_dir):
        folder = settings.drop_dir / site_id
        if not settled([p.stat().st_mtime for p in folder.iterdir()], time.time()):
            continue
        try:
            drop = find_drop(settings.drop_dir, load_profile(settings.profiles_dir / f"{site_id}.yaml"))
        except (DropError, ProfileError, OSError) as err:
            context.log.warning(f"{site_id}: not picked up: {err}")
            continue
        if site_id not in known:
            new_sites.append(site_id)
        requests.append(dg.RunRequest(run_key=drop.drop_id, partition_key=site_id))
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=[site_partitions.build_add_request(new_sites)])


nightly_refresh = dg.ScheduleDefinition(job=refresh_job, cron_schedule="0 2 * * *", default_status=dg.DefaultScheduleStatus.RUNNING)
