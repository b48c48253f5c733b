"""Keyed pseudonymisation of site-local patient ids (HMAC-SHA-256).

The pseudonym depends on the site as well as the id, so two sites' "P001" stay
two patients, and on a secret key, so nobody without the key can recompute it
from a guessed id.  Only distinct ids are hashed, then joined back.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at any registry size


def pseudonym(key: bytes, site_id: str, patient_id: str) -> str:
    return hmac.new(key, f"{site_id}\x1f{patient_id}".encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_CHARS]


def pseudonymise(frame: pl.DataFrame, column: str, key: bytes, site_id: str, known: dict[str, str] | None = None) -> pl.DataFrame:
    """Replace ``column`` (text) by its pseudonym; NULL stays NULL.

    ``known`` (id -> pseudonym, filled in here) is shared by the tables of one drop so each id
    is hashed once per drop, not once per table: the HMAC calls are the cost of this step.
    """
    known = {} if known is None else known
    for value in frame.get_column(column).drop_nulls().unique().to_list():
        if value not in known:
            known[value] = pseudonym(key, site_id, value)
    return frame.with_columns(pl.col(column).replace_strict(known, default=None, return_dtype=pl.Utf8))
