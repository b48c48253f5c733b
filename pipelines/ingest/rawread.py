"""Read one site file as text, exactly as received, with its line numbers, into DuckDB (a temp table seen through a view).

DuckDB's CSV reader does the parsing (it is the fastest reader available and
reports malformed rows precisely), in the registry's own connection, so the
rows go from the file to ``raw`` without a copy through Python.  One pass over
the bytes first refuses what no CSV export holds (a NUL byte anywhere, a line
over ``MAX_LINE_BYTES``, a UTF-8 file under a profile that says another
encoding) and finds the line endings.  Files in an encoding DuckDB does not read
natively (cp1250, Latin-1, ...), and files whose lines end in CR only or in a
mix of CRLF and LF (which DuckDB's reader cannot split), are rewritten as UTF-8
with LF endings into an anonymous in-memory file (``memfd``): it holds the
site's raw ids, and the kernel frees it when the process ends, even on kill -9,
so no copy is left on disk.  The archived original is never touched.

A line with more or fewer fields than the header is kept as a row of its own and
quarantined rather than lost; its fields cannot be placed (a leading delimiter
would put the patient id under another column, in clear), so it keeps only the
field at the patient id's position, which is pseudonymised like every id and lets
a malformed patient row still quarantine that patient's other rows.  Anything
worse (binary, undecodable, a quote left open, a header that is ambiguous) rejects
the whole file.  Headers naming direct identifiers never get here: the drop is
screened before it is archived (``pipelines/ingest/screening.py``).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.columns import LINE, PARSE_ERROR
from pipelines.ingest.accounting import comment_lines
from pipelines.ingest.checks import DUPLICATE_HEADER, FILE_UNREADABLE, FILTER_COLUMN_MISSING, Check
from pipelines.ingest.dialects import RowFilter
from pipelines.ingest.profiles import SiteProfile
from pipelines.ingest.site_columns import SiteColumns, create_site_view, site_columns

WHITESPACE = " \t\r\n\v\f"  # what a blank field may hold
ROW_LEVEL_ERRORS = {"MISSING COLUMNS", "TOO MANY COLUMNS"}
MAX_LINE_BYTES = (
    128 * 1024
)  # no registry row comes near; also the csv module's field limit, so it never fails on a line
_CHUNK = 1 << 24
READ_SQL = (
    "SELECT * FROM read_csv($path, delim = $delim, quote = '\"', escape = '\"', header = true, auto_detect = false, "
    "columns = $columns, store_rejects = true, strict_mode = true, null_padding = false)"
)


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
    site: SiteColumns = SiteColumns()  # the unmapped columns kept as site columns, and those that may not be
    filtered_rows: int = 0  # rows left out by the profile's filters (not blank)


@dataclass(frozen=True)
class _Scan:
    """What one pass over a file's bytes found (offsets are of the file's first such byte, or None)."""

    line_endings: str  # "lf", "crlf", "cr" (classic Mac) or "mixed" (CRLF and LF)
    nul: int | None
    long_line: int | None  # where a line longer than MAX_LINE_BYTES starts
    lone_cr: int | None  # a CR that is no line break (the file also has LF line ends)
    non_ascii: int | None
    utf8: bool | None  # the whole file is valid UTF-8 (None: not checked)


def _chunks(handle: io.BufferedReader) -> Iterator[bytes]:
    """The file in blocks of ``_CHUNK`` bytes, a CR at a block's end moved to the next (it may be half a CRLF)."""
    pending = b""
    while block := handle.read(_CHUNK):
        chunk = pending + block
        pending = b"\r" if chunk.endswith(b"\r") else b""
        yield chunk[: len(chunk) - len(pending)]
    if pending:
        yield pending


def _long_line(chunk: bytes, offset: int, line_start: int, breaks: np.ndarray | None) -> int | None:
    """Where a line longer than MAX_LINE_BYTES starts in ``chunk`` (the line begun at ``line_start`` included), or None.

    Such a line covers a whole ``MAX_LINE_BYTES // 2`` window of the chunk, or ends in the chunk's first break, so
    only a window without a line break (rare) or ``breaks`` given make it search the breaks.
    """
    step = MAX_LINE_BYTES // 2
    if breaks is None:
        first = chunk.find(b"\n")
        if offset + (first if first >= 0 else len(chunk)) - line_start > MAX_LINE_BYTES:
            return line_start
        if all(chunk.find(b"\n", lo, lo + step) >= 0 for lo in range(0, len(chunk) - step + 1, step)):
            return None
        breaks = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
    starts = np.concatenate(([line_start], offset + breaks + 1))
    too_long = np.flatnonzero(np.append(offset + breaks, offset + len(chunk)) - starts > MAX_LINE_BYTES)
    return int(starts[too_long[0]]) if too_long.size else None


