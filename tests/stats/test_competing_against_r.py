"""R as a live oracle of the competing-risk tables: cmprsk's ``cuminc`` (estimate, variance, Gray's test) and ``crr``.

Every analysis frame of the sample drops (each endpoint, with its ``cause`` column, read by
``pipelines.analyses.endpoint_frame`` as the pipeline reads it) and a hand-written frame are
written as CSV with each model described by its terms; ``tests/r/competing.R`` recomputes
``cuminc`` per group and cause (curve and landmarks), its ``Tests``, ``crr``'s estimating equations per cause
evaluated at the pipeline's coefficients (the Newton step they imply below 1e-8 relative, SE and p to 1e-9) and the cause-specific ``coxph`` (iterated to the maximum, to 1e-8).
The Fine-Gray SE of a clustered analysis (the pipeline's per-cluster sandwich) has no R counterpart:
there only the coefficients are compared.  Skipped without Rscript, failing with ``GIST_REQUIRE_R=1``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.analyses import analyse_catalogue_endpoint
from pipelines.stats import analyse_endpoint
from pipelines.stats.competing import CAUSE_LABELS
from tests.stats.oracle import R_SCRIPTS, TIGHT, Mismatches, catalogue_frames, listify, rscript, run_r
from tests.stats.test_against_r import _level

pytestmark = pytest.mark.slow  # the live R oracle: the full tier (pytest --full), as tests/stats/test_against_r.py
ORACLE = R_SCRIPTS / "competing.R"
COXPH = 1e-8  # R coxph iterated to eps = 1e-14 lands within ~5e-11 of the maximum: 1.9e-9 relative on a coef of 0.024
STEP = 1e-8  # the Newton step crr's equations imply at our estimate, relative to it: ours is their root


def _specs(table: pd.DataFrame, covariates: list[str]) -> list[dict]:
    specs = []
    for (cause, model), rows in table.groupby(["cause", "model"], sort=False):
        ok = rows[rows["status"] == "ok"]
        if ok.empty:
            continue
        dropped = [r.level for r in rows.itertuples() if str(r.status).startswith("not_estimable: group '")]
        specs.append(
            {
                "model": model,
                "cause": int(cause),
                "covariates": covariates if model.endswith("_multivariable") else [],
                "drop_groups": dropped,
                "terms": [{"name": r.term, "variable": r.variable, "level": _level(r.level)} for r in ok.itertuples()],
                "init": ok["coef"].tolist(),
            }
        )
    return specs


def _job(key: str, frame: pd.DataFrame, folder: Path, groups: list[str], covariates: list[str], options: dict) -> dict:
    csv = folder / f"{key.replace('/', '_')}.csv"
    frame.to_csv(csv, index=False)
    numeric = [
        c
        for c in frame.columns
        if c in ("time_months", "cause")
        or (c in covariates and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]))
    ]
    return {"key": key, "csv": str(csv), "groups": groups, "numeric": numeric, **options}


def _compare(check: Mismatches, key: str, r: dict, results, cluster: str | None) -> None:
    cif = results.cumulative_incidence
    curves = {c["name"]: c for c in listify(r["incidence"]["curves"])}
    for (group, cause), rows in cif.groupby(["group", "cause"], sort=False):
        theirs = curves.get(f"{group} {cause}")
        if theirs is None:  # a labelled cause that never occurs in the frame: R has no curve, ours is 0
            assert (rows["cumulative_incidence"].fillna(0) == 0).all(), f"{key} {group} {cause}"
            continue
        where = f"{key} cif {group} cause_{cause}"
        curve = rows[(rows["kind"] == "curve") & (rows["time"] > 0)].reset_index(drop=True)
        times = [t for t in listify(theirs["time"]) if t > 0]
        if len(times) != len(curve) or not np.allclose(curve["time"], times, rtol=1e-14, atol=0):
            check.problems.append(f"{where}: event times differ ({len(curve)} vs {len(times)})")
            continue
        offset = len(listify(theirs["time"])) - len(times)
        for i, row in curve.iterrows():
            check.number(f"{where} {row.time:g} estimate", row.cumulative_incidence, listify(theirs["est"])[offset + i])
            check.number(f"{where} {row.time:g} variance", row.variance, listify(theirs["var"])[offset + i])
        marks = rows[rows["kind"] == "landmark"].reset_index(drop=True)
        for i, row in marks.iterrows():
            check.number(f"{where} landmark {row.time:g}", row.cumulative_incidence, listify(theirs["landmark_est"])[i])
            check.number(f"{where} landmark {row.time:g} var", row.variance, listify(theirs["landmark_var"])[i])
    gray, theirs = results.gray_test, r["incidence"]["gray"]
    tested = gray[gray["status"] == "ok"]
    if theirs is None:
        assert tested.empty, key
    for row in tested.itertuples():
        i = [int(c) for c in listify(theirs["cause"])].index(row.cause)
        check.number(f"{key} gray cause_{row.cause} statistic", row.statistic, listify(theirs["stat"])[i])
        check.number(f"{key} gray cause_{row.cause} p", row.p, listify(theirs["p"])[i])
        check.number(f"{key} gray cause_{row.cause} df", row.df, listify(theirs["df"])[i], exact=True)
    fits = {(m["cause"], m["model"]): m for m in r["models"]}
    table = results.competing_cox
    for (cause, model), rows in table.groupby(["cause", "model"], sort=False):
        ok = rows[rows["status"] == "ok"]
        if ok.empty:
            continue
        fit = fits[(int(cause), model)]
        where = f"{key} {model} cause_{cause}"
        assert "error" not in fit, f"{where}: R failed: {fit.get('error')}"
        check.number(f"{where} n", ok["n"].iloc[0], fit["n"], exact=True)
        check.number(f"{where} events", ok["events"].iloc[0], fit["events"], exact=True)
        if model.startswith("fine_gray"):
            _compare_fine_gray(check, where, ok, fit, clustered=cluster is not None)
            continue
        for i, row in enumerate(ok.itertuples()):
            for name in ("coef", "se", "p"):
                check.number(
                    f"{where} {row.term} {name} (tight)", getattr(row, name), listify(fit["tight"][name])[i], rel=COXPH
                )


def _compare_fine_gray(check: Mismatches, where: str, ok: pd.DataFrame, fit: dict, *, clustered: bool) -> None:
    """Ours against crr's equations at our estimate: the Newton step crr would take is nil, SE and p are crr's there.

    crr's own Newton iteration stops short on several sample frames (a score of ~1e-5 left, ``converged`` FALSE), so
    its coefficients are compared only where it converged.  The clustered SE (our per-cluster sandwich) has no crr
    counterpart.
    """
    at = fit["at_ours"]
    for i, row in enumerate(ok.itertuples()):
        check.number(f"{where} {row.term} crr step at ours", row.coef + listify(at["step"])[i], row.coef, rel=STEP)
        if fit["crr"]["converged"]:
            check.number(f"{where} {row.term} coef (crr converged)", row.coef, listify(fit["crr"]["coef"])[i], rel=STEP)
        if not clustered:
            for name in ("se", "p"):
                check.number(
                    f"{where} {row.term} {name} (at ours)", getattr(row, name), listify(at[name])[i], rel=TIGHT
                )


def _run(folder: Path, jobs: list[dict], expected: dict, minimum: int) -> None:
    check = Mismatches()
    for r in run_r(ORACLE, folder, jobs):
        results, cluster = expected[r["key"]]
        _compare(check, r["key"], r, results, cluster)
    check.assert_none("competing-risk numbers", minimum)


def hand_written_frame() -> pd.DataFrame:
    """A frame the generator never produces: heavy ties across causes and censoring, cause 3, a covariate gap.

    Group "c" has no cause-2 event; at time 4 causes 1 and 2 and a censoring tie; at time 9 all three causes.
    """
    rows = [
        # time, cause, group, age
        (1.0, 1, "a", 60), (2.0, 2, "a", 71), (4.0, 1, "a", 55), (4.0, 2, "a", 66), (4.0, 0, "a", 49),
        (5.0, 1, "a", 80), (6.5, 0, "a", 62), (9.0, 1, "a", 58), (9.0, 2, "a", 77), (9.0, 3, "a", 69),
        (12.0, 0, "a", 51), (15.0, 1, "a", None), (20.0, 0, "a", 64),
        (0.5, 2, "b", 73), (3.0, 1, "b", 57), (4.0, 1, "b", 61), (4.0, 2, "b", 70), (4.0, 0, "b", 68),
        (7.0, 3, "b", 75), (8.0, 1, "b", 59), (9.0, 1, "b", 63), (9.0, 0, "b", 54), (11.0, 2, "b", 79),
        (14.0, 1, "b", 66), (18.0, 0, "b", 52), (25.0, 2, "b", 74),
        (2.0, 1, "c", 65), (4.0, 1, "c", 72), (6.0, 0, "c", 50), (9.0, 1, "c", 67), (10.0, 3, "c", 78),
        (13.0, 0, "c", 56), (16.0, 1, "c", 60),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["time_months", "cause", "group", "age"])
    return frame.assign(event=(frame["cause"] > 0).astype(int))


def test_competing_risks_of_a_hand_written_frame_equal_r(tmp_path) -> None:
    rscript()
    frame = hand_written_frame()
    results = analyse_endpoint(
        frame, reference_group="a", groups=["a", "b", "c"], covariates=["age"], landmarks=[3, 9, 30],
        cause_labels=CAUSE_LABELS["OS"],
    )  # fmt: skip
    job = _job("hand", frame, tmp_path, ["a", "b", "c"], ["age"], {"landmarks": [3, 9, 30], "cluster": None})
    job["models"] = _specs(results.competing_cox, ["age"])
    _run(tmp_path, [job], {"hand": (results, None)}, minimum=200)


def test_every_competing_risk_number_equals_r(registry, tmp_path) -> None:
    rscript()
    con, _ = registry
    jobs, expected = [], {}
    for analysis, endpoint, key, frame in catalogue_frames(con):
        results = analyse_catalogue_endpoint(frame, analysis, endpoint)
        stored = con.execute(
            "SELECT count(*) FROM results.cumulative_incidence WHERE analysis_id = ? AND endpoint = ?",
            [analysis.id, endpoint],
        ).fetchone()[0]
        assert stored == len(results.cumulative_incidence), key
        columns = ["time_months", "cause", "group", *analysis.covariates, *([analysis.cluster] or [])]
        job = _job(
            key,
            frame[[c for c in dict.fromkeys(columns) if c]],
            tmp_path,
            list(analysis.groups),
            list(analysis.covariates),
            {"landmarks": list(analysis.landmarks), "cluster": analysis.cluster},
        )
        job["models"] = _specs(results.competing_cox, list(analysis.covariates))
        jobs.append(job)
        expected[key] = (results, analysis.cluster)
    _run(tmp_path, jobs, expected, minimum=5_000)
