"""`gist-registry`: run the pipeline in-process through Dagster, without the UI, and look at what it holds.

    gist-registry run [--demo] [--site SITE]      load the site drops, then refresh every analysis and publish
    gist-registry ingest [--demo] [--site SITE]   load the site drops only (several may run at once)
    gist-registry status                          each site's latest drop and outcome, from audit.drops
    gist-registry check-profile SITE [--drops D]  try a site's profile on its drop without loading anything

Each site's outcome is printed on one line (loaded, unchanged, REJECTED by the checks, NOT PROCESSED for
another reason), as recorded in audit.drops, with any data-quality check over its threshold at that site.
Exit status: 0 every site loaded or unchanged (quality warnings allowed); 1 the analyses are not refreshed
(the refresh failed, or a drop fails an error-level quality check, which refuses the next refresh);
2 a configuration error (the variable is named); 3 the registry is held by another writer; 4 a drop was
rejected by its data; 5 a site was not processed (no profile, a file missing, a crash).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

OK, REFRESH_FAILED, CONFIGURATION, LOCKED, REJECTED, NOT_PROCESSED = 0, 1, 2, 3, 4, 5
EXIT_OF_STATUS = {"held": REFRESH_FAILED, "rejected": REJECTED, "not_processed": NOT_PROCESSED, "locked": LOCKED}
SEVERITY = [OK, REFRESH_FAILED, REJECTED, NOT_PROCESSED, LOCKED]  # the exit status is the most severe outcome


def _deepest_error(error: object) -> object:
    """The pipeline's own exception under Dagster's wrappers (not the library error it may wrap in turn)."""
    while error is not None and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error


def _site_outcome(result, site: str) -> tuple[str, str]:
    """(status, line): the site's outcome, the same text the step recorded in audit.drops and Dagster shows."""
    import dagster as dg

    for failure in result.get_step_failure_events():
        data = failure.step_failure_data
        if data.user_failure_data and "outcome" in data.user_failure_data.metadata:
            metadata = data.user_failure_data.metadata
            return metadata["status"].value, metadata["outcome"].value
        error = _deepest_error(data.error)
        message = (error.message.strip().splitlines() or [""])[-1] if error else "unknown error"
        status = "locked" if error is not None and error.cls_name == "RegistryLocked" else "not_processed"
        return status, f"NOT PROCESSED, the site's previous data kept: the step {failure.step_key} failed ({message})"
    metadata = [event.materialization.metadata for event in result.get_asset_materialization_events()][-1]
    status, line = metadata["status"].value, metadata["outcome"].value
    failed = [check for check in result.get_asset_check_evaluations() if not check.passed]
    if unaccounted := [check for check in failed if check.check_name == "every_line_accounted_for"]:
        return "not_processed", (
            f"{line} — BUT the check {unaccounted[0].asset_key.to_user_string()} every_line_accounted_for failed "
            f"({unaccounted[0].description}); no analysis is refreshed until it passes"
        )
    over = [check for check in failed if _exceeded_at(check, site)]
    errors = [check for check in over if check.severity == dg.AssetCheckSeverity.ERROR]
    warnings = [check for check in over if check.severity != dg.AssetCheckSeverity.ERROR]
    if warnings:
        line += "; warning: " + "; ".join(_quality_text(check, site) for check in warnings)
    if errors:
        return "held", (
            f"{line} — BUT " + "; ".join(_quality_text(check, site) for check in errors) + ": the next refresh is "
            "refused until the drop is corrected or the threshold raised (quality_thresholds.yaml)"
        )
    return status, line


def _exceeded_at(check, site: str) -> bool:
    """Whether a quality check is over its threshold at this site (the check measures every site)."""
    per_site = check.metadata.get("per_site")
    return bool(per_site and per_site.value.get(site, {}).get("exceeded"))


def _quality_text(check, site: str) -> str:
    measure = check.metadata["per_site"].value[site]
    return (
        f"{check.check_name.replace('__', '.')} fails {measure['failing_lines']} of {measure['data_lines']} "
        f"{check.asset_key.path[-1]} lines ({measure['share']:.1%} > threshold {measure['threshold']:.1%})"
    )