def _scan(path: Path, check_utf8: bool) -> _Scan:
    """One pass over the bytes, in blocks (a NUL byte or an over-long line may be anywhere), at C speed: byte
    counts and searches; numpy only where a CR stands alone (a CR-only file) or a long line may be."""
    lf = crlf = lone = 0  # LF alone, CRLF, CR alone (lf: only whether there is one, in a block without CR)
    nul = long_line = lone_cr = non_ascii = None
    utf8 = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    utf8_ok, line_start, offset = check_utf8 or None, 0, 0
    with path.open("rb") as handle:
        for chunk in _chunks(handle):
            if b"\r" in chunk:  # counting is slower than finding: only files with CRs are counted
                crs, lfs, pairs = chunk.count(b"\r"), chunk.count(b"\n"), chunk.count(b"\r\n")
            else:
                crs, lfs, pairs = 0, int(b"\n" in chunk), 0
            lf, crlf, lone = lf + lfs - pairs, crlf + pairs, lone + crs - pairs
            breaks = None
            if crs > pairs:  # a CR on its own: a line break in a CR-only file, else a stray character
                data = np.frombuffer(chunk, dtype=np.uint8)
                is_lone = (data == 13) & ~np.append(data[1:] == 10, False)
                lone_cr = offset + int(np.argmax(is_lone)) if lone_cr is None else lone_cr
                breaks = np.flatnonzero((data == 10) | is_lone)
            if long_line is None:
                long_line = _long_line(chunk, offset, line_start, breaks)
            if nul is None and (found := chunk.find(b"\x00")) >= 0:
                nul = offset + found
            if non_ascii is None and not chunk.isascii():
                non_ascii = offset + int(np.argmax(np.frombuffer(chunk, dtype=np.uint8) > 127))
            if utf8_ok:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            last = max(chunk.rfind(b"\n"), int(breaks[-1]) if breaks is not None and breaks.size else -1)
            line_start, offset = (offset + last + 1 if last >= 0 else line_start), offset + len(chunk)
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    endings = "cr" if lone and not (lf or crlf) else "mixed" if (lf and crlf) or lone else "crlf" if crlf else "lf"
    return _Scan(endings, nul, long_line, lone_cr if lone and (lf or crlf) else None, non_ascii, utf8_ok)


def _position(path: Path, offset: int, delimiter: str) -> str:
    """'line <n>, column '<name>'' of the byte at ``offset`` (line breaks: LF, or CR in a file without LF; fields: delimiters before it).

    Only on the way to a rejection, so it may read the file again.
    """
    with path.open("rb") as handle:
        before = handle.read(offset)
        handle.seek(0)
        first = handle.read(MAX_LINE_BYTES).splitlines()[:1]
    newline = b"\n" if b"\n" in before or b"\r" not in before else b"\r"
    line_text = before[before.rfind(newline) + 1 :]
    field = line_text.count(delimiter.encode()) + 1
    names = next(csv.reader([first[0].decode("utf-8", "replace")], delimiter=delimiter), []) if first else []
    column = f"column '{names[field - 1].strip()}'" if field <= len(names) else f"field {field}"
    return f"line {before.count(newline) + 1}, {column}"


def _refuse_unreadable_bytes(path: Path, scan: _Scan, profile: SiteProfile) -> None:
    """Reject what no CSV export holds, naming the first place it occurs."""
    name, where = path.name, (lambda offset: _position(path, offset, profile.delimiter))
    if scan.nul is not None:
        raise FileRejected(
            f"{name}: {where(scan.nul)}: a NUL byte — a binary file (or UTF-16); export the table as a CSV text file"
        )
    if scan.long_line is not None:
        raise FileRejected(
            f"{name}: {where(scan.long_line).split(',')[0]} is longer than {MAX_LINE_BYTES // 1024} KiB — no registry "
            "row is that long: a field holds a document or binary data"
        )
    if scan.lone_cr is not None:
        raise FileRejected(
            f"{name}: {where(scan.lone_cr)}: a carriage return (CR) inside a line, in a file whose lines end in LF — "
            "remove the stray character, or export the file again"
        )
    if scan.utf8 and scan.non_ascii is not None:
        raise FileRejected(
            f"{name}: {where(scan.non_ascii)}: the file is UTF-8, but the profile says 'encoding: {profile.encoding}' "
            f"(accented letters would load garbled) — set 'encoding: utf-8' in {profile.site_id}.yaml, or export "
            f"the file in {profile.encoding}"
        )


