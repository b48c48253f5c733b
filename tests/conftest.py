"""Shared test helpers: a tiny canonical site drop written on the fly, isolated settings, and the
sample-drop registry materialized once per session for the end-to-end tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.steps import load_core, receive_drop
from pipelines.registry.ddl import create_registry
from pipelines.settings import Settings

PATIENTS_HEADER = (
    "patient_id,sex,birth_year,diagnosis_date,primary_site,primary_size_mm,mitotic_rate,rupture,mutation_gene,"
    "mutation_exon,mutation_detail,nf1_syndrome,presenting_symptom,advanced_disease_date,tumour_count,"
    "largest_tumour_mm,last_contact_date,vital_status,death_date,death_cause"
)
ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "fixtures" / "sample_drops" / "TRUTH.json").read_text())
GOOD_PATIENT = "P1,male,1960,2015-01-02,stomach,50,3,false,KIT,11,,false,incidental,2016-01-01,2,40,2020-01-01,alive,,"
EPISODES_HEADER = "patient_id,line,agent,daily_dose_mg,start_date,end_date,end_reason,best_response"
EPISODE = "P1,1,imatinib,400,2016-01-10,,ongoing,PR"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run the full tier too (tests marked slow), as CI does")


def pytest_configure(config: pytest.Config) -> None:
    """Property-based tests draw 15 examples in the fast tier and 60 in the full one (the profile is their default)."""
    from hypothesis import settings

    settings.register_profile("fast", max_examples=15)
    settings.register_profile("full", max_examples=60)
    settings.load_profile("full" if config.getoption("--full") else "fast")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tier by default: tests marked ``slow`` run only with ``--full`` or an explicit ``-m``.

    A test reading the session ``registry`` (the whole pipeline on the sample drops, ~45 s) is slow by that
    alone; the fast tier covers the same modules on hand-written drops of a few patients.
    """
    for item in items:
        if "registry" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    if config.getoption("--full") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def write_site(root: Path, site_id: str, patients: list[str], episodes: list[str]) -> None:
    """A canonical-dialect drop with a patients and a tki_episodes file, and its profile."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    (root / "profiles" / f"{site_id}.yaml").write_text(
        f"site_id: {site_id}\ntables:\n  patients: {{file: patients.csv}}\n  tki_episodes: {{file: tki_episodes.csv}}\n"
    )
    folder = root / "drops" / site_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "patients.csv").write_text("\n".join([PATIENTS_HEADER, *patients]) + "\n")
    (folder / "tki_episodes.csv").write_text("\n".join([EPISODES_HEADER, *episodes]) + "\n")


def make_settings(root: Path) -> Settings:
    """Settings with every folder and the registry file under ``root``."""
    return Settings(
        drop_dir=root / "drops",
        profiles_dir=root / "profiles",
        duckdb_path=root / "registry.duckdb",
        archive_dir=root / "archive",
        output_dir=root / "outputs",
        data_cutoff=dt.date(2025, 6, 30),
        min_cell_count=5,
        pseudonym_key=b"test-key",
        demo=False,
        publish_dir=root / "published",
    )


def child_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process writing under ``root``: no inherited GIST_* setting, then ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIST_")}
    folders = {
        "GIST_DUCKDB_PATH": "r.duckdb",
        "GIST_ARCHIVE_DIR": "archive",
        "GIST_OUTPUT_DIR": "out",
        "GIST_PUBLISH_DIR": "published",
    }
    return {**env, **{name: str(root / folder) for name, folder in folders.items()}, **extra}


@contextmanager
def lock_held(database: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the DuckDB file's write lock until the block ends (then it is killed)."""
    script = f"import duckdb, time\ncon = duckdb.connect({str(database)!r})\nprint('held', flush=True)\ntime.sleep(300)"
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def con(settings):
    """A fresh registry file with every table created."""
    connection = duckdb.connect(str(settings.duckdb_path))
    create_registry(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Every asset materialized through Dagster on the sample drops into a temporary DuckDB, once per test session;
    yields a read-only connection and the temporary folder (outputs under ``out/``)."""
    import dagster as dg  # here, so that tests without the registry do not pay for importing Dagster

    tmp = tmp_path_factory.mktemp("e2e")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "GIST_DUCKDB_PATH": tmp / "r.duckdb",
            "GIST_ARCHIVE_DIR": tmp / "archive",
            "GIST_OUTPUT_DIR": tmp / "out",
            "GIST_PUBLISH_DIR": tmp / "published",
            "GIST_PSEUDONYM_KEY": "e2e-key-0123456789abcdef0123456789",
            "GIST_DROP_DIR": ROOT / "fixtures/sample_drops",
            "GIST_PROFILES_DIR": ROOT / "fixtures/profiles",
            "GIST_DATA_CUTOFF": TRUTH["cutoff"],
        }.items():
            env.setenv(name, str(value))
        from pipelines.definitions import ASSETS, ingest_site
        from pipelines.defs.ingest import site_partitions
        from pipelines.resources import default_resources

        resources = default_resources()  # from the environment set above, whatever imported the definitions first
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(site_partitions.name, sorted(TRUTH["sites"]))
        for site in sorted(TRUTH["sites"]):
            result = ingest_site(site, instance, resources)
            assert result.success
            checks = result.get_asset_check_evaluations()
            assert checks and all(c.passed for c in checks)
        assert dg.materialize(
            ASSETS,
            selection=dg.AssetSelection.groups("analysis", "results", "publish"),
            instance=instance,
            resources=resources,
        ).success
        con = duckdb.connect(str(tmp / "r.duckdb"), read_only=True)
        yield con, tmp
        con.close()


@pytest.fixture
def loaded(con, settings, tmp_path):
    """A registry holding site alpha's two patients and a results table with its suppressed view (the publish tests)."""
    write_site(tmp_path, "alpha", [GOOD_PATIENT, GOOD_PATIENT.replace("P1,", "P2,")], [EPISODE])
    receive_drop(con, settings, "alpha"), load_core(con, settings, "alpha")
    con.execute("CREATE OR REPLACE TABLE results.km_summary AS SELECT 'a' AS analysis_id, 3 AS n")
    con.execute(
        "CREATE VIEW published.v_km_summary AS SELECT analysis_id, CASE WHEN n < 5 THEN NULL ELSE n END AS n FROM results.km_summary"
    )
    return con


def insert_results(con, table: str, rows: list[dict]) -> None:
    """Hand-written rows into ``results.<table>``: the declared columns, those not given NULL."""
    import pandas as pd

    columns = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'results' AND table_name = ? "
            "ORDER BY column_index",
            [table],
        ).fetchall()
    ]
    con.register("_rows", pd.DataFrame(rows).reindex(columns=columns))
    con.execute(f"INSERT INTO results.{table} SELECT * FROM _rows")
    con.unregister("_rows")
