"""The invoice number, by its label in de/fr/it/en/nl/es: beside the label, after `#`,
`No.`, `Nr.` or `N°`, or in the table cell under it.

A bare `No. 123` / `Nr. 123` / `N° 123` / `NUMBER: 123` (no document word) counts only at
the start of a line or a column, and is offered apart (`bare=True`) so that a caller can
trust it less. `fix_ocr_number` undoes OCR's letter-for-digit slips in a number.
"""

import re

from extractors.fields.labelled import Hit, compile_labels, find_labelled
from extractors.fields.labels import INVOICE_NUMBER_LABELS
from extractors.layout import Line

LABEL_RE = compile_labels(INVOICE_NUMBER_LABELS)
# A number label without a document word, at the start of a line or a column.
BARE_LABEL = "bare"
_BARE_RE = re.compile(
    r"(?:^|(?<=\s\s))(?:n[o°º]|nr|nummer|number|num[eé]ro|n[uú]mero|#)(?![a-z])\.?"
)
_VALUE = re.compile(r"[A-Z0-9][A-Z0-9\-/._\\]{1,29}", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}$")
# "No." / "Nr." / "N°" / "#" written before the value ("INVOICE: NO. 001", "#INV-7").
_PREFIX_TOKEN = re.compile(r"^(?:n[o°º]|nr|#)\.?:?$", re.IGNORECASE)
_GLUED_PREFIX = re.compile(r"^(?:#|n[°º]\.?|no\.|nr\.)(?=[A-Z0-9])", re.IGNORECASE)


def clean_number(text: str) -> str | None:
    """The first token that looks like a document number (has a digit, is not a date)."""
    for token in text.split():
        token = token.lstrip("|[(‘'\"“")  # a table rule or a quote read into the cell
        if _PREFIX_TOKEN.match(token):
            continue
        token = _GLUED_PREFIX.sub("", token)
        m = _VALUE.match(token)
        if not m:
            continue
        value = m.group(0).rstrip(".-/_,\\")
        if any(ch.isdigit() for ch in value) and not _DATE_LIKE.match(value) and len(value) >= 2:
            return value
        return None
    return None


def find_invoice_numbers(lines: list[Line], *, bare: bool = False) -> list[tuple[str, Hit]]:
    """(number, where) for each labelled number; with `bare`, also those after a bare
    `No.` / `Nr.` / `#` (their hit's label is `BARE_LABEL`)."""
    out = []
    for hit in find_labelled(lines, LABEL_RE):
        value = clean_number(hit.text)
        if value:
            out.append((value, hit))
    if bare:
        for hit in find_labelled(lines, _BARE_RE, look_below=False):
            value = clean_number(hit.text)
            # "Nr. 12  Beratung" is a table row's position, not a document number.
            if (
                value
                and len(value) >= 3
                and not any(h.line is hit.line and v == value for v, h in out)
            ):
                out.append((value, _as_bare(hit)))
    return out


def _as_bare(hit: Hit) -> Hit:
    return Hit(
        hit.text,
        hit.line,
        hit.start,
        hit.end,
        BARE_LABEL,
        hit.below,
        hit.label_line,
        hit.label_start,
    )


# OCR reads the digit 0 as the letter O (and 1 as I or l) inside numbers. Where the letters
# and digits of a value meet, "INVO3051" is more likely "INV" + "03051": a number's prefix
# of three or more letters rarely ends in O, and a run of digits rarely holds a letter.
_O_IN_DIGITS = re.compile(r"(?<=\d)[Oo]+(?=\d|$)")
_I_IN_DIGITS = re.compile(r"(?<=\d)[Il](?=\d)")
_O_AT_DIGITS = re.compile(r"(?<=[A-Z]{3})O(?=\d{2})")


def fix_ocr_number(value: str) -> str:
    """The reading of an OCR'd number whose letters and digits fall where a number's do."""
    fixed = _O_IN_DIGITS.sub(lambda m: "0" * len(m.group(0)), value)
    fixed = _I_IN_DIGITS.sub("1", fixed)
    return _O_AT_DIGITS.sub("0", fixed)
