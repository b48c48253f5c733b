"""Look at a drop's headers before anything of it is kept.

A file whose header names a direct identifier (a name, an address, a national id, ...) is refused
before the drop is archived: the registry never keeps those values, not even in its byte-for-byte
archive.  Only the header line is read here, in the profile's encoding.
"""

from __future__ import annotations

import csv
import io

from pipelines.ingest.accounting import comment_lines
from pipelines.ingest.drops import SiteDrop
from pipelines.ingest.identifiers import direct_identifier
from pipelines.ingest.profiles import SiteProfile

HEADER_BYTES = 1 << 20  # a header longer than this is not a header


def header_names(data: bytes, encoding: str, delimiter: str, comments: str | None = None) -> list[str]:
    """The column names of the header record (below any ``comments`` metadata lines), blanks trimmed (undecodable
    bytes replaced: only names are wanted)."""
    text = data[:HEADER_BYTES].decode(encoding, errors="replace").removeprefix("\ufeff")
    for _ in range(comment_lines(data, comments)):
        text = text.partition("\n")[2]
    return [cell.strip() for cell in next(csv.reader(io.StringIO(text, newline=None), delimiter=delimiter), [])]


def identifying_columns(drop: SiteDrop, profile: SiteProfile) -> dict[str, list[str]]:
    """File name -> its header's columns that look like direct identifiers, as ``'column' (kind)`` (files without any left out)."""
    found = {}
    for item in drop.files.values():
        with item.path.open("rb") as handle:
            names = header_names(
                handle.read(HEADER_BYTES), profile.encoding, profile.delimiter, profile.header_comments
            )
        flagged = [f"'{name}' ({kind})" for name in names if (kind := direct_identifier(name))]
        if flagged:
            found[item.path.name] = flagged
    return found


def refusal_message(found: dict[str, list[str]]) -> str:
    files = "; ".join(f"{file}: {', '.join(columns)}" for file, columns in found.items())
    return (
        f"direct identifiers in the header ({files}). The registry holds no direct identifiers, so this drop was "
        "refused and NOT archived: only its file names, checksums and these column names were recorded. Delete the "
        "files from the drop folder, remove the column(s) from the export and send the drop again"
    )
