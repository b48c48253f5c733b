"""The reference each analysis is timed against: R's survival doing the same fits on the same rows, in the same run.

Per endpoint, every fit the catalogue entry makes that R ``survival`` makes too: Kaplan-Meier per
group and the log-rank test (``survfit``, ``survdiff``); the Cox models of the groups, univariable
and multivariable, with the robust variance clustered like the pipeline's and the PH test
(``coxph`` Efron, ``cox.zph`` km); for an entry with an exposure the naive, landmark and
time-varying models (each of :func:`pipelines.stats.timevarying.time_varying_models`), unadjusted and
adjusted, each with its PH test; the cause-specific Cox models of every cause; and the IPTW
weighted Cox of each IPTW comparison (the pipeline's own weights, robust variance).
Left out, so counted against the pipeline only: the Fine-Gray models and Gray's test (``cmprsk``),
RMST, Table 1, the propensity models, balance and positivity tables, the weighted curves, suppression
and the results writes.

The rows of each fit (complete cases, landmark subsets, counting-process rows, the design matrix
coded as the pipeline codes it) are built in Python beforehand and written as CSV, untimed;
``benchmarks/r/fits.R`` times only the fits (reading the CSV and R's start-up are left out).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.analyses import analysis_iptw
from pipelines.catalogue import Analysis
from pipelines.stats import EVENT, GROUP, TIME
from pipelines.stats.competing import CAUSE
from pipelines.stats.cox import encode_covariates
from pipelines.stats.timevarying import (
    counting_process_frame,
    ever_exposed_frame,
    landmark_frame,
    time_varying_models,
)

FITS_R = Path(__file__).resolve().parent / "r" / "fits.R"


@dataclass(frozen=True)
class Fit:
    """One R fit: its rows (``start`` if counting process, ``stop``, ``event``, then ``cluster``, ``weight``, the terms)."""

    kind: str  # "cox" or "km" (survfit per group + survdiff on stop, event, group)
    rows: pd.DataFrame
    ph_test: bool = False

    def job(self, csv: Path) -> dict[str, object]:
        columns = set(self.rows.columns)
        return {
            "kind": self.kind,
            "csv": str(csv),
            "entry": "start" in columns,
            "cluster": "cluster" in columns,
            "weights": "weight" in columns,
            "ph_test": self.ph_test,
        }


def rscript() -> str | None:
    """Rscript when R with survival and jsonlite is installed, else None (the benchmark then prints no R ratios)."""
    found = shutil.which("Rscript")
    if not found:
        return None
    probe = subprocess.run(
        [found, "-e", "library(survival); library(jsonlite)"], capture_output=True, text=True, check=False
    )
    return found if probe.returncode == 0 else None


def _terms(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The pipeline's coding of the columns; a constant column is dropped (the pipeline would not fit it)."""
    design, _ = encode_covariates(data, columns)
    design = design.loc[:, design.std() > 0]
    return design.set_axis([f"x{i}" for i in range(design.shape[1])], axis=1)


def _cox(data: pd.DataFrame, columns: Sequence[str], *, cluster: str | None = None, ph_test: bool = True) -> Fit | None:
    data = data.dropna(subset=[TIME, EVENT, *columns])
    if data[EVENT].sum() == 0 or data[GROUP].nunique() < 2:  # the pipeline reports these without a fit
        return None
    rows = pd.DataFrame({"stop": data[TIME].to_numpy(float), "event": data[EVENT].to_numpy(int)})
    if cluster:
        rows["cluster"] = pd.factorize(data[cluster])[0]
    return Fit("cox", pd.concat([rows, _terms(data, columns).reset_index(drop=True)], axis=1), ph_test)


def _time_varying(cohort: pd.DataFrame, switches: list, covariates: Sequence[str]) -> Fit:
    columns = {name: column for switch in switches for name, column in switch.columns.items()}
    counting = counting_process_frame(cohort.dropna(subset=list(covariates)), exposure=columns, covariates=covariates)
    design = pd.concat([counting[list(columns)].astype(float), _terms(counting, covariates)], axis=1)
    rows = counting[["start", "stop", "event"]].astype({"start": float, "stop": float, "event": int})
    design = design.set_axis([f"x{i}" for i in range(design.shape[1])], axis=1)
    return Fit("cox", pd.concat([rows, design], axis=1), ph_test=True)


