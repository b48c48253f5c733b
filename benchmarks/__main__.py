"""Generate cohorts at the given sizes, time every stage beside R, the CLI and the Dagster sensors; print and save.

python3 -m uv run --frozen python -m benchmarks --sizes 10000 100000 1000000 --out benchmarks/results/latest.json

Per size: the stages (``benchmarks.stages``: floor, ingest, frames, each analysis alternating with R
survival doing the same fits, views, report, publishing), the drops to the published copy through the
CLI (``benchmarks.refresh``) and through the Dagster sensors (``benchmarks.automation``, up to
``--automation-up-to``); then the R ratios and issue 21's targets, each PASS or MISS with its reason.
``--quick`` (the test suite's smoke run) times one pipeline/R pair per analysis.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.report import (
    DROP_TARGET_SIZE,
    machine,
    pipeline_peak_mb,
    ratio_lines,
    table,
    target_lines,
    targets,
    with_totals,
)

ROOT = Path(__file__).resolve().parent.parent


def _child(module: str, *args: object) -> None:
    """Run one step in a fresh interpreter (so its peak RSS is its own), failing loudly."""
    done = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"python -m {module} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def _timed_child(module: str, cohort: Path, work: Path) -> dict:
    """A child that takes COHORT WORK OUT_JSON, in a fresh work folder; its JSON."""
    work.mkdir(parents=True)
    _child(module, cohort, work, work / "result.json")
    return json.loads((work / "result.json").read_text())


def run_size(
    patients: int,
    sites: int,
    seed: int,
    invalid_fraction: float,
    scratch: Path,
    *,
    catalogue: bool,
    refresh: bool,
    automation: bool,
    repeats: int,
) -> dict[str, object]:
    cohort, work = scratch / f"{patients}_cohort", scratch / f"{patients}_stages"
    load_before = [round(x, 2) for x in os.getloadavg()]
    _child(
        "fixtures",
        "cohort",
        "--patients",
        patients,
        "--sites",
        sites,
        "--seed",
        seed,
        "--out",
        cohort,
        "--invalid-fraction",
        invalid_fraction,
    )
    rows = sum(
        t["rows"]
        for s in json.loads((cohort / "TRUTH.json").read_text())["sites"].values()
        for t in s["tables"].values()
    )
    work.mkdir(parents=True)
    _child(
        "benchmarks.stages",
        cohort,
        work,
        work / "result.json",
        "--repeats",
        repeats,
        *([] if catalogue else ["--ingest-only"]),
    )
    stages = json.loads((work / "result.json").read_text())
    not_run = {"seconds": {}, "peak_rss_mb": None}  # n/a in the table
    timed_refresh = _timed_child("benchmarks.refresh", cohort, scratch / f"{patients}_cli") if refresh else not_run
    sensors = _timed_child("benchmarks.automation", cohort, scratch / f"{patients}_sensors") if automation else not_run
    return {
        "load_average_before_after": [load_before, [round(x, 2) for x in os.getloadavg()]],
        "patients": patients,
        "sites": sites,
        "rows": rows,
        "seconds": with_totals(stages["seconds"]) | timed_refresh["seconds"] | sensors["seconds"],
        "peak_rss_mb": {
            "pipeline": pipeline_peak_mb(stages["peak_rss_mb_by_stage"]),
            "stages process": stages["peak_rss_mb"],
            "dagster": max((mb for mb in (timed_refresh["peak_rss_mb"], sensors["peak_rss_mb"]) if mb), default=None),
        },
        "peak_rss_mb_by_stage": stages["peak_rss_mb_by_stage"],
        "analysis_repeats": stages.get("analysis_repeats", {}),
        "analyses_without_r": stages.get("analyses_without_r", []),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="patients per cohort"
    )
    parser.add_argument(
        "--sites",
        type=int,
        default=4,
        help="sites (cycling through the six dialects; the fifth and sixth send times and samples only)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid-fraction", type=float, default=0.01)
    parser.add_argument(
        "--catalogue-up-to",
        type=int,
        default=None,
        metavar="PATIENTS",
        help="above this size time ingest and analysis frames only, no analyses and no Dagster refresh "
        "(the catalogue at 1M takes over an hour); default: everything at every size",
    )
    parser.add_argument(
        "--refresh-up-to",
        type=int,
        default=None,
        metavar="PATIENTS",
        help="above this size skip the drops through the CLI (it repeats every stage: about 40 minutes at 1M)",
    )
    parser.add_argument(
        "--automation-up-to",
        type=int,
        default=DROP_TARGET_SIZE,
        metavar="PATIENTS",
        help=f"above this size skip the drops through the Dagster sensors (default {DROP_TARGET_SIZE:,}: the target's size)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one pipeline/R pair per analysis (the test suite's smoke run)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args(argv)
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="gist-bench-") as scratch:
        for patients in args.sizes:
            print(f"running {patients:,} patients ...", file=sys.stderr, flush=True)
            catalogue = args.catalogue_up_to is None or patients <= args.catalogue_up_to
            refresh = catalogue and (args.refresh_up_to is None or patients <= args.refresh_up_to)
            automation = catalogue and patients <= args.automation_up_to
            sizes[str(patients)] = run_size(
                patients,
                args.sites,
                args.seed,
                args.invalid_fraction,
                Path(scratch),
                catalogue=catalogue,
                refresh=refresh,
                automation=automation,
                repeats=1 if args.quick else 3,
            )
    checks = targets(sizes)
    document = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "sites": args.sites,
            "seed": args.seed,
            "invalid_fraction": args.invalid_fraction,
            "catalogue_up_to": args.catalogue_up_to,
            "refresh_up_to": args.refresh_up_to,
            "automation_up_to": args.automation_up_to,
            "quick": args.quick,
        },
        "sizes": sizes,
        "targets": checks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(table(sizes), ratio_lines(sizes), target_lines(checks), f"written to {args.out}", sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