def _ingest(settings, only: list[str], instance, resources: dict, quiet: dict) -> int:
    """Load each site's drop, printing its outcome; returns the exit status its outcomes call for."""
    import dagster as dg

    from pipelines.definitions import ASSETS
    from pipelines.defs.ingest import accounting_checks, quality_checks, site_partitions
    from pipelines.ingest.drops import ignored_folders, site_ids

    for name in ignored_folders(settings.drop_dir):
        print(
            f"ignored {settings.drop_dir / name}: not a site folder (a symbolic link, or a name other than lowercase "
            "letters, digits and _, from a letter)"
        )
    present = site_ids(settings.drop_dir)
    worst = OK
    for site in sorted(set(only) - set(present)):
        print(f"site {site}: NOT PROCESSED: no folder {settings.drop_dir / site}")
        worst = NOT_PROCESSED
    sites = [site for site in present if not only or site in only]
    if not sites:
        print(f"No site folders in {settings.drop_dir}", file=sys.stderr)
        return max(worst, NOT_PROCESSED, key=SEVERITY.index)
    instance.add_dynamic_partitions(site_partitions.name, sites)
    for position, site in enumerate(sites):
        result = dg.materialize(
            [*ASSETS, *accounting_checks, *quality_checks],
            selection=dg.AssetSelection.groups("ingest"),
            partition_key=site,
            instance=instance,
            resources=resources,
            run_config=quiet,
            raise_on_error=False,
        )
        status, line = _site_outcome(result, site)
        print(f"site {site}: {line}", flush=True)
        worst = max(worst, EXIT_OF_STATUS.get(status, OK), key=SEVERITY.index)
        if status == "locked":
            for later in sites[position + 1 :]:
                print(
                    f"site {later}: NOT PROCESSED, the site's previous data kept: the registry is held by another writer"
                )
            break
    return worst


def _refresh(instance, resources: dict, quiet: dict) -> bool:
    import dagster as dg

    from pipelines.definitions import ASSETS

    print("refreshing the analyses, views, report and published tiers ...", flush=True)
    refresh = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.groups("analysis", "results", "publish"),
        instance=instance,
        resources=resources,
        run_config=quiet,
        raise_on_error=False,
    )
    if not refresh.success:
        failure = refresh.get_step_failure_events()[0]
        error = _deepest_error(failure.step_failure_data.error)
        print(
            f"Analysis refresh FAILED at {failure.step_key} ({error.message.strip() if error else 'unknown error'}); "
            "results, report and published copies are those of the last successful refresh.",
            file=sys.stderr,
        )
    return refresh.success


def _settings(demo: bool, *, with_key: bool = True):
    """The checked settings, or None after printing which variable is wrong."""
    if demo:
        os.environ["GIST_DEMO"] = "1"
    from pipelines.settings import ConfigurationError, load_settings

    try:
        return load_settings(with_key=with_key)
    except ConfigurationError as err:
        print(f"Configuration error: {err}", file=sys.stderr)
        return None


def _load(command: str, demo: bool, only: list[str]) -> int:
    settings = _settings(demo)
    if settings is None:
        return CONFIGURATION
    import dagster as dg

    from pipelines.resources import default_resources

    if settings.demo:
        print("DEMO MODE: patient ids are pseudonymised with the public demo key; never use it for real data.")
    instance = dg.DagsterInstance.ephemeral()
    resources = default_resources()  # read from the environment now, after --demo set it
    quiet = {
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}
    }  # each outcome is printed once, by this command
    worst = _ingest(settings, only, instance, resources, quiet)
    if worst == LOCKED:
        print(
            "Nothing refreshed: the registry is held by another writer (the published tiers stay readable).",
            file=sys.stderr,
        )
        return LOCKED
    if command == "run" and not _refresh(instance, resources, quiet):
        worst = max(worst, REFRESH_FAILED, key=SEVERITY.index)
    print(
        f"\nDuckDB registry : {settings.duckdb_path}  (schemas raw, core, audit, intermediate, analysis, results, published)"
    )
    if command == "run":
        from pipelines.publish import describe_tiers

        for line in describe_tiers(settings):
            print(line)
        print(f"Report          : {settings.report_path}")
        print(f"Plots           : {settings.plots_dir}")
    print(f"Raw archive     : {settings.archive_dir}")
    return worst


