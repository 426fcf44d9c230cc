"""Dates as documents print them in de/fr/it/en -> `date`.

`01.02.2026`, `1.2.26`, `01/02/2026`, `2026-02-01`, `1. Februar 2026`, `1er février 2026`,
`1° febbraio 2026`, `February 1, 2026`, `1 Feb 2026`; `YYMMDD` in Swico S1.
Day first always: Swiss and EU documents never put the month first.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

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
for _num, _names in _MONTH_NAMES.items():
    for _name in _names.split():
        MONTHS[_name] = _num

_MONTH_ALT = "|".join(sorted((re.escape(n) for n in MONTHS), key=len, reverse=True))
_NUMERIC = re.compile(
    r"(?<![\d.])(?P<d>[0-3]?\d)\s?(?P<s>[./-])\s?(?P<m>[01]?\d)(?P=s)\s?(?P<y>\d{4}|\d{2})(?![\d])"
)
_ISO = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?!\d)")
_NAMED = re.compile(
    rf"(?<![\w])(?P<d>[0-3]?\d)\s?(?:\.|er|°|º|st|nd|rd|th)?\s*(?P<mon>{_MONTH_ALT})\.?,?\s+"
    rf"(?P<y>\d{{4}})(?!\d)",
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


def find_dates(text: str) -> list[DateMatch]:
    """Every date in `text`, in order of appearance."""
    found: list[DateMatch] = []
    for rx in (_ISO, _NUMERIC):
        for m in rx.finditer(text):
            value = _make(_year(m.group("y")), int(m.group("m")), int(m.group("d")))
            if value:
                found.append(DateMatch(value, m.start(), m.end()))
    for rx in (_NAMED, _NAMED_EN):
        for m in rx.finditer(text):
            month = _month(m.group("mon"))
            value = _make(int(m.group("y")), month, int(m.group("d"))) if month else None
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
