"""The gist-registry Dagster code location (`dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.analyses import run_analyses
from pipelines.defs.automation import ingest_job, nightly_refresh, refresh_after_drops, refresh_job, site_drop_sensor
from pipelines.defs.event_log import relax_sqlite_sync
from pipelines.defs.frames import analysis_frames
from pipelines.defs.ingest import core_checks, core_registry, raw_drop
from pipelines.defs.publish import published_copy
from pipelines.defs.report import registry_report, results_views
from pipelines.resources import default_resources

relax_sqlite_sync()  # the run's events, not its data: pipelines/defs/event_log.py
ASSETS = [raw_drop, core_registry, analysis_frames, run_analyses, results_views, registry_report, published_copy]


def ingest_site(site: str, instance: dg.DagsterInstance, resources: dict, **options) -> dg.ExecuteInProcessResult:
    """One site's drop through the ingest assets and their checks, in this process (the CLI, the tests)."""
    return dg.materialize(
        [*ASSETS, core_checks],
        selection=dg.AssetSelection.groups("ingest"),
        partition_key=site,
        instance=instance,
        resources=resources,
        **options,
    )


defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=[core_checks],
    jobs=[ingest_job, refresh_job],
    sensors=[site_drop_sensor, refresh_after_drops],
    schedules=[nightly_refresh],
    resources=default_resources(),
    # The writing steps run one at a time anyway (the duckdb_writer pool); a process per step would re-import
    # the code location for each (a 3-43 s refresh took ~3 minutes in the UI), so a run's steps share its process.
    executor=dg.in_process_executor,
)
