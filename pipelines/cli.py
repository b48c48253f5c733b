"""`gist-registry`: run the pipeline in-process through Dagster, without the UI, and look at what it holds.

Each site's outcome is printed on one line (loaded, unchanged, REJECTED by the checks, NOT PROCESSED for
another reason), as recorded in audit.drops, with any data-quality check over its threshold at that site.
On a terminal a progress display runs meanwhile (per site, then per refresh step); piped, only the lines.

Only typer (and rich) are imported at start: Dagster, DuckDB and the pipeline are imported by the command
that needs them, so `--help` and a usage error answer at once.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

# Exit statuses, one per category of outcome (README and docs/architecture.md list them).
OK, REFRESH_FAILED, CONFIGURATION, LOCKED, REJECTED, NO_PROFILE, NOT_PROCESSED = range(7)
EXIT_OF_STATUS = {
    "held": REFRESH_FAILED,
    "rejected": REJECTED,
    "no_profile": NO_PROFILE,
    "not_processed": NOT_PROCESSED,
    "locked": LOCKED,
}
SEVERITY = [OK, REFRESH_FAILED, REJECTED, NO_PROFILE, NOT_PROCESSED, LOCKED]  # the exit status is the worst outcome
EPILOG = (
    "Exit status: 0 every site loaded or unchanged (quality warnings allowed); 1 the analyses are not refreshed "
    "(the refresh failed, or a drop fails an error-level quality check, which refuses the next refresh); "
    "2 a configuration error (the variable and its allowed form are named); 3 the registry is held by another "
    "writer; 4 a drop was rejected by its data; 5 a site has no profile; 6 a site was not processed for another "
    "reason (a file missing, a crash)."
)

app = typer.Typer(
    name="gist-registry",
    help="Load the site drops into the GIST registry, refresh the analyses and publish them; look at what it holds.",
    epilog=EPILOG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # an unexpected crash is a bug: its plain traceback is what a report needs
)


def _fail(code: int, message: str) -> typer.Exit:
    """Print an error of one category on stderr; raise the returned Exit to end with its status."""
    label = {CONFIGURATION: "Configuration error", LOCKED: "Locked"}.get(code)
    print(f"{label}: {message}" if label else message, file=sys.stderr)
    return typer.Exit(code)


# ---- configuration ----------------------------------------------------------------------------------------


def _settings(demo: bool = False, *, with_key: bool = True, with_runtime: bool = False):
    """The checked settings; a bad one ends the command with status 2, naming the variable.

    ``with_runtime`` also checks what only a run step would otherwise read: the quality thresholds file
    and DuckDB's memory limit (an unknown form would stop every site as NOT PROCESSED, for no fault of its data).
    """
    if demo:
        os.environ["GIST_DEMO"] = "1"
    from pipelines.settings import ConfigurationError, load_settings

    try:
        settings = load_settings(with_key=with_key)
    except ConfigurationError as err:
        raise _fail(CONFIGURATION, str(err)) from None
    if with_runtime:
        import duckdb

        from pipelines.ingest.quality import ThresholdsError, load_thresholds

        try:
            load_thresholds(settings.quality_thresholds)
        except ThresholdsError as err:
            raise _fail(CONFIGURATION, f"GIST_QUALITY_THRESHOLDS: {err}") from None
        try:
            duckdb.connect(":memory:", config=settings.duckdb_config).close()
        except duckdb.Error as err:
            raise _fail(
                CONFIGURATION,
                f"GIST_DUCKDB_MEMORY_LIMIT={settings.duckdb_memory_limit!r}: not a memory size DuckDB accepts "
                f"(a number and a unit, e.g. 1GB or 512MiB; {str(err).splitlines()[0]})",
            ) from None
    return settings


def _published_copy(settings) -> str:
    """Where a reader goes while the registry is locked: the aggregate tier's copy, and how to export from it."""
    from pipelines.publish import AGGREGATE, database_name

    return (
        f"the published copy {settings.publish_dir / AGGREGATE / database_name(AGGREGATE)} stays readable "
        "(`gist-registry export DIR --from-published`)"
    )


