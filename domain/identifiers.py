"""Normalising Swiss identifiers so that equal things compare equal. No I/O."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def normalize_iban(value: str) -> str:
    """`CH93 0076 2011 6238 5295 7` -> `CH9300762011623852957`."""
    return _NON_ALNUM.sub("", value).upper()


def format_iban(value: str) -> str:
    iban = normalize_iban(value)
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def normalize_uid(value: str) -> str:
    """Any spelling of a UID or VAT number -> `CHE-123.456.789` (suffix MWST/TVA/IVA dropped).

    Raises ValueError when there are not exactly nine digits after CHE.
    """
    digits = re.sub(r"\D", "", value)
    if len(digits) != 9:
        raise ValueError(f"{value!r} is not a Swiss UID (expected CHE-123.456.789)")
    return f"CHE-{digits[0:3]}.{digits[3:6]}.{digits[6:9]}"


# Legal forms in the four languages; dropped before comparing names, because the same
# company writes "AG" on one invoice and "SA" on the next.
LEGAL_FORMS = {
    "ag",
    "sa",
    "gmbh",
    "sarl",
    "sagl",
    "llc",
    "ltd",
    "inc",
    "kg",
    "ohg",
    "eg",
    "kollektivgesellschaft",
    "kommanditgesellschaft",
    "genossenschaft",
    "stiftung",
    "verein",
    "einzelfirma",
    "einzelunternehmen",
    "snc",
    "scoop",
    "cooperative",
    "societe",
    "anonyme",
    "aktiengesellschaft",
    "gesellschaft",
    "mit",
    "beschrankter",
    "haftung",
    "co",
    "cie",
    "und",
    "et",
    "e",
    "and",
    "the",
    "die",
    "der",
}


def fold(text: str) -> str:
    """Lower case, accents removed, `&` spelled out, punctuation to spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " ").replace("+", " ")
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def name_tokens(name: str) -> list[str]:
    """The words that identify a company: folded, legal forms and filler dropped."""
    return [t for t in fold(name).split() if t not in LEGAL_FORMS]


def normalize_company_name(name: str) -> str:
    """`Gloor Elektro AG` and `GLOOR ELEKTRO SA.` -> `gloor elektro`."""
    tokens = name_tokens(name)
    return " ".join(tokens) if tokens else fold(name)
