"""Refuse columns whose header looks like a direct identifier.

The registry holds pseudonymised data only; a site that exports names,
addresses, national ids, phone numbers or e-mail addresses has made a mistake
the registry must not absorb.  Such a drop is rejected before any of its values
is stored (only the byte-for-byte archive keeps the file, as it keeps every
drop).  Headers are normalised (lower case, accents dropped, camelCase and
punctuation split into ``_``-separated words) and matched as whole words, so
``rok_urodzenia`` (birth year), ``Drug Name`` or ``nombre_lesions`` (French:
number of lesions) are not refused.  A header the patterns miss is only an extra
column: reported, never loaded into ``core``.
"""

from __future__ import annotations

import re
import unicodedata

# (what it is, pattern on the normalised header); documented in docs/validation.md.  English, Polish, French,
# German, Italian, Spanish and Korean (romanised and in Hangul).  Words that are also clinical words match only
# as the whole header or with a person word: French/Spanish 'nombre' is "number" in French ('nombre_lesions'),
# Italian 'nome' / French 'nom' also name a drug ('nome_farmaco', 'nom_du_medicament'); Hangul has no spaces
# between words, so Hangul words match anywhere in the header.
DIRECT_IDENTIFIER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("name", r"^(patient_?|first_?|last_?|given_?|family_?|full_?|middle_?|maiden_?|sur_?|fore_?)?names?$"),
    (
        "name",
        r"(^|_)(nazwisko|imie|imiona|apellidos?|vorname|nachname|familienname|geburtsname|patientenname|prenoms?|"
        r"cognome|ireum|seongmyeong)($|_)",
    ),
    (
        "name",
        r"^(nom|nombre|nome)(_(du_|de_la_|del_|de_|of_)?(patient|patiente|paciente|paziente|famille|de_famille|naissance|"
        r"de_naissance|jeune_fille|de_jeune_fille|usage|d_usage|marital|complet|completo|pila|e_cognome|y_apellidos?))?$",
    ),
    ("name", r"(이름|성명|성함)"),
    (
        "postal address",
        r"(^|_)(address|addr|street|adres|ulica|house_number|adresse|rue|anschrift|strasse|wohnort|indirizzo|"
        r"direccion|domicilio|calle|juso)($|_)",
    ),
    ("postal address", r"주소"),
    (
        "postcode",
        r"(^|_)(post_?code|postal_?code|zip|zip_?code|kod_pocztowy|code_postal|plz|postleitzahl|cap|codigo_postal|"
        r"u_?pyeon_?beonho)($|_)",
    ),
    ("postcode", r"우편번호"),
    (
        "national id",
        r"(^|_)(pesel|ssn|social_security(_number)?|nhs_?(number|no|num)|rrn|resident_registration(_number)?|"
        r"national_?id|national_insurance(_number)?|nino|passport(_number|_no)?|id_card(_number|_no)?|nir|"
        r"numero_(de_)?securite_sociale|securite_sociale|num_secu|sozialversicherungsnummer|"
        r"(kranken)?versichertennummer|personalausweis(nummer)?|codice_fiscale|tessera_sanitaria|nuss|"
        r"numero_(de_la_)?seguridad_social|dowod_osobisty|jumin(_deungnok)?(_beonho)?)($|_)",
    ),
    ("national id", r"^(numero_|num_|nr_)?dni$"),  # Spanish id; in Polish 'dni' is "days" ('liczba_dni')
    ("national id", r"(주민등록번호|주민번호)"),
    (
        "phone number",
        r"(^|_)(phone|telephone|tel|mobile|cell_?phone|telefon|fax|telefonnummer|handynummer|telefono|cellulare|"
        r"movil|jeonhwa(_beonho)?|hyudaepon)($|_)",
    ),
    ("phone number", r"(전화|휴대폰|핸드폰|연락처)"),
    ("e-mail address", r"(^|_)(e_?mail|mail|email_address|courriel|correo(_electronico)?|posta_elettronica)($|_)"),
    ("e-mail address", r"(이메일|전자우편)"),
    (
        "full date of birth",
        r"^(patient_)?(date_of_birth|birth_?date|dob|data_urodzenia|date_(de_)?naissance|ddn|geburts_?datum|"
        r"geb_datum|data_(di_)?nascita|fecha_(de_)?nacimiento|saengnyeonworil)$",
    ),
    ("full date of birth", r"생년월일"),
)
_COMPILED = tuple((label, re.compile(pattern)) for label, pattern in DIRECT_IDENTIFIER_PATTERNS)
_FOLDED = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D"})


def normalised_header(header: str) -> str:
    """``'E-Mail Address'`` -> ``'e_mail_address'``; ``'FirstName'`` -> ``'first_name'``; ``'Imię'`` -> ``'imie'``;
    ``'Straße'`` -> ``'strasse'``; Hangul stays (``'환자 이름'`` -> ``'환자_이름'``), other scripts drop out."""
    decomposed = unicodedata.normalize("NFKD", header.translate(_FOLDED))
    unaccented = unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
    split_camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", unaccented)
    return re.sub(r"[^a-z0-9\uac00-\ud7a3]+", "_", split_camel.lower()).strip("_")


def direct_identifier(header: str) -> str | None:
    """What kind of direct identifier ``header`` looks like, or None."""
    normalised = normalised_header(header)
    return next((label for label, pattern in _COMPILED if pattern.search(normalised)), None)


# Unmapped columns are stored as site columns (core.site_columns) unless their header says they may identify a
# patient indirectly; documented in docs/site-profiles.md ("Site columns").  Matched on the normalised header.
NOT_STORED_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "a record or case identifier",
        r"(^|_)(id|ids|mrn|identifier|nhc|record|records|chart|case|akte|fallnummer|cartella|historia|dossier|"
        r"numer_(historii|ksiegi)|deungnok)($|_)",
    ),
    ("a date", r"(^|_)(date|dates|dt|dob|data|datum|fecha|jour|giorno|ilja|nalja)($|_)"),
    (
        "free text",
        r"(^|_)(note|notes|comment|comments|remark|remarks|memo|text|free_text|uwagi|bemerkung|bemerkungen|kommentar|"
        r"observaciones|observacion|commento|note_cliniche|bigo)($|_)",
    ),
)
_NOT_STORED = tuple((label, re.compile(pattern)) for label, pattern in NOT_STORED_PATTERNS)


def not_storable(header: str) -> str | None:
    """Why an unmapped column may not be stored as a site column (it may identify a patient), or None."""
    kind = direct_identifier(header)
    if kind:
        return f"looks like a direct identifier ({kind})"
    normalised = normalised_header(header)
    return next((f"looks like {label}" for label, pattern in _NOT_STORED if pattern.search(normalised)), None)