# ---- progress -----------------------------------------------------------------------------------------------


@contextmanager
def _progress(description: str, total: int):
    """A rich progress bar on a terminal; on a pipe or file, nothing (the printed lines are the whole output).

    Yields ``advance(label)``, to be called once a unit of work (a site, a step) is done.
    """
    if not sys.stdout.isatty():
        yield lambda label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(soft_wrap=True)  # the printed lines, drawn above the bar, stay whole (the terminal wraps them)
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda label: progress.update(task, advance=1, description=f"{description} (done: {label})")


# ---- run and ingest -----------------------------------------------------------------------------------------


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

    from pipelines.definitions import ingest_site
    from pipelines.defs.ingest import site_partitions
    from pipelines.ingest.drops import ignored_folders, site_ids
    from pipelines.ingest.steps import profile_path

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
    with _progress("loading the site drops", len(sites)) as advance:
        for position, site in enumerate(sites):
            result = ingest_site(site, instance, resources, run_config=quiet, raise_on_error=False)
            status, line = _site_outcome(result, site)
            if status == "not_processed" and not profile_path(settings, site).is_file():
                status = "no_profile"
            print(f"site {site}: {line}", flush=True)
            advance(site)
            worst = max(worst, EXIT_OF_STATUS.get(status, OK), key=SEVERITY.index)
            if status == "locked":
                for later in sites[position + 1 :]:
                    print(
                        f"site {later}: NOT PROCESSED, the site's previous data kept: the registry is held by another writer"
                    )
                break
    return worst


