"""Refuse columns whose header looks like a direct identifier.

The registry holds pseudonymised data only; a site that exports names,
addresses, national ids, phone numbers or e-mail addresses has made a mistake
the registry must not absorb.  Such a drop is rejected before any of its values
is stored (only the byte-for-byte archive keeps the file, as it keeps every
drop).  Headers are normalised (lower case, accents dropped, camelCase and
punctuation split into ``_``-separated words) and matched as whole words, so
``rok_urodzenia`` (birth year) or ``Drug Name`` are not refused.
"""

from __future__ import annotations

import re
import unicodedata

# (what it is, pattern on the normalised header); documented in docs/validation.md
DIRECT_IDENTIFIER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("name", r"^(patient_?|first_?|last_?|given_?|family_?|full_?|middle_?|maiden_?|sur_?|fore_?)?names?$"),
    ("name", r"(^|_)(nazwisko|imie|imiona|nombre|apellidos?|vorname|nachname|prenom)($|_)"),
    ("postal address", r"(^|_)(address|addr|street|adres|ulica|house_number)($|_)"),
    ("postcode", r"(^|_)(post_?code|postal_?code|zip|zip_?code|kod_pocztowy)($|_)"),
    ("national id", r"(^|_)(pesel|ssn|social_security(_number)?|nhs_?(number|no|num)|rrn|resident_registration(_number)?|"
                    r"national_?id|national_insurance(_number)?|nino|passport(_number|_no)?|id_card(_number|_no)?)($|_)"),
    ("phone number", r"(^|_)(phone|telephone|tel|mobile|cell_?phone|telefon|fax)($|_)"),
    ("e-mail address", r"(^|_)(e_?mail|mail|email_address)($|_)"),
    ("full date of birth", r"^(date_of_birth|birth_?date|dob|data_urodzenia)$"),
)
_COMPILED = tuple((label, re.compile(pattern)) for label, pattern in DIRECT_IDENTIFIER_PATTERNS)


def normalised_header(header: str) -> str:
    """``'E-Mail Address'`` -> ``'e_mail_address'``; ``'FirstName'`` -> ``'first_name'``; ``'Imię'`` -> ``'imie'``."""
    ascii_text = unicodedata.normalize("NFKD", header.replace("ł", "l").replace("Ł", "L")).encode("ascii", "ignore").decode()
    split_camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_text)
    return re.sub(r"[^a-z0-9]+", "_", split_camel.lower()).strip("_")


def direct_identifier(header: str) -> str | None:
    """What kind of direct identifier ``header`` looks like, or None."""
    normalised = normalised_header(header)
    return next((label for label, pattern in _COMPILED if pattern.search(normalised)), None)
