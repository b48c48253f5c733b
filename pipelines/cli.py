"""`gist-registry`: run the whole pipeline in-process through Dagster, without the UI.

    gist-registry run [--demo] [--site SITE]     load the site drops, then refresh every analysis and publish
    gist-registry ingest [--demo] [--site SITE]  load the site drops only

Each site's outcome is printed on one line (loaded, unchanged, REJECTED by the checks, NOT PROCESSED for
another reason), as recorded in audit.drops.  Exit status: 0 all clean, 1 a site or the refresh did not
succeed, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys

import dagster as dg


def _deepest_error(error: object) -> object:
    """The pipeline's own exception under Dagster's wrappers (not the library error it may wrap in turn)."""
    while error is not None and error.cls_name.startswith("Dagster") and error.cause is not None:
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


def _ingest(settings, only: list[str], instance: dg.DagsterInstance, resources: dict, quiet: dict) -> tuple[list[str], bool]:
    """Load each site's drop, printing its outcome; returns the sites that did not load cleanly and whether the lock stopped it."""
    from pipelines.definitions import ASSETS
    from pipelines.defs.ingest import every_row_accounted_for, site_partitions
    from pipelines.ingest.drops import ignored_folders, site_ids

    for name in ignored_folders(settings.drop_dir):
        print(f"ignored {settings.drop_dir / name}: not a site folder (a symbolic link, or a name other than lowercase "
              "letters, digits and _, from a letter)")
    present = site_ids(settings.drop_dir)
    for site in sorted(set(only) - set(present)):
        print(f"site {site}: NOT PROCESSED: no folder {settings.drop_dir / site}")
    sites = [site for site in present if not only or site in only]
    instance.add_dynamic_partitions(site_partitions.name, sites)
    failed = sorted(set(only) - set(present))
    for position, site in enumerate(sites):
        result = dg.materialize([*ASSETS, every_row_accounted_for], selection=dg.AssetSelection.groups("ingest"), partition_key=site,
                                instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
        print(f"site {site}: {_site_outcome(result)}")
        if not result.success or not all(c.passed for c in result.get_asset_check_evaluations()):
            failed.append(site)
        if _locked(result):
            for later in sites[position + 1:]:
                print(f"site {later}: NOT PROCESSED, the site's previous data kept: the registry is held by another writer")
            return failed + sites[position + 1:], True
    if not sites and not failed:
        print(f"No site folders in {settings.drop_dir}", file=sys.stderr)
        failed.append("")
    return failed, False


def _refresh(instance: dg.DagsterInstance, resources: dict, quiet: dict) -> bool:
    from pipelines.definitions import ASSETS

    refresh = dg.materialize(ASSETS, selection=dg.AssetSelection.groups("analysis", "results", "publish"),
                             instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
    if not refresh.success:
        failure = refresh.get_step_failure_events()[0]
        error = _deepest_error(failure.step_failure_data.error)
        print(f"Analysis refresh FAILED at {failure.step_key} ({error.message.strip() if error else 'unknown error'}); "
              "results, report and published copies are those of the last successful refresh.", file=sys.stderr)
    return refresh.success


def _main(command: str, demo: bool, only: list[str]) -> int:
    if demo:
        os.environ["GIST_DEMO"] = "1"
    from pipelines.settings import ConfigurationError, load_settings

    try:
        settings = load_settings()
    except ConfigurationError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return 2
    from pipelines.resources import default_resources

    if settings.demo:
        print("DEMO MODE: patient ids are pseudonymised with the public demo key; never use it for real data.")
    instance = dg.DagsterInstance.ephemeral()
    resources = default_resources()  # read from the environment now, after --demo set it
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # each outcome is printed once, by this command
    failed, locked = _ingest(settings, only, instance, resources, quiet)
    if locked:
        print("Nothing refreshed: the registry is held by another writer.", file=sys.stderr)
        return 1
    refreshed = command == "ingest" or _refresh(instance, resources, quiet)
    print(f"\nDuckDB registry : {settings.duckdb_path}  (schemas raw, core, audit, analysis, results)")
    if command == "run":
        from pipelines.publish import describe_tiers

        for line in describe_tiers(settings):
            print(line)
        print(f"Report          : {settings.report_path}")
        print(f"Plots           : {settings.plots_dir}")
    print(f"Raw archive     : {settings.archive_dir}")
    return 0 if refreshed and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gist-registry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("run", "load every site drop, then refresh every analysis, the report and the published copies"),
                       ("ingest", "load site drops only (no refresh); several may run at once: each waits for the registry's lock")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--demo", action="store_true", help="use the public demo pseudonymisation key (bundled sample data only)")
        command.add_argument("--site", action="append", default=[], metavar="SITE", help="only this site (repeatable)")
    args = parser.parse_args(argv)
    return _main(args.command, args.demo, args.site)


if __name__ == "__main__":
    sys.exit(main())
