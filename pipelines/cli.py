"""`gist-registry`: run the whole pipeline in-process through Dagster, without the UI.

    gist-registry run [--demo]     load every site drop, then refresh every analysis
"""

from __future__ import annotations

import argparse
import os
import sys

import dagster as dg


def _run(demo: bool) -> int:
    if demo:
        os.environ["GIST_DEMO"] = "1"
    from pipelines.definitions import ASSETS, defs  # after GIST_DEMO is set: resources read settings
    from pipelines.defs.ingest import every_row_accounted_for, site_partitions
    from pipelines.ingest.drops import site_ids
    from pipelines.settings import load_settings

    settings = load_settings()
    if settings.demo:
        print("DEMO MODE: patient ids are pseudonymised with the public demo key; never use it for real data.")
    sites = site_ids(settings.drop_dir)
    if not sites:
        print(f"No site folders in {settings.drop_dir}", file=sys.stderr)
        return 1
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(site_partitions.name, sites)
    resources = defs.resources
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # step errors still print
    failed = []
    for site in sites:
        result = dg.materialize([*ASSETS, every_row_accounted_for], selection=dg.AssetSelection.groups("ingest"), partition_key=site,
                                instance=instance, resources=resources, run_config=quiet, raise_on_error=False)
        if not result.success:
            failed.append(site)
        print(f"site {site}: {'loaded' if result.success else 'FAILED (previous data kept; see audit.drops)'}")
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
