"""Read one site file as text, exactly as received, with its line numbers, into DuckDB (a temp table seen through a view).

DuckDB's CSV reader does the parsing (it is the fastest reader available and
reports malformed rows precisely), in the registry's own connection, so the
rows go from the file to ``raw`` without a copy through Python.  Files in an encoding DuckDB does not read
natively (cp1250, Latin-1, ...) are transcoded to a temporary UTF-8 copy
first; the archived original is never touched.

A line with more or fewer fields than the header is kept as a row of its own,
its fields placed by position and ``parse_error`` saying what is wrong, so it is
quarantined rather than lost.  Anything worse (binary, undecodable, a quote
left open, a header that is ambiguous or names a direct identifier) rejects the
whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.ingest.checks import DIRECT_IDENTIFIER, DUPLICATE_HEADER, FILE_UNREADABLE, Check
from pipelines.ingest.identifiers import direct_identifier
from pipelines.ingest.profiles import SiteProfile

LINE = "line_number"
PARSE_ERROR = "parse_error"  # why a line could not be split into the header's fields (NULL when it could)
WHITESPACE = " \t\r\n\v\f"  # what a blank field may hold
ROW_LEVEL_ERRORS = {"MISSING COLUMNS", "TOO MANY COLUMNS"}
READ_SQL = ("SELECT * FROM read_csv($path, delim = $delim, quote = '\"', escape = '\"', header = true, auto_detect = false, "
            "columns = $columns, store_rejects = true, strict_mode = true, null_padding = false)")


class FileRejected(ValueError):
    """A file that cannot be read at all; the message names the file and the cause, ``check`` says which rule."""

    def __init__(self, message: str, check: Check = FILE_UNREADABLE, file: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.file = file


@dataclass(frozen=True)
class StagedFile:
    """A file read into DuckDB under canonical column names, plus what did not map."""

    table: str  # temp view: LINE, PARSE_ERROR + one VARCHAR column per canonical column (NULL where the file lacks it)
    header: tuple[str, ...]  # the file's column names as received
    extra_columns: tuple[str, ...]  # file columns no canonical column maps to (reported, not loaded)
    missing_columns: tuple[str, ...]  # canonical columns the file lacks
    rows: int  # rows in ``table``
    blank_rows: int  # rows left out because every field is empty


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """The file itself if it is UTF-8 (DuckDB skips a BOM), else a transcoded UTF-8 copy."""
    if codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}:
        return path
    target = workdir / f"{path.stem}.utf8.csv"
    try:
        with path.open("r", encoding=encoding, newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
            for chunk in iter(lambda: src.read(1 << 22), ""):
                dst.write(chunk)
    except UnicodeDecodeError as err:
        raise FileRejected(f"{path.name}: cannot be decoded as {encoding} at byte {err.start} — check the profile's encoding") from err
    return target


def _header(readable: Path, delimiter: str, name: str) -> list[str]:
    """The header's column names (blanks trimmed); rejects a binary file, a missing header, a repeated or identifying name."""
    with readable.open("rb") as handle:
        if b"\x00" in handle.read(1 << 16):
            raise FileRejected(f"{name}: contains NUL bytes — a binary file (or UTF-16); export the table as a CSV text file")
    try:
        with readable.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle, delimiter=delimiter), [])
    except (UnicodeDecodeError, csv.Error) as err:
        raise FileRejected(f"{name}: the header line cannot be read ({err}) — check the profile's encoding") from err
    if not any(cell.strip() for cell in first):
        raise FileRejected(f"{name}: the first line is empty; expected the header with the column names")
    header = [cell.strip() or f"_unnamed_{position}" for position, cell in enumerate(first, start=1)]
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        raise FileRejected(f"{name}: column(s) {', '.join(repeated)} appear more than once in the header", DUPLICATE_HEADER)
    identifying = [f"'{column}' ({kind})" for column in header if (kind := direct_identifier(column))]
    if identifying:
        raise FileRejected(f"{name}: column(s) {', '.join(identifying)} look like direct identifiers; the registry holds no "
                           "direct identifiers, so the drop is refused — remove the column(s) from the export and send it again",
                           DIRECT_IDENTIFIER)
    return header


def _physical_lines(data: bytes, newlines: int | None = None) -> int:
    """Lines in the file, a last line without a newline included (``newlines``: their count, if already known)."""
    return (data.count(b"\n") if newlines is None else newlines) + (0 if data.endswith(b"\n") else 1)


