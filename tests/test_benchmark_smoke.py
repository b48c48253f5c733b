"""The benchmark still runs end to end (issue 5): one 10k-patient cohort, every stage timed. No timing assertions."""

import json
import time

import duckdb
import pytest

from benchmarks.__main__ import main
from benchmarks.bounds import SCRATCH, measure, report
from benchmarks.environment import RssSampler
from benchmarks.report import FLOOR, INGEST, REFRESH, pipeline_peak_mb, table, targets, with_totals
from fixtures.samples import write_cohort
from pipelines.catalogue import load_catalogue

pytestmark = pytest.mark.slow  # real processes or whole-pipeline runs: the full tier (`pytest --full`, CI)

STAGES = [
    "floor (DuckDB read_csv)",
    "archive",
    "raw load",
    "profile mapping",
    "validation",
    "core load",
    "ingest to core (sum)",
    "analysis frames (SQL)",
    "plots",
    "results views (SQL)",
    "report (HTML)",
    "publishing",
    "full refresh (Dagster)",
]


def test_benchmark_times_every_stage_at_10k(tmp_path, capsys):
    out = tmp_path / "latest.json"
    assert main(["--sizes", "10000", "--out", str(out)]) == 0
    result = json.loads(out.read_text())["sizes"]["10000"]
    seconds = result["seconds"]
    analyses = [f"{kind} {a.id}" for a in load_catalogue() for kind in ("analysis", "bare lifelines")]
    assert {s: seconds.get(s, 0) > 0 for s in STAGES + analyses} == dict.fromkeys(STAGES + analyses, True)
    assert result["rows"] > 10000 * 5 and all(mb > 0 for mb in result["peak_rss_mb"].values())
    assert set(result["analysis_repeats"]) == {a.id for a in load_catalogue()}
    assert all(1 <= n <= 3 for n in result["analysis_repeats"].values())
    printed = capsys.readouterr().out
    assert "full refresh (Dagster)" in printed and ("PASS" in printed or "MISS" in printed)


def test_sizes_run_without_the_catalogue_print_na_and_skip_their_targets():
    def size(analysis, bare, refresh, rss_dagster):
        seconds = {
            FLOOR: 1.0,
            **dict.fromkeys(INGEST, 1.0),
            "analysis frames (SQL)": 1.0,
            "analysis a": analysis,
            "bare lifelines a": bare,
        }
        return {
            "rows": 1000,
            "seconds": with_totals(seconds) | {REFRESH: refresh},
            "peak_rss_mb": {"pipeline": 500.0, "stages process": 900.0, "dagster": rss_dagster},
        }

    full, ingest_only = size(2.0, 1.0, 50.0, 600.0), size(None, None, None, None)
    sizes = {"10": full, "100": ingest_only}
    printed = table(sizes)
    assert "n/a" in printed.splitlines()[-1] and "n/a" in next(
        line for line in printed.splitlines() if line.startswith("analysis a")
    )
    checks = {c["target"]: c["measured"] for c in targets(sizes)}
    assert checks == {
        "ingest to core within 3.0x the floor at 100 patients": 5.0,
        "peak RSS of the pipeline under 2048 MB at 100 patients": 500.0,
        "drop to published results through Dagster within 60 s at 10 patients": 50.0,
        "analysis a within 1.3x bare lifelines at 10 patients": 2.0,
    }


def test_each_stage_gets_its_own_peak_memory_and_the_target_leaves_out_the_reference():
    sampler = RssSampler(interval_s=0.005)
    baseline = sampler.take_peak()
    block = b"x" * (200 * 2**20)  # written, so resident
    time.sleep(0.1)
    del block
    assert sampler.take_peak() > baseline + 150  # seen by the sampling thread after the block was freed
    assert sampler.take_peak() < baseline + 100  # and the next stage starts afresh
    by_stage = {FLOOR: 3000.0, "raw load": 900.0, "analysis a": 1200.0, "bare lifelines a": 2500.0}
    assert pipeline_peak_mb(by_stage) == 1200.0


def test_ingest_bound_times_both_writes_and_leaves_the_registry_as_the_pipeline_left_it(tmp_path):
    write_cohort(2000, 2, 1, tmp_path / "cohort", 0.01)
    seconds = measure(tmp_path / "cohort", tmp_path / "work")
    assert all(seconds[k] > 0 for k in ("floor", "receive", "typed_copy", "core_step"))
    assert seconds["budget_beyond_writes"] == 3 * seconds["floor"] - seconds["receive"] - seconds["typed_copy"]
    with duckdb.connect(str(tmp_path / "work" / "registry.duckdb"), read_only=True) as con:
        schemas = {row[0] for row in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
        loaded = con.execute("SELECT count(*) FROM audit.drops WHERE status = 'loaded'").fetchone()[0]
        core_rows = con.execute("SELECT count(*) FROM core.patients").fetchone()[0]
    assert SCRATCH not in schemas and loaded == 2 and core_rows > 1900
    assert "typed copy raw -> core" in report(seconds)
