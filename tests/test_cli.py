"""The CLI through real processes: the quick start's main job, and one truthful line per site whatever happens."""

import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import EPISODE, GOOD_PATIENT, TRUTH, child_env, lock_held, write_site

pytestmark = pytest.mark.slow  # real processes or whole-pipeline runs: the full tier (`pytest --full`, CI)

ROOT = Path(__file__).resolve().parent.parent
KEY = "cli-test-key-0123456789abcdef0123456789"


def _hand_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment for the hand-written sites under ``tmp_path`` (``write_site``), with a real key."""
    return child_env(
        tmp_path,
        GIST_DROP_DIR=str(tmp_path / "drops"),
        GIST_PROFILES_DIR=str(tmp_path / "profiles"),
        GIST_PSEUDONYM_KEY=KEY,
        **extra,
    )


def _run(env: dict[str, str], *args: str, command: str = "run") -> subprocess.CompletedProcess:
    return subprocess.run(["gist-registry", command, *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_demo_run_loads_every_site_then_recognises_the_same_drops(tmp_path):
    env = child_env(tmp_path)
    first, second = _run(env, "--demo"), _run(env, "--demo")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "leaked" not in first.stderr, first.stderr[-3000:]  # nanobind's report of DuckDB objects alive at exit
    assert "DEMO MODE" in first.stdout
    sites = len(TRUTH["sites"])  # the sample drops' five
    assert first.stdout.count(": loaded ") == sites and first.stdout.count("data lines accounted for") == sites
    assert "lines left out by the profile's filter" in first.stdout  # the cBioPortal study's other sarcomas
    assert "validation_report.html" in first.stdout
    assert f"Report          : {tmp_path / 'out' / 'report.html'}" in first.stdout
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "published").is_dir()
    assert second.returncode == 0 and second.stdout.count(": unchanged (this drop is already loaded: drop ") == sites


def test_each_site_gets_its_own_truthful_outcome(tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    (tmp_path / "drops" / "gamma").mkdir()
    (tmp_path / "drops" / "gamma" / "export.csv").write_text("id\n1\n")
    env = _hand_env(tmp_path, GIST_DATA_CUTOFF="2025-06-30")
    done = _run(env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("site ")]
    assert lines[0].startswith("site alpha: loaded 2 rows, quarantined 0: all 2 data lines accounted for")
    assert (
        lines[1].startswith("site gamma: NOT PROCESSED")
        and "add gamma.yaml" in lines[1]
        and "validation report" not in lines[1]
    )
    assert done.returncode == 5  # a site not processed
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    assert con.execute("SELECT site_id, status FROM audit.drops WHERE status <> 'received' ORDER BY 1").fetchall() == [
        ("alpha", "loaded"),
        ("gamma", "not_processed"),
    ]
    con.close()


def test_a_locked_registry_is_reported_as_such_and_nothing_runs(tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    env = _hand_env(tmp_path, GIST_LOCK_TIMEOUT_SECONDS="1")
    with lock_held(tmp_path / "r.duckdb") as holder:
        done = _run(env)
    assert done.returncode == 3  # the lock
    assert "site alpha: NOT PROCESSED" in done.stdout and f"(PID {holder.pid})" in done.stdout, (
        done.stdout + done.stderr[-2000:]
    )
    assert "REJECTED" not in done.stdout and "Nothing refreshed" in done.stderr


def test_a_bad_setting_stops_before_anything_runs_and_names_the_variable(tmp_path):
    done = _run(child_env(tmp_path, GIST_PSEUDONYM_KEY=KEY, GIST_MIN_CELL_COUNT="-3"))
    assert done.returncode == 2 and "GIST_MIN_CELL_COUNT=-3: must be at least 2" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.duckdb").exists()


def test_status_and_a_trial_of_a_profile_load_nothing(tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    env = child_env(tmp_path, GIST_DROP_DIR=str(tmp_path / "drops"), GIST_PROFILES_DIR=str(tmp_path / "profiles"))
    assert _run(env, command="status").stdout.startswith(f"No registry at {tmp_path / 'r.duckdb'} yet")
    trial = _run(env, "alpha", command="check-profile")
    assert (
        trial.returncode == 0
        and "(a trial: nothing loaded into" in trial.stdout
        and "all 2 data lines accounted for" in trial.stdout
    )
    report = Path(trial.stdout.rsplit("report: ", 1)[1].strip())
    assert report.is_file() and sorted(p.name for p in report.parent.iterdir()) == [
        "validation_report.csv",
        "validation_report.html",
    ]
    assert not (tmp_path / "r.duckdb").exists() and not (tmp_path / "archive").exists()
    (tmp_path / "drops" / "alpha" / "patients.csv").write_bytes(b"\x00binary")
    rejected = _run(env, "alpha", command="check-profile")
    assert rejected.returncode == 4 and "REJECTED by the checks" in rejected.stdout and "NUL byte" in rejected.stdout


def test_a_drop_over_an_error_quality_threshold_loads_and_says_the_refresh_is_refused(tmp_path):
    """Two of ten patients with a sex code outside the list: loaded (8 patients, 1 episode), held by its error-level check."""
    patients = [GOOD_PATIENT.replace("P1,", f"P{i},", 1) for i in range(1, 11)]
    patients[:2] = [row.replace(",male,", ",martian,", 1) for row in patients[:2]]
    write_site(tmp_path, "alpha", patients, [EPISODE.replace("P1,", "P9,", 1)])
    write_site(tmp_path, "beta", [GOOD_PATIENT], [EPISODE])
    env = _hand_env(tmp_path, GIST_DATA_CUTOFF="2025-06-30")
    done = _run(env, command="ingest")
    alpha, beta = [line for line in done.stdout.splitlines() if line.startswith("site ")]
    assert alpha.startswith("site alpha: loaded 9 rows, quarantined 2") and " — BUT " in alpha
    assert "conformance.value_set fails 2 of 10 patients lines (20.0% > threshold 5.0%)" in alpha
    assert "the next refresh is refused" in alpha
    assert beta.startswith("site beta: loaded ") and "BUT" not in beta  # alpha's failure is alpha's alone
    assert done.returncode == 1, done.stdout
