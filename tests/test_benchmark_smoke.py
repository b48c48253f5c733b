"""The benchmark still runs end to end (issue 5): one 10k-patient cohort, every stage timed. No timing assertions."""

import json

from benchmarks.__main__ import main
from pipelines.catalogue import load_catalogue

STAGES = ["floor (DuckDB read_csv)", "archive", "raw load", "profile mapping", "validation", "core load",
          "ingest to core (sum)", "analysis frames (SQL)", "plots", "results views (SQL)", "report (HTML)", "publishing",
          "full refresh (Dagster)"]


def test_benchmark_times_every_stage_at_10k(tmp_path, capsys):
    out = tmp_path / "latest.json"
    assert main(["--sizes", "10000", "--out", str(out)]) == 0
    result = json.loads(out.read_text())["sizes"]["10000"]
    seconds = result["seconds"]
    analyses = [f"{kind} {a.id}" for a in load_catalogue() for kind in ("analysis", "bare lifelines")]
    assert {s: seconds.get(s, 0) > 0 for s in STAGES + analyses} == dict.fromkeys(STAGES + analyses, True)
    assert result["rows"] > 10000 * 5 and all(mb > 0 for mb in result["peak_rss_mb"].values())
    printed = capsys.readouterr().out
    assert "full refresh (Dagster)" in printed and ("PASS" in printed or "MISS" in printed)
