"""Child process: time the floor and every pipeline stage on one generated cohort; write JSON.

    python -m benchmarks.stages COHORT_DIR WORK_DIR OUT_JSON [--repeats N] [--ingest-only]

Stages are the plain functions the assets call, in asset order, on one DuckDB file, each with a
connection of its own as ``DuckDBResource`` gives every asset: ``receive_drop`` (archive + raw
load) and ``load_core`` (profile mapping + validation + core load) per site, the SQL layers,
``run_analysis`` per catalogue entry (statistics, plots and results writes) beside R's survival doing the
same fits (:mod:`benchmarks.reference`), the results views and publishing.  ``benchmarks.spy``
splits the calls into stages; a sampler records each stage's own peak RSS.
"""

from __future__ import annotations

import argparse
import codecs
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from benchmarks.environment import RssSampler, peak_rss_mb, use_cohort
from benchmarks.reference import r_seconds, reference_fits, rscript, write_jobs
from benchmarks.report import FRAMES, R_PREFIX
from benchmarks.spy import spied
from pipelines import analyses
from pipelines.catalogue import Analysis, load_catalogue
from pipelines.ingest import site_drop, steps
from pipelines.ingest.drops import site_ids
from pipelines.ingest.profiles import load_profile
from pipelines.publish import publish
from pipelines.registry.ddl import create_registry
from pipelines.registry.results import replace_catalogue
from pipelines.report import write_report
from pipelines.settings import Settings, load_settings
from pipelines.sql_models import define_settings, run_layer

T = TypeVar("T")


class Stages:
    """Seconds per stage (None = stage not available) and the peak RSS during each."""

    def __init__(self) -> None:
        self.seconds: dict[str, float | None] = {}
        self.peak_rss_mb: dict[str, float] = {}
        self.repeats: dict[str, int] = {}  # analysis id -> pipeline/R pairs timed (each side's fastest is kept)
        self.without_r: list[str] = []  # analyses whose frames are empty at this size: nothing for R to fit
        self.memory = RssSampler()

    def add(self, name: str, seconds: float | None, peak_mb: float | None = None) -> None:
        """Record a stage; ``peak_mb`` is given when several stages share one measured window."""
        self.seconds[name] = seconds
        self.peak_rss_mb[name] = self.memory.take_peak() if peak_mb is None else peak_mb

    def timed(self, name: str, step: Callable[[], object]) -> None:
        self.add(name, clock(step))


def clock(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def _utf8_copy(path: Path, encoding: str, scratch: Path) -> Path:
    """The file as UTF-8 for DuckDB's reader (itself when it already is), made before the clock starts."""
    if codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}:
        return path
    target = scratch / f"{path.stem}.utf8.csv"
    target.write_text(path.read_text(encoding=encoding), encoding="utf-8")
    return target


def floor_seconds(settings: Settings, sites: list[str], work: Path) -> float:
    """DuckDB's CSV reader loading the same files as text into a file database, nothing else.

    DuckDB cannot read cp1250, so such files are transcoded beforehand (untimed): the floor is DuckDB alone.
    """
    files = []
    for site in sites:
        profile = load_profile(settings.profiles_dir / f"{site}.yaml")
        scratch = work / "floor_utf8" / site
        scratch.mkdir(parents=True, exist_ok=True)
        for table, spec in profile.tables.items():
            files.append(
                (
                    f"{site}_{table}",
                    _utf8_copy(settings.drop_dir / site / spec.file, profile.encoding, scratch),
                    profile.delimiter,
                )
            )
    con = duckdb.connect(str(work / "floor.duckdb"))
    started = time.perf_counter()
    for name, path, delimiter in files:
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', delim = '{delimiter}', header = true, all_varchar = true)"
        )
    con.close()
    return time.perf_counter() - started


