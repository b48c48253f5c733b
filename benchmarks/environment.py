"""Where a benchmark run reads its cohort and writes its registry (the pipeline's own env variables)."""

from __future__ import annotations

import json
import os
import resource
import threading
from pathlib import Path

_STATM = Path("/proc/self/statm")


def use_cohort(cohort: Path, work: Path) -> None:
    """Point the pipeline settings at a generated cohort and a private work folder."""
    cutoff = json.loads((cohort / "TRUTH.json").read_text(encoding="utf-8"))["cutoff"]
    os.environ.update(
        {
            "GIST_DROP_DIR": str(cohort / "drops"),
            "GIST_PROFILES_DIR": str(cohort / "profiles"),
            "GIST_DUCKDB_PATH": str(work / "registry.duckdb"),
            "GIST_ARCHIVE_DIR": str(work / "archive"),
            "GIST_OUTPUT_DIR": str(work / "outputs"),
            "GIST_PUBLISH_DIR": str(work / "published"),
            "GIST_DATA_CUTOFF": cutoff,
            "GIST_PSEUDONYM_KEY": "benchmark-key-not-secret-0123456789abcdef",
        }
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Resident memory sampled every few milliseconds in a daemon thread, so each stage gets its own peak.

    ``ru_maxrss`` only ever grows, so after a large stage every later one would show its peak;
    the sampler reports the highest resident size seen since the last :meth:`take_peak`.
    Where ``/proc`` is missing (not Linux) it falls back to the process high-water mark.
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        self._peak = 0.0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def _resident_mb(self) -> float:
        return int(_STATM.read_text().split()[1]) * self._page_mb if _STATM.exists() else peak_rss_mb()

    def _run(self, interval_s: float) -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            current = self._resident_mb()
            with self._lock:
                self._peak = max(self._peak, current)

    def take_peak(self) -> float:
        """The highest resident size (MB) since the previous call (or the start), then start afresh."""
        current = self._resident_mb()
        with self._lock:
            peak, self._peak = max(self._peak, current), current
        return peak
