"""Amounts as documents print them -> `Decimal` with two places.

`1'234.50`, `1’234.50`, `1 234.50` (space, NBSP, narrow NBSP), `1234.50`, `12.–`, `12.-`,
`1.234,50`, `1,234.50`, Indian `1,23,456.00`, with a currency symbol or ISO code before or
after (`CHF`, `Fr.`, `€`, `$`, `£`, `₹`, `Rs.`, `USD` …), and a minus before or after, or
parentheses, for credits.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.money import to_money

# A single space of any width may group thousands; two spaces never do, because the text
# builder writes two spaces for a column gap (so `2  150.00` is a quantity and a price).
_SP = "[ \u00a0\u202f\u2009]"
_APOS = "['’`´]"
_DASH = "[-–—−]"

_NUMBER = (
    r"(?<![\d.,'’])(?:"
    rf"\d{{1,3}}(?:{_APOS}\d{{3}})+(?:[.,]\d{{2}}|\.{_DASH}{{1,2}})?"  # 1'234.50, 1'234.-
    rf"|\d{{1,3}}(?:{_SP}\d{{3}})+(?:[.,]\d{{2}}|\.{_DASH}{{1,2}})"  # 1 234.50 (decimals)
    rf"|\d{{1,3}}(?:\.\d{{3}})+,(?:\d{{2}}|{_DASH}{{1,2}})"  # 1.234,50, 1.234,–
    r"|\d{1,3}(?:,\d{3})+\.\d{2}"  # 1,234.50
    r"|\d{1,2}(?:,\d{2})+,\d{3}\.\d{2}"  # 1,23,456.50 (Indian lakh grouping)
    r"|\d+[.,]\d{2}"  # 1234.50 / 1234,50
    rf"|\d+[.,]{_DASH}{{1,2}}"  # 12.– / 12.-- / 12,–
    r")(?![\d]|[.,]\d|\s?%)"
)
# Symbols and codes printed next to an amount. `$` alone is read as USD: the codes of the
# other dollars (CAD, AUD …) are taken when printed.
CURRENCY_WORDS = {
    "CHF": "CHF",
    "SFR": "CHF",
    "FR": "CHF",
    "EUR": "EUR",
    "EURO": "EUR",
    "€": "EUR",
    "USD": "USD",
    "$": "USD",
    "GBP": "GBP",
    "£": "GBP",
    "INR": "INR",
    "₹": "INR",
    "RS": "INR",
    "₨": "INR",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "¥": "JPY",
}
# ISO 4217 codes common on invoices a Swiss firm receives; each is itself.
ISO_CODES = [
    "CHF",
    "EUR",
    "USD",
    "GBP",
    "INR",
    "CAD",
    "AUD",
    "NZD",
    "JPY",
    "CNY",
    "HKD",
    "SGD",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "HUF",
]
CURRENCY_WORDS.update({code: code for code in ISO_CODES})
_CODES = "|".join(ISO_CODES)
_CUR = rf"(?:EURO|Euro|{_CODES}|SFr\.?|sFr\.?|Fr\.|€|US\$|CA\$|AU\$|[CA]\$|\$|£|₹|₨|Rs\.?|¥)"
AMOUNT_RE = re.compile(
    rf"(?P<open>\()?(?P<neg1>{_DASH}\s?)?"
    rf"(?:(?<![A-Za-z])(?P<cur1>{_CUR}){_SP}?(?P<neg2>{_DASH}\s?)?)?"
    rf"(?P<num>{_NUMBER})"
    rf"(?:{_SP}?(?P<cur2>{_CUR})(?![A-Za-z]))?(?P<neg3>{_DASH}(?![\d]))?(?(open)\))"
)
_INT_WITH_CUR = re.compile(rf"(?P<cur1>{_CUR}){_SP}?(?P<num>\d{{1,7}})(?![\d.,'’])")


@dataclass(frozen=True, slots=True)
class AmountMatch:
    value: Decimal
    currency: str | None
    start: int
    end: int
    text: str


def currency_code(token: str | None) -> str | None:
    """`Fr.` -> `CHF`, `€` -> `EUR`; None when unknown."""
    if not token:
        return None
    key = token.upper().replace(".", "").replace("US$", "USD")
    return CURRENCY_WORDS.get(key)


def parse_number(text: str) -> Decimal | None:
    """The numeric part alone: decide which separator is the decimal point."""
    s = re.sub(rf"{_SP}|{_APOS}", "", text.strip())
    if re.search(rf"[.,]{_DASH}+$", s):  # 12.– and 12,– mean 12.00
        s = re.sub(rf"[.,]{_DASH}+$", "", s)
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):  # 1.234,–
            s = s.replace(".", "")
        return to_money(s) if s.isdigit() else None
    if re.fullmatch(r"\d{1,2}(?:,\d{2})+,\d{3}\.\d{2}", s):  # 1,23,456.50
        s = s.replace(",", "")
    m = re.fullmatch(r"(\d+(?:[.,]\d{3})*)(?:([.,])(\d{1,2}))?", s)
    if not m:
        return None
    whole, sep, frac = m.groups()
    if sep and whole and sep in whole:  # 1.234.50 would mix up roles: reject
        return None
    whole = whole.replace(".", "").replace(",", "")
    try:
        return to_money(Decimal(f"{whole}.{frac or '0'}"))
    except InvalidOperation:
        return None


def parse_amount(text: str) -> Decimal | None:
    """A string holding exactly one amount (with optional currency and sign) -> Decimal."""
    text = text.strip()
    m = AMOUNT_RE.fullmatch(text)
    if not m:
        m2 = _INT_WITH_CUR.fullmatch(text)
        return to_money(m2.group("num")) if m2 else None
    return _value(m)


def _value(m: re.Match[str]) -> Decimal | None:
    value = parse_number(m.group("num"))
    if value is None:
        return None
    # (12.50) is the accountant's way of printing a credit.
    negative = bool(m.group("neg2") or m.group("neg3") or m.group("open"))
    # A dash before a bare number is often a bullet; count it only right before the digits.
    if m.group("neg1") and not m.group("cur1") and not m.group("neg1").endswith(" "):
        negative = True
    return -value if negative else value


def find_amounts(text: str, *, with_integers: bool = False) -> list[AmountMatch]:
    """Every amount in `text`, in order. Integers count only next to a currency marker."""
    found: list[AmountMatch] = []
    for m in AMOUNT_RE.finditer(text):
        value = _value(m)
        if value is None:
            continue
        cur = currency_code(m.group("cur1") or m.group("cur2"))
        found.append(AmountMatch(value, cur, m.start(), m.end(), m.group(0)))
    if with_integers:
        taken = [(a.start, a.end) for a in found]
        for m in _INT_WITH_CUR.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            cur = currency_code(m.group("cur1"))
            found.append(AmountMatch(to_money(m.group("num")), cur, m.start(), m.end(), m.group(0)))
        found.sort(key=lambda a: a.start)
    return found


CURRENCY_RE = re.compile(
    rf"(?<![A-Za-z])(EURO|Euro|{_CODES}|SFr\.?|Fr\.|€|US\$|CA\$|AU\$|\$|£|₹|₨|Rs\.|¥)(?![A-Za-z])"
)
# Currencies written out ("Rupees Four Hundred Only", "Beträge in Euro", "Swiss francs").
_CURRENCY_NAMES = re.compile(
    r"(?<![A-Za-z])(?:(?P<INR>rupees?)|(?P<EUR>euros?)|(?P<CHF>franken|swiss\s+francs?|"
    r"francs?\s+suisses?|franchi\s+svizzeri)|(?P<USD>(?:us\s+)?dollars?)|"
    r"(?P<GBP>pounds?\s+sterling))(?![A-Za-z])",
    re.IGNORECASE,
)


def find_currencies(text: str, *, names: bool = False) -> list[str]:
    """Every currency symbol or code in `text`, in order; with `names`, also the
    currencies written out as words."""
    found = [
        (m.start(), c)
        for m in CURRENCY_RE.finditer(text)
        if (c := currency_code(m.group(1))) is not None
    ]
    if names:
        taken = {start for start, _ in found}
        found += [
            (m.start(), m.lastgroup)
            for m in _CURRENCY_NAMES.finditer(text)
            if m.lastgroup and m.start() not in taken
        ]
    return [c for _, c in sorted(found)]


def format_amount(value: Decimal, style: str = "ch") -> str:
    """Print an amount the way documents do (used by tests and the benchmark generator)."""
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(to_money(value)):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    if style == "ch":
        return sign + "'".join(groups) + "." + frac
    if style == "ch_typo":
        return sign + "’".join(groups) + "." + frac
    if style == "space":
        return sign + "\u00a0".join(groups) + "." + frac
    if style == "eu":
        return sign + ".".join(groups) + "," + frac
    if style == "en":
        return sign + ",".join(groups) + "." + frac
    if style == "dash" and frac == "00":
        return sign + "'".join(groups) + ".–"
    return sign + "".join(groups) + "." + frac
