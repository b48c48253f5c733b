"""Nothing lost, nothing doubled: every data line of an archived file is loaded, quarantined or filtered, once.

The line numbers of a file's data records are read here straight off the archived bytes, with a
reader of its own (numpy over the bytes, or Python's csv module where a quoted field may span
lines), never from what DuckDB parsed, so a fault anywhere in staging, pseudonymising or loading
shows up as lines missing, repeated or unexpected.  ``load_core`` runs the check before the site's
previous core rows are replaced; a drop that does not balance is not loaded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.ingest.dialects import RowFilter

BLANK_BYTES = b" \t\r\v\f"  # with the delimiter: what a line of spreadsheet padding holds
SHOWN_LINES = 20  # unaccounted lines listed by number in messages (all are in the report)


def comment_lines(data: bytes, prefix: str | None) -> int:
    """How many lines at the start of a file begin with ``prefix`` (cBioPortal's '#' metadata rows above the header)."""
    if not prefix:
        return 0
    marker, count, start = prefix.encode(), 0, 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while data.startswith(marker, start):
        count += 1
        end = data.find(b"\n", start)
        if end < 0:
            break
        start = end + 1
    return count


class AccountingError(RuntimeError):
    """The rows a load would write do not match the archived file line for line."""


@dataclass(frozen=True)
class FileLines:
    """The data records of one archived file, by the physical line each starts on (header = line 1)."""

    records: np.ndarray  # sorted start lines of every data record (empty lines are not records)
    blank: np.ndarray  # sorted start lines of records whose every field is blank (filtered, not data)
    filtered: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))  # left out by a profile filter

    @property
    def data(self) -> np.ndarray:
        return np.setdiff1d(
            np.setdiff1d(self.records, self.blank, assume_unique=True), self.filtered, assume_unique=True
        )


def _fast_lines(data: bytes, delimiter: str, header: int) -> FileLines:
    """One record per physical line (no quote anywhere): vectorised over the bytes."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buffer == ord("\n"))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.append(newlines, len(data))
    if starts[-1] == len(data):  # the file ends with a newline: no line after it
        starts, ends = starts[:-1], ends[:-1]
    filled = ~np.isin(buffer, np.frombuffer(BLANK_BYTES + delimiter.encode(), dtype=np.uint8)) & (buffer != ord("\n"))
    before = np.concatenate(([0], np.cumsum(filled, dtype=np.int64)))
    content = before[ends] - before[starts]  # characters other than blanks and delimiters on each line
    stripped_length = ends - starts - (ends > starts) * (buffer[np.maximum(ends - 1, 0)] == ord("\r"))
    numbers = np.arange(1, len(starts) + 1, dtype=np.int64)
    is_record = (stripped_length > 0) & (numbers > header)
    return FileLines(numbers[is_record], numbers[is_record & (content == 0)])


def _csv_lines(text: str, delimiter: str, header: int, filters: tuple[RowFilter, ...]) -> FileLines:
    """Records that may span lines (a quote in the file, or a filter to apply): Python's csv module, as a second
    opinion to DuckDB."""
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)  # CR-only files, as the load reads them
    for _ in range(header - 1):  # metadata lines above the header
        next(reader, None)
    names = [name.strip() for name in next(reader, [])]
    positions = [(f, names.index(f.column)) for f in filters if f.column in names]
    records, blank, filtered, previous_end = [], [], [], reader.line_num
    for record in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if record:
            records.append(start)
            if not any(value.strip(BLANK_BYTES.decode()) for value in record):
                blank.append(start)
            elif len(record) == len(names) and not all(f.keeps(record[i]) for f, i in positions):
                filtered.append(start)  # a malformed line is quarantined, never filtered: its fields are out of place
    return FileLines(*(np.array(lines, dtype=np.int64) for lines in (records, blank, filtered)))


def file_lines(
    path: Path, encoding: str, delimiter: str, comments: str | None = None, filters: tuple[RowFilter, ...] = ()
) -> FileLines:
    """The data records of an archived file, read independently of the load (header below ``comments`` lines)."""
    data = path.read_bytes()
    header = comment_lines(data, comments) + 1
    if not filters and b'"' not in data and (b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")):
        return _fast_lines(data, delimiter, header)
    return _csv_lines(data.decode(encoding, errors="replace").removeprefix("\ufeff"), delimiter, header, filters)


@dataclass(frozen=True)
class Balance:
    """One table's accounting: the archive's data lines against the lines the load accounts for."""

    table: str
    file: str
    data_lines: int  # records in the archived file that are not blank
    filtered: int  # blank records (counted, not loaded)
    filtered_by_rule: int  # records the profile's filter left out (counted, not loaded)
    rule: str | None  # the profile's filter (None: the table has none)
    loaded: int
    quarantined: int
    merged: int  # repeated rows of a patient loaded once (a patients file with one row per sample)
    missing: tuple[int, ...]  # data lines neither loaded nor quarantined
    repeated: tuple[int, ...]  # lines loaded or quarantined more than once
    unexpected: tuple[int, ...]  # loaded or quarantined lines that are not data lines of the file

    @property
    def balanced(self) -> bool:
        return not (self.missing or self.repeated or self.unexpected)

    def counts(self) -> dict[str, int | str]:
        """input = data_lines + filtered (blank) [+ filtered_by_rule, with the rule]; data_lines = loaded + quarantined."""
        counts: dict[str, int | str] = {
            "data_lines": self.data_lines,
            "filtered": self.filtered,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
        }
        if self.rule is not None:
            counts |= {"filtered_by_rule": self.filtered_by_rule, "filter": self.rule}
        if self.merged:
            counts["merged"] = self.merged
        return counts

    def problem(self) -> str:
        """What does not add up, in words, naming lines (empty when balanced)."""
        parts = []
        for what, lines in (
            ("neither loaded nor quarantined", self.missing),
            ("accounted for more than once", self.repeated),
            ("not data lines of the file", self.unexpected),
        ):
            if lines:
                shown = ", ".join(map(str, lines[:SHOWN_LINES])) + (", ..." if len(lines) > SHOWN_LINES else "")
                parts.append(f"{len(lines)} line(s) {what} ({shown})")
        return (
            (
                f"{self.file}: {self.data_lines} data lines, {self.loaded} loaded + {self.quarantined} quarantined"
                + (f" + {self.merged} merged" if self.merged else "")
                + "; "
                + "; ".join(parts)
            )
            if parts
            else ""
        )


def balance(
    table: str,
    file: str,
    lines: FileLines,
    loaded: np.ndarray,
    quarantined: np.ndarray,
    filters: tuple[RowFilter, ...] = (),
    merged: np.ndarray | None = None,
) -> Balance:
    """Compare the file's data lines with the line numbers of the rows to load, to quarantine and merged into their
    patient's first row."""
    merged = np.asarray([] if merged is None else merged, dtype=np.int64)
    accounted = np.sort(
        np.concatenate([np.asarray(loaded, dtype=np.int64), np.asarray(quarantined, dtype=np.int64), merged])
    )
    data = lines.data
    distinct, times = np.unique(accounted, return_counts=True)
    return Balance(
        table,
        file,
        len(data),
        len(lines.blank),
        len(lines.filtered),
        " and ".join(f.rule for f in filters) if filters else None,
        len(loaded),
        len(quarantined),
        len(merged),
        missing=tuple(np.setdiff1d(data, distinct, assume_unique=True).tolist()),
        repeated=tuple(distinct[times > 1].tolist()),
        unexpected=tuple(np.setdiff1d(distinct, data, assume_unique=True).tolist()),
    )
