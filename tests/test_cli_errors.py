"""The CLI's error categories in-process (typer's CliRunner): each its own message and exit status, no traceback.

The real-process tests of the same commands are in tests/test_cli.py (slow tier).
"""

import os
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import CONFIGURATION, LOCKED, NO_PROFILE, OK, REJECTED, app
from pipelines.ingest.steps import load_core, receive_drop
from tests.conftest import EPISODE, GOOD_PATIENT, ROOT, lock_held, write_site

KEY = "cli-test-key-0123456789abcdef0123456789"


@pytest.fixture
def invoke(tmp_path, monkeypatch):
    """Run a command with only the given GIST_* settings (every path under tmp_path); stdout and stderr apart."""
    for name in [name for name in os.environ if name.startswith("GIST_")]:
        monkeypatch.delenv(name)
    paths = {
        "GIST_DUCKDB_PATH": tmp_path / "r.duckdb",
        "GIST_ARCHIVE_DIR": tmp_path / "archive",
        "GIST_OUTPUT_DIR": tmp_path / "out",
        "GIST_PUBLISH_DIR": tmp_path / "published",
        "GIST_DROP_DIR": tmp_path / "drops",
        "GIST_PROFILES_DIR": tmp_path / "profiles",
    }

    def run(*args: str, **env: str):
        result = CliRunner().invoke(app, list(args), env={**{k: str(v) for k, v in paths.items()}, **env})
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        return result

    return run


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GIST_DATA_CUTOFF", "2025-13-01", "GIST_DATA_CUTOFF='2025-13-01': not an ISO date (YYYY-MM-DD)"),
        ("GIST_PSEUDONYM_KEY_FILE", "/no/such/key", "GIST_PSEUDONYM_KEY_FILE=/no/such/key: cannot read the key file"),
        ("GIST_MIN_CELL_COUNT", "five", "GIST_MIN_CELL_COUNT='five': not a whole number"),
        ("GIST_QUALITY_THRESHOLDS", "/no/such.yaml", "GIST_QUALITY_THRESHOLDS: /no/such.yaml: cannot read the quality"),
        ("GIST_DUCKDB_MEMORY_LIMIT", "lots", "GIST_DUCKDB_MEMORY_LIMIT='lots': not a memory size DuckDB accepts"),
    ],
)
def test_a_bad_setting_is_a_configuration_error_naming_the_variable_and_its_form(
    invoke, tmp_path, variable, value, message
):
    done = invoke("ingest", GIST_PSEUDONYM_KEY=KEY, **{variable: value})
    assert done.exit_code == CONFIGURATION, done.output
    assert done.stderr.startswith(f"Configuration error: {message}") and done.stdout == ""
    assert not (tmp_path / "r.duckdb").exists()  # stopped before anything ran


def test_a_site_without_a_profile_has_its_own_status(invoke, tmp_path):
    (tmp_path / "drops" / "gamma").mkdir(parents=True)
    (tmp_path / "drops" / "gamma" / "export.csv").write_text("id\n1\n")
    done = invoke("check-profile", "gamma")
    assert done.exit_code == NO_PROFILE
    assert f"NOT PROCESSED, nothing read or changed, the site's previous data kept: no site profile {tmp_path}" in (
        done.stdout
    )
    assert "add gamma.yaml to the profiles folder" in done.stdout


