"""`gist-registry`: run the whole pipeline in-process through Dagster, without the UI.

    gist-registry run [--demo]     load every site drop, then refresh every analysis
"""

from __future__ import annotations

import argparse
import os
import sys

import dagster as dg


def _deepest_error(error: object) -> object:
    """The exception that started it, under Dagster's wrappers."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def _site_outcome(result: dg.ExecuteInProcessResult) -> str:
    """The site's outcome in one line, the same text the step recorded in audit.drops and Dagster shows."""
    for failure in result.get_step_failure_events():
        data = failure.step_failure_data
        if data.user_failure_data and "outcome" in data.user_failure_data.metadata:
            return data.user_failure_data.metadata["outcome"].value
        error = _deepest_error(data.error)
        message = (error.message.strip().splitlines() or [""])[-1] if error else "unknown error"
        return f"NOT PROCESSED, the site's previous data kept: the step {failure.step_key} failed ({message})"
    outcome = [event.materialization.metadata["outcome"].value for event in result.get_asset_materialization_events()][-1]
    failed_checks = [check for check in result.get_asset_check_evaluations() if not check.passed]
    if failed_checks:
        return (f"{outcome} — BUT the check {failed_checks[0].check_name} failed ({failed_checks[0].description}); "
                "no analysis is refreshed until it passes")
    return outcome


def _locked(result: dg.ExecuteInProcessResult) -> bool:
    return any(getattr(_deepest_error(f.step_failure_data.error), "cls_name", "") == "RegistryLocked"
               for f in result.get_step_failure_events())


def _run(demo: bool) -> int:
    if demo:
        os.environ["GIST_DEMO"] = "1"
    from pipelines.settings import ConfigurationError, load_settings

    try:
        settings = load_settings()
    except ConfigurationError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    from pipelines.definitions import ASSETS
    from pipelines.defs.ingest import every_row_accounted_for, site_partitions
    from pipelines.ingest.drops import ignored_folders, site_ids
    from pipelines.resources import default_resources

    if settings.demo:
        print("DEMO MODE: patient ids are pseudonymised with the public demo key; never use it for real data.")
    sites = site_ids(settings.drop_dir)
    for name in ignored_folders(settings.drop_dir):
        print(f"ignored {settings.drop_dir / name}: not a site folder (lowercase letters, digits and _, from a letter)")
    if not sites:
        print(f"No site folders in {settings.drop_dir}", file=sys.stderr)
        return 1
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(site_partitions.name, sites)
    resources = default_resources()  # read from the environment now, after --demo set it
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # each outcome is printed below, once
    failed = []
    for position, site in enumerate(sites):
        result = dg.materialize([*ASSETS, every_row_accounted_for], selection=dg.AssetSelection.groups("ingest"), partition_key=site,
                                instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
        print(f"site {site}: {_site_outcome(result)}")
        if not result.success or not all(c.passed for c in result.get_asset_check_evaluations()):
            failed.append(site)
        if _locked(result):
            for later in sites[position + 1:]:
                print(f"site {later}: NOT PROCESSED, the site's previous data kept: the registry is held by another writer")
            print("Nothing refreshed: the registry is held by another writer.", file=sys.stderr)
            return 1
    refresh = dg.materialize(ASSETS, selection=dg.AssetSelection.groups("analysis", "results", "publish"),
                             instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
    if not refresh.success:
        failure = refresh.get_step_failure_events()[0]
        error = _deepest_error(failure.step_failure_data.error)
        print(f"Analysis refresh FAILED at {failure.step_key} ({error.message.strip() if error else 'unknown error'}); "
              "results, report and published copies are those of the last successful refresh.", file=sys.stderr)
    print(f"\nDuckDB registry : {settings.duckdb_path}  (schemas raw, core, audit, analysis, results)")
    print(f"Published copy  : {settings.publish_dir}  (read-only DuckDB file + Parquet, small counts suppressed)")
    print(f"Report          : {settings.report_path}")
    print(f"Plots           : {settings.plots_dir}")
    print(f"Raw archive     : {settings.archive_dir}")
    return 0 if refresh.success and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gist-registry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="load every site drop and refresh every analysis")
    run.add_argument("--demo", action="store_true", help="use the public demo pseudonymisation key (bundled sample data only)")
    args = parser.parse_args(argv)
    return _run(args.demo)


if __name__ == "__main__":
    sys.exit(main())
