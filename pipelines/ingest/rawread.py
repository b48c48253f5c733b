"""Read one site file as text, exactly as received, with its line numbers.

DuckDB's CSV reader does the parsing (it is the fastest reader available and
reports malformed rows precisely).  Files in an encoding DuckDB does not read
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
import polars as pl

from pipelines.ingest.checks import DIRECT_IDENTIFIER, DUPLICATE_HEADER, FILE_UNREADABLE, Check
from pipelines.ingest.identifiers import direct_identifier
from pipelines.ingest.profiles import SiteProfile

LINE = "line_number"
PARSE_ERROR = "parse_error"  # why a line could not be split into the header's fields (NULL when it could)
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
class RawFile:
    """Text values under canonical column names, plus what did not map."""

    frame: pl.DataFrame  # LINE, PARSE_ERROR + one Utf8 column per canonical column the file has
    header: tuple[str, ...]  # the file's column names as received
    extra_columns: tuple[str, ...]  # file columns no canonical column maps to (reported, not loaded)
    missing_columns: tuple[str, ...]  # canonical columns the file lacks


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


def _line_numbers(path: Path, delimiter: str, n_rows: int, skipped: list[int]) -> pl.Series:
    """File line of each parsed data row (header = line 1), given the lines DuckDB set aside.

    When every record is one physical line (the usual case) this is arithmetic;
    otherwise (embedded newlines, empty lines) the csv module walks the file.
    """
    data = path.read_bytes()
    physical_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if physical_lines == n_rows + len(skipped) + 1:
        lines = pl.int_range(2, physical_lines + 1, eager=True, dtype=pl.Int64)
        return lines.filter(~lines.is_in(skipped)).alias(LINE)
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter)
    starts, previous_end, set_aside = [], 0, set(skipped)
    for record in reader:
        if record and previous_end > 0 and previous_end + 1 not in set_aside:
            starts.append(previous_end + 1)
        previous_end = reader.line_num
    if len(starts) != n_rows:
        raise FileRejected(f"{path.name}: could not align {n_rows} records with the file's lines")
    return pl.Series(LINE, starts, dtype=pl.Int64)


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


def _parse(readable: Path, header: list[str], delimiter: str, name: str) -> pl.DataFrame:
    """Every data row as text with its line and parse error, in file order."""
    con = duckdb.connect()
    try:
        frame = con.sql(READ_SQL, params={"path": str(readable), "delim": delimiter,
                                          "columns": {column: "VARCHAR" for column in header}}).pl()
        rejects = con.execute("SELECT line, any_value(error_type), any_value(csv_line), any_value(error_message) "
                              "FROM reject_errors GROUP BY line ORDER BY line").fetchall()
    except duckdb.Error as err:
        first_line = str(err).strip().splitlines()[0]
        raise FileRejected(f"{name}: not a readable '{delimiter}'-delimited file ({first_line})") from err
    finally:
        con.close()
    fatal = [(line, message) for line, kind, _, message in rejects if kind not in ROW_LEVEL_ERRORS]
    if fatal:
        line, message = fatal[0]
        raise FileRejected(f"{name}: line {line}: {message} — the file cannot be split into rows reliably")
    skipped = [line for line, *_ in rejects]
    good = frame.with_columns(_line_numbers(readable, delimiter, frame.height, skipped), pl.lit(None, dtype=pl.Utf8).alias(PARSE_ERROR))
    if not rejects:
        return good
    malformed = _malformed_rows([(line, csv_line) for line, _, csv_line, _ in rejects], header, delimiter)
    return pl.concat([good, malformed], how="diagonal").sort(LINE)


def read_raw(path: Path, table: str, profile: SiteProfile, canonical_columns: list[str]) -> RawFile:
    """Read ``path`` as text under canonical column names, or raise FileRejected."""
    if path.stat().st_size == 0:
        raise FileRejected(f"{path.name}: the file is empty")
    spec = profile.tables[table]
    with tempfile.TemporaryDirectory() as tmp:
        readable = _utf8_copy(path, profile.encoding, Path(tmp))
        header = _header(readable, profile.delimiter, path.name)
        frame = _parse(readable, header, profile.delimiter, path.name)
    source_of = {canonical: spec.source_column(canonical) for canonical in canonical_columns}
    present = {canonical: source for canonical, source in source_of.items() if source in header}
    missing = tuple(c for c in canonical_columns if c not in present)
    extra = tuple(c for c in header if c not in set(present.values()))
    columns = [pl.col(present[c]).alias(c) if c in present else pl.lit(None, dtype=pl.Utf8).alias(c) for c in canonical_columns]
    return RawFile(frame.select(LINE, PARSE_ERROR, *columns), tuple(header), extra, missing)