@contextlib.contextmanager
def _readable(path: Path, profile: SiteProfile, skip: int = 0) -> Iterator[Path]:
    """``path`` itself when DuckDB can read it as it is (UTF-8, LF or CRLF); else a UTF-8 copy with LF line ends, in memory.

    The copy is a ``memfd`` (Linux): anonymous memory that dies with the process, so even a killed run
    leaves no file with the site's raw ids behind (a temporary folder would stay after kill -9).
    """
    utf8 = codecs.lookup(profile.encoding).name in {"utf-8", "utf-8-sig"}
    scan = _scan(path, check_utf8=not utf8)
    _refuse_unreadable_bytes(path, scan, profile)
    if utf8 and scan.line_endings in {"lf", "crlf"} and not skip:
        yield path
        return
    newline = (
        None if scan.line_endings in {"cr", "mixed"} else ""
    )  # None: Python's universal newlines turn CR and CRLF into LF
    with contextlib.ExitStack() as stack:
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("gist-registry-raw", os.MFD_CLOEXEC)
            stack.callback(os.close, fd)
            target = Path(f"/proc/self/fd/{fd}")
        else:  # pragma: no cover - not Linux: removed on any exit but a kill
            target = Path(stack.enter_context(tempfile.TemporaryDirectory())) / f"{path.stem}.utf8.csv"
        with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
            text = io.TextIOWrapper(src, encoding=profile.encoding, newline=newline)
            try:
                for _ in range(skip):  # metadata lines above the header: the copy starts at the header
                    text.readline()
                for chunk in iter(lambda: text.read(1 << 22), ""):
                    dst.write(chunk)
            except UnicodeDecodeError as err:
                bad = _first_undecodable(path, profile.encoding)
                raise FileRejected(
                    f"{path.name}: {_position(path, bad, profile.delimiter)}: a byte that is not valid "
                    f"{profile.encoding} — check the profile's encoding"
                ) from err
            finally:
                text.detach()
        yield target


def _first_undecodable(path: Path, encoding: str) -> int:
    """Offset of the first byte ``encoding`` cannot decode (only on the way to a rejection)."""
    try:
        path.read_bytes().decode(encoding)
    except UnicodeDecodeError as err:
        return err.start
    return 0


def _header(readable: Path, delimiter: str, name: str) -> list[str]:
    """The header's column names (blanks trimmed); rejects a missing header or a repeated name."""
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
        raise FileRejected(
            f"{name}: column(s) {', '.join(repeated)} appear more than once in the header", DUPLICATE_HEADER
        )
    return header


def _physical_lines(data: bytes, newlines: int | None = None) -> int:
    """Lines in the file, a last line without a newline included (``newlines``: their count, if already known)."""
    return (data.count(b"\n") if newlines is None else newlines) + (0 if data.endswith(b"\n") else 1)


