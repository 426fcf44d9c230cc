"""IBANs: found in text (also with OCR slips), mod-97 checked, returned compact."""

import re

from stdnum import iban as std_iban

# Lengths of the IBANs a Swiss fiduciary meets; others are tried by their check digits.
LENGTHS = {
    "CH": 21,
    "LI": 21,
    "DE": 22,
    "AT": 20,
    "FR": 27,
    "IT": 27,
    "NL": 18,
    "BE": 16,
    "LU": 20,
    "ES": 24,
    "GB": 22,
    "IE": 22,
    "PT": 25,
    "DK": 18,
    "SE": 24,
    "PL": 28,
    "CZ": 24,
    "MC": 27,
    "SM": 27,
    "HU": 28,
    "FI": 18,
    "NO": 15,
}
_START = re.compile(r"(?<![A-Z0-9])([A-Z]{2})\s?(\d{2}|[0-9OIlS]{2})")
_CHUNK = re.compile(r"[ \u00a0]?[A-Z0-9]{1,4}")
# OCR confuses these in the numeric parts of an IBAN.
_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "B": "8", "Z": "2"})


def is_valid_iban(value: str) -> bool:
    compact = re.sub(r"\s", "", value).upper()
    return len(compact) >= 15 and std_iban.is_valid(compact)


def is_qr_iban(iban: str) -> bool:
    """QR-IBAN: a CH/LI IBAN whose institution id (chars 5-9) is 30000-31999."""
    iban = re.sub(r"\s", "", iban).upper()
    return iban[:2] in ("CH", "LI") and iban[4:9].isdigit() and 30000 <= int(iban[4:9]) <= 31999


def _candidates(text: str, start: int, country: str) -> str:
    """Collect up to 34 IBAN characters after the country code, allowing single spaces."""
    out: list[str] = []
    pos = start
    while len("".join(out)) < 32:
        m = _CHUNK.match(text, pos)
        if not m:
            break
        out.append(m.group(0).strip())
        pos = m.end()
    return country + "".join(out)


def _check(raw: str) -> str | None:
    country = raw[:2]
    lengths = [LENGTHS[country]] if country in LENGTHS else range(min(len(raw), 34), 14, -1)
    for n in lengths:
        if len(raw) < n:
            continue
        candidate = raw[:n]
        if std_iban.is_valid(candidate):
            return candidate
        # Swiss and Liechtenstein IBANs are digits after the bank code: fix OCR slips there.
        if country in ("CH", "LI", "DE", "AT"):
            fixed = (
                candidate[:2]
                + candidate[2:9].translate(_DIGIT_FIX)
                + (
                    candidate[9:]
                    if country in ("CH", "LI")
                    else candidate[9:].translate(_DIGIT_FIX)
                )
            )
            if fixed != candidate and std_iban.is_valid(fixed):
                return fixed
    return None


def find_ibans(text: str) -> list[tuple[str, int, int]]:
    """Valid IBANs in `text` as (compact IBAN, start, end), in order."""
    found: list[tuple[str, int, int]] = []
    upper = text.upper()
    for m in _START.finditer(upper):
        country = m.group(1)
        raw = _candidates(upper, m.start(2), country)
        iban = _check(raw)
        if iban and not any(iban == f[0] for f in found):
            found.append((iban, m.start(), m.start() + len(iban) + len(iban) // 4 + 1))
    return found
