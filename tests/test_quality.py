"""Data-quality thresholds: the share of a table's lines failing each check, per site, against quality_thresholds.yaml."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.ingest.checks import checks_for_table
from pipelines.ingest.quality import ThresholdsError, blocking_failures, load_thresholds, measure_table
from pipelines.ingest.steps import load_core, receive_drop
from pipelines.settings import QUALITY_THRESHOLDS
from schemas.contract import CONTRACT
from tests.conftest import EPISODE, write_site

PATIENT = "P{i},male,1960,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"


def _drop(settings, con, site: str, bad_sex: int, patients: int = 20) -> None:
    rows = [PATIENT.format(i=i) for i in range(patients)]
    rows[:bad_sex] = [r.replace(",male,", ",martian,", 1) for r in rows[:bad_sex]]
    write_site(settings.drop_dir.parent, site, rows, [EPISODE.replace("P1,", f"P{patients - 1},", 1)])
    assert receive_drop(con, settings, site).status == "received"
    assert load_core(con, settings, site).status == "loaded"


def _thresholds(tmp_path, text: str):
    path = tmp_path / "thresholds.yaml"
    path.write_text(text)
    return load_thresholds(path)


def test_the_shipped_thresholds_file_is_valid_and_names_only_known_checks() -> None:
    thresholds = load_thresholds(QUALITY_THRESHOLDS)
    assert thresholds.default == {"error": 0.05, "warning": 0.20}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("default: {error: 5, warning: 0.2}\n", "default.error: a share from 0 to 1"),
        ("default: {error: 0.05}\n", "both 'error' and 'warning'"),
        ("default: {error: 0.05, warning: 0.2}\nchecks: {conformance.nonsense: 0.1}\n", "conformance.nonsense"),
        (
            "default: {error: 0.05, warning: 0.2}\nsites: {boston: {conformance.date: yes}}\n",
            "sites.boston.conformance.date",
        ),
        ("default: [unclosed\n", "cannot read"),
    ],
)
def test_a_bad_thresholds_file_is_refused_naming_file_and_key(tmp_path, text, says) -> None:
    with pytest.raises(ThresholdsError, match=says.replace(".", r"\.").replace("(", r"\(")) as raised:
        _thresholds(tmp_path, text)
    assert "thresholds.yaml" in str(raised.value)


def test_a_site_above_an_error_threshold_blocks_naming_site_table_check_and_share(settings, con, tmp_path) -> None:
    _drop(settings, con, "clean", bad_sex=0)
    _drop(settings, con, "sloppy", bad_sex=3)  # 3 of 20 lines fail the code list: 15 %
    thresholds = load_thresholds(QUALITY_THRESHOLDS)
    measures = {(m.site_id, m.check.check_id): m for m in measure_table(con, "patients", thresholds)}
    assert {c.check_id for c in checks_for_table("patients")} == {check for _, check in measures if _ == "clean"}
    sloppy = measures[("sloppy", "conformance.value_set")]
    assert (sloppy.failing_lines, sloppy.data_lines, sloppy.share) == (3, 20, 0.15) and sloppy.blocks
    assert [s["line_number"] for s in sloppy.sample] == [2, 3, 4] and "martian" not in str(sloppy.sample)
    assert not measures[("clean", "conformance.value_set")].exceeded
    [blocked] = blocking_failures(con, thresholds, ["patients", "tki_episodes"])
    assert blocked.describe() == "sloppy.patients conformance.value_set: 3 of 20 lines (15.0%) > threshold 5.0%"
    relaxed = _thresholds(
        tmp_path, "default: {error: 0.05, warning: 0.2}\nsites: {sloppy: {conformance.value_set: 0.2}}\n"
    )
    assert blocking_failures(con, relaxed, ["patients"]) == []


def test_a_warning_above_its_threshold_is_reported_and_does_not_block(settings, con) -> None:
    _drop(settings, con, "sloppy", bad_sex=3)
    thresholds = load_thresholds(QUALITY_THRESHOLDS)
    [measure] = [m for m in measure_table(con, "patients", thresholds) if m.check.check_id == "conformance.value_set"]
    as_warning = dataclasses.replace(
        measure, check=dataclasses.replace(measure.check, severity="warning"), threshold=0.1
    )
    assert as_warning.exceeded and not as_warning.blocks


def test_each_drop_keeps_its_shares_so_the_trend_is_shown(settings, con) -> None:
    _drop(settings, con, "site", bad_sex=1)
    _drop(settings, con, "site", bad_sex=4, patients=21)  # a new drop of the same site
    thresholds = load_thresholds(QUALITY_THRESHOLDS)
    [now] = [m for m in measure_table(con, "patients", thresholds) if m.check.check_id == "conformance.value_set"]
    assert now.previous_shares == [pytest.approx(1 / 20)] and now.share == pytest.approx(4 / 21)
    rows = con.execute(
        "SELECT count(DISTINCT drop_id), count(*) FILTER (WHERE failing_lines > 0) FROM audit.check_history "
        "WHERE site_id = 'site' AND table_name = 'patients'"
    ).fetchall()
    assert rows == [(2, 2)]


def test_in_dagster_the_check_fails_on_its_table_and_the_refresh_refuses_naming_it(tmp_path, monkeypatch) -> None:
    import dagster as dg

    from pipelines.defs.frames import analysis_frames
    from pipelines.defs.ingest import core_checks, core_registry, raw_drop, site_partitions
    from pipelines.resources import default_resources

    rows = [PATIENT.format(i=i) for i in range(20)]
    rows[:3] = [r.replace(",male,", ",martian,", 1) for r in rows[:3]]
    write_site(tmp_path, "sloppy", rows, [EPISODE])
    for name, value in {
        "GIST_DROP_DIR": tmp_path / "drops",
        "GIST_PROFILES_DIR": tmp_path / "profiles",
        "GIST_DUCKDB_PATH": tmp_path / "r.duckdb",
        "GIST_ARCHIVE_DIR": tmp_path / "archive",
        "GIST_PSEUDONYM_KEY": "quality-test-key-0123456789abcdef0123",
    }.items():
        monkeypatch.setenv(name, str(value))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(site_partitions.name, ["sloppy"])
    ingest = dg.materialize(
        [raw_drop, core_registry, core_checks],
        partition_key="sloppy",
        instance=instance,
        resources=default_resources(),
        raise_on_error=False,
    )
    assert ingest.success  # the drop loaded; the checks report, the refresh is what they stop
    results = {
        (e.asset_check_key.asset_key.path[1], e.asset_check_key.name): e for e in ingest.get_asset_check_evaluations()
    }
    assert {table for table, _ in results} == set(CONTRACT)
    failed = results[("patients", "conformance__value_set")]
    assert not failed.passed and failed.metadata["per_site"].value["sloppy"]["failing_lines"] == 3
    assert (
        results[("patients", "conformance__date")].passed and results[("tki_episodes", "conformance__value_set")].passed
    )
    refresh = dg.materialize(
        [raw_drop, core_registry, analysis_frames],
        selection=[analysis_frames],
        instance=instance,
        resources=default_resources(),
        raise_on_error=False,
    )
    (failure,) = refresh.get_step_failure_events()
    assert "sloppy.patients conformance.value_set: 3 of 20 lines (15.0%)" in str(
        failure.step_failure_data.user_failure_data.description
    )


def test_the_sample_holds_the_first_failing_lines_and_each_site_only_its_own(settings, con) -> None:
    _drop(settings, con, "many", bad_sex=8)
    _drop(settings, con, "few", bad_sex=1)
    _drop(settings, con, "few", bad_sex=2, patients=21)  # few's earlier drop is history, many has none
    measures = {
        m.site_id: m
        for m in measure_table(con, "patients", load_thresholds(QUALITY_THRESHOLDS))
        if m.check.check_id == "conformance.value_set"
    }
    assert [s["line_number"] for s in measures["many"].sample] == [2, 3, 4, 5, 6]  # SAMPLE_LINES, in line order
    assert (measures["many"].failing_lines, measures["many"].previous_shares) == (8, [])
    assert (measures["few"].failing_lines, measures["few"].previous_shares) == (2, [pytest.approx(1 / 20)])