def connected(settings: Settings, step: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run one step on a connection of its own, closed afterwards, as each asset gets one from ``DuckDBResource``."""
    with duckdb.connect(str(settings.duckdb_path), config=settings.duckdb_config) as con:
        return step(con)


def _each_site(
    sites: list[str],
    step: Callable[[duckdb.DuckDBPyConnection, str], steps.StepResult],
    settings: Settings,
    expected: str,
) -> None:
    for site in sites:
        result = connected(settings, lambda con, s=site: step(con, s))
        if result.status != expected:
            raise RuntimeError(f"{site}: {result.status} ({result.message}), expected {expected}")


def receive_sites(settings: Settings, sites: list[str]) -> None:
    """The raw_drop asset's step for every site (archive + raw load)."""
    _each_site(sites, lambda con, s: steps.receive_drop(con, settings, s), settings, "received")


def load_sites(settings: Settings, sites: list[str]) -> None:
    """The core_registry asset's step for every site (mapping, validation, core load, report)."""
    _each_site(sites, lambda con, s: steps.load_core(con, settings, s), settings, "loaded")


def ingest(stages: Stages, settings: Settings, sites: list[str]) -> None:
    with spied((steps, "find_drop"), (steps, "archive_drop")) as spent:
        received = clock(lambda: receive_sites(settings, sites))
    peak = stages.memory.take_peak()
    stages.add("archive", spent["find_drop"] + spent["archive_drop"], peak)
    stages.add("raw load", received - stages.seconds["archive"], peak)
    with spied((steps, "validate_drop"), (site_drop, "map_to_contract")) as spent:
        loaded = clock(lambda: load_sites(settings, sites))
    peak = stages.memory.take_peak()
    stages.add("profile mapping", spent["map_to_contract"], peak)
    stages.add("validation", spent["validate_drop"] - spent["map_to_contract"], peak)
    stages.add("core load", loaded - spent["validate_drop"], peak)


def _r_jobs(con: duckdb.DuckDBPyConnection, analysis: Analysis, folder: Path) -> list[Path]:
    """Each endpoint's R fits written for R (untimed): its frame read as the pipeline reads it; none where the
    frame is empty (nothing is fitted, so the analysis has no R side)."""
    fits = {e: reference_fits(analyses.endpoint_frame(con, analysis, e), analysis, e) for e in analysis.endpoints}
    return [write_jobs(f, folder / endpoint) for endpoint, f in fits.items() if f]


REPEAT_BUDGET_S, MAX_REPEATS = 60.0, 3  # per analysis: pipeline/R pairs while the pairs so far took under the budget


def _pipeline_seconds(settings: Settings, analysis: Analysis, plots: dict[str, float]) -> tuple[float, float]:
    """One run of the analysis as its asset runs it: (seconds without its plots, seconds of its plots)."""
    before = plots["_plots"]
    seconds = clock(lambda: connected(settings, lambda con: analyses.run_analysis(con, analysis, settings)))
    return seconds - (plots["_plots"] - before), plots["_plots"] - before


def analyse(stages: Stages, settings: Settings, work: Path, max_repeats: int = MAX_REPEATS) -> None:
    """Each catalogue analysis (its plots timed apart) alternating with R doing the same fits on the same rows.

    The plots are the first run's, drawn in turn: a repeat redraws nothing (the figures' inputs are unchanged),
    so the fastest run would time only the digests, not what a new drop costs.

    Pipeline and R run back to back, so a ratio compares them under the same machine conditions
    rather than minutes apart.  Where a pair takes well under a minute (10k, most of 100k) it is
    repeated, up to three pairs, and each side keeps its fastest run, as ``timeit`` does: on a
    shared machine a slow run measures the neighbours.  Without R (``Rscript`` with survival and
    jsonlite) only the pipeline is timed.
    """
    r = rscript()
    plot_seconds = 0.0
    with spied((analyses, "_plots")) as plots:
        for analysis in load_catalogue():
            jobs = connected(settings, lambda con, a=analysis: _r_jobs(con, a, work / "r" / a.id)) if r else []
            runs, reference, peak, started = [], [], 0.0, time.perf_counter()
            while not runs or (len(runs) < max_repeats and time.perf_counter() - started < REPEAT_BUDGET_S):
                runs.append(_pipeline_seconds(settings, analysis, plots))
                peak = max(peak, stages.memory.take_peak())
                if jobs:
                    reference.append(sum(r_seconds(r, j) for j in jobs))
            stages.add(f"analysis {analysis.id}", min(seconds for seconds, _ in runs), peak)
            if jobs:
                stages.add(f"{R_PREFIX}{analysis.id}", min(reference), 0.0)
            elif r:
                stages.without_r.append(analysis.id)
            stages.repeats[analysis.id] = len(runs)
            plot_seconds += runs[0][1]  # the first run draws every figure; later ones find them drawn (digests)
    stages.add("plots", plot_seconds, max(stages.peak_rss_mb[f"analysis {a.id}"] for a in load_catalogue()))


def measure(cohort: Path, work: Path, catalogue: bool = True, max_repeats: int = MAX_REPEATS) -> dict[str, object]:
    use_cohort(cohort, work)
    settings = load_settings()
    sites = site_ids(settings.drop_dir)
    stages = Stages()
    stages.add("floor (DuckDB read_csv)", floor_seconds(settings, sites, work))
    connected(settings, create_registry)
    ingest(stages, settings, sites)
    stages.timed(
        FRAMES,
        lambda: connected(
            settings,
            lambda con: (
                define_settings(con, settings.data_cutoff, settings.min_cell_count),
                run_layer(con, "core"),
                run_layer(con, "analysis"),
            ),
        ),
    )
    if catalogue:  # else an ingest-only size (--catalogue-up-to): the table shows the later stages as n/a
        analyse(stages, settings, work, max_repeats)
        stages.timed(
            "results views (SQL)",
            lambda: connected(
                settings, lambda con: (replace_catalogue(con, load_catalogue()), run_layer(con, "results"))
            ),
        )
        stages.timed(
            "report (HTML)", lambda: connected(settings, lambda con: write_report(con, load_catalogue(), settings))
        )
        stages.timed("publishing", lambda: connected(settings, lambda con: publish(con, settings)))
    return {
        "seconds": stages.seconds,
        "peak_rss_mb_by_stage": stages.peak_rss_mb,
        "peak_rss_mb": peak_rss_mb(),
        "analysis_repeats": stages.repeats,
        "analyses_without_r": stages.without_r,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__)
    parser.add_argument("cohort", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeats", type=int, default=MAX_REPEATS, help="pipeline/R pairs per analysis, at most")
    parser.add_argument("--ingest-only", action="store_true", help="floor, ingest and the analysis frames only")
    args = parser.parse_args()
    result = measure(args.cohort, args.work, catalogue=not args.ingest_only, max_repeats=args.repeats)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
