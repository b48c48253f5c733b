"""Every asset materialized through Dagster's API on the sample drops (the session `registry` fixture in conftest.py)."""

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "fixtures" / "sample_drops" / "TRUTH.json").read_text())


@pytest.mark.parametrize("site", sorted(TRUTH["sites"]))
def test_each_row_lands_where_the_generator_says(registry, site):
    con, _ = registry
    for table, expected in TRUTH["sites"][site]["tables"].items():
        loaded = con.execute(f"SELECT count(*) FROM core.{table} WHERE site_id = ?", [site]).fetchall()[0][0]
        quarantined = con.execute(
            "SELECT count(*) FROM audit.quarantine WHERE site_id = ? AND table_name = ?", [site, table]
        ).fetchall()[0][0]
        assert (loaded, quarantined) == (expected["expected_loaded"], expected["expected_quarantined"]), (site, table)


def test_generator_truth_direction_is_recovered(registry):
    """Multifocal vs focal progression: true HR 4.5 (about 3.3 unadjusted, fixtures/README.md); with ~400
    patients the univariable HR's 95% CI excludes 1 and lies above 1.5 — a null effect could not pass."""
    con, _ = registry
    lower, upper = con.execute(
        "SELECT hr_lower, hr_upper FROM results.cox WHERE analysis_id = 'progression_pattern' "
        "AND endpoint = 'PFS' AND model = 'univariable' AND level = 'multifocal'"
    ).fetchall()[0]
    assert lower > 1.5 and upper < 8


def test_definitions_load_without_any_secret(tmp_path):
    """The code location loads with no key (nor any other setting); the database file is not created by loading it."""
    env = {name: value for name, value in __import__("os").environ.items() if not name.startswith("GIST_")}
    env["GIST_DUCKDB_PATH"] = str(tmp_path / "r.duckdb")
    done = subprocess.run(
        ["dagster", "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "r.duckdb").exists()


def test_a_run_without_a_key_fails_at_its_first_step_naming_the_variable(tmp_path, monkeypatch):
    import dagster as dg

    from pipelines.defs.ingest import raw_drop, site_partitions
    from pipelines.resources import default_resources

    for name in ("GIST_PSEUDONYM_KEY", "GIST_PSEUDONYM_KEY_FILE", "GIST_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIST_DUCKDB_PATH", str(tmp_path / "r.duckdb"))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(site_partitions.name, ["boston"])
    result = dg.materialize(
        [raw_drop], partition_key="boston", instance=instance, resources=default_resources(), raise_on_error=False
    )
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "raw_drop" and "GIST_PSEUDONYM_KEY" in str(failure.step_failure_data.error)


def test_results_views_and_report_are_published(registry):
    """Every catalogue analysis is in the suppressed views and in the one-file HTML report, plots embedded."""
    con, tmp = registry
    analyses = {a for (a,) in con.execute("SELECT id FROM results.analyses").fetchall()}
    in_views = {a for (a,) in con.execute("SELECT DISTINCT analysis_id FROM published.v_survival_summary").fetchall()}
    assert analyses == in_views and analyses
    sites = con.execute("SELECT site_id, latest_status FROM published.v_registry_sites ORDER BY 1").fetchall()
    assert sites == [(site, "loaded") for site in sorted(TRUTH["sites"])]
    report = (tmp / "out" / "report.html").read_text(encoding="utf-8")
    titles = [t for (t,) in con.execute("SELECT title FROM results.analyses").fetchall()]
    assert all(t in report for t in titles)
    shown = set(re.findall(r'src="plots/([^"]+\.svg)"', report))  # figures load lazily, by relative path
    assert shown == {p.name for p in (tmp / "out" / "plots").glob("*.svg")} and shown


def test_published_tiers_hold_the_suppressed_views_and_the_patient_level_rows_apart(registry):
    """Aggregate tier: the results views, not the unsuppressed tables nor core; analyst tier: core (tests/test_published_tiers.py)."""
    _, tmp = registry
    import duckdb

    def tables(tier):
        copy = duckdb.connect(str(tmp / "published" / tier / f"gist_registry_{tier}.duckdb"), read_only=True)
        try:
            return {
                f"{s}.{t}" for s, t in copy.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
            }
        finally:
            copy.close()

    aggregate, analyst = tables("aggregate"), tables("analyst")
    assert {"published.v_survival_summary", "published.v_hazard_ratios"} <= aggregate and "core.patients" in analyst
    assert "results.km_summary" not in aggregate | analyst and not any(t.startswith("core.") for t in aggregate)
