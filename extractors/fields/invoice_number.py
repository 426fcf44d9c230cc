"""The invoice number, by its label in four languages."""

import re

from extractors.fields.labelled import Hit, compile_labels, find_labelled
from extractors.fields.labels import INVOICE_NUMBER_LABELS
from extractors.layout import Line

LABEL_RE = compile_labels(INVOICE_NUMBER_LABELS)
_VALUE = re.compile(r"[A-Z0-9][A-Z0-9\-/._]{1,29}", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}$")


def clean_number(text: str) -> str | None:
    """The first token that looks like a document number (has a digit, is not a date)."""
    for token in text.split():
        m = _VALUE.match(token)
        if not m:
            continue
        value = m.group(0).rstrip(".-/_,")
        if any(ch.isdigit() for ch in value) and not _DATE_LIKE.match(value) and len(value) >= 2:
            return value
        return None
    return None


def find_invoice_numbers(lines: list[Line]) -> list[tuple[str, Hit]]:
    out = []
    for hit in find_labelled(lines, LABEL_RE):
        value = clean_number(hit.text)
        if value:
            out.append((value, hit))
    return out
