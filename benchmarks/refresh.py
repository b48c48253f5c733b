"""Child process: the drops to the published copy through the CLI, exactly as ``gist-registry run`` does it; JSON.

    python -m benchmarks.refresh COHORT_DIR WORK_DIR OUT_JSON

Timed from the CLI entry point, so Dagster's definitions loading and run overhead are included
(the CLI runs ingest and the refresh through Dagster in its own process, without the sensors).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

from benchmarks.environment import peak_rss_mb, use_cohort


def measure(cohort: Path, work: Path) -> dict[str, object]:
    use_cohort(cohort, work)
    from pipelines.cli import main

    started = time.perf_counter()
    with (work / "refresh.log").open("w") as log, contextlib.redirect_stdout(log):
        code = main(["run"])
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"gist-registry run failed (exit {code}); see {work / 'refresh.log'}")
    return {"seconds": {"drop to published (CLI)": seconds}, "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    cohort_dir, work_dir, out = map(Path, sys.argv[1:4])
    out.write_text(json.dumps(measure(cohort_dir, work_dir), indent=2), encoding="utf-8")
