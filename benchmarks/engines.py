"""Which Cox engine: each candidate and R on the catalogue's own frames, timed side by side and compared with R.

    python -m benchmarks.engines COHORT_DIR WORK_DIR [--repeats N]

On one generated cohort (ingested and framed as the pipeline does), one fit of each kind the catalogue
makes, on the rows and design :mod:`benchmarks.reference` gives R: fixed covariates with the PH test
(``mutation`` PFS, multivariable), clustered robust variance with the PH test (``surgery_on_tki`` PFS),
counting process with the PH test (``surgery_after_imatinib`` PFS, time-varying, adjusted) and IPTW
weights with robust variance (``surgery_on_tki`` PFS).  Engines: the pipeline's kernel
(:mod:`pipelines.stats.counting_cox`), lifelines ``CoxPHFitter(batch_mode=True)``, statsmodels ``PHReg``
and, when importable (``uv run --with survival==2.0.0``), the PyPI ``survival`` package (a Rust port of
R's survival).  Prints, per fit, each engine's fastest of ``--repeats`` runs over R's, and its largest
relative difference from R in the coefficients, model-based SE, robust SE and PH statistics; docs/scaling.md
quotes the figures and the choice.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.environment import use_cohort
from benchmarks.reference import FITS_R, Fit, reference_fits, rscript, write_jobs
from benchmarks.stages import connected, load_sites, receive_sites
from pipelines.analyses import endpoint_frame
from pipelines.catalogue import load_catalogue
from pipelines.ingest.drops import site_ids
from pipelines.registry.ddl import create_registry
from pipelines.settings import load_settings
from pipelines.sql_models import define_settings, run_layer
from pipelines.stats.counting_cox import fit_counting_process_cox, ph_score_test

Numbers = dict[str, np.ndarray | None]  # coef, se (model-based), robust_se, zph (per term); None: not offered


def _terms(rows: pd.DataFrame) -> list[str]:
    return [c for c in rows.columns if c.startswith("x")]


def kernel(fit: Fit) -> Numbers:
    rows = fit.rows
    start = rows["start"] if "start" in rows else None
    cluster = rows["cluster"].astype(str) if "cluster" in rows else None
    fitted = fit_counting_process_cox(
        rows[_terms(rows)], start, rows["stop"], rows["event"], cluster, rows.get("weight")
    )
    zph = ph_score_test(rows[_terms(rows)], fitted.params_, start, rows["stop"], rows["event"])[0]
    return {
        "coef": fitted.params_.to_numpy(),
        "se": np.sqrt(np.diag(fitted.naive_variance_)),
        "robust_se": np.sqrt(np.diag(fitted.variance_matrix_)) if cluster is not None else None,
        "zph": zph if fit.ph_test else None,
    }


def survival_rs(fit: Fit) -> Numbers:
    """The PyPI ``survival`` package: R's formula interface on the same rows."""
    import survival

    rows = fit.rows
    response = "Surv(start, stop, event)" if "start" in rows else "Surv(stop, event)"
    options = {"cluster": rows["cluster"].to_numpy()} if "cluster" in rows else {}
    if "weight" in rows:
        options["weights"] = rows["weight"].to_numpy()
    fitted = survival.coxph(f"{response} ~ {' + '.join(_terms(rows))}", data=rows, ties="efron", **options)
    naive = fitted.naive_var if fitted.naive_var is not None else fitted.var
    zph = survival.cox_zph(fitted, transform="km").table if fit.ph_test else None
    return {
        "coef": np.asarray(fitted.coefficients),
        "se": np.sqrt(np.diag(np.asarray(naive))),
        "robust_se": np.sqrt(np.diag(np.asarray(fitted.var))) if "cluster" in rows else None,
        "zph": None if zph is None else np.array([row["chisq"] for row in zph if row["name"] != "GLOBAL"]),
    }


def lifelines_batch(fit: Fit) -> Numbers | None:
    """lifelines with its vectorised path forced; no counting-process rows (its time-varying fitter is quadratic)."""
    from lifelines import CoxPHFitter

    rows = fit.rows
    if "start" in rows:
        return None
    options: dict[str, object] = {"batch_mode": True}
    if "cluster" in rows:
        options["cluster_col"] = "cluster"
    if "weight" in rows:
        options |= {"weights_col": "weight", "robust": True}
    fitted = CoxPHFitter().fit(rows, "stop", "event", **options)
    robust = "cluster" in rows or "weight" in rows
    se = fitted.standard_errors_.to_numpy()
    return {"coef": fitted.params_.to_numpy(), "se": None if robust else se, "robust_se": se if robust else None}


