"""Where a benchmark run reads its cohort and writes its registry (the pipeline's own env variables)."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path


def use_cohort(cohort: Path, work: Path) -> None:
    """Point the pipeline settings at a generated cohort and a private work folder."""
    cutoff = json.loads((cohort / "TRUTH.json").read_text(encoding="utf-8"))["cutoff"]
    os.environ.update({
        "GIST_DROP_DIR": str(cohort / "drops"), "GIST_PROFILES_DIR": str(cohort / "profiles"),
        "GIST_DUCKDB_PATH": str(work / "registry.duckdb"), "GIST_ARCHIVE_DIR": str(work / "archive"),
        "GIST_OUTPUT_DIR": str(work / "outputs"), "GIST_PUBLISH_DIR": str(work / "published"), "GIST_DATA_CUTOFF": cutoff,
        "GIST_PSEUDONYM_KEY": "benchmark-key-not-secret",
    })


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