def _refresh(instance, resources: dict, quiet: dict) -> bool:
    """One run of the analysis, results and publish groups, its steps counted off by a Dagster success hook."""
    import dagster as dg

    from pipelines.definitions import ASSETS

    print("refreshing the analyses, views, report and published tiers ...", flush=True)
    selection = dg.AssetSelection.groups("analysis", "results", "publish")
    job = dg.define_asset_job("cli_refresh", selection=selection)
    job = dg.Definitions(assets=ASSETS, jobs=[job], resources=resources).resolve_job_def(job.name)
    with _progress("refreshing", len(job.nodes)) as advance:

        @dg.success_hook
        def step_done(context: dg.HookContext) -> None:
            advance(context.op.name)

        refresh = job.with_hooks({step_done}).execute_in_process(
            instance=instance, run_config=quiet, raise_on_error=False
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


def _load(refresh: bool, demo: bool, only: list[str]) -> int:
    settings = _settings(demo, with_runtime=True)
    import dagster as dg

    from pipelines.resources import default_resources

    if settings.demo:
        print("DEMO MODE: patient ids are pseudonymised with the public demo key; never use it for real data.")
    instance = dg.DagsterInstance.ephemeral()
    resources = default_resources()  # read from the environment now, after --demo set it
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # each outcome is printed once, here
    worst = _ingest(settings, only, instance, resources, quiet)
    if worst == LOCKED:
        raise _fail(LOCKED, f"Nothing refreshed: the registry is held by another writer; {_published_copy(settings)}.")
    if refresh and not _refresh(instance, resources, quiet):
        worst = max(worst, REFRESH_FAILED, key=SEVERITY.index)
    print(
        f"\nDuckDB registry : {settings.duckdb_path}  (schemas raw, core, audit, intermediate, analysis, results, published)"
    )
    if refresh:
        from pipelines.publish import describe_tiers

        for line in describe_tiers(settings):
            print(line)
        print(f"Report          : {settings.report_path}")
        print(f"Plots           : {settings.plots_dir}")
    print(f"Raw archive     : {settings.archive_dir}")
    return worst


Demo = Annotated[
    bool, typer.Option("--demo", help="Use the public demo pseudonymisation key (bundled sample data only).")
]
Sites = Annotated[list[str] | None, typer.Option("--site", metavar="SITE", help="Only this site (repeatable).")]


@app.command()
def run(demo: Demo = False, site: Sites = None) -> None:
    """Load every site drop, then refresh every analysis, the report and the published tiers."""
    raise typer.Exit(_load(True, demo, site or []))


@app.command()
def ingest(demo: Demo = False, site: Sites = None) -> None:
    """Load site drops only (no refresh); several may run at once: each waits for the registry's lock."""
    raise typer.Exit(_load(False, demo, site or []))


# ---- reading the registry -----------------------------------------------------------------------------------


def _read_only(settings, path: Path, variable: str):
    """A read-only connection to ``path``; ends the command when there is none or another writer holds it."""
    import duckdb

    if not path.is_file():
        raise _fail(CONFIGURATION, f"{variable}: no database at {path} (run `gist-registry run` first)")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as err:
        raise _fail(
            LOCKED, f"the registry {path} is held by another writer ({_holder(err)}); {_published_copy(settings)}."
        ) from None


def _holder(err: Exception) -> str:
    found = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", str(err))
    return f"PID {found.group(2)}, {found.group(1)}" if found else str(err).splitlines()[0]


LATEST_SQL = """
SELECT site_id, arg_max(status, received_at) AS status, arg_max(coalesce(drop_id, ''), received_at) AS drop_id,
       max(received_at) AS at, arg_max(coalesce(message, ''), received_at) AS message,
       arg_max(drop_id, received_at) FILTER (WHERE status = 'loaded') AS loaded_drop
FROM audit.drops GROUP BY site_id ORDER BY site_id
"""
HISTORY_SQL = """
SELECT site_id, status, coalesce(drop_id, '') AS drop_id, received_at, coalesce(message, '') AS message
FROM audit.drops WHERE ? IS NULL OR site_id = ? ORDER BY site_id, received_at
"""


@app.command()
def status(
    drops: Annotated[bool, typer.Option("--drops", help="Every recorded step of every drop, oldest first.")] = False,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
) -> None:
    """Each site's latest drop and outcome, and the drop its core rows come from (audit.drops, read-only)."""
    settings = _settings(with_key=False)
    if not settings.duckdb_path.is_file():
        print(f"No registry at {settings.duckdb_path} yet: run `gist-registry run` first.")
        return
    con = _read_only(settings, settings.duckdb_path, "GIST_DUCKDB_PATH")
    try:
        if drops:
            for name, outcome, drop, at, message in con.execute(HISTORY_SQL, [site, site]).fetchall():
                print(f"{name}: {at:%Y-%m-%d %H:%M:%S} UTC {outcome} {drop}" + (f"\n    {message}" if message else ""))
            return
        for name, outcome, drop, at, message, loaded in con.execute(LATEST_SQL).fetchall():
            if site in (None, name):
                held = f"core holds drop {loaded}" if loaded else "nothing loaded yet"
                print(
                    f"{name}: {outcome} {drop} at {at:%Y-%m-%d %H:%M} UTC; {held}"
                    + (f"\n    {message}" if message else "")
                )
    finally:
        con.close()


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"


PUBLISHED_SQL = """
SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'published'
    AND database_name = current_database() AND view_name LIKE 'v\\_%' ESCAPE '\\'
UNION ALL
SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name = 'published'
    AND database_name = current_database() AND table_name LIKE 'v\\_%' ESCAPE '\\'
ORDER BY 2
"""  # the registry holds them as views, the aggregate tier's copy as tables


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write into (created if missing).")],
    format: Annotated[Format, typer.Option("--format", help="File format.")] = Format.csv,
    view: Annotated[
        list[str] | None, typer.Option("--view", metavar="NAME", help="Only this published view (repeatable).")
    ] = None,
    from_published: Annotated[
        bool,
        typer.Option(
            "--from-published", help="Read the aggregate tier's published copy instead of the registry (no lock)."
        ),
    ] = False,
) -> None:
    """Write the published views (published.v_*, small counts suppressed) to CSV or Parquet files; nothing else."""
    settings = _settings(with_key=False)
    from pipelines.publish import AGGREGATE, aggregate_select, database_name

    if from_published:
        source, variable = settings.publish_dir / AGGREGATE / database_name(AGGREGATE), "GIST_PUBLISH_DIR"
    else:
        source, variable = settings.duckdb_path, "GIST_DUCKDB_PATH"
    con = _read_only(settings, source, variable)
    try:
        published = {name: schema for schema, name in con.execute(PUBLISHED_SQL).fetchall()}
        wanted = [name.removeprefix("published.") for name in view or published]
        if refused := [name for name in wanted if name not in published]:
            raise _fail(
                CONFIGURATION,
                f"--view {', '.join(refused)}: only the published views may be exported "
                f"({', '.join(f'published.{name}' for name in published) or f'none in {source}'})",
            )
        try:
            selects = {name: aggregate_select(con, published[name], name) for name in wanted}
        except ValueError as err:
            raise _fail(REJECTED, f"Nothing exported: {err}") from None
        directory.mkdir(parents=True, exist_ok=True)
        for name, select in selects.items():
            target = directory.resolve() / f"published.{name}.{format.value}"
            options = "FORMAT parquet" if format is Format.parquet else "FORMAT csv, HEADER"
            con.execute(f"COPY ({select}) TO '{str(target).replace(chr(39), chr(39) * 2)}' ({options})")
            rows = con.execute(f"SELECT count(*) FROM ({select})").fetchall()[0][0]
            print(f"published.{name}: {rows} rows -> {target}")
    finally:
        con.close()


