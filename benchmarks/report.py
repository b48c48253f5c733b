"""The stage x size table, the PASS/MISS target lines, and the machine the figures come from."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from pathlib import Path

FLOOR = "floor (DuckDB read_csv)"
INGEST = ("archive", "raw load", "profile mapping", "validation", "core load")
INGEST_TOTAL = "ingest to core (sum)"
CLI = "drop to published (CLI)"
AUTOMATION = "drop to published (Dagster sensors)"
CODE_LOCATION = "code location import"
R_PREFIX = "R survival "
ANALYSIS_PREFIX = "analysis "
FRAMES = "analysis frames (SQL)"
PROCESSES = ("pipeline", "stages process", "dagster")
PIPELINE_PROCESSES = ("pipeline", "dagster")  # what the memory target covers; "stages process" also holds the reference
MAX_INGEST_RATIO, MAX_RSS_MB, MAX_R_RATIO = 4.0, 2048, 1.0
MAX_AUTOMATION_SECONDS, MAX_CLI_SECONDS = 15.0, 10.0
R_TARGET_SIZES, DROP_TARGET_SIZE, BIG_SIZE = (100_000, 1_000_000), 10_000, 1_000_000


def machine() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
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
    """The highest RSS during a pipeline stage: not the floor, not R's reference (another process)."""
    return max(mb for stage, mb in by_stage.items() if stage != FLOOR and not stage.startswith(R_PREFIX))


def analysis_seconds(seconds: dict[str, float | None]) -> dict[str, float]:
    """Each catalogue analysis's seconds by its id (the stage table's ``analysis <id>`` rows, not the frames)."""
    return {
        name.removeprefix(ANALYSIS_PREFIX): value
        for name, value in seconds.items()
        if name.startswith(ANALYSIS_PREFIX) and name != FRAMES and value
    }


def r_ratios(seconds: dict[str, float | None]) -> dict[str, float]:
    """Per analysis and for the whole catalogue (``catalogue``): the pipeline's seconds over R's for the same fits."""
    pairs = {name: (value, seconds.get(R_PREFIX + name)) for name, value in analysis_seconds(seconds).items()}
    pairs = {name: pair for name, pair in pairs.items() if pair[1]}
    if not pairs:
        return {}
    total = (sum(p for p, _ in pairs.values()), sum(r for _, r in pairs.values()))
    return {name: p / r for name, (p, r) in pairs.items()} | {"catalogue": total[0] / total[1]}


def _check(text: str, value: float | None, limit: float, unit: str, reason: str) -> dict[str, object]:
    """One target line; ``value`` None: not measured in this run (MISS, with why)."""
    return {
        "target": text,
        "measured": None if value is None else round(value, 3),
        "limit": limit,
        "unit": unit,
        "passed": value is not None and value <= limit,
        "reason": reason,
    }


def targets(sizes: dict[str, dict]) -> list[dict[str, object]]:
    """Issue 21's targets, each PASS or MISS with its reason; a target at a size this run did not reach is a MISS."""
    checks = []
    for size in R_TARGET_SIZES:
        ratios = r_ratios(sizes[str(size)]["seconds"]) if str(size) in sizes else {}
        slowest = max((r for r in ratios.items() if r[0] != "catalogue"), key=lambda r: r[1], default=None)
        checks.append(
            _check(
                f"whole catalogue within {MAX_R_RATIO}x R survival (same fits, same rows) at {size:,} patients",
                ratios.get("catalogue"),
                MAX_R_RATIO,
                "x",
                f"slowest against R: {slowest[0]} {slowest[1]:.2f}x" if slowest else "not run at this size, or no R",
            )
        )
    small = sizes.get(str(DROP_TARGET_SIZE), {}).get("seconds", {})
    automation = small.get(AUTOMATION)
    steps = {k: small.get(k) for k in ("ingest runs", "refresh run", CODE_LOCATION) if small.get(k) is not None}
    checks.append(
        _check(
            f"{DROP_TARGET_SIZE:,}-patient drop to the published copy through the Dagster sensors "
            f"within {MAX_AUTOMATION_SECONDS:g} s",
            automation,
            MAX_AUTOMATION_SECONDS,
            "s",
            ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()) or "not run at this size",
        )
    )
    checks.append(
        _check(
            f"{DROP_TARGET_SIZE:,}-patient drop to the published copy through the CLI within {MAX_CLI_SECONDS:g} s",
            small.get(CLI),
            MAX_CLI_SECONDS,
            "s",
            f"analyses {sum(analysis_seconds(small).values()):.1f} s, "
            f"plots {small.get('plots') or 0:.1f} s drawn in turn (stages run)"
            if small
            else "not run at this size",
        )
    )
    big = sizes.get(str(BIG_SIZE))
    checks.append(
        _check(
            f"peak RSS of the pipeline within {MAX_RSS_MB} MB at {BIG_SIZE:,} patients",
            max((big["peak_rss_mb"][p] for p in PIPELINE_PROCESSES if big["peak_rss_mb"][p]), default=None)
            if big
            else None,
            MAX_RSS_MB,
            "MB",
            "the stages' and the Dagster run's processes" if big else "not run at this size",
        )
    )
    checks.append(
        _check(
            f"ingest to core within {MAX_INGEST_RATIO:g}x the DuckDB floor at {BIG_SIZE:,} patients",
            big["seconds"][INGEST_TOTAL] / big["seconds"][FLOOR] if big else None,
            MAX_INGEST_RATIO,
            "x",
            f"floor {big['seconds'][FLOOR]:.1f} s, ingest {big['seconds'][INGEST_TOTAL]:.1f} s"
            if big
            else "not run at this size",
        )
    )
    return checks


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
    for process in PROCESSES:
        lines.append(
            f"{f'peak RSS, {process} (MB)':<{width}}"
            + "".join(f" | {_megabytes(r['peak_rss_mb'][process]):>9} {'':>20}" for r in sizes.values())
        )
    return "\n".join(lines)


def ratio_lines(sizes: dict[str, dict]) -> str:
    """Per size: each analysis's time over R's for the same fits, and the whole catalogue's."""
    lines = []
    for size, result in sizes.items():
        ratios = r_ratios(result["seconds"])
        if ratios:
            lines.append(f"pipeline / R survival at {int(size):,} patients (fastest of each, alternating):")
            lines += [f"  {name:<28} {ratio:6.2f}x" for name, ratio in ratios.items()]
        if result.get("analyses_without_r"):
            empty = ", ".join(result["analyses_without_r"])
            lines.append(f"  no R side at {int(size):,} patients (empty frame, nothing fitted): {empty}")
    return "\n".join(lines) or "no R ratios (Rscript with survival and jsonlite not found)"


def target_lines(checks: list[dict[str, object]]) -> str:
    def amount(value: object, unit: str) -> str:
        return "not measured" if value is None else f"{value}{unit}" if unit == "x" else f"{value} {unit}"

    return "\n".join(
        f"{'PASS' if c['passed'] else 'MISS'}  {c['target']}: {amount(c['measured'], c['unit'])} "
        f"(limit {amount(c['limit'], c['unit'])}; {c['reason']})"
        for c in checks
    )
