"""Payment references: QR reference (QRR, 27 digits, mod-10 recursive) and SCOR (ISO 11649)."""

import re

from stdnum import iso11649

_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)


def mod10_check_digit(digits: str) -> int:
    carry = 0
    for ch in digits:
        carry = _TABLE[(carry + int(ch)) % 10]
    return (10 - carry) % 10


def is_valid_qrr(value: str) -> bool:
    digits = re.sub(r"\s", "", value)
    return (
        len(digits) == 27 and digits.isdigit() and mod10_check_digit(digits[:-1]) == int(digits[-1])
    )


def is_valid_scor(value: str) -> bool:
    compact = re.sub(r"\s", "", value).upper()
    return compact.startswith("RF") and 5 <= len(compact) <= 25 and iso11649.is_valid(compact)


QRR_RE = re.compile(r"(?<!\d)(\d{2}(?:\s?\d{5}){5})(?!\d)")
SCOR_RE = re.compile(r"(?<![A-Z0-9])(RF\d{2}(?:\s?[A-Z0-9]{1,4}){1,6})(?![A-Z0-9])", re.I)


def find_references(text: str) -> list[tuple[str, str, int, int]]:
    """(type QRR/SCOR, compact reference, start, end) for each valid one in `text`."""
    out = []
    for m in QRR_RE.finditer(text):
        compact = re.sub(r"\s", "", m.group(1))
        if is_valid_qrr(compact):
            out.append(("QRR", compact, m.start(), m.end()))
    for m in SCOR_RE.finditer(text):
        compact = re.sub(r"\s", "", m.group(1)).upper()
        # The greedy groups may have swallowed the next word: shorten until it checks.
        while len(compact) >= 5 and not is_valid_scor(compact):
            compact = compact[:-1]
        if len(compact) >= 5:
            out.append(("SCOR", compact, m.start(), m.end()))
    return out