def _line_shifts(path: Path, delimiter: str, n_rows: int, rejected: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Where the file line of parsed data row ``k`` (0-based) stops being ``k + 2`` (header = line 1), and the
    file line of each line DuckDB set aside.

    The first is ``{first row: shift}``: from that row on, each row's line is ``k + 2 + shift``.  It is
    empty in the usual file (one physical line per record, nothing set aside), so the line number is
    arithmetic on the row's position; each line set aside shifts the rows after it by one.  DuckDB
    numbers a set-aside line by the newlines before it that are not inside quotes, so where a quoted
    field spans lines its number is not the file's: then the csv module walks the file and translates.
    """
    data = path.read_bytes()
    if _physical_lines(data) == n_rows + len(rejected) + 1:
        return {line - 1 - before: before for before, line in enumerate(sorted(rejected), start=1)}, {line: line for line in rejected}
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter)
    next(reader, None)  # the header
    shifts, physical_of, previous_end, embedded_newlines = {}, {}, reader.line_num, reader.line_num - 1
    set_aside, row, shift = set(rejected), 0, 0
    for record in reader:
        start = previous_end + 1
        if record:
            duckdb_line = start - embedded_newlines
            if duckdb_line in set_aside:
                physical_of[duckdb_line] = start
            else:
                if start - row - 2 != shift:
                    shift = shifts[row] = start - row - 2
                row += 1
        embedded_newlines += reader.line_num - start
        previous_end = reader.line_num
    if row != n_rows or len(physical_of) != len(set_aside):
        raise FileRejected(f"{path.name}: could not align {n_rows} records with the file's lines")
    return shifts, physical_of


def _lines_of(data: bytes, newlines: np.ndarray, wanted: list[int]) -> list[bytes]:
    """The text of each of ``wanted`` (1-based) physical lines, cut at the file's newline offsets."""
    starts = np.concatenate(([0], newlines + 1))
    ends = np.append(newlines, len(data))
    return [data[starts[line - 1]:ends[line - 1]] for line in wanted]


def values_on_lines(path: Path, profile: SiteProfile, table: str, column: str, lines: list[int], records: int) -> pl.Series | None:
    """``column``'s value as received on each of ``lines`` (sorted), read straight off those lines of the file.

    ``records`` is how many data records the file holds (loaded, quarantined and blank).  When the
    file has exactly one physical line per record a line is a record, so only those lines are cut
    out of the file and parsed (by polars' CSV reader, as one small CSV); otherwise (a quoted field
    spans lines) this returns None.
    """
    data = path.read_bytes()
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))  # one vectorised pass finds every line
    if _physical_lines(data, newlines.size) != records + 1:
        return None
    excerpt = b"\n".join(_lines_of(data, newlines, [1, *lines])).decode(profile.encoding).removeprefix("\ufeff")
    header = next(csv.reader([excerpt.partition("\n")[0]], delimiter=profile.delimiter))
    position = [name.strip() for name in header].index(profile.tables[table].source_column(column))
    values = pl.read_csv(excerpt.encode("utf-8"), separator=profile.delimiter, columns=[position], infer_schema=False,
                         truncate_ragged_lines=True, raise_if_empty=False).to_series()
    return values if values.len() == len(lines) else None


def _malformed_rows(rejects: list[tuple], header: list[str], delimiter: str) -> pl.DataFrame:
    """Lines with the wrong number of fields, fields placed by position; blank ones stay blank (padding, not data)."""
    records = []
    for line, csv_line in rejects:
        fields = next(csv.reader([csv_line.lstrip("\r\n")], delimiter=delimiter), [])
        blank = not any(field.strip() for field in fields)
        records.append({LINE: line, PARSE_ERROR: None if blank else f"the line has {len(fields)} fields, the header has {len(header)}",
                        **{column: (field or None) for column, field in zip(header, fields)}})
    schema = {LINE: pl.Int64, PARSE_ERROR: pl.Utf8, **{column: pl.Utf8 for column in header}}
    return pl.DataFrame(records, schema=schema)


def _drop_rejects(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB appends every scan's rejects to the same temp tables; start each file afresh."""
    for name in ("reject_errors", "reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _parse(con: duckdb.DuckDBPyConnection, readable: Path, header: list[str], keep: list[str], delimiter: str, name: str,
           target: str) -> list[tuple]:
    """Every well-formed row's ``keep`` columns into temp table ``target`` (text, file order); returns the rejected lines."""
    _drop_rejects(con)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {', '.join(map(_quoted, keep)) or 'NULL AS no_column_kept'} FROM ({READ_SQL})",
                    {"path": str(readable), "delim": delimiter, "columns": {column: "VARCHAR" for column in header}})
        rejects = con.execute("SELECT line, any_value(error_type), any_value(csv_line), any_value(error_message) "
                              "FROM reject_errors GROUP BY line ORDER BY line").fetchall()
    except duckdb.Error as err:
        first_line = str(err).strip().splitlines()[0]
        raise FileRejected(f"{name}: not a readable '{delimiter}'-delimited file ({first_line})") from err
    finally:
        _drop_rejects(con)
    fatal = [(line, message) for line, kind, _, message in rejects if kind not in ROW_LEVEL_ERRORS]
    if fatal:
        line, message = fatal[0]
        raise FileRejected(f"{name}: line {line}: {message} — the file cannot be split into rows reliably")
    return rejects


