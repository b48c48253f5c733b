"""Case weights in the Cox engine: R ``coxph(..., weights = w)`` live, and integer weights as replicated rows.

The hand-written frame has many tied times (Efron's weighted sub-steps), delayed entry for some rows,
non-integer weights between 0.2 and 5 and clusters of unequal size: a shape the fixture generator
never produces.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.counting_cox import fit_counting_process_cox
from tests.stats import oracle

R_WEIGHTED_COX = """
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)
fits <- list(
  right = coxph(Surv(stop, event) ~ x1 + x2, data = d, weights = w, cluster = id, control = ctl),
  counting = coxph(Surv(start, stop, event) ~ x1 + x2, data = d, weights = w, cluster = seq_len(nrow(d)),
                   control = ctl))
out <- lapply(fits, function(f) list(coef = unname(coef(f)), naive = unname(c(f$naive.var)), robust = unname(c(f$var)),
                                     rscore = f$rscore))
writeLines(toJSON(out, digits = I(17)), args[2])
"""


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({"start": np.where(rng.random(n) < 0.3, rng.integers(0, 3, n), 0).astype(float)})
    frame["stop"] = frame["start"] + rng.integers(1, 8, n)  # integer times: many ties
    frame["event"] = (rng.random(n) < 0.6).astype(int)
    frame["x1"] = rng.integers(0, 2, n).astype(float)
    frame["x2"] = rng.normal(size=n).round(2)
    frame["w"] = rng.uniform(0.2, 5, n).round(3)
    frame["id"] = rng.integers(0, 40, n)
    return frame


def _ours(frame: pd.DataFrame, kind: str):
    start, cluster = (None, frame["id"]) if kind == "right" else (frame["start"], pd.Series(range(len(frame))))
    return fit_counting_process_cox(frame[["x1", "x2"]], start, frame["stop"], frame["event"], cluster, frame["w"])


@pytest.mark.slow
def test_weighted_cox_equals_r(tmp_path: Path) -> None:
    """Coefficients, model-based and robust variance, robust score test: R's to 1e-6 (right-censored and (start, stop])."""
    rscript = oracle.rscript()
    frame = _frame()
    frame.to_csv(tmp_path / "frame.csv", index=False)
    (tmp_path / "fit.R").write_text(R_WEIGHTED_COX)
    subprocess.run(
        [rscript, tmp_path / "fit.R", tmp_path / "frame.csv", tmp_path / "out.json"], check=True, capture_output=True
    )
    theirs = json.loads((tmp_path / "out.json").read_text())
    for kind in ("right", "counting"):
        ours, r = _ours(frame, kind), theirs[kind]
        np.testing.assert_allclose(ours.params_, r["coef"], rtol=1e-6, err_msg=kind)
        np.testing.assert_allclose(ours.naive_variance_.to_numpy().ravel("F"), r["naive"], rtol=1e-6, err_msg=kind)
        np.testing.assert_allclose(ours.variance_matrix_.to_numpy().ravel("F"), r["robust"], rtol=1e-6, err_msg=kind)
        assert ours.robust_score_test == pytest.approx(r["rscore"][0], rel=1e-6), kind


def test_integer_weights_are_replicated_rows() -> None:
    """A censored row of weight k is that row k times (coefficients, model-based variance): known truth without R.

    Only censored rows: Efron's method gives an event of weight 2 one sub-step of weight 2, two copies
    two tied events (sub-steps at 1 and 1/2 of their risk), as in R.
    """
    frame = _frame().assign(w=lambda d: np.where(d["event"] == 1, 1, d.index % 3 + 1).astype(float))
    replicated = frame.loc[frame.index.repeat(frame["w"].astype(int))]
    weighted = fit_counting_process_cox(
        frame[["x1", "x2"]], frame["start"], frame["stop"], frame["event"], None, frame["w"]
    )
    copies = fit_counting_process_cox(
        replicated[["x1", "x2"]], replicated["start"], replicated["stop"], replicated["event"]
    )
    np.testing.assert_allclose(weighted.params_, copies.params_, rtol=1e-10)
    np.testing.assert_allclose(weighted.naive_variance_, copies.naive_variance_, rtol=1e-10)


def test_unit_weights_change_nothing() -> None:
    frame = _frame()
    plain = _ours(frame.assign(w=1.0), "right")
    unweighted = fit_counting_process_cox(frame[["x1", "x2"]], None, frame["stop"], frame["event"], frame["id"])
    np.testing.assert_allclose(plain.params_, unweighted.params_, rtol=1e-12)
    np.testing.assert_allclose(plain.variance_matrix_, unweighted.variance_matrix_, rtol=1e-12)


def test_weights_must_be_positive() -> None:
    frame = _frame().assign(w=lambda d: d["w"].where(d.index != 5, 0.0))
    with pytest.raises(ValueError, match="positive"):
        _ours(frame, "right")
