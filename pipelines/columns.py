"""Names and types every layer shares: the provenance columns of raw rows and the pseudonym's type.

Ingest writes them and the registry's tables, the analyses and the published tiers read them, so they
live here, below both, rather than in either.
"""

from __future__ import annotations

LINE = "line_number"  # the line of the site's file a row came from (header = line 1)
PARSE_ERROR = "parse_error"  # why a line could not be split into the header's fields (NULL when it could)
PSEUDONYM_TYPE = "UUID"  # the column type of patient_id in raw and core: the keyed hash's first 128 bits


def pseudonym_as_text(column: str) -> str:
    """SQL selecting a UUID column as its text form, for readers that would not show a UUID as one."""
    return f"CAST({column} AS VARCHAR) AS {column}"
