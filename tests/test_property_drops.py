"""Property: whatever is wrong with an extract, every data row is loaded or quarantined once, or the drop is refused whole.

Malformed extracts are generated from a valid canonical drop by random edits: bad values (any text, bad
dates, stray quotes, embedded newlines), dropped, duplicated and renamed columns, short and long lines,
blank lines, undecodable bytes, duplicated rows and repeated patient ids; for a two-table site and for a
site whose drop is a single patients file.  The accounting is asserted on the archived bytes, with
Python's csv module, not on counts the pipeline reports.
"""

import csv
import io
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipelines.ingest.checks import all_checks
from pipelines.ingest.steps import load_core, receive_drop
from pipelines.registry.ddl import create_registry
from pipelines.registry.integrity import registry_problems
from tests.conftest import EPISODE, EPISODES_HEADER, GOOD_PATIENT, PATIENTS_HEADER, make_settings, write_site

PATIENTS = [GOOD_PATIENT.replace("P1,", f"P{i},") for i in range(1, 5)]
EPISODES = [EPISODE.replace("P1", f"P{i}") for i in range(1, 5)] + ["P1,2,sunitinib,50,2016-01-10,,ongoing,SD"]
FILES = {"patients.csv": PATIENTS_HEADER, "tki_episodes.csv": EPISODES_HEADER}
SURGERIES = [
    "surgery_date,patient_id,intent,disease_status,resection,lesions_resected,largest_lesion_mm,tki_continued,clavien_dindo",
    "2017-03-01,P1,cytoreductive,stable,R1,2,30,true,II",
    "2018-05-02,P2,salvage,focal_progression,R2,1,55,false,0",
]
PROGRESSIONS = [
    "patient_id,pattern,progression_date,progressing_lesions,secondary_mutation",
    "P2,focal,2018-01-15,1,",
    "P3,multifocal,2019-02-01,4,KIT exon 17",
]
STATE = ("raw.patients", "raw.tki_episodes", "core.patients", "core.tki_episodes", "audit.quarantine", "audit.issues")

ODD_VALUES = st.sampled_from(
    [
        "",
        " ",
        "NA",
        "X",
        "-1",
        "99999",
        "1,5",
        "31.02.2020",
        "2015-13-01",
        "01/02/2015",
        "żółw",
        '"',
        'a"b',
        "9999-12-31",
        "male ",
        "1e400",
        "\n",
        "P1",
        "P2",
    ]
) | st.text(max_size=5)
EDIT = st.one_of(
    st.tuples(st.just("value"), st.integers(0, 10), st.integers(0, 25), ODD_VALUES),
    st.tuples(st.just("drop_column"), st.integers(0, 25)),
    st.tuples(st.just("duplicate_column"), st.integers(0, 25)),
    st.tuples(st.just("rename_column"), st.integers(0, 25), st.sampled_from(["x", "Surname", "comment", "E-mail"])),
    st.tuples(st.just("short_row"), st.integers(0, 10), st.integers(0, 19)),
    st.tuples(st.just("long_row"), st.integers(0, 10), st.integers(1, 3)),
    st.tuples(st.just("blank_line"), st.integers(0, 10), st.sampled_from(["", ",,,,", "   "])),
    st.tuples(st.just("duplicate_row"), st.integers(0, 10)),
    st.tuples(st.just("bad_bytes"), st.integers(0, 10)),
    st.tuples(st.just("repeat_id"), st.integers(0, 10), st.integers(0, 10)),
)
# two tables; a single patients file; all four tables, columns in an order of their own
SITES = {
    "alpha": sorted(FILES),
    "solo": ["patients.csv"],
    "full": ["patients.csv", "progressions.csv", "surgeries.csv", "tki_episodes.csv"],
}


def _apply(rows: list[list[str]], edit: tuple) -> list[list[str]] | bytes:
    """One edit on header + data rows (as lists of fields); 'bad_bytes' marks the file for undecodable bytes."""
    kind, *args = edit
    header, data = rows[0], rows[1:]
    width = len(header)
    if kind == "value" and data:
        row = data[args[0] % len(data)]
        row[args[1] % len(row)] = args[2]
    elif kind == "drop_column":
        return [[f for j, f in enumerate(row) if j != args[0] % width] for row in rows]
    elif kind == "duplicate_column":
        j = args[0] % width
        return [row[: j + 1] + row[j : j + 1] + row[j + 1 :] for row in rows]
    elif kind == "rename_column":
        header[args[0] % width] = args[1]
    elif kind == "short_row" and data:
        row = data[args[0] % len(data)]
        del row[min(args[1], len(row) - 1) :]
    elif kind == "long_row" and data:
        data[args[0] % len(data)].extend(["extra"] * args[1])
    elif kind == "blank_line":
        data.insert(args[0] % (len(data) + 1), [args[1]])
    elif kind == "duplicate_row" and data:
        data.append(list(data[args[0] % len(data)]))
    elif kind == "repeat_id" and data and data[0]:
        target, source = data[args[0] % len(data)], data[args[1] % len(data)]
        if target and source:
            target[0] = source[0]  # another line's patient id, the rest of the line its own
    return [header, *data]


def _render(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if len(row) == 1 and not row[0].strip(",").strip():
            out.write(row[0] + "\n")  # a blank line as a spreadsheet leaves it, unquoted
        else:
            writer.writerow(row)
    return out.getvalue()


def _state(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in STATE}


def _data_records(text: str) -> int:
    """Data records as Python's csv module counts them (empty lines are not records)."""
    return sum(1 for record in list(csv.reader(io.StringIO(text)))[1:] if record)


def _data_lines(content: bytes) -> list[int]:
    """The line each non-blank data record starts on, read off the bytes with Python's csv module."""
    reader = csv.reader(io.StringIO(content.decode("utf-8", errors="replace")))
    next(reader, None)
    lines, end = [], reader.line_num
    for record in reader:
        start, end = end + 1, reader.line_num
        if record and any(field.strip() for field in record):
            lines.append(start)
    return lines


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A registry holding one good drop of site 'alpha' (the previous good state every example starts from)."""
    root = tmp_path_factory.mktemp("property")
    settings = make_settings(root)
    write_site(root, "alpha", PATIENTS, EPISODES)
    write_site(root, "solo", PATIENTS, [])
    (root / "drops" / "solo" / "tki_episodes.csv").unlink()
    (root / "profiles" / "solo.yaml").write_text("site_id: solo\ntables:\n  patients: {file: patients.csv}\n")
    write_site(root, "full", PATIENTS, EPISODES)
    for table, lines in (("surgeries", SURGERIES), ("progressions", PROGRESSIONS)):
        (root / "drops" / "full" / f"{table}.csv").write_text("\n".join(lines) + "\n")
    (root / "profiles" / "full.yaml").write_text(
        "site_id: full\ntables:\n"
        + "".join(
            f"  {table}: {{file: {table}.csv}}\n" for table in ("patients", "tki_episodes", "surgeries", "progressions")
        )
    )
    con = duckdb.connect(str(settings.duckdb_path))
    create_registry(con)
    for site in SITES:
        assert (
            receive_drop(con, settings, site).status == "received" and load_core(con, settings, site).status == "loaded"
        )
    assert [
        con.execute(f"SELECT count(*) FROM core.{t} WHERE site_id = 'full'").fetchall()[0][0]
        for t in ("patients", "tki_episodes", "surgeries", "progressions")
    ] == [4, 4, 2, 2]  # an overlapping episode held back
    con.close()
    return root, settings


@hypothesis_settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    site_file=st.sampled_from([(site, file) for site, files in SITES.items() for file in files]),
    edits=st.lists(EDIT, min_size=1, max_size=4),
)
def test_every_row_is_loaded_or_quarantined_or_the_drop_is_refused(base, site_file, edits):
    site, file = site_file
    root, base_settings = base
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(root / "drops", work / "drops")
        shutil.copytree(root / "profiles", work / "profiles")
        shutil.copy(base_settings.duckdb_path, work / "registry.duckdb")
        settings = replace(
            base_settings,
            drop_dir=work / "drops",
            profiles_dir=work / "profiles",
            duckdb_path=work / "registry.duckdb",
            archive_dir=work / "archive",
        )
        path = work / "drops" / site / file
        rows = list(csv.reader(io.StringIO(path.read_text())))
        for edit in edits:
            rows = _apply(rows, edit)
        text = _render(rows)
        content = text.encode()
        for kind, *args in edits:
            if kind == "bad_bytes":
                lines = content.split(b"\n")
                lines[args[0] % len(lines)] += b"\xff\xfe"
                content = b"\n".join(lines)
        path.write_bytes(content)

        con = duckdb.connect(str(settings.duckdb_path))
        before = _state(con)
        received = receive_drop(con, settings, site)
        event(f"drop {received.status}")
        assert received.status in {"received", "rejected", "unchanged"}
        if received.status in {"rejected", "unchanged"}:  # unchanged: the edits happened to restore the good drop
            assert _state(con) == before
        if received.status == "rejected":
            assert "rejected as a whole" in received.report.read_text(encoding="utf-8")
        if received.status == "received":
            loaded = load_core(con, settings, site)
            assert loaded.status == "loaded", loaded.message
            table = file.removesuffix(".csv")
            lines = _data_lines(content)
            in_core = con.execute(
                f"SELECT line_number FROM core.{table} WHERE site_id = ? ORDER BY 1", [site]
            ).fetchall()
            held = con.execute(
                "SELECT line_number FROM audit.quarantine WHERE site_id = ? AND table_name = ? ORDER BY 1",
                [site, table],
            ).fetchall()
            assert sorted(line for (line,) in in_core + held) == lines  # each data line of the file exactly once
            assert loaded.counts[table]["data_lines"] == len(lines)
            assert (loaded.counts[table]["loaded"], loaded.counts[table]["quarantined"]) == (len(in_core), len(held))
            raw = con.execute(f"SELECT line_number FROM raw.{table} WHERE site_id = ? ORDER BY 1", [site]).fetchall()
            assert len(raw) == len(set(raw)) == received.counts[table]["input_rows"]  # no line stored twice in raw
            written = path.read_bytes().decode("utf-8", errors="replace")
            assert received.counts[table]["input_rows"] + received.counts[table]["blank_rows"] == _data_records(written)
            assert registry_problems(con) == []
            assert {c for (c,) in con.execute("SELECT DISTINCT check_id FROM audit.issues").fetchall()} <= set(
                all_checks()
            )
        con.close()
