"""The quick start's main job: `gist-registry run --demo` on the sample drops, twice (the second run changes nothing)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_run_loads_every_site_then_recognises_the_same_drops(tmp_path):
    env = {**os.environ, "GIST_DUCKDB_PATH": str(tmp_path / "r.duckdb"), "GIST_ARCHIVE_DIR": str(tmp_path / "archive"),
           "GIST_OUTPUT_DIR": str(tmp_path / "out"), "GIST_PUBLISH_DIR": str(tmp_path / "published")}
    env.pop("GIST_PSEUDONYM_KEY", None)
    first, second = (subprocess.run(["gist-registry", "run", "--demo"], cwd=ROOT, env=env, capture_output=True, text=True)
                     for _ in range(2))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "DEMO MODE" in first.stdout
    assert first.stdout.count(": loaded ") == 3 and "validation_report.html" in first.stdout
    assert f"Report          : {tmp_path / 'out' / 'report.html'}" in first.stdout
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "published").is_dir()
    assert second.returncode == 0 and second.stdout.count(": unchanged (drop ") == 3
