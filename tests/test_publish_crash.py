"""kill -9 of a real publishing process, at every step of a publish and in the middle of a DuckDB write: the last good
copy of each tier stays readable and whole, and the next publish removes what the dead one left."""

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.ingest.steps import load_core, receive_drop
from pipelines.publish import AGGREGATE, ANALYST, database_name, publish
from tests.conftest import EPISODE, GOOD_PATIENT, ROOT, write_site

# Runs a publish of the registry under ROOT (argv[1]); prints each step; at the step named in argv[2] it waits to be killed.
CHILD = """
import sys, time
from pathlib import Path
import duckdb
import pipelines.publish as publishing
from tests.conftest import make_settings

def step(name):
    print(name, flush=True)
    if name == sys.argv[2]:
        time.sleep(600)

publishing._step = step
settings = make_settings(Path(sys.argv[1]))
publishing.publish(duckdb.connect(str(settings.duckdb_path)), settings)
"""
STEPS = [
    "cleaned",
    *[
        f"{tier}: {step}"
        for tier, first in ((AGGREGATE, "published.v_km_summary"), (ANALYST, "core.patients"))
        for step in (f"copied {first}", "checkpointed", "staged", "database swapped", "parquet swapped")
    ],
    "done",
]


@pytest.fixture
def published_once(loaded, settings, tmp_path):
    """A registry with 2 patients published, then a third loaded; the connection closed for the publishing child."""
    loaded.execute("CREATE TABLE results.marker AS SELECT count(*) AS n FROM core.patients")
    loaded.execute("CREATE VIEW published.v_marker AS SELECT n FROM results.marker")
    publish(loaded, settings)
    write_site(tmp_path, "beta", [GOOD_PATIENT], [EPISODE])
    receive_drop(loaded, settings, "beta"), load_core(loaded, settings, "beta")
    loaded.execute("CREATE OR REPLACE TABLE results.marker AS SELECT count(*) AS n FROM core.patients")
    loaded.execute("CHECKPOINT")
    loaded.close()
    return settings


def _start(settings, stop_at):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(settings.duckdb_path.parent), stop_at],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at(settings, step):
    child = _start(settings, step)
    for line in child.stdout:
        if line.strip() == step:
            break
    else:
        pytest.fail(f"the publish ended before '{step}': {child.wait()} {child.stderr.read()[-2000:]}")
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL


def _read_tier(settings, tier):
    """Patients in the tier's DuckDB file and in its Parquet folder (each read whole, as a reader would)."""
    directory = settings.publish_dir / tier
    reader = duckdb.connect(str(directory / database_name(tier)), read_only=True)
    try:
        sql = "SELECT n FROM published.v_marker" if tier == AGGREGATE else "SELECT count(*) FROM core.patients"
        ((in_database,),) = reader.execute(sql).fetchall()
        tables = {
            t for (t,) in reader.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
        }
    finally:
        reader.close()
    folder = (directory / "parquet").resolve()
    assert {p.name.removesuffix(".parquet") for p in folder.iterdir()} == tables
    name = "published.v_marker" if tier == AGGREGATE else "core.patients"
    sql = (
        f"SELECT n FROM '{folder}/{name}.parquet'"
        if tier == AGGREGATE
        else f"SELECT count(*) FROM '{folder}/{name}.parquet'"
    )
    ((in_parquet,),) = duckdb.execute(sql).fetchall()
    return in_database, in_parquet


def _leftovers(settings):
    return sorted(
        str(p.relative_to(settings.publish_dir)) for p in settings.publish_dir.rglob("*") if ".partial" in p.name
    )


def _next_publish_cleans_up(settings):
    con = duckdb.connect(str(settings.duckdb_path))
    try:
        publish(con, settings)
    finally:
        con.close()
    assert _leftovers(settings) == []
    for tier in (AGGREGATE, ANALYST):
        assert _read_tier(settings, tier) == (3, 3)
        assert len(list((settings.publish_dir / tier / "versions").iterdir())) <= 2


# the fast tier kills one step (the analyst database swapped, the riskiest); the full tier every one
@pytest.mark.parametrize(
    "step",
    [step if step == f"{ANALYST}: database swapped" else pytest.param(step, marks=pytest.mark.slow) for step in STEPS],
)
def test_a_publish_killed_at_any_step_leaves_the_last_good_copy_and_the_next_one_cleans_up(published_once, step):
    settings = published_once
    _kill_at(settings, step)
    for tier in (AGGREGATE, ANALYST):
        before_swap = STEPS.index(step) < STEPS.index(f"{tier}: database swapped")
        in_database, in_parquet = _read_tier(settings, tier)
        assert in_database == (2 if before_swap else 3)  # the old copy, whole, until its one rename
        assert in_parquet == (2 if STEPS.index(step) < STEPS.index(f"{tier}: parquet swapped") else 3)
    if "copied" in step:  # killed inside the DuckDB write: a half-written copy is left (and removed below)
        tier = step.split(":")[0]
        assert any(p.startswith(f"{tier}/.{database_name(tier)}.") for p in _leftovers(settings))
        assert any(p.startswith(f"{tier}/versions/") for p in _leftovers(settings))
    _next_publish_cleans_up(settings)


@pytest.mark.slow
def test_a_publish_killed_in_the_middle_of_writing_a_large_table(published_once):
    """No hook: the child is killed while DuckDB writes a table of 3M rows into the staged analyst copy (or wherever
    it has got to), several times over; every time the last good copy stays whole, and the next publish cleans up."""
    settings = published_once
    con = duckdb.connect(str(settings.duckdb_path))
    con.execute("CREATE TABLE core.zz_large AS SELECT range AS n, md5(range::VARCHAR) AS filler FROM range(3000000)")
    con.close()
    left = []
    for delay in (0.3, 1.0, 2.0):
        child = _start(settings, "never")
        for line in child.stdout:
            if line.strip() == "aggregate: parquet swapped":
                break
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert _read_tier(settings, AGGREGATE) == (3, 3)
        assert _read_tier(settings, ANALYST)[0] in (2, 3)
        left.append(set(_leftovers(settings)))
    assert any(
        p.endswith(".partial.wal") for p in set().union(*left)
    )  # killed mid-write at least once (0.3 s: always here)
    assert all(
        not earlier & later for earlier, later in zip(left, left[1:], strict=False)
    )  # each publish removed the previous leftovers
    _next_publish_cleans_up(settings)