STATUS_SQL = """
SELECT site_id, arg_max(status, received_at) AS status, arg_max(coalesce(drop_id, ''), received_at) AS drop_id,
       max(received_at) AS at, arg_max(coalesce(message, ''), received_at) AS message,
       arg_max(drop_id, received_at) FILTER (WHERE status = 'loaded') AS loaded_drop
FROM audit.drops GROUP BY site_id ORDER BY site_id
"""


def _status() -> int:
    """Each site's newest ledger entry and the drop its core rows come from, read-only."""
    settings = _settings(demo=False, with_key=False)
    if settings is None:
        return CONFIGURATION
    import duckdb

    if not settings.duckdb_path.is_file():
        print(f"No registry at {settings.duckdb_path} yet: run `gist-registry run` first.")
        return OK
    try:
        con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    except duckdb.IOException as err:
        print(
            f"The registry {settings.duckdb_path} is held by another writer ({str(err).splitlines()[0]}); "
            f"the published tiers under {settings.publish_dir} stay readable.",
            file=sys.stderr,
        )
        return LOCKED
    try:
        rows = con.execute(STATUS_SQL).fetchall()
    finally:
        con.close()
    for site, status, drop, at, message, loaded in rows:
        held = f"core holds drop {loaded}" if loaded else "nothing loaded yet"
        print(f"{site}: {status} {drop} at {at:%Y-%m-%d %H:%M} UTC; {held}" + (f"\n    {message}" if message else ""))
    return OK


def _check_profile(site: str, drops: Path | None) -> int:
    """Try the site's profile on its drop in a throwaway registry: the outcome and the report, nothing kept but the report."""
    settings = _settings(demo=False, with_key=False)
    if settings is None:
        return CONFIGURATION
    settings = replace(settings, pseudonym_key=os.urandom(32))  # nothing is kept: any key does
    import duckdb

    from pipelines.ingest.steps import load_core, receive_drop
    from pipelines.registry.ddl import create_registry

    scratch = Path(tempfile.mkdtemp(prefix=f"gist-check-{site}-"))
    trial = replace(
        settings,
        drop_dir=drops.resolve() if drops else settings.drop_dir,
        duckdb_path=scratch / "trial.duckdb",
        archive_dir=scratch / "reports",
    )
    con = duckdb.connect(str(trial.duckdb_path))
    try:
        create_registry(con)
        result = receive_drop(con, trial, site)
        if result.status == "received":
            result = load_core(con, trial, site)
    finally:
        con.close()
        trial.duckdb_path.unlink(missing_ok=True)
        for copy in trial.archive_dir.rglob("*"):  # the trial's archived copies of the files: only the report stays
            if copy.is_file() and not copy.name.startswith("validation_report"):
                copy.unlink()
    print(f"site {site} (a trial: nothing loaded into {settings.duckdb_path}): {result.summary()}")
    return EXIT_OF_STATUS.get(result.status, OK)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gist-registry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("run", "load every site drop, then refresh every analysis, the report and the published tiers"),
        ("ingest", "load site drops only (no refresh); several may run at once: each waits for the registry's lock"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument(
            "--demo", action="store_true", help="use the public demo pseudonymisation key (bundled sample data only)"
        )
        command.add_argument("--site", action="append", default=[], metavar="SITE", help="only this site (repeatable)")
    commands.add_parser("status", help="each site's latest drop and outcome (audit.drops), read-only")
    check = commands.add_parser(
        "check-profile",
        help="try a site's profile on its drop in a throwaway registry: outcome and validation report, nothing loaded",
    )
    check.add_argument("site")
    check.add_argument("--drops", type=Path, help="drop folder holding <site>/ (default: GIST_DROP_DIR)")
    args = parser.parse_args(argv)
    if args.command == "status":
        return _status()
    if args.command == "check-profile":
        return _check_profile(args.site, args.drops)
    return _load(args.command, args.demo, args.site)


if __name__ == "__main__":
    sys.exit(main())
