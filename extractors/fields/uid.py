"""Swiss UID / VAT numbers (`CHE-123.456.789 MWST`), mod-11 checked."""

import re

_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4)
UID_RE = re.compile(
    r"(?<![A-Z0-9])CHE[\s\-.:]{0,2}([0-9OIl]{3})[\s.'’]?([0-9OIl]{3})[\s.'’]?([0-9OIl]{3})(?!\d)"
    r"(?:\s*(MWST|TVA|IVA|TPV|VAT))?",
    re.IGNORECASE,
)
_FIX = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})


def uid_check_digit(first8: str) -> int:
    """Mod-11 check digit of a UID; 10 means the number is never issued."""
    total = sum(int(d) * w for d, w in zip(first8, _WEIGHTS, strict=True))
    return (11 - total % 11) % 11


def is_valid_uid_digits(digits: str) -> bool:
    if not re.fullmatch(r"\d{9}", digits):
        return False
    check = uid_check_digit(digits[:8])
    return check != 10 and check == int(digits[8])


def format_uid(digits: str) -> str:
    return f"CHE-{digits[0:3]}.{digits[3:6]}.{digits[6:9]}"


def parse_uid(text: str) -> str | None:
    """One UID in any spelling -> `CHE-123.456.789` when its check digit is right."""
    m = UID_RE.search(text)
    if not m:
        digits = re.sub(r"\D", "", text)
        return format_uid(digits) if is_valid_uid_digits(digits) else None
    digits = "".join(m.group(1, 2, 3)).translate(_FIX)
    return format_uid(digits) if is_valid_uid_digits(digits) else None


def find_uids(text: str) -> list[tuple[str, int, int, bool]]:
    """(UID, start, end, is VAT number) for each valid UID in `text`."""
    out = []
    for m in UID_RE.finditer(text):
        digits = "".join(m.group(1, 2, 3)).translate(_FIX)
        if is_valid_uid_digits(digits):
            out.append((format_uid(digits), m.start(), m.end(), bool(m.group(4))))
    return out
