"""What every live comparison with R shares: finding Rscript, running an R script on jobs, walking the catalogue's
frames as the pipeline reads them, and counting numbers that differ.

Without ``Rscript`` a comparison is skipped, loudly; with ``GIST_REQUIRE_R=1`` (set by ``.ci/run``) a missing R
fails instead.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.analyses import endpoint_frame
from pipelines.catalogue import Analysis, load_catalogue

R_SCRIPTS = Path(__file__).resolve().parent.parent / "r"
REL, ABS = 1e-6, 1e-12  # against R's defaults (coxph eps = 1e-9 stops up to ~1e-7 short of the maximum)
TIGHT = 1e-9  # against R's coxph iterated to the maximum (eps = 1e-14)


def rscript() -> str:
    found = shutil.which("Rscript")
    if found:
        return found
    message = (
        "Rscript NOT FOUND: the live comparison with R's survival package did NOT run. Install "
        "r-base-core r-cran-survival r-cran-cmprsk r-cran-jsonlite (as .ci/run does) to run it."
    )
    if os.environ.get("GIST_REQUIRE_R"):
        pytest.fail(message)
    pytest.skip(message)


def run_r(script: Path, folder: Path, jobs: list[dict], timeout: int = 900) -> list[dict]:
    """R's answers to ``jobs`` (written to ``folder/jobs.json``): ``script jobs.json r.json``, read back."""
    (folder / "jobs.json").write_text(json.dumps(jobs))
    run = subprocess.run(
        [rscript(), str(script), str(folder / "jobs.json"), str(folder / "r.json")],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr
    return json.loads((folder / "r.json").read_text())


def catalogue_frames(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[Analysis, str, str, pd.DataFrame]]:
    """(analysis, endpoint, key ``<id>/<endpoint>``, frame) for every catalogue analysis and endpoint."""
    for analysis in load_catalogue():
        for endpoint in analysis.endpoints:
            yield analysis, endpoint, f"{analysis.id}/{endpoint}", endpoint_frame(con, analysis, endpoint)


def listify(value: object) -> list:
    """A JSON value R wrote as a scalar when its vector had one element, as a list."""
    return value if isinstance(value, list) else [value]


class Mismatches:
    """Numbers compared with R: counts exactly, the rest to ``rel`` (``ABS`` near 0), the worst difference per kind."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.compared = 0
        self.worst: dict[str, float] = {}  # per table (and model kind): the largest relative difference seen

    def number(
        self, where: str, ours: object, theirs: object, *, exact: bool = False, rel: float = REL, absolute: float = ABS
    ) -> None:
        self.compared += 1
        a = np.nan if ours is None or ours is pd.NA else float(ours)
        b = np.nan if theirs is None else float(theirs)
        if math.isnan(a) or math.isnan(b) or math.isinf(b):
            if not ((math.isnan(a) and (math.isnan(b) or math.isinf(b))) or (math.isinf(b) and math.isinf(a))):
                self.problems.append(f"{where}: ours {a!r}, R {b!r}")
            return
        category = " ".join(w for w in where.split(" ")[1:3] if not w[0].isdigit()) + (
            " (tight)" if where.endswith("(tight)") else ""
        )
        category = re.sub(
            r"(landmark)_[0-9.]+", r"\1", category.split(" ")[0] if category.startswith("km") else category
        )
        difference = abs(a - b) / max(abs(b), 1e-300) if abs(a - b) > ABS else 0.0
        self.worst[category] = max(self.worst.get(category, 0.0), difference)
        if exact and a != b or not exact and abs(a - b) > max(rel * abs(b), absolute):
            self.problems.append(f"{where}: ours {a!r}, R {b!r} (rel {abs(a - b) / max(abs(b), 1e-300):.2e})")

    def assert_none(self, what: str, minimum: int) -> None:
        """Print the worst difference per kind; fail listing the differing numbers, or if fewer than ``minimum``."""
        print(f"compared {self.compared} {what} with R; largest relative differences:")
        for category, worst in sorted(self.worst.items()):
            print(f"  {category:40s} {worst:.1e}")
        assert not self.problems, f"{len(self.problems)} of {self.compared} {what} differ from R:\n" + "\n".join(
            self.problems[:60]
        )
        assert self.compared > minimum, f"only {self.compared} {what} compared"