def statsmodels_phreg(fit: Fit) -> Numbers | None:
    """statsmodels ``PHReg`` (Efron); it has no case weights of R's kind, so no IPTW fit."""
    from statsmodels.duration.hazard_regression import PHReg

    rows = fit.rows
    if "weight" in rows:
        return None
    model = PHReg(
        rows["stop"].to_numpy(),
        rows[_terms(rows)].to_numpy(float),
        status=rows["event"].to_numpy(),
        entry=rows["start"].to_numpy() if "start" in rows else None,
        ties="efron",
    )
    fitted = model.fit(**({"groups": rows["cluster"].to_numpy()} if "cluster" in rows else {}))
    robust = "cluster" in rows
    return {"coef": fitted.params, "se": None if robust else fitted.bse, "robust_se": fitted.bse if robust else None}


ENGINES: dict[str, Callable[[Fit], Numbers | None]] = {
    "pipeline kernel (counting_cox)": kernel,
    "lifelines 0.30 batch_mode": lifelines_batch,
    "statsmodels PHReg": statsmodels_phreg,
}
if importlib.util.find_spec("survival") is not None:
    ENGINES["survival 2.0.0 (Rust port of R)"] = survival_rs


def catalogue_fits(con) -> dict[str, Fit]:
    """One fit of each kind the catalogue makes, picked from :func:`reference_fits` of three analyses' PFS frames."""
    analyses = {a.id: a for a in load_catalogue()}

    def fits(analysis_id: str) -> list[Fit]:
        return reference_fits(endpoint_frame(con, analyses[analysis_id], "PFS"), analyses[analysis_id], "PFS")

    mutation, on_tki, after = fits("mutation"), fits("surgery_on_tki"), fits("surgery_after_imatinib")
    counting = [f for f in after if "start" in f.rows and f.rows.shape[1] > 5]  # time-varying, adjusted
    return {
        "fixed covariates + PH test (mutation PFS, multivariable)": mutation[2],
        "clustered robust variance + PH test (surgery_on_tki PFS, multivariable)": on_tki[2],
        "counting process + PH test (surgery_after_imatinib PFS, time-varying adjusted)": counting[0],
        "IPTW weights, robust variance (surgery_on_tki PFS)": next(f for f in on_tki if "weight" in f.rows),
    }


def _largest_difference(ours: np.ndarray | None, theirs: object) -> float | None:
    if ours is None or theirs is None:
        return None
    a, b = np.atleast_1d(np.asarray(ours, float)), np.atleast_1d(np.asarray(theirs, float))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def fastest(run: Callable[[], Numbers | None], repeats: int) -> tuple[float, Numbers | None]:
    seconds, numbers = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        numbers = run()
        seconds.append(time.perf_counter() - started)
    return min(seconds), numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cohort", type=Path, help="a generated cohort (python -m fixtures cohort)")
    parser.add_argument("work", type=Path, help="a folder for its registry and the CSVs R reads (created)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine and fit; the fastest is kept")
    args = parser.parse_args(argv)
    r = rscript()
    if r is None:
        raise SystemExit("needs Rscript with survival and jsonlite: the comparison is against R")
    args.work.mkdir(parents=True, exist_ok=True)
    use_cohort(args.cohort, args.work)
    settings = load_settings()
    sites = site_ids(settings.drop_dir)
    connected(settings, create_registry)
    receive_sites(settings, sites)
    load_sites(settings, sites)
    connected(
        settings,
        lambda con: (define_settings(con, settings.data_cutoff, settings.min_cell_count), run_layer(con, "core")),
    )
    connected(settings, lambda con: run_layer(con, "analysis"))
    fits = connected(settings, catalogue_fits)
    jobs_path = write_jobs(list(fits.values()), args.work / "engines")
    jobs = json.loads(jobs_path.read_text())
    for job in jobs:
        job["repeats"] = args.repeats
    jobs_path.write_text(json.dumps(jobs))
    subprocess.run([r, str(FITS_R), str(jobs_path), str(jobs_path.with_name("r.json"))], check=True)
    answers = json.loads(jobs_path.with_name("r.json").read_text())
    warnings.simplefilter("ignore")  # lifelines' and statsmodels' convergence chatter; the differences say enough
    for (name, fit), theirs in zip(fits.items(), answers, strict=True):
        print(f"\n{name}: {len(fit.rows):,} rows, {len(_terms(fit.rows))} terms; R {theirs['seconds']:.3f} s")
        for engine, run in ENGINES.items():
            seconds, ours = fastest(lambda run=run, fit=fit: run(fit), args.repeats)
            if ours is None:
                print(f"  {engine:34} n/a")
                continue
            differences = {
                k: _largest_difference(ours.get(k), theirs.get(k)) for k in ("coef", "se", "robust_se", "zph")
            }
            shown = "  ".join(f"{k} {v:.1e}" for k, v in differences.items() if v is not None)
            print(f"  {engine:34} {seconds:8.3f} s {seconds / theirs['seconds']:6.2f}x R   differences from R: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