def _all_blank(columns: list[str]) -> str:
    """SQL: every field of the row is empty or white space (spreadsheet padding): counted, not loaded.

    Each white-space character sorts before '!', so ``< '!'`` (a comparison DuckDB makes on the
    string's stored prefix) rules out nearly every row before any field is trimmed: 4x faster at 1M.
    """
    whitespace = " || ".join(f"chr({ord(character)})" for character in WHITESPACE)  # inline: a view takes no parameters
    cheap = [f"({column} IS NULL OR {column} < '!')" for column in columns]
    return " AND ".join([*cheap, *(f"coalesce(trim({column}, {whitespace}), '') = ''" for column in columns)])


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _frame")
    finally:
        con.unregister("_frame")


def _file_line(shifts: str | None) -> tuple[str, str]:
    """SQL for the file line of a parsed row (its position is the temp table's rowid) and the join it needs."""
    if shifts is None:
        return "p.rowid + 2", ""
    return "p.rowid + 2 + s.shift", f"ASOF JOIN {shifts} s ON p.rowid >= s.first_row"


def drop_staged_file(con: duckdb.DuckDBPyConnection, target: str) -> None:
    """Remove what :func:`stage_raw` made for ``target`` (also after a rejection part-way through)."""
    con.execute(f"DROP VIEW IF EXISTS {target}")
    for part in ("parsed", "malformed", "shifts", "blank"):
        con.execute(f"DROP TABLE IF EXISTS {target}_{part}")


def stage_raw(con: duckdb.DuckDBPyConnection, path: Path, table: str, profile: SiteProfile, canonical_columns: list[str],
              target: str) -> StagedFile:
    """Read ``path`` as text, seen through temp view ``target`` (LINE, PARSE_ERROR + canonical columns), or raise FileRejected.

    The rows never leave DuckDB and are materialised once, as parsed: line numbers, renaming,
    the malformed lines and the blank-row filter are a view over them, read by the insert into
    ``raw``.  Drop the temp objects with :func:`drop_staged_file`.
    """
    if path.stat().st_size == 0:
        raise FileRejected(f"{path.name}: the file is empty")
    spec = profile.tables[table]
    parsed = f"{target}_parsed"
    with tempfile.TemporaryDirectory() as tmp:
        readable = _utf8_copy(path, profile.encoding, Path(tmp))
        header = _header(readable, profile.delimiter, path.name)
        present = {c: spec.source_column(c) for c in canonical_columns if spec.source_column(c) in header}
        rejects = _parse(con, readable, header, list(present.values()), profile.delimiter, path.name, parsed)
        parsed_rows = con.execute(f"SELECT count(*) FROM {parsed}").fetchall()[0][0]
        shifts, physical_of = _line_shifts(readable, profile.delimiter, parsed_rows, [line for line, *_ in rejects])
    if shifts:
        _temp_table(con, f"{target}_shifts", pl.DataFrame(list({0: 0, **shifts}.items()), schema={"first_row": pl.Int64, "shift": pl.Int64},
                                                          orient="row"))
    malformed = _malformed_rows([(physical_of[line], csv_line) for line, _, csv_line, _ in rejects], header, profile.delimiter)
    _temp_table(con, f"{target}_malformed", malformed)
    line, join = _file_line(f"{target}_shifts" if shifts else None)
    columns = ", ".join(f"p.{_quoted(present[c])} AS {c}" if c in present else f"NULL::VARCHAR AS {c}" for c in canonical_columns)
    rows = (f"SELECT {line} AS {LINE}, NULL::VARCHAR AS {PARSE_ERROR}, {columns} FROM {parsed} p {join} "
            f"UNION ALL SELECT {LINE}, {PARSE_ERROR}, {columns} FROM {target}_malformed p")
    # as a WHERE, DuckDB tests a row's next field only while its fields so far are blank (as an expression, NOT (...) or
    # FILTER (...), it tests every field of every row: 7x slower at 1M); the few blank lines are then left out by number
    con.execute(f"CREATE OR REPLACE TEMP TABLE {target}_blank AS SELECT {LINE} FROM ({rows}) WHERE {_all_blank(canonical_columns)}")
    blank_rows = con.execute(f"SELECT count(*) FROM {target}_blank").fetchall()[0][0]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS SELECT * FROM ({rows})"
                + (f" WHERE {LINE} NOT IN (SELECT {LINE} FROM {target}_blank)" if blank_rows else ""))  # the usual file has none
    extra = tuple(c for c in header if c not in set(present.values()))
    return StagedFile(target, tuple(header), extra, tuple(c for c in canonical_columns if c not in present),
                      rows=parsed_rows + malformed.height - blank_rows, blank_rows=blank_rows)