def _iptw(frame: pd.DataFrame, analysis: Analysis) -> list[Fit]:
    """The weighted Cox of each IPTW comparison, on the complete cases and with the weights the pipeline used."""
    fits = []
    for design, result in analysis_iptw(frame, analysis) if analysis.adjust else []:
        if result.cox["status"].iloc[0] != "ok":
            continue
        complete = design.frame.loc[result.weights.index]
        cluster = pd.factorize(complete[analysis.cluster])[0] if analysis.cluster else np.arange(len(complete))
        rows = pd.DataFrame(
            {
                "stop": complete[TIME].to_numpy(float),
                "event": complete[EVENT].to_numpy(int),
                "cluster": cluster,
                "weight": result.weights.to_numpy(),
                "x0": (complete[GROUP] == design.treatment_group).to_numpy(float),
            }
        )
        fits.append(Fit("cox", rows))
    return fits


def reference_fits(frame: pd.DataFrame, analysis: Analysis, endpoint: str) -> list[Fit]:
    """Every fit R makes for this endpoint's frame (module docstring), as rows ready for R; none for an empty
    frame (a catalogue entry no site feeds, as ``os_by_sample_type`` on the generated cohorts: nothing is fitted)."""
    if frame.empty:
        return []
    km = Fit("km", pd.DataFrame({"stop": frame[TIME], "event": frame[EVENT], "group": frame[GROUP].astype(str)}))
    covariate_sets = [[], list(analysis.covariates)] if analysis.covariates else [[]]
    fits = [km, *(_cox(frame, [GROUP, *c], cluster=analysis.cluster) for c in covariate_sets)]
    if analysis.exposure:
        cohort = frame[frame[GROUP].isin(analysis.groups)]
        switches = time_varying_models(
            analysis.exposure,
            analysis.exposure_split,
            (analysis.time_varying_covariates or {}).get(endpoint, ()),
        )
        for covariates in covariate_sets:
            naive = ever_exposed_frame(cohort, exposure=analysis.exposure)
            landmarks = [
                landmark_frame(cohort, exposure=analysis.exposure, landmark=at) for at in analysis.exposure_landmarks
            ]
            fits += [_cox(data, [GROUP, *covariates]) for data in [naive, *landmarks]]
            fits += [_time_varying(cohort, models, covariates) for models in switches.values()]
    if CAUSE in frame:
        for k in sorted(int(c) for c in frame[CAUSE].unique() if c > 0):
            own = frame.assign(**{EVENT: (frame[CAUSE] == k).astype(int)})
            fits += [_cox(own, [GROUP, *c], cluster=analysis.cluster, ph_test=False) for c in covariate_sets]
    return [fit for fit in [*fits, *_iptw(frame, analysis)] if fit is not None]


def write_jobs(fits: Sequence[Fit], folder: Path) -> Path:
    """Each fit's rows as CSV and the job list R reads (``folder/jobs.json``); returns the job list's path."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i, fit in enumerate(fits):
        csv = folder / f"fit_{i}.csv"
        fit.rows.to_csv(csv, index=False, float_format="%.17g")
        jobs.append(fit.job(csv))
    path = folder / "jobs.json"
    path.write_text(json.dumps(jobs), encoding="utf-8")
    return path


def r_seconds(r: str, jobs: Path) -> float:
    """R's time for every job of the list, once (measured inside R: ``system.time`` around each fit)."""
    out = jobs.with_name("r.json")
    done = subprocess.run([r, str(FITS_R), str(jobs), str(out)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Rscript {FITS_R} {jobs} failed:\n{done.stderr[-3000:]}")
    return float(sum(job["seconds"] for job in json.loads(out.read_text(encoding="utf-8"))))
