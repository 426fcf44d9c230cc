"""Dates as documents print them in de/fr/it/en/nl/es/pt -> `date`.

`01.02.2026`, `1.2.26`, `01/02/2026`, `2026-02-01`, `1. Februar 2026`, `1er février 2026`,
`1° febbraio 2026`, `February 1, 2026`, `1 Feb 2026`, `27-Feb-2019`, `15 de marzo de 2026`;
`YYMMDD` in Swico S1.

Day first unless told otherwise: Swiss and EU documents never put the month first, US ones
do (`11/15/2019`). `date_order` decides per document from its unambiguous dates (13/.. or
../13) and its language and country; a numeric date that reads only one way reads that way,
and one that reads both ways (`3/4/2026`) is marked `ambiguous` so that its confidence can
say so when the document does not settle the order. Dotted dates are always day first.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

DateOrder = Literal["dmy", "mdy"]

MONTHS: dict[str, int] = {}
_MONTH_NAMES = {
    1: "januar jänner janvier gennaio january jan janv genn gen",
    2: "februar feber février fevrier febbraio february feb févr fevr febbr",
    3: "märz maerz marz mars marzo march mär mrz mar",
    4: "april avril aprile apr avr",
    5: "mai maggio may magg mag",
    6: "juni juin giugno june jun giu",
    7: "juli juillet luglio july jul juil lug",
    8: "august août aout agosto aug aoû ago",
    9: "september septembre settembre sep sept sett set",
    10: "oktober octobre ottobre october okt oct ott",
    11: "november novembre nov",
    12: "dezember décembre decembre dicembre december dez déc dec dic",
}
# Dutch, Spanish and Portuguese names (those the lists above do not already hold).
_MONTH_NAMES_NL_ES = {
    1: "januari enero ene janeiro",
    2: "februari febrero fevereiro fev",
    3: "maart mrt março",
    4: "abril abr",
    5: "mei mayo maio",
    6: "junio junho",
    7: "julio julho",
    8: "augustus",
    9: "septiembre setiembre setembro",
    10: "octubre outubro",
    11: "noviembre",
    12: "diciembre dezembro",
}
for _num, _names in _MONTH_NAMES_NL_ES.items():
    _MONTH_NAMES[_num] += " " + _names
for _num, _names in _MONTH_NAMES.items():
    for _name in _names.split():
        MONTHS[_name] = _num

_MONTH_ALT = "|".join(sorted((re.escape(n) for n in MONTHS), key=len, reverse=True))
# Day and month as printed, first and second: which is which depends on the order.
_NUMERIC = re.compile(
    r"(?<![\d.])(?P<a>[0-3]?\d)\s?(?P<s>[./-])\s?(?P<b>[0-3]?\d)(?P=s)\s?(?P<y>\d{4}|\d{2})(?![\d])"
)
_ISO = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s?(?P<s>[-/])\s?(?P<m>[01]?\d)\s?(?P=s)\s?(?P<d>[0-3]?\d)(?!\d)"
)
_NAMED = re.compile(
    rf"(?<![\w])(?P<d>[0-3]?\d)\s?(?:\.|er|°|º|st|nd|rd|th)?\s*(?:de\s+)?(?P<mon>{_MONTH_ALT})\.?,?"
    rf"\s+(?:de\s+)?(?P<y>\d{{4}})(?!\d)",
    re.IGNORECASE,
)
# `27-Feb-2019`, `27/Feb/19`, `27-Feb.-2019`.
_NAMED_JOINED = re.compile(
    rf"(?<![\w])(?P<d>[0-3]?\d)(?P<s>[-/])(?P<mon>{_MONTH_ALT})\.?(?P=s)(?P<y>\d{{4}}|\d{{2}})(?!\d)",
    re.IGNORECASE,
)
_NAMED_EN = re.compile(
    rf"(?<![\w])(?P<mon>{_MONTH_ALT})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateMatch:
    value: date
    start: int
    end: int
    # Day and month could be swapped (`3/4/2026`): only the document's order tells.
    ambiguous: bool = False


def _year(text: str) -> int:
    y = int(text)
    return 2000 + y if y < 100 else y


def _make(y: int, m: int, d: int) -> date | None:
    if not 1990 <= y <= 2099:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month(name: str) -> int | None:
    key = name.lower().rstrip(".")
    if key in MONTHS:
        return MONTHS[key]
    folded = "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))
    return MONTHS.get(folded)


def _numeric(m: re.Match[str], order: DateOrder) -> DateMatch | None:
    a, b, year = int(m.group("a")), int(m.group("b")), _year(m.group("y"))
    if m.group("s") == ".":
        value = _make(year, b, a)  # dotted dates are European: day first
        return DateMatch(value, m.start(), m.end()) if value else None
    day_first = _make(year, b, a)
    month_first = _make(year, a, b)
    preferred, other = (day_first, month_first) if order == "dmy" else (month_first, day_first)
    value = preferred or other
    if value is None:
        return None
    return DateMatch(value, m.start(), m.end(), ambiguous=bool(preferred and other and a != b))


def find_dates(text: str, order: DateOrder = "dmy") -> list[DateMatch]:
    """Every date in `text`, in order of appearance; numeric ones read in `order` where
    they read both ways."""
    found: list[DateMatch] = []
    for m in _ISO.finditer(text):
        value = _make(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if value:
            found.append(DateMatch(value, m.start(), m.end()))
    for m in _NUMERIC.finditer(text):
        match = _numeric(m, order)
        if match:
            found.append(match)
    for rx in (_NAMED, _NAMED_EN, _NAMED_JOINED):
        for m in rx.finditer(text):
            month = _month(m.group("mon"))
            value = _make(_year(m.group("y")), month, int(m.group("d"))) if month else None
            if value:
                found.append(DateMatch(value, m.start(), m.end()))
    found.sort(key=lambda d: d.start)
    # Drop matches nested in a longer one (an ISO date inside a timestamp, say).
    result: list[DateMatch] = []
    for d in found:
        if result and d.start < result[-1].end:
            continue
        result.append(d)
    return result


# A US address ("Seattle, WA 98101") or the country's name: month-first dates.
_US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
_US_SIGNAL = re.compile(
    rf"\b(?:{'|'.join(_US_STATES.split())}),?\s+\d{{5}}(?:-\d{{4}})?\b|\bU\.?S\.?A\b|"
    r"\bUnited States\b"
)
# Languages whose documents put the day first.
_DAY_FIRST_LANGUAGES = {"de", "fr", "it", "nl", "es", "pt"}
# What a US document does not print: European and British currencies, an IBAN, a Swiss UID,
# VAT by its European names, Indian tax numbers. English with these puts the day first.
_DAY_FIRST_SIGNAL = re.compile(
    r"\b(?:CHF|EUR|GBP|INR|IBAN|MWST|TVA|IVA|USt|VAT|GSTIN)\b|€|£|₹|\bCHE[-\s]?\d{3}",
    re.IGNORECASE,
)


def date_order(text: str, language: str | None = None) -> tuple[DateOrder, bool]:
    """The order of day and month in a document's numeric dates, and whether the document
    settles it: by dates that read only one way (`13/02/2026`, `02/13/2026`), else by its
    language (not English: day first) or by what only non-US documents print (a euro or
    franc amount, an IBAN, VAT); a US address alone suggests month first, unsettled.
    Dotted dates are European and count for day first."""
    dmy = mdy = 0
    for m in _NUMERIC.finditer(text):
        a, b, year = int(m.group("a")), int(m.group("b")), _year(m.group("y"))
        if m.group("s") == "-" and len(m.group("y")) == 2:
            continue  # 12-15-22 is as often an article or phone number as a date
        if m.group("s") == ".":
            dmy += _make(year, b, a) is not None
        elif a > 12 and _make(year, b, a):
            dmy += 1
        elif b > 12 and _make(year, a, b):
            mdy += 1
    day_first_language = language in _DAY_FIRST_LANGUAGES
    if dmy and not mdy:
        return "dmy", True
    if mdy and not dmy:
        return "mdy", True
    if dmy or mdy:
        # Contradicting dates (OCR noise, a code that looks like a date): the majority.
        if dmy >= mdy:
            return "dmy", day_first_language
        return "mdy", False
    if day_first_language:
        return "dmy", True
    us, european = bool(_US_SIGNAL.search(text)), bool(_DAY_FIRST_SIGNAL.search(text))
    if us and not european:
        return "mdy", False
    return "dmy", european and not us


def parse_date(text: str) -> date | None:
    """A string holding one date -> that date, else None."""
    found = find_dates(text)
    return found[0].value if len(found) == 1 else None


def parse_yymmdd(text: str) -> date | None:
    """Swico S1 dates: `260201` -> 2026-02-01."""
    if not re.fullmatch(r"\d{6}", text):
        return None
    return _make(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]))


FORMATS = {
    "de": ["{d:02d}.{m:02d}.{y}", "{d}.{m}.{yy:02d}", "{d}. {month} {y}"],
    "fr": ["{d:02d}.{m:02d}.{y}", "{d:02d}/{m:02d}/{y}", "{d_fr} {month} {y}"],
    "it": ["{d:02d}.{m:02d}.{y}", "{d:02d}/{m:02d}/{y}", "{d_it} {month} {y}"],
    "en": ["{d:02d}.{m:02d}.{y}", "{d} {month} {y}", "{month} {d}, {y}", "{y}-{m:02d}-{d:02d}"],
}
MONTH_NAMES = {
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre "
    "novembre dicembre",
    "en": "January February March April May June July August September October November December",
}


def format_date(value: date, language: str, variant: int = 0) -> str:
    """Print a date as a document in `language` would (tests and benchmarks use it)."""
    fmts = FORMATS[language]
    fmt = fmts[variant % len(fmts)]
    month = MONTH_NAMES[language].split()[value.month - 1]
    return fmt.format(
        d=value.day,
        m=value.month,
        y=value.year,
        yy=value.year % 100,
        month=month,
        d_fr="1er" if value.day == 1 else str(value.day),
        d_it="1°" if value.day == 1 else str(value.day),
    )
