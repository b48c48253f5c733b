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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLANK_BYTES = b" \t\r\v\f"  # with the delimiter: what a line of spreadsheet padding holds
SHOWN_LINES = 20  # unaccounted lines listed by number in messages (all are in the report)


class AccountingError(RuntimeError):
    """The rows a load would write do not match the archived file line for line."""


@dataclass(frozen=True)
class FileLines:
    """The data records of one archived file, by the physical line each starts on (header = line 1)."""

    records: np.ndarray  # sorted start lines of every data record (empty lines are not records)
    blank: np.ndarray  # sorted start lines of records whose every field is blank (filtered, not data)

    @property
    def data(self) -> np.ndarray:
        return np.setdiff1d(self.records, self.blank, assume_unique=True)


def _fast_lines(data: bytes, delimiter: str) -> FileLines:
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
    is_record = (stripped_length > 0) & (numbers > 1)
    return FileLines(numbers[is_record], numbers[is_record & (content == 0)])


def _csv_lines(text: str, delimiter: str) -> FileLines:
    """Records that may span lines (a quote in the file): Python's csv module, as a second opinion to DuckDB."""
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)  # CR-only files, as the load reads them
    next(reader, None)  # the header
    records, blank, previous_end = [], [], reader.line_num
    for record in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if record:
            records.append(start)
            if not any(field.strip(BLANK_BYTES.decode()) for field in record):
                blank.append(start)
    return FileLines(np.array(records, dtype=np.int64), np.array(blank, dtype=np.int64))


def file_lines(path: Path, encoding: str, delimiter: str) -> FileLines:
    """The data records of an archived file, read independently of the load."""
    data = path.read_bytes()
    if b'"' not in data and (b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")):
        return _fast_lines(data, delimiter)
    return _csv_lines(data.decode(encoding, errors="replace").removeprefix("\ufeff"), delimiter)


@dataclass(frozen=True)
class Balance:
    """One table's accounting: the archive's data lines against the lines the load accounts for."""

    table: str
    file: str
    data_lines: int  # records in the archived file that are not blank
    filtered: int  # blank records (counted, not loaded)
    loaded: int
    quarantined: int
    missing: tuple[int, ...]  # data lines neither loaded nor quarantined
    repeated: tuple[int, ...]  # lines loaded or quarantined more than once
    unexpected: tuple[int, ...]  # loaded or quarantined lines that are not data lines of the file

    @property
    def balanced(self) -> bool:
        return not (self.missing or self.repeated or self.unexpected)

    def counts(self) -> dict[str, int]:
        return {
            "data_lines": self.data_lines,
            "filtered": self.filtered,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
        }

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
                f"{self.file}: {self.data_lines} data lines, {self.loaded} loaded + {self.quarantined} quarantined; "
                + "; ".join(parts)
            )
            if parts
            else ""
        )


def balance(table: str, file: str, lines: FileLines, loaded: np.ndarray, quarantined: np.ndarray) -> Balance:
    """Compare the file's data lines with the line numbers of the rows to load and to quarantine."""
    accounted = np.sort(np.concatenate([np.asarray(loaded, dtype=np.int64), np.asarray(quarantined, dtype=np.int64)]))
    data = lines.data
    distinct, times = np.unique(accounted, return_counts=True)
    return Balance(
        table,
        file,
        len(data),
        len(lines.blank),
        len(loaded),
        len(quarantined),
        missing=tuple(np.setdiff1d(data, distinct, assume_unique=True).tolist()),
        repeated=tuple(distinct[times > 1].tolist()),
        unexpected=tuple(np.setdiff1d(distinct, data, assume_unique=True).tolist()),
    )