def _line_shifts(
    path: Path, delimiter: str, n_rows: int, rejected: list[int], name: str, fields: int
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Where the file line of parsed data row ``k`` (0-based) stops being ``k + 2`` (header = line 1), the
    file line of each line DuckDB set aside, and the lines it read though they have more than ``fields`` fields
    (:func:`_padded_lines`).

    The first is ``{first row: shift}``: from that row on, each row's line is ``k + 2 + shift``.  It is
    empty in the usual file (one physical line per record, nothing set aside), so the line number is
    arithmetic on the row's position; each line set aside shifts the rows after it by one.  DuckDB
    numbers a set-aside line by the newlines before it that are not inside quotes, so where a quoted
    field spans lines its number is not the file's: then the csv module walks the file and translates.
    """
    data = path.read_bytes()
    if _physical_lines(data) == n_rows + len(rejected) + 1:
        padded = {line: n for line, n in _padded_lines(data, delimiter, fields).items() if line not in set(rejected)}
        return (
            {line - 1 - before: before for before, line in enumerate(sorted(rejected), start=1)},
            {line: line for line in rejected},
            padded,
        )
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter)
    next(reader, None)  # the header
    shifts, physical_of, previous_end, embedded_newlines = {}, {}, reader.line_num, reader.line_num - 1
    set_aside, row, shift, padded = set(rejected), 0, 0, {}
    for record in _records(reader, name):
        start = previous_end + 1
        if record:
            duckdb_line = start - embedded_newlines
            if duckdb_line in set_aside:
                physical_of[duckdb_line] = start
            else:
                if start - row - 2 != shift:
                    shift = shifts[row] = start - row - 2
                if len(record) > fields:
                    padded[start] = len(record)
                row += 1
        embedded_newlines += reader.line_num - start
        previous_end = reader.line_num
    if row != n_rows or len(physical_of) != len(set_aside):
        raise FileRejected(f"{name}: could not align {n_rows} records with the file's lines")
    return shifts, physical_of, padded


def _records(reader: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """``reader``'s records; a quoted field spanning lines beyond the csv module's field limit rejects the file."""
    try:
        yield from reader
    except csv.Error as err:
        raise FileRejected(
            f"{name}: after line {getattr(reader, 'line_num', '?')}: a quoted field longer than "
            f"{MAX_LINE_BYTES // 1024} KiB ({err}) — a quote left open, or a field holding a document"
        ) from err


def _positions(data: np.ndarray, byte: int) -> np.ndarray:
    """Offsets of ``byte`` in ``data``, found in blocks (a whole-file mask would be as large as the file)."""
    return np.concatenate(
        [np.flatnonzero(data[lo : lo + _CHUNK] == byte) + lo for lo in range(0, max(data.size, 1), _CHUNK)]
    )


def _padded_lines(data: bytes, delimiter: str, fields: int) -> dict[int, int]:
    """Line -> fields, for the lines with more fields than the header (one record per line).

    DuckDB's reader takes a delimiter at the end of a line for a trailing delimiter, so a line with one field too
    many, the last empty, passes as well formed: a stray delimiter at the start of a line whose last field is empty
    would load every value one column to the right, the site's own patient id under a column that is not
    pseudonymised.  The delimiters of every line are counted at C speed: ``bytes.translate`` keeps only
    delimiters and line feeds, and the distance between line feeds is the count.  A line with a quote
    character is split by the csv module instead (a quoted delimiter does not count).
    """
    keep = {10, ord(delimiter)}
    skeleton = np.frombuffer(data.translate(None, bytes(b for b in range(256) if b not in keep)), dtype=np.uint8)
    breaks = np.flatnonzero(skeleton == 10)
    counts = np.diff(breaks, prepend=-1)  # delimiters + 1 = fields of each line ending in LF
    if not data.endswith(b"\n"):
        counts = np.append(counts, skeleton.size - (int(breaks[-1]) + 1 if breaks.size else 0) + 1)
    over = np.flatnonzero(counts > fields)
    over = over[over > 0]  # not the header
    if over.size and b'"' in data:
        lines = np.concatenate(([-1], _lf_positions(data)))
        for index in over.tolist():
            text = data[int(lines[index]) + 1 : int(lines[index + 1]) if index + 1 < lines.size else len(data)]
            if b'"' in text:
                counts[index] = len(
                    next(csv.reader([text.decode("utf-8", "replace").rstrip("\r")], delimiter=delimiter))
                )
        over = over[counts[over] > fields]
    return dict(zip((over + 1).tolist(), counts[over].tolist(), strict=True))


def _lf_positions(data: bytes) -> np.ndarray:
    """Offsets of the line feeds, found in blocks (a whole-file mask would be as large as the file)."""
    array = np.frombuffer(data, dtype=np.uint8)
    return np.concatenate(
        [np.flatnonzero(array[lo : lo + _CHUNK] == 10) + lo for lo in range(0, max(array.size, 1), _CHUNK)]
    )


def _lines_of(data: bytes, newlines: np.ndarray, wanted: list[int]) -> list[bytes]:
    """The text of each of ``wanted`` (1-based) physical lines, cut at the file's newline offsets."""
    starts = np.concatenate(([0], newlines + 1))
    ends = np.append(newlines, len(data))
    return [data[starts[line - 1] : ends[line - 1]] for line in wanted]


def values_on_lines(
    path: Path, profile: SiteProfile, table: str, column: str, lines: list[int], records: int
) -> pl.Series | None:
    """``column``'s value as received on each of ``lines`` (sorted), read straight off those lines of the file.

    ``records`` is how many data records the file holds (loaded, quarantined and blank).  When the
    file has exactly one physical line per record a line is a record, so only those lines are cut
    out of the file and parsed (by polars' CSV reader, as one small CSV); otherwise (a quoted field
    spans lines) this returns None.
    """
    data = path.read_bytes()
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))  # one vectorised pass finds every line
    header_line = comment_lines(data, profile.header_comments) + 1
    if _physical_lines(data, newlines.size) != records + header_line:
        return None
    excerpt = (
        b"\n".join(_lines_of(data, newlines, [header_line, *lines])).decode(profile.encoding).removeprefix("\ufeff")
    )
    header = next(csv.reader([excerpt.partition("\n")[0]], delimiter=profile.delimiter))
    position = [name.strip() for name in header].index(profile.tables[table].source_column(column))
    values = pl.read_csv(
        excerpt.encode("utf-8"),
        separator=profile.delimiter,
        columns=[position],
        infer_schema=False,
        truncate_ragged_lines=True,
        raise_if_empty=False,
    ).to_series()
    return values if values.len() == len(lines) else None


