"""The sample drops' report as a reader opens it: headless Chromium, first screen, labels, no codes, its weight.

Needs the whole-pipeline registry (the full tier) and Chromium (Debian package ``chromium``, installed by .ci/run;
``GIST_REQUIRE_BROWSER=1`` makes its absence a failure rather than a skip).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.catalogue import load_catalogue
from pipelines.labels import LABELS_PATH
from schemas import vocabularies

WIDTH, HEIGHT = 1600, 1000  # a laptop's first screen
MAX_BYTES = 2_000_000
# Writes where the summary table and forest plot landed into the DOM, so --dump-dom can report it.
MEASURE = """<script>addEventListener('load', () => {
  const box = id => { const r = document.getElementById(id).getBoundingClientRect();
                      return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  document.body.dataset.layout = JSON.stringify({table: box('summary-table'), forest: box('summary-forest')});
});</script>"""


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("GIST_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return found


def _chromium(tmp_path: Path, page: Path, *mode: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--hide-scrollbars",
        *mode,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def _codes() -> set[str]:
    """Codes no reader should meet: vocabulary codes, catalogue groups and cohort flow steps that are not plain words."""
    vocabulary = {code for value in vars(vocabularies).values() if isinstance(value, tuple) for code in value}
    groups = {g for a in load_catalogue() for g in a.groups}
    models = {m for a in load_catalogue() for e in a.endpoints for m in a.models(e)}
    flow = set(yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8"))["flow"])
    return {c for c in vocabulary | groups | models | flow if "_" in c}


def _visible_text(dom: str) -> str:
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"<[^>]+>", " ", text)


@pytest.fixture(scope="module")
def report(registry, tmp_path_factory) -> tuple[Path, str]:
    _con, root = registry
    path = root / "out" / "report.html"
    measured = path.with_name("report_measured.html")  # beside the report: its plots/ resolve the same
    measured.write_text(path.read_text(encoding="utf-8").replace("</body>", f"{MEASURE}</body>"), encoding="utf-8")
    dom = _chromium(tmp_path_factory.mktemp("chromium"), measured, "--dump-dom", "--virtual-time-budget=5000")
    return path, dom


def test_the_report_weighs_under_two_megabytes(report) -> None:
    path, _dom = report
    assert path.stat().st_size < MAX_BYTES


def test_summary_table_and_forest_plot_are_on_the_first_screen_side_by_side(report) -> None:
    _path, dom = report
    layout = json.loads(re.search(r'data-layout="([^"]+)"', dom)[1].replace("&quot;", '"'))
    table, forest = layout["table"], layout["forest"]
    assert table["top"] < HEIGHT / 2 and forest["top"] < HEIGHT / 2
    assert forest["bottom"] <= HEIGHT * 1.05  # the whole forest plot is in view
    assert forest["left"] >= table["right"] - 1 and forest["right"] <= WIDTH


def test_every_comparison_has_its_primary_and_naive_estimate_labelled(report, registry) -> None:
    con, _root = registry
    _path, dom = report
    table = re.search(r'<table id="summary-table">(.*?)</table>', dom, flags=re.S)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S)
    (expected,) = con.execute("SELECT count(*) FROM published.v_comparison_summary").fetchone()
    assert len(rows) == expected > 0
    for row in rows:
        cells = re.findall(r'<td class="estimate">(.*?)</td>', row, flags=re.S)
        assert len(cells) == 2, row
        primary, naive = (_visible_text(c) for c in cells)
        assert primary.startswith("HR ") and "primary:" in primary, primary
        assert naive.startswith("HR ") and ("unadjusted" in naive or "naive: immortal-time biased" in naive), naive
    forest = re.search(r'<figure id="summary-forest">(.*?)</figure>', dom, flags=re.S)[1]
    assert "primary estimate" in forest and "naive or unadjusted estimate" in forest
    assert len(re.findall(r", (?:PFS|OS|RFS)</text>", forest)) == expected  # one labelled line per comparison


def test_no_code_value_anywhere_in_the_rendered_text(report) -> None:
    _path, dom = report
    text = _visible_text(dom)
    found = {c for c in _codes() if re.search(rf"(?<![\w/.-]){re.escape(c)}(?![\w/.-])", text)}
    assert found == set()


def test_a_screenshot_of_the_first_screen_renders(report, tmp_path) -> None:
    path, _dom = report
    shot = tmp_path / "first_screen.png"
    _chromium(tmp_path, path, f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
