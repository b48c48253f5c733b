"""The stage x size table, the PASS/MISS target lines, and the machine the figures come from."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from pathlib import Path

FLOOR = "floor (DuckDB read_csv)"
INGEST = ("archive", "raw load", "profile mapping", "validation", "core load")
INGEST_TOTAL = "ingest to core (sum)"
REFRESH = "full refresh (Dagster)"
BARE = "bare lifelines "
PIPELINE_PROCESSES = ("pipeline", "dagster")  # what the memory target covers; "stages process" also holds the reference
MAX_INGEST_RATIO, MAX_RSS_MB, MAX_ANALYSIS_RATIO, MAX_REFRESH_SECONDS = 3.0, 2048, 1.3, 60


def machine() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: version(p) for p in ("duckdb", "polars", "pandera", "pandas", "lifelines", "dagster")},
    }


def with_totals(seconds: dict[str, float | None]) -> dict[str, float | None]:
    """The measured stages plus ingest to core, in table order."""
    total = {INGEST_TOTAL: sum(seconds[s] for s in INGEST)}
    names = list(seconds)
    at = names.index(INGEST[-1]) + 1
    return {n: seconds[n] for n in names[:at]} | total | {n: seconds[n] for n in names[at:]}


def pipeline_peak_mb(by_stage: dict[str, float]) -> float:
    """The highest RSS during a pipeline stage: not the floor, not the benchmark's own bare reference."""
    return max(mb for stage, mb in by_stage.items() if stage != FLOOR and not stage.startswith(BARE))


def targets(sizes: dict[str, dict]) -> list[dict[str, object]]:
    """Issue 5's targets; ingest and memory are set at 1M patients, so they are checked at the largest size run."""
    largest, smallest = max(sizes, key=int), min(sizes, key=int)
    big = sizes[largest]
    checks = [
        (
            f"ingest to core within {MAX_INGEST_RATIO}x the floor at {int(largest):,} patients",
            big["seconds"][INGEST_TOTAL] / big["seconds"][FLOOR],
            MAX_INGEST_RATIO,
            "x",
        ),
        (
            f"peak RSS of the pipeline under {MAX_RSS_MB} MB at {int(largest):,} patients",
            max(big["peak_rss_mb"][p] for p in PIPELINE_PROCESSES if big["peak_rss_mb"][p]),
            MAX_RSS_MB,
            " MB",
        ),
        (
            f"drop to published results through Dagster within {MAX_REFRESH_SECONDS} s at {int(smallest):,} patients",
            sizes[smallest]["seconds"].get(REFRESH),
            MAX_REFRESH_SECONDS,
            " s",
        ),
    ]
    for size, result in sizes.items():
        for name, seconds in result["seconds"].items():
            bare = result["seconds"].get(name.replace("analysis ", BARE, 1))
            if name.startswith("analysis ") and seconds and bare:  # None: not measured
                checks.append(
                    (
                        f"{name} within {MAX_ANALYSIS_RATIO}x bare lifelines at {int(size):,} patients",
                        seconds / bare,
                        MAX_ANALYSIS_RATIO,
                        "x",
                    )
                )
    return [
        {"target": text, "measured": round(value, 3), "limit": limit, "unit": unit.strip(), "passed": value <= limit}
        for text, value, limit, unit in checks
        if value is not None
    ]  # None: that stage was not run


def _cell(seconds: float | None, rows: int, floor: float) -> str:
    if seconds is None:
        return f"{'n/a':>9} {'':>11} {'':>8}"
    return f"{seconds:9.2f} {rows / seconds:11,.0f} {seconds / floor:7.2f}x"


def _megabytes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def table(sizes: dict[str, dict]) -> str:
    """Stage x size: seconds, input rows per second, ratio to the floor."""
    width = 35
    titles = [f"{int(size):,} patients, {result['rows']:,} rows" for size, result in sizes.items()]
    header = f"{'stage':<{width}}" + "".join(f" | {title:^30}" for title in titles)
    units = f"{'':<{width}}" + " | ".join([""] + [f"{'s':>9} {'rows/s':>11} {'x floor':>8}"] * len(sizes))
    lines = [header, units, "-" * len(header)]
    stages = dict.fromkeys(stage for result in sizes.values() for stage in result["seconds"])  # in order, every size's
    for stage in stages:
        lines.append(
            f"{stage:<{width}}"
            + "".join(f" | {_cell(r['seconds'].get(stage), r['rows'], r['seconds'][FLOOR])}" for r in sizes.values())
        )
    for process in ("pipeline", "stages process", "dagster"):
        lines.append(
            f"{f'peak RSS, {process} (MB)':<{width}}"
            + "".join(f" | {_megabytes(r['peak_rss_mb'][process]):>9} {'':>20}" for r in sizes.values())
        )
    return "\n".join(lines)


def target_lines(checks: list[dict[str, object]]) -> str:
    def amount(value: object, unit: str) -> str:
        return f"{value}{unit}" if unit == "x" else f"{value} {unit}"

    return "\n".join(
        f"{'PASS' if c['passed'] else 'MISS'}  {c['target']}: {amount(c['measured'], c['unit'])} "
        f"(limit {amount(c['limit'], c['unit'])})"
        for c in checks
    )