def _malformed_rows(rejects: list[tuple], header: list[str], delimiter: str, kept: str | None) -> pl.DataFrame:
    """Lines with the wrong number of fields; blank ones stay blank (padding, not data).

    Their fields cannot be placed: with one delimiter too many at the front, every value sits under the
    next column, the site's patient id under a column that is not pseudonymised.  So only the field at
    position of ``kept`` (the patient id's column) is kept, to be pseudonymised like every id; the
    registrar's report reads the line itself from the archived file.
    """
    records = []
    position = header.index(kept) if kept in header else None
    for line, csv_line in rejects:
        fields = next(
            csv.reader([csv_line.lstrip("\r\n")], delimiter=delimiter), []
        )  # under the csv field limit: see _scan
        blank = not any(field.strip() for field in fields)
        value = fields[position] if position is not None and position < len(fields) else None
        records.append(
            {
                LINE: line,
                PARSE_ERROR: None if blank else f"the line has {len(fields)} fields, the header has {len(header)}",
                **({kept: value or None} if position is not None else {}),
            }
        )
    schema = {LINE: pl.Int64, PARSE_ERROR: pl.Utf8, **{column: pl.Utf8 for column in header}}
    return pl.DataFrame(records, schema=schema)


def _drop_rejects(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB appends every scan's rejects to the same temp tables; start each file afresh."""
    for name in ("reject_errors", "reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


UNMAPPED_BLANK = "_unmapped_blank"  # parsed rows: whether every column no canonical column maps to is blank too
KEPT = "_kept"  # parsed rows: whether the profile's filters keep the row


def _parse(
    con: duckdb.DuckDBPyConnection,
    readable: Path,
    header: list[str],
    keep: list[str],
    delimiter: str,
    name: str,
    target: str,
    also: tuple[str, ...] = (),
    kept: str = "true",
) -> list[tuple]:
    """Every well-formed row's ``keep`` columns into temp table ``target`` (text, file order), with ``UNMAPPED_BLANK``
    (a line holding a value only in a column the profile does not map, a footer note say, is data, not padding);
    returns the rejected lines.  ``also``: unmapped columns selected too (the site columns), still unmapped for the
    blank test."""
    _drop_rejects(con)
    unmapped = [_quoted(column) for column in header if column not in keep]
    selected = [
        *map(_quoted, [*keep, *also]),
        f"{_all_blank(unmapped) if unmapped else 'true'} AS {UNMAPPED_BLANK}",
        f"{kept} AS {KEPT}",
    ]
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT {', '.join(selected)} FROM ({READ_SQL})",
            {"path": str(readable), "delim": delimiter, "columns": {column: "VARCHAR" for column in header}},
        )
        rejects = con.execute(
            "SELECT line, any_value(error_type), any_value(csv_line), any_value(error_message) "
            "FROM reject_errors GROUP BY line ORDER BY line"
        ).fetchall()
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


def _kept(filters: tuple[RowFilter, ...], header: list[str], name: str) -> str:
    """SQL: the profile's filters hold for the row; a filter naming a column the file lacks rejects the file."""
    missing = [f.rule for f in filters if f.column not in header]
    if missing:
        raise FileRejected(
            f"{name}: the profile's filter '{missing[0]}' names a column the file lacks; columns found: "
            f"{', '.join(header)} — correct the filter in the profile",
            FILTER_COLUMN_MISSING,
        )
    whitespace = " || ".join(f"chr({ord(character)})" for character in WHITESPACE)
    conditions = [
        f"coalesce(trim({_quoted(f.column)}, {whitespace}), '') {'=' if f.op == '==' else '<>'} "
        + "'"
        + f.value.replace("'", "''")
        + "'"
        for f in filters
    ]
    return " AND ".join(conditions) or "true"


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _frame")
    finally:
        con.unregister("_frame")


def _file_line(shifts: str | None, skip: int) -> tuple[str, str]:
    """SQL for the file line of a parsed row (its position is the temp table's rowid; ``skip`` metadata lines above
    the header) and the join it needs."""
    if shifts is None:
        return f"p.rowid + {2 + skip}", ""
    return f"p.rowid + {2 + skip} + s.shift", f"ASOF JOIN {shifts} s ON p.rowid >= s.first_row"


def _refuse_links(path: Path) -> None:
    """A drop is the files the site put in its folder: a symbolic link (the file or the site folder) could point anywhere."""
    for item, what in ((path, "file"), (path.parent, "site folder")):
        if item.is_symlink():
            raise FileRejected(
                f"{path.name}: the {what} {item} is a symbolic link — the registry reads only files placed in the "
                "site's own folder; copy the file there instead of linking it"
            )


def drop_staged_file(con: duckdb.DuckDBPyConnection, target: str) -> None:
    """Remove what :func:`stage_raw` made for ``target`` (also after a rejection part-way through)."""
    con.execute(f"DROP VIEW IF EXISTS {target}")
    for part in ("parsed", "malformed", "shifts", "blank", "miscounted", "filtered"):
        con.execute(f"DROP TABLE IF EXISTS {target}_{part}")


def stage_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    profile: SiteProfile,
    canonical_columns: list[str],
    target: str,
    keep_site_columns: bool = False,
) -> StagedFile:
    """Read ``path`` as text, seen through temp view ``target`` (LINE, PARSE_ERROR + canonical columns), or raise FileRejected.

    The rows never leave DuckDB and are materialised once, as parsed: line numbers, renaming,
    the malformed lines and the blank-row filter are a view over them, read by the insert into
    ``raw``.  With ``keep_site_columns`` the unmapped columns that may be stored are seen through ``target``_site
    (``pipelines.ingest.site_columns``).  Drop the temp objects with :func:`drop_staged_file`.
    """
    _refuse_links(path)
    if path.stat().st_size == 0:
        raise FileRejected(f"{path.name}: the file is empty")
    spec = profile.tables[table]
    parsed = f"{target}_parsed"
    with path.open("rb") as handle:
        skip = comment_lines(handle.read(MAX_LINE_BYTES * 64), profile.header_comments)
    with _readable(path, profile, skip) as readable:
        header = _header(readable, profile.delimiter, path.name)
        present = {c: spec.source_column(c) for c in canonical_columns if spec.source_column(c) in header}
        unmapped = [c for c in header if c not in set(present.values())] if keep_site_columns else []
        site = site_columns(unmapped, spec.drop_columns)
        kept = _kept(spec.filters, header, path.name)
        rejects = _parse(
            con, readable, header, list(present.values()), profile.delimiter, path.name, parsed, site.stored, kept
        )
        parsed_rows = con.execute(f"SELECT count(*) FROM {parsed}").fetchall()[0][0]
        shifts, physical_of, passed = _line_shifts(
            readable, profile.delimiter, parsed_rows, [line for line, *_ in rejects], path.name, len(header)
        )
    physical_of = {line: physical + skip for line, physical in physical_of.items()}
    passed = {line + skip: fields for line, fields in passed.items()}
    if shifts:
        _temp_table(
            con,
            f"{target}_shifts",
            pl.DataFrame(
                list({0: 0, **shifts}.items()), schema={"first_row": pl.Int64, "shift": pl.Int64}, orient="row"
            ),
        )
    malformed = _malformed_rows(
        [(physical_of[line], csv_line) for line, _, csv_line, _ in rejects],
        header,
        profile.delimiter,
        present.get("patient_id"),
    )
    _temp_table(con, f"{target}_malformed", malformed)
    line, join = _file_line(f"{target}_shifts" if shifts else None, skip)
    columns = ", ".join(
        f"p.{_quoted(present[c])} AS {c}" if c in present else f"NULL::VARCHAR AS {c}" for c in canonical_columns
    )
    parsed_columns, error, kept_row = columns, "NULL::VARCHAR", f"p.{KEPT}"
    if (
        passed
    ):  # lines DuckDB took as well formed that are not: treated as the malformed lines are (see _malformed_rows)
        _temp_table(
            con,
            f"{target}_miscounted",
            pl.DataFrame(
                {LINE: list(passed), "fields": list(passed.values())}, schema={LINE: pl.Int64, "fields": pl.Int64}
            ),
        )
        join += f" LEFT JOIN {target}_miscounted m ON m.{LINE} = {line}"
        error = f"CASE WHEN m.fields IS NOT NULL THEN 'the line has ' || m.fields || ' fields, the header has {len(header)}' END"
        kept_row = f"(m.fields IS NOT NULL OR p.{KEPT})"  # a malformed line is quarantined, never filtered
        parsed_columns = ", ".join(
            f"p.{_quoted(present[c])} AS {c}"
            if c == "patient_id" and c in present
            else f"CASE WHEN m.fields IS NULL THEN p.{_quoted(present[c])} END AS {c}"
            if c in present
            else f"NULL::VARCHAR AS {c}"
            for c in canonical_columns
        )
    rows = (
        f"SELECT {line} AS {LINE}, {error} AS {PARSE_ERROR}, {parsed_columns}, p.{UNMAPPED_BLANK}, {kept_row} AS {KEPT} "
        f"FROM {parsed} p {join} "
        f"UNION ALL SELECT {LINE}, {PARSE_ERROR}, {columns}, true, true FROM {target}_malformed p"
    )
    # as a WHERE, DuckDB tests a row's next field only while its fields so far are blank (as an expression, NOT (...) or
    # FILTER (...), it tests every field of every row: 7x slower at 1M); the few blank lines are then left out by number
    # a malformed line keeps only its id's field, so it may look blank: it is not (PARSE_ERROR says it holds data)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {target}_blank AS SELECT {LINE} FROM ({rows}) "
        f"WHERE {PARSE_ERROR} IS NULL AND {UNMAPPED_BLANK} AND {_all_blank(canonical_columns)}"
    )
    blank_rows = con.execute(f"SELECT count(*) FROM {target}_blank").fetchall()[0][0]
    filtered_rows = 0
    if spec.filters:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target}_filtered AS SELECT {LINE} FROM ({rows}) "
            f"WHERE NOT {KEPT} AND {LINE} NOT IN (SELECT {LINE} FROM {target}_blank)"
        )
        filtered_rows = con.execute(f"SELECT count(*) FROM {target}_filtered").fetchall()[0][0]
    conditions = [f"{LINE} NOT IN (SELECT {LINE} FROM {target}_blank)"] if blank_rows else []
    conditions += [f"{LINE} NOT IN (SELECT {LINE} FROM {target}_filtered)"] if filtered_rows else []
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {target} AS SELECT * EXCLUDE ({UNMAPPED_BLANK}, {KEPT}) FROM ({rows})"
        + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
    )  # the usual file has none
    extra = tuple(c for c in header if c not in set(present.values()))
    site = create_site_view(
        con,
        site,
        line,
        f"p.{_quoted(present['patient_id'])}" if "patient_id" in present else "NULL::VARCHAR",
        f"FROM {parsed} p {join} WHERE {'m.fields IS NULL' if passed else 'true'}"
        + (f" AND {line} NOT IN (SELECT {LINE} FROM {target}_blank)" if blank_rows else "")
        + (f" AND {line} NOT IN (SELECT {LINE} FROM {target}_filtered)" if filtered_rows else ""),
        f"{target}_site",
    )
    return StagedFile(
        target,
        tuple(header),
        extra,
        tuple(c for c in canonical_columns if c not in present),
        rows=parsed_rows + malformed.height - blank_rows - filtered_rows,
        blank_rows=blank_rows,
        site=site,
        filtered_rows=filtered_rows,
    )