@app.command("export-cbioportal")
def export_cbioportal(
    directory: Annotated[Path, typer.Argument(help="Study folder to write (created if missing).")],
    study_id: Annotated[str, typer.Option("--study-id", help="cancer_study_identifier.")] = "gist_registry",
) -> None:
    """Write the cohort as a cBioPortal study: pseudonyms, months since diagnosis, no dates (analyst tier)."""
    settings = _settings(with_key=False)
    from pipelines.cbioportal_export import export_study

    con = _read_only(settings, settings.duckdb_path, "GIST_DUCKDB_PATH")
    try:
        written = export_study(con, directory.resolve(), study_id)
    finally:
        con.close()
    print(
        f"cBioPortal study {study_id}: {written.patients} patients, {written.samples} samples -> {written.directory} "
        "(patient-level: analyst tier, under a data-use agreement only)"
    )


# ---- trying a profile ---------------------------------------------------------------------------------------


@app.command("check-profile")
def check_profile(
    site: Annotated[str, typer.Argument(help="The site whose profile to try.")],
    drops: Annotated[
        Path | None, typer.Option("--drops", help="Drop folder holding <site>/ (default: GIST_DROP_DIR).")
    ] = None,
) -> None:
    """Try a site's profile on its drop in a throwaway registry: outcome and validation report, nothing loaded."""
    settings = _settings(with_key=False)
    settings = replace(settings, pseudonym_key=os.urandom(32))  # nothing is kept: any key does
    import duckdb

    from pipelines.ingest.steps import load_core, profile_path, receive_drop
    from pipelines.registry.ddl import ensure_registry

    scratch = Path(tempfile.mkdtemp(prefix=f"gist-check-{site}-"))
    trial = replace(
        settings,
        drop_dir=drops.resolve() if drops else settings.drop_dir,
        duckdb_path=scratch / "trial.duckdb",
        archive_dir=scratch / "reports",
    )
    con = duckdb.connect(str(trial.duckdb_path))
    try:
        ensure_registry(con)
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
    outcome = result.status
    if outcome == "not_processed" and not profile_path(trial, site).is_file():
        outcome = "no_profile"
    raise typer.Exit(EXIT_OF_STATUS.get(outcome, OK))


def main(argv: list[str] | None = None) -> int:
    """The command's exit status (the console script exits with it; benchmarks call it in-process)."""
    try:
        app(args=argv, prog_name="gist-registry")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else OK if done.code is None else CONFIGURATION
    return OK


if __name__ == "__main__":
    sys.exit(main())
