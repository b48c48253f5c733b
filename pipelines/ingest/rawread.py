"""Read one site file as text, exactly as received, with its line numbers.

DuckDB's CSV reader does the parsing (it is the fastest reader available and
reports malformed rows precisely).  Files in an encoding DuckDB does not read
natively (cp1250, Latin-1, ...) are transcoded to a temporary UTF-8 copy
first; the archived original is never touched.
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

from pipelines.ingest.profiles import SiteProfile

LINE = "line_number"


class FileRejected(ValueError):
    """A file that cannot be read at all; the message names the file and the cause."""


@dataclass(frozen=True)
class RawFile:
    """Text values under canonical column names, plus what did not map."""

    frame: pl.DataFrame  # LINE + one Utf8 column per canonical column the file has
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


def _line_numbers(path: Path, delimiter: str, n_rows: int) -> pl.Series:
    """File line of each data row (header = line 1).

    When every record is one physical line (the usual case) this is arithmetic;
    otherwise (embedded newlines, empty lines) the csv module walks the file.
    """
    data = path.read_bytes()
    physical_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if physical_lines == n_rows + 1:
        return pl.int_range(2, n_rows + 2, eager=True, dtype=pl.Int64).alias(LINE)
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter)
    starts, previous_end = [], 0
    for record in reader:
        if record and previous_end > 0:
            starts.append(previous_end + 1)
        previous_end = reader.line_num
    if len(starts) != n_rows:
        raise FileRejected(f"{path.name}: could not align {n_rows} records with the file's lines")
    return pl.Series(LINE, starts, dtype=pl.Int64)


def read_raw(path: Path, table: str, profile: SiteProfile, canonical_columns: list[str]) -> RawFile:
    """Read ``path`` as text under canonical column names, or raise FileRejected."""
    if path.stat().st_size == 0:
        raise FileRejected(f"{path.name}: the file is empty")
    spec = profile.tables[table]
    with tempfile.TemporaryDirectory() as tmp:
        readable = _utf8_copy(path, profile.encoding, Path(tmp))
        try:
            relation = duckdb.sql(
                "SELECT * FROM read_csv(?, delim = ?, header = true, all_varchar = true, quote = '\"', "
                "escape = '\"', strict_mode = true, null_padding = false, auto_detect = true, sample_size = -1)",
                params=[str(readable), profile.delimiter],
            )
            frame = relation.pl()
        except duckdb.Error as err:
            first_line = str(err).strip().splitlines()[0]
            raise FileRejected(f"{path.name}: not a readable '{profile.delimiter}'-delimited file ({first_line})") from err
        lines = _line_numbers(readable, profile.delimiter, frame.height)
    header = [c.strip() for c in frame.columns]
    frame.columns = header
    source_of = {canonical: spec.source_column(canonical) for canonical in canonical_columns}
    present = {canonical: source for canonical, source in source_of.items() if source in header}
    missing = tuple(c for c in canonical_columns if c not in present)
    extra = tuple(c for c in header if c not in set(present.values()))
    columns = [pl.col(present[c]).alias(c) if c in present else pl.lit(None, dtype=pl.Utf8).alias(c) for c in canonical_columns]
    return RawFile(frame.with_columns(lines).select(LINE, *columns), extra, missing)
