"""`gist-registry`: run the whole pipeline in-process through Dagster, without the UI.

    gist-registry run [--demo]     load every site drop, then refresh every analysis
"""

from __future__ import annotations

import argparse
import os
import sys

import dagster as dg


def _site_line(site: str, result: dg.ExecuteInProcessResult) -> str:
    """One line per site: rows loaded and quarantined, and where the registrar's validation report is."""
    if not result.success:
        return f"site {site}: REJECTED, previous data kept (reason in audit.drops and the validation report)"
    metadata: dict[str, dg.MetadataValue] = {}
    for event in result.get_asset_materialization_events():
        metadata |= event.materialization.metadata
    if metadata["status"].value == "unchanged":
        return f"site {site}: unchanged (drop {metadata['drop_id'].value} is already loaded)"
    counts = metadata["row_counts"].value.values()
    loaded, quarantined = (sum(table.get(key, 0) for table in counts) for key in ("loaded", "quarantined"))
    report = metadata.get("validation_report")
    return f"site {site}: loaded {loaded} rows, quarantined {quarantined}" + (f"; report: {report.value}" if report else "")


def _run(demo: bool) -> int:
    if demo:
        os.environ["GIST_DEMO"] = "1"
    from pipelines.definitions import ASSETS
    from pipelines.defs.ingest import every_row_accounted_for, site_partitions
    from pipelines.ingest.drops import ignored_folders, site_ids
    from pipelines.resources import default_resources
    from pipelines.settings import load_settings

    settings = load_settings()
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
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # step errors still print
    failed = []
    for site in sites:
        result = dg.materialize([*ASSETS, every_row_accounted_for], selection=dg.AssetSelection.groups("ingest"), partition_key=site,
                                instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
        if not result.success:
            failed.append(site)
        print(_site_line(site, result))
    refresh = dg.materialize(ASSETS, selection=dg.AssetSelection.groups("analysis", "results", "publish"),
                             instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
    if not refresh.success:
        print("Analysis refresh FAILED (see the step errors above); results and report may be stale.", file=sys.stderr)
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
