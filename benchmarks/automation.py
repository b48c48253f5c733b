"""Child process: drops through the Dagster automation, sensor tick to published copy, as the daemon runs them; JSON.

    python -m benchmarks.automation COHORT_DIR WORK_DIR OUT_JSON

On a Dagster instance of its own, with the settings of the project's ``dagster.yaml`` (the one-writer pool, the
pooled SQLite event log) in a temporary DAGSTER_HOME: the code location is
imported (timed: what each run process and the code server pay at start), ``site_drop_sensor`` ticks and
its run requests run as the daemon would run them (``ingest_job`` per site, steps in one process), then
``refresh_after_drops`` ticks and its ``refresh_job`` runs to the published copy.  Timed from the
first tick to the refresh run's end: the work, not the sensors' waits.  The daemon adds those: a drop
settles ``SETTLE_SECONDS`` before the sensor takes it and each sensor ticks at most every 30 s; with
the default run launcher each run also starts a process that imports the code location again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchmarks.environment import peak_rss_mb, use_cohort


def _settle(drops: Path) -> None:
    """Mark the drop's files as written an hour ago, so the sensor's settle window does not hold them back."""
    settled = time.time() - 3600
    for path in drops.rglob("*"):
        os.utime(path, (settled, settled))


def measure(cohort: Path, work: Path) -> dict[str, object]:
    use_cohort(cohort, work)
    _settle(cohort / "drops")
    started = time.perf_counter()
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.automation import ingest_job, refresh_after_drops, refresh_job, site_drop_sensor
    from pipelines.defs.event_log import instance_settings

    loaded = time.perf_counter() - started
    seconds: dict[str, float] = {"code location import": loaded}
    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(overrides=instance_settings(home), temp_dir=str(home)) as instance:
        first_tick = time.perf_counter()
        tick = site_drop_sensor(dg.build_sensor_context(instance=instance))
        for request in tick.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        seconds["drop sensor tick"] = time.perf_counter() - first_tick
        ingest = defs.resolve_job_def(ingest_job.name)
        mark = time.perf_counter()
        for request in tick.run_requests:
            tags = {**request.tags, "dagster/run_key": request.run_key}
            if not ingest.execute_in_process(instance=instance, partition_key=request.partition_key, tags=tags).success:
                raise RuntimeError(f"ingest run of {request.partition_key} failed")
        seconds["ingest runs"] = time.perf_counter() - mark
        mark = time.perf_counter()
        wanted = refresh_after_drops(dg.build_sensor_context(instance=instance))
        if not isinstance(wanted, dg.RunRequest):
            raise RuntimeError(f"the refresh sensor did not ask for a refresh: {wanted}")
        seconds["refresh sensor tick"] = time.perf_counter() - mark
        mark = time.perf_counter()
        refresh = defs.resolve_job_def(refresh_job.name).execute_in_process(
            instance=instance, tags={**wanted.tags, "dagster/run_key": wanted.run_key}
        )
        if not refresh.success:
            raise RuntimeError("the refresh run failed")
        seconds["refresh run"] = time.perf_counter() - mark
        seconds["drop to published (Dagster sensors)"] = time.perf_counter() - first_tick
    if not (work / "published").exists():
        raise RuntimeError(f"no published copy in {work / 'published'}")
    return {"seconds": seconds, "runs": len(tick.run_requests) + 1, "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    cohort_dir, work_dir, out = map(Path, sys.argv[1:4])
    out.write_text(json.dumps(measure(cohort_dir, work_dir), indent=2), encoding="utf-8")