def test_a_drop_refused_by_its_data_is_rejected(invoke, tmp_path):
    """A patients file that is a spreadsheet saved under a .csv name (a ZIP container): never a generator shape."""
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    (tmp_path / "drops" / "alpha" / "patients.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
    done = invoke("check-profile", "alpha")
    assert done.exit_code == REJECTED and "REJECTED by the checks, nothing loaded" in done.stdout, done.output


def test_status_gives_the_latest_outcome_per_site_and_with_drops_the_history(invoke, tmp_path, settings, con):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    receive_drop(con, settings, "alpha")
    drop = load_core(con, settings, "alpha").drop_id
    (tmp_path / "drops" / "beta").mkdir()  # no profile: not processed, no drop id
    receive_drop(con, settings, "beta")
    con.close()
    latest = invoke("status", GIST_DUCKDB_PATH=str(settings.duckdb_path))
    alpha, beta, reason = latest.stdout.splitlines()
    assert alpha.startswith(f"alpha: loaded {drop} at ") and alpha.endswith(f"UTC; core holds drop {drop}")
    assert beta.startswith("beta: not_processed  at ") and beta.endswith("UTC; nothing loaded yet")
    assert reason.startswith("    no site profile ")
    history = invoke("status", "--drops", "--site", "alpha", GIST_DUCKDB_PATH=str(settings.duckdb_path))
    assert [line.split(" UTC ")[1] for line in history.stdout.splitlines()] == [f"received {drop}", f"loaded {drop}"]


def _registry_with_views(path):
    """A hand-made registry: a published view, an unsuppressed results table, and a view that leaks an id."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA results; CREATE SCHEMA published")
    con.execute("CREATE TABLE results.counts AS SELECT * FROM (VALUES ('imatinib', 3), ('sunitinib', 12)) t(arm, n)")
    con.execute(
        "CREATE VIEW published.v_counts AS SELECT arm, CASE WHEN n < 5 THEN NULL ELSE n END AS n FROM results.counts"
    )
    con.close()


def test_export_writes_the_published_views_only(invoke, tmp_path):
    _registry_with_views(tmp_path / "r.duckdb")
    done = invoke("export", str(tmp_path / "csv"))
    assert done.exit_code == OK, done.output
    assert (tmp_path / "csv" / "published.v_counts.csv").read_text().splitlines() == [
        "arm,n",
        "imatinib,",
        "sunitinib,12",
    ]
    assert done.stdout == f"published.v_counts: 2 rows -> {tmp_path / 'csv' / 'published.v_counts.csv'}\n"
    refused = invoke("export", str(tmp_path / "other"), "--view", "results.counts")
    assert refused.exit_code == CONFIGURATION and not (tmp_path / "other").exists()
    assert "--view results.counts: only the published views may be exported (published.v_counts)" in refused.stderr
    parquet = invoke("export", str(tmp_path / "pq"), "--format", "parquet", "--view", "published.v_counts")
    assert parquet.exit_code == OK
    assert duckdb.sql(f"SELECT * FROM '{tmp_path / 'pq' / 'published.v_counts.parquet'}' ORDER BY 1").fetchall() == [
        ("imatinib", None),
        ("sunitinib", 12),
    ]


def test_export_refuses_a_published_view_with_a_patient_column(invoke, tmp_path):
    _registry_with_views(tmp_path / "r.duckdb")
    con = duckdb.connect(str(tmp_path / "r.duckdb"))
    con.execute("CREATE VIEW published.v_leak AS SELECT uuid() AS patient_id")
    con.close()
    done = invoke("export", str(tmp_path / "csv"))
    assert done.exit_code == REJECTED and "patient-level column patient_id" in done.stderr
    assert not (tmp_path / "csv").exists()


def test_a_locked_registry_names_its_holder_and_the_published_copy(invoke, tmp_path):
    _registry_with_views(tmp_path / "r.duckdb")
    copy = tmp_path / "published" / "aggregate" / "gist_registry_aggregate.duckdb"
    copy.parent.mkdir(parents=True)
    con = duckdb.connect(str(copy))  # the aggregate tier holds the views materialised as tables
    con.execute("CREATE SCHEMA published; CREATE TABLE published.v_counts AS SELECT 'sunitinib' AS arm, 12 AS n")
    con.close()
    with lock_held(tmp_path / "r.duckdb") as holder:
        for command in (["status"], ["export", str(tmp_path / "csv")]):
            done = invoke(*command)
            assert done.exit_code == LOCKED, done.output
            assert done.stderr.startswith(f"Locked: the registry {tmp_path / 'r.duckdb'} is held by another writer")
            assert f"(PID {holder.pid}, " in done.stderr and f"the published copy {copy} stays readable" in done.stderr
        fallback = invoke("export", str(tmp_path / "csv"), "--from-published")
    assert (
        fallback.exit_code == OK
        and (tmp_path / "csv" / "published.v_counts.csv").read_text() == "arm,n\nsunitinib,12\n"
    )


HEAVY = (
    "dagster",
    "duckdb",
    "pandas",
    "polars",
    "numpy",
    "scipy",
    "lifelines",
    "matplotlib",
    "statsmodels",
    "tableone",
)


@pytest.mark.parametrize("command", [[], ["run"], ["ingest"], ["status"], ["export"], ["check-profile"]])
def test_help_imports_nothing_heavy(command):
    """`--help` of the CLI and of each subcommand answers without the libraries of the steps (seconds at start)."""
    script = (
        f"import sys\nfrom pipelines.cli import main\ncode = main({[*command, '--help']!r})\n"
        f"print(code, sorted(set({HEAVY!r}) & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout + done.stderr


def test_the_code_location_loads_without_the_model_libraries():
    """Every run's process imports the code location: statsmodels and tableone wait for the analysis step."""
    script = "import sys\nimport pipelines.definitions\nprint(sorted({'statsmodels', 'tableone'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr
