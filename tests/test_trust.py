"""Every line accounted for, one truthful outcome per drop, nothing refused kept: inputs written by hand."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import duckdb
import polars as pl
import pytest

from pipelines.ingest import site_drop
from pipelines.ingest.steps import load_core, receive_drop
from pipelines.registry.connection import RegistryLocked, open_registry
from pipelines.registry.integrity import registry_problems
from tests.conftest import EPISODE, GOOD_PATIENT, PATIENTS_HEADER, lock_held, write_site

SECOND = GOOD_PATIENT.replace("P1,", "P2,")


def _rows(con, sql, params=()):
    return con.execute(sql, params).fetchall()


def _load(con, settings, site="alpha"):
    return receive_drop(con, settings, site), load_core(con, settings, site)


def _state(con):
    return {
        t: _rows(con, f"SELECT * EXCLUDE (drop_id) FROM {t} ORDER BY ALL")
        for t in ("raw.patients", "core.patients", "core.tki_episodes", "audit.quarantine")
    }


def _patients_only_site(root, lines, site="solo"):
    """A drop of a single file, semicolon-delimited, with its own column names: no two-table path to lean on."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    header = PATIENTS_HEADER.replace("patient_id", "Pat Nr").replace(",", ";")
    (root / "profiles" / f"{site}.yaml").write_text(
        f"site_id: {site}\ndelimiter: ';'\ntables:\n  patients: {{file: export.txt, columns: {{patient_id: Pat Nr}}}}\n"
    )
    (root / "drops" / site).mkdir(parents=True, exist_ok=True)
    (root / "drops" / site / "export.txt").write_text(
        "\n".join([header, *(line.replace(",", ";") for line in lines)]) + "\n"
    )


def test_a_single_file_drop_with_a_repeated_id_stores_and_quarantines_each_line_once(con, settings, tmp_path):
    lines = [GOOD_PATIENT, SECOND, GOOD_PATIENT.replace("male", "female"), GOOD_PATIENT.replace("P1,", "P3,")]
    _patients_only_site(tmp_path, lines)
    received, loaded = _load(con, settings, "solo")
    assert (received.status, loaded.status) == ("received", "loaded")
    assert _rows(con, "SELECT line_number FROM raw.patients ORDER BY 1") == [(2,), (3,), (4,), (5,)]  # 4 lines, 4 rows
    quarantined = _rows(con, "SELECT line_number FROM audit.quarantine ORDER BY 1")
    assert quarantined == [(2,), (4,)]  # both lines of P1, each once
    assert _rows(con, "SELECT line_number FROM core.patients ORDER BY 1") == [(3,), (5,)]
    assert loaded.counts["patients"] == {"data_lines": 4, "filtered": 0, "loaded": 2, "quarantined": 2, "warnings": 0}
    findings = pl.read_csv(loaded.report.with_suffix(".csv"))
    assert sorted(findings.filter(pl.col("severity") == "error")["line_number"].to_list()) == [2, 4]


def test_trimmed_ids_join_a_patient_to_its_episodes(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT.replace("P1,", " P1 ,")], [EPISODE.replace("P1,", "P1\t,")])
    _, loaded = _load(con, settings)
    assert loaded.counts["tki_episodes"]["loaded"] == 1
    assert _rows(
        con,
        "SELECT count(DISTINCT patient_id) FROM (SELECT patient_id FROM core.patients UNION ALL "
        "SELECT patient_id FROM core.tki_episodes)",
    ) == [(1,)]


@pytest.mark.parametrize("fault", ["lose a row", "repeat a row"])
def test_a_load_that_does_not_account_for_every_line_is_refused_and_the_previous_state_stays(
    con, settings, tmp_path, monkeypatch, fault
):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    _load(con, settings)
    before = _state(con)
    write_site(tmp_path, "alpha", [GOOD_PATIENT, SECOND, GOOD_PATIENT.replace("P1,", "P3,")], [EPISODE])
    validate = site_drop.validate_drop

    def faulty(raw, profile):  # a bug between validation and the write, as the load would meet it
        result = validate(raw, profile)
        patients = result["patients"]
        loaded = (
            patients.loaded.head(2) if fault == "lose a row" else pl.concat([patients.loaded, patients.loaded.head(1)])
        )
        return {**result, "patients": replace(patients, loaded=loaded)}

    monkeypatch.setattr("pipelines.ingest.steps.validate_drop", faulty)
    received, loaded = _load(con, settings)
    assert received.status == "received" and loaded.status == "rejected"
    assert _state(con)["core.patients"] == before["core.patients"]
    assert _rows(con, "SELECT status FROM audit.drops ORDER BY received_at DESC LIMIT 1") == [("rejected",)]
    assert registry_problems(con) == []  # the registry still holds exactly the previous drop
    expected = (
        "1 line(s) neither loaded nor quarantined (4)"
        if fault == "lose a row"
        else "1 line(s) accounted for more than once (2)"
    )
    assert expected in loaded.message and "previous data kept" in loaded.summary()
    findings = pl.read_csv(loaded.report.with_suffix(".csv"))
    assert findings["check_id"].to_list() == ["completeness.line_accounting"]


def test_the_guard_finds_a_registry_whose_rows_do_not_match_the_ledger(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT, SECOND], [EPISODE])
    _load(con, settings)
    assert registry_problems(con) == []
    con.execute("DELETE FROM core.patients WHERE line_number = 3")
    (problem,) = registry_problems(con)
    assert (problem["table"], problem["loaded"], problem["core_rows"]) == ("patients", 2, 1)


def test_a_header_only_patients_file_is_refused_instead_of_emptying_the_site(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT, SECOND], [EPISODE])
    _load(con, settings)
    before = _state(con)
    write_site(tmp_path, "alpha", ["", " "], [])
    received = receive_drop(con, settings, "alpha")
    assert received.status == "rejected" and "no data rows" in received.message
    assert load_core(con, settings, "alpha").status == "unchanged"
    assert _state(con) == before


def test_a_corrected_profile_rereads_an_already_loaded_drop(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT.replace(",male,", ",m,")], [EPISODE])
    _, loaded = _load(con, settings)
    assert loaded.counts["patients"]["quarantined"] == 1
    profile = tmp_path / "profiles" / "alpha.yaml"
    profile.write_text(
        profile.read_text().replace(
            "  patients: {file: patients.csv}", "  patients: {file: patients.csv, codes: {sex: {m: male}}}"
        )
    )
    received, reloaded = _load(con, settings)
    assert (received.status, reloaded.status) == ("received", "loaded")
    assert reloaded.counts["patients"]["loaded"] == 1
    assert [s for s in (receive_drop(con, settings, "alpha").status, load_core(con, settings, "alpha").status)] == [
        "unchanged"
    ] * 2


def test_a_drop_restored_to_an_earlier_version_is_loaded_again(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    _load(con, settings)
    write_site(tmp_path, "alpha", [GOOD_PATIENT, SECOND], [EPISODE])
    _load(con, settings)
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    received, loaded = _load(con, settings)
    assert (received.status, loaded.status) == ("received", "loaded")
    assert _rows(con, "SELECT count(*) FROM core.patients") == [(1,)]


def test_a_drop_with_a_direct_identifier_is_refused_and_not_archived(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [f"{GOOD_PATIENT},Dupont-Secret"], [EPISODE])
    patients = tmp_path / "drops" / "alpha" / "patients.csv"
    patients.write_text(patients.read_text().replace(PATIENTS_HEADER, f"{PATIENTS_HEADER},Nachname", 1))
    received = receive_drop(con, settings, "alpha")
    assert (
        received.status == "rejected" and "NOT archived" in received.message and "'Nachname' (name)" in received.message
    )
    archived = [
        p for p in settings.archive_dir.rglob("*") if p.is_file() and not p.name.startswith("validation_report")
    ]
    assert archived == []
    stored = "".join(p.read_text() for p in settings.archive_dir.rglob("*") if p.is_file())
    assert "Dupont-Secret" not in stored
    files, archive_path = _rows(con, "SELECT files, archive_path FROM audit.drops")[0]
    assert (
        archive_path is None
        and json.loads(files)["patients"]["file"] == "patients.csv"
        and json.loads(files)["patients"]["sha256"]
    )


def test_a_site_without_a_profile_is_not_processed_and_says_what_to_do(con, settings, tmp_path):
    (tmp_path / "drops" / "gamma").mkdir(parents=True)
    (tmp_path / "drops" / "gamma" / "x.csv").write_text("a\n1\n")
    result = receive_drop(con, settings, "gamma")
    assert result.status == "not_processed" and "add gamma.yaml" in result.message and result.report is None
    assert "NOT PROCESSED" in result.summary() and "validation report" not in result.summary()
    assert _rows(con, "SELECT site_id, drop_id, status FROM audit.drops") == [("gamma", None, "not_processed")]


def test_a_missing_file_of_the_drop_is_not_processed(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    (tmp_path / "drops" / "alpha" / "tki_episodes.csv").unlink()
    result = receive_drop(con, settings, "alpha")
    assert result.status == "not_processed" and "tki_episodes.csv" in result.message


def test_a_second_writer_waits_then_fails_naming_the_lock(tmp_path):
    path = tmp_path / "locked.duckdb"
    with lock_held(path):
        with pytest.raises(RegistryLocked, match=r"held by another writer \(PID \d+\).*nothing was read or written"):
            with open_registry(str(path), {}, timeout_seconds=0.5):
                pass
    with open_registry(str(path), {}, timeout_seconds=5):  # released by the kill: the next writer gets in
        pass


def test_a_writer_does_not_open_the_file_while_another_writer_holds_the_registry(tmp_path, monkeypatch):
    """DuckDB reads the header before its own lock: a waiter that opened the file could start from a stale one."""
    path = tmp_path / "held.duckdb"
    opened, connect = [], duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *args, **kwargs: opened.append(args) or connect(*args, **kwargs))
    with lock_held(path, as_a_writer=True) as holder:
        with pytest.raises(RegistryLocked, match=rf"held by another writer \(PID {holder.pid}\)"):
            with open_registry(str(path), {}, timeout_seconds=0.5):
                pass
    assert opened == []


def test_the_rerun_of_a_rejected_drop_changes_nothing(con, settings, tmp_path):
    write_site(tmp_path, "alpha", [GOOD_PATIENT], [EPISODE])
    (tmp_path / "drops" / "alpha" / "patients.csv").write_bytes(b"\x00\x01binary")
    first, second = receive_drop(con, settings, "alpha"), receive_drop(con, settings, "alpha")
    assert first.status == second.status == "rejected" and first.message == second.message
    assert _rows(con, "SELECT count(*) FROM audit.drops") == [(1,)]


def test_a_footer_with_a_value_only_in_an_unmapped_column_is_quarantined_not_skipped(con, settings, tmp_path):
    write_site(
        tmp_path, "alpha", [GOOD_PATIENT + ",", SECOND + ",", "," * 20 + "Total: 2 patients", "," * 20], [EPISODE]
    )
    patients = tmp_path / "drops" / "alpha" / "patients.csv"
    patients.write_text(patients.read_text().replace(PATIENTS_HEADER, f"{PATIENTS_HEADER},Notes", 1))
    received, loaded = _load(con, settings)
    assert received.counts["patients"]["blank_rows"] == 1  # the padding line only
    assert loaded.counts["patients"] == {"data_lines": 3, "filtered": 1, "loaded": 2, "quarantined": 1, "warnings": 0}
    assert _rows(con, "SELECT line_number, check_id FROM audit.quarantine") == [(4, "completeness.required")]


# without the lock file a committed row was lost on a loaded machine (and in most attempts with each writer slowed
# 20 ms between DuckDB's header read and its lock): one attempt in the fast tier, three in the full one
@pytest.mark.parametrize("attempt", [0, *(pytest.param(n, marks=pytest.mark.slow) for n in (1, 2))])
def test_processes_opening_a_new_registry_at_once_never_write_over_each_other(tmp_path, attempt):
    """Each of eight processes starts on a registry file that does not exist yet, commits a row and exits: all rows stay."""
    script = textwrap.dedent(f"""
        import sys, time
        from pipelines.registry.connection import open_registry
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
        with open_registry({str(tmp_path / "new.duckdb")!r}, {{}}, 60) as con:
            con.execute("CREATE TABLE IF NOT EXISTS t (writer INTEGER)")
            con.execute("INSERT INTO t VALUES (?)", [int(sys.argv[1])])""")
    start = str(time.time() + 2)
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(n), start], stderr=subprocess.PIPE, text=True)
        for n in range(8)
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * 8, errors
    con = duckdb.connect(str(tmp_path / "new.duckdb"), read_only=True)
    assert sorted(con.execute("SELECT writer FROM t").fetchall()) == [(n,) for n in range(8)]
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.duckdb", "new.duckdb.lock"], errors
