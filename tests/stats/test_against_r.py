"""R as a live oracle: every survival number the pipeline publishes for the sample drops, recomputed by R.

The session's ``registry`` fixture runs the whole pipeline on the sample drops; this test reads
every catalogue analysis's frame for every endpoint exactly as the pipeline does
(``pipelines.analyses.endpoint_frame``), writes it as CSV with a JSON description of each model
(the terms' variable and level, never a design matrix), runs ``tests/r/oracle.R`` (R's survival
package: ``survfit``, ``survdiff``, ``coxph``, ``cox.zph``), and compares with the stored
``results.*`` tables: counts exactly, every other number to 1e-6 relative (1e-12 absolute near 0):
Kaplan-Meier summaries, medians with CI, landmarks, curves, log-rank, every Cox model (robust
clustered SE where the catalogue says cluster), the naive / landmark / time-varying models, and the
PH tests per term and GLOBAL of every model (the counting-process time-varying ones included).
Cox and PH numbers are compared twice: with R's defaults to 1e-6 (a PH statistic near 0 to 1e-9 absolute:
R's default stop, ~1e-7 short of the maximum, moves a statistic of 5e-5 by 6e-11), and to 1e-9 with R's ``coxph``
iterated to the maximum (``coxph.control(eps = 1e-14, toler.chol = 1e-15)``), which is where the pipeline stops.

Without ``Rscript`` the test is skipped, loudly; with ``GIST_REQUIRE_R=1`` (set by ``.ci/run``) a
missing R fails instead.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.timevarying import time_varying_models
from tests.stats.oracle import ABS, R_SCRIPTS, REL, TIGHT, Mismatches, catalogue_frames, listify, rscript, run_r

DEFAULT_STOP_ABS = 1e-9  # a PH statistic near 0 against R at its default stop (module docstring)

ORACLE = R_SCRIPTS / "oracle.R"


def _level(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else str(value)


def _spec(rows: pd.DataFrame, model: str, covariates: list[str], switches: dict[str, dict[str, str]]) -> dict:
    """One model described for R: its kind (parsed from the model name), terms and, if time-varying, its switches.

    Every immortal-time model name starts with its kind: ``naive``, ``landmark_<L>`` or ``time_varying``
    (``time_varying_split``, ``time_varying_progression``, each optionally ``_adjusted``); the switches of a
    time-varying model are the variables of its terms that ``switches`` defines.
    """
    kind = "group"
    landmark = None
    if model.startswith(("naive", "landmark_", "time_varying")):
        kind = model.split("_")[0] if not model.startswith("time_varying") else "time_varying"
        if kind == "landmark":
            landmark = float(re.match(r"landmark_([0-9.]+)", model).group(1))
    ok = rows[rows["status"] == "ok"]
    dropped = [
        r.level
        for r in rows.itertuples()
        if r.variable == "group" and str(r.status).startswith("not_estimable: group '")
    ]
    return {
        "model": model,
        "kind": kind,
        "landmark": landmark,
        "drop_groups": dropped,
        "covariates": covariates if (model == "multivariable" or model.endswith("_adjusted")) else [],
        "switches": [v for v in dict.fromkeys(rows["variable"]) if kind == "time_varying" and v in switches],
        "terms": [{"name": r.term, "variable": r.variable, "level": _level(r.level)} for r in ok.itertuples()],
    }


def _compare_job(check: Mismatches, key: str, r: dict, tables: dict[str, pd.DataFrame]) -> None:
    summary, landmarks, curve = tables["km_summary"], tables["km_landmarks"], tables["km_curve"]
    for row in summary.itertuples():
        where = f"{key} km_summary {row.group}"
        if row.n == 0:
            assert row.group not in (r["km"] or {}), where
            continue
        km = r["km"][row.group]
        check.number(f"{where} n", row.n, km["n"], exact=True)
        check.number(f"{where} events", row.events, km["events"], exact=True)
        for name in ("median", "median_lower", "median_upper"):
            check.number(f"{where} {name}", getattr(row, name), km[name])
    for row in landmarks.itertuples():
        if row.group not in (r["km"] or {}):
            continue
        mark = next(m for m in r["km"][row.group]["landmarks"] if m["time"] == row.time)
        where = f"{key} km_landmarks {row.group} {row.time:g}"
        check.number(f"{where} n_at_risk", row.n_at_risk, mark["n_at_risk"], exact=True)
        check.number(f"{where} n_events", row.n_events, mark["n_events"], exact=True)
        if pd.isna(row.survival) and mark["beyond"]:
            continue  # beyond the group's follow-up: the pipeline reports NaN, R extends the last value
        for name in ("survival", "lower", "upper"):
            if name != "survival" and row.survival == 1 and mark[name] is None:
                continue  # before the first event: R's log-log CI is NA, the pipeline's [1, 1] (docs/statistics.md)
            check.number(f"{where} {name}", getattr(row, name), mark[name])
    for group, part in curve.groupby("group", observed=True):
        theirs = pd.DataFrame({k: listify(v) for k, v in r["km"][group]["curve"].items()})
        ours = part[(part["n_events"] > 0) | (part["n_censored"] > 0)].reset_index(drop=True)
        if len(ours) != len(theirs) or not np.allclose(ours["time"], theirs["time"], rtol=1e-14, atol=0):
            check.problems.append(f"{key} km_curve {group}: the times differ ({len(ours)} vs {len(theirs)} rows)")
            continue
        for i, row in ours.iterrows():
            for name in ("n_at_risk", "n_events", "n_censored"):
                check.number(
                    f"{key} km_curve {group} {row['time']:g} {name}", row[name], theirs.loc[i, name], exact=True
                )
            for name in ("survival", "lower", "upper"):
                if name != "survival" and row["survival"] == 1 and pd.isna(theirs.loc[i, name]):
                    continue  # before the first event: R's log-log CI is NA, the pipeline's [1, 1] (docs/statistics.md)
                check.number(f"{key} km_curve {group} {row['time']:g} {name}", row[name], theirs.loc[i, name])
    logrank = tables["logrank"]
    if r["logrank"] is None:
        assert (logrank["status"] != "ok").all(), key
    else:
        lr = r["logrank"]
        for row in logrank[logrank["n"] > 0].itertuples():
            i = listify(lr["groups"]).index(row.group)
            check.number(f"{key} logrank {row.group} observed", row.observed, listify(lr["observed"])[i], exact=True)
            check.number(f"{key} logrank {row.group} expected", row.expected, listify(lr["expected"])[i])
        first = logrank.iloc[0]
        check.number(f"{key} logrank statistic", first["statistic"], lr["statistic"])
        check.number(f"{key} logrank df", first["df"], lr["df"], exact=True)
        check.number(f"{key} logrank p", first["p"], lr["p"])
    models = {m["model"]: m for m in r["models"]}
    for table_name in ("cox", "immortal_time"):
        table = tables[table_name]
        for model, rows in table.groupby("model", sort=False):
            fit = models[model]
            assert "error" not in fit, f"{key} {model}: R failed: {fit.get('error')}"
            where = f"{key} {table_name} {model}"
            check.number(f"{where} n", rows["n"].iloc[0], fit["n"], exact=True)
            check.number(f"{where} events", rows["events"].iloc[0], fit["events"], exact=True)
            check.number(
                f"{where} n_excluded_missing", rows["n_excluded_missing"].iloc[0], fit["n_excluded_missing"], exact=True
            )
            ok = rows[rows["status"] == "ok"]
            if ok.empty:
                continue
            terms = listify(fit["terms"])
            if fit.get("n_clusters") is not None:
                check.number(f"{where} n_clusters", ok["n_clusters"].iloc[0], fit["n_clusters"], exact=True)
            for control, rel in (("default", REL), ("tight", TIGHT)):
                fitted = fit[control]
                for row in ok.itertuples():
                    i = terms.index(row.term)
                    for name in ("coef", "se", "hr", "hr_lower", "hr_upper", "p"):
                        check.number(
                            f"{where} {row.term} {name} ({control})",
                            getattr(row, name),
                            listify(fitted[name])[i],
                            rel=rel,
                        )
                ph = tables["ph_test"]
                _compare_ph(check, f"{key} ph_test {model}", ph[ph["model"] == model], fitted, terms, control, rel)


def _compare_ph(
    check: Mismatches, where: str, ph: pd.DataFrame, fit: dict, terms: list[str], control: str, rel: float
) -> None:
    names = [*terms, "GLOBAL"]
    assert sorted(ph["term"]) == sorted(names), where
    for row in ph.itertuples():
        i = names.index(row.term)
        check.number(
            f"{where} {row.term} statistic ({control})",
            row.statistic,
            listify(fit["zph_statistic"])[i],
            rel=rel,
            absolute=DEFAULT_STOP_ABS if control == "default" else ABS,
        )
        check.number(f"{where} {row.term} df ({control})", row.df, listify(fit["zph_df"])[i], exact=True)
        check.number(f"{where} {row.term} p ({control})", row.p, listify(fit["zph_p"])[i], rel=rel)


def _job(
    key: str,
    frame: pd.DataFrame,
    folder: Path,
    *,
    groups: list[str],
    covariates: list[str],
    landmarks: list[float],
    exposure: str | None,
    cluster: str | None,
    tables: dict[str, pd.DataFrame],
    switches: dict[str, dict[str, str]],
) -> tuple:
    """One R job (the frame as CSV, every model of ``tables`` described by its terms) and what to compare it with."""
    csv = folder / f"{key.replace('/', '_')}.csv"
    frame.to_csv(csv, index=False)
    numeric = [
        c
        for c in frame.columns
        if c in ("time_months", "event", exposure, *(col for levels in switches.values() for col in levels.values()))
        or (c in covariates and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]))
    ]
    models = [
        _spec(rows, model, covariates, switches)
        for name in ("cox", "immortal_time")
        for model, rows in tables[name].groupby("model", sort=False)
    ]
    job = {
        "key": key,
        "csv": str(csv),
        "groups": groups,
        "numeric": numeric,
        "landmarks": landmarks,
        "exposure": exposure,
        "cluster": cluster,
        "switches": switches,
        "models": models,
    }
    return job, tables


def _switches(
    exposure: str | None, split: dict[str, str] | None, covariates: dict[str, tuple[str, ...]] | None
) -> dict[str, dict[str, str]]:
    """Every time-varying variable of an analysis: variable -> {level: column of its start}, as the pipeline names them."""
    if exposure is None:
        return {}
    columns = [c for endpoint in (covariates or {}).values() for c in endpoint]
    return {
        s.variable: dict(s.levels)
        for model in time_varying_models(exposure, split, tuple(dict.fromkeys(columns))).values()
        for s in model
    }


def _run_and_compare(folder: Path, jobs: list[dict], expected: dict, minimum: int) -> None:
    check = Mismatches()
    for r in run_r(ORACLE, folder, jobs, timeout=600):
        _compare_job(check, r["key"], r, expected[r["key"]])
    check.assert_none("numbers", minimum)


@pytest.mark.slow
def test_every_published_survival_number_equals_r(registry, tmp_path) -> None:
    rscript()
    con, _ = registry
    results = {
        name: con.execute(f"FROM results.{name}").df()
        for name in ("km_summary", "km_landmarks", "km_curve", "logrank", "cox", "ph_test", "immortal_time")
    }
    jobs, expected = [], {}
    for analysis, endpoint, key, frame in catalogue_frames(con):
        tables = {
            name: table[(table["analysis_id"] == analysis.id) & (table["endpoint"] == endpoint)]
            for name, table in results.items()
        }
        job, expected[key] = _job(
            key,
            frame,
            tmp_path,
            groups=list(analysis.groups),
            covariates=list(analysis.covariates),
            landmarks=list(analysis.landmarks),
            exposure=analysis.exposure,
            cluster=analysis.cluster,
            tables=tables,
            switches=_switches(analysis.exposure, analysis.exposure_split, analysis.time_varying_covariates),
        )
        jobs.append(job)
    not_ok = pd.concat([results["cox"], results["immortal_time"]]).query("status != 'ok'")
    print(
        f"{len(not_ok)} Cox rows not estimable (not compared): "
        + "; ".join(
            sorted(set(f"{r.analysis_id}/{r.endpoint} {r.model} {r.term}: {r.status}" for r in not_ok.itertuples()))
        )
    )
    _run_and_compare(tmp_path, jobs, expected, minimum=30_000)


def _reference_frames() -> dict[str, tuple[pd.DataFrame, dict]]:
    """lifelines' copies of R's lung, gbsg2 and rossi (times in days or weeks), as analysis frames."""
    from lifelines.datasets import load_gbsg2, load_lung, load_rossi

    lung = load_lung().dropna(subset=["ph.ecog"])
    lung = lung.assign(
        time_months=lung["time"],
        event=lung["status"],
        group=lung["sex"].map({1: "male", 2: "female"}),
        ecog=lung["ph.ecog"].astype(int).astype(str),
        exposure=np.nan,
    )
    gbsg2 = load_gbsg2()
    gbsg2 = gbsg2.assign(time_months=gbsg2["time"], event=gbsg2["cens"], group=gbsg2["horTh"], grade=gbsg2["tgrade"])
    rossi = load_rossi()
    rossi = rossi.assign(
        time_months=rossi["week"].astype(float),
        event=rossi["arrest"],
        group=rossi["fin"].map({0: "no", 1: "yes"}),
        pair=(np.arange(len(rossi)) // 2).astype(str),
        # an exposure during follow-up, for the naive / landmark / time-varying models
        exposure=np.where(np.arange(len(rossi)) % 3 == 0, (np.arange(len(rossi)) % 40) + 0.5, np.nan),
    )
    # the exposure split in two kinds, and a time-dependent covariate switching on before, after or with it
    kind = np.arange(len(rossi)) % 2 == 0
    rossi = rossi.assign(
        exposure_a=rossi["exposure"].where(kind),
        exposure_b=rossi["exposure"].where(~kind),
        progression_months=np.where(np.arange(len(rossi)) % 4 != 1, (np.arange(len(rossi)) * 7 % 45) + 1.0, np.nan),
    )
    return {
        "lung": (lung, {"groups": ["male", "female"], "covariates": ["age", "ecog"], "landmarks": [180, 365, 730]}),
        "gbsg2": (
            gbsg2,
            {
                "groups": ["no", "yes"],
                "covariates": ["age", "tsize", "menostat", "grade"],
                "landmarks": [365, 730, 1825],
            },
        ),
        "rossi": (
            rossi,
            {
                "groups": ["no", "yes"],
                "covariates": ["age", "race", "wexp", "mar", "paro", "prio"],
                "landmarks": [13, 26, 52],
                "cluster": "pair",
                "exposure": "exposure",
                "exposure_split": {"a": "exposure_a", "b": "exposure_b"},
                "time_varying_covariates": ["progression_months"],
            },
        ),
    }


@pytest.mark.slow
def test_reference_datasets_equal_r(tmp_path) -> None:
    """The same comparison on R's lung, gbsg2 and rossi (heavy ties in rossi's weeks; clustered by pairs of rows)."""
    from pipelines.stats import analyse_endpoint

    rscript()
    jobs, expected = [], {}
    for name, (frame, options) in _reference_frames().items():
        results = analyse_endpoint(
            frame,
            reference_group=options["groups"][0],
            groups=options["groups"],
            covariates=options["covariates"],
            landmarks=options["landmarks"],
            exposure=options.get("exposure"),
            exposure_landmarks=(13, 26),
            cluster=options.get("cluster"),
            exposure_split=options.get("exposure_split"),
            time_varying_covariates=options.get("time_varying_covariates", ()),
        )
        job, expected[name] = _job(
            name,
            frame,
            tmp_path,
            groups=options["groups"],
            covariates=options["covariates"],
            landmarks=options["landmarks"],
            exposure=options.get("exposure"),
            cluster=options.get("cluster"),
            tables=results.tables(),
            switches=_switches(
                options.get("exposure"),
                options.get("exposure_split"),
                {"OS": tuple(options.get("time_varying_covariates", ()))},
            ),
        )
        jobs.append(job)
    _run_and_compare(tmp_path, jobs, expected, minimum=3_000)
