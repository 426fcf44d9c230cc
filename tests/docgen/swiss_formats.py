"""How Swiss (and neighbouring) documents print money, dates, identifiers and VAT rates."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
FIVE_RAPPEN = Decimal("0.05")


def money(value: Decimal | int | str) -> Decimal:
    """Round to 0.01 the commercial way (half up)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round05(value: Decimal) -> Decimal:
    """Swiss cash rounding to 5 Rappen."""
    return (Decimal(value) / FIVE_RAPPEN).quantize(Decimal(1), rounding=ROUND_HALF_UP) * (
        FIVE_RAPPEN
    )


# --- VAT rates, by date of supply ---------------------------------------------


@dataclass(frozen=True)
class VatPeriod:
    start: date
    normal: Decimal
    reduced: Decimal
    accommodation: Decimal

    def rate(self, category: str) -> Decimal | None:
        return {"N": self.normal, "R": self.reduced, "A": self.accommodation}.get(category)


# Kept as data with validity dates (DOMAIN.md), newest first.
SWISS_VAT_PERIODS: tuple[VatPeriod, ...] = (
    VatPeriod(date(2024, 1, 1), Decimal("8.1"), Decimal("2.6"), Decimal("3.8")),
    VatPeriod(date(2018, 1, 1), Decimal("7.7"), Decimal("2.5"), Decimal("3.7")),
    VatPeriod(date(2011, 1, 1), Decimal("8.0"), Decimal("2.5"), Decimal("3.8")),
)

# EU suppliers print their own rates (N normal, R reduced, A accommodation).
EU_VAT_RATES: dict[str, dict[str, Decimal]] = {
    "DE": {"N": Decimal("19"), "R": Decimal("7"), "A": Decimal("7")},
    "AT": {"N": Decimal("20"), "R": Decimal("10"), "A": Decimal("10")},
    "FR": {"N": Decimal("20"), "R": Decimal("5.5"), "A": Decimal("10")},
    "IT": {"N": Decimal("22"), "R": Decimal("10"), "A": Decimal("10")},
}


def swiss_vat_period(on: date) -> VatPeriod:
    for period in SWISS_VAT_PERIODS:
        if on >= period.start:
            return period
    raise ValueError(f"no Swiss VAT rates before {SWISS_VAT_PERIODS[-1].start}")


def vat_rate(country: str, category: str, on: date) -> Decimal | None:
    """The rate for a category on a date; None for exempt ("X") supplies."""
    if category == "X":
        return None
    if country in EU_VAT_RATES:
        return EU_VAT_RATES[country][category]
    return swiss_vat_period(on).rate(category)


def valid_rates(country: str, on: date) -> set[Decimal]:
    if country in EU_VAT_RATES:
        return set(EU_VAT_RATES[country].values())
    period = swiss_vat_period(on)
    return {period.normal, period.reduced, period.accommodation}


def format_rate(rate: Decimal, decimal_sep: str = ".") -> str:
    """8.1 -> "8.1", 19 -> "19", 5.5 -> "5,5" with a comma separator."""
    return format(rate.normalize(), "f").replace(".", decimal_sep)


# --- Money --------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyStyle:
    group: str = "'"  # thousands: ' ’ space NBSP "" or "." (EU)
    decimal: str = "."
    currency: str = "CHF"  # as printed: CHF, Fr., SFr., EUR, €
    currency_first: bool = True  # "CHF 12.00" vs "12,00 €"
    dash_round: bool = False  # "12.–" for amounts with zero Rappen
    dash: str = "–"

    def amount(self, value: Decimal, *, currency: bool = False, dash: bool = True) -> str:
        text = self.number(value, dash=dash)
        if not currency:
            return text
        return f"{self.currency} {text}" if self.currency_first else f"{text} {self.currency}"

    def number(self, value: Decimal, *, dash: bool = True) -> str:
        value = money(value)
        sign = "-" if value < 0 else ""
        units, cents = f"{abs(value):.2f}".split(".")
        groups = []
        while len(units) > 3:
            groups.insert(0, units[-3:])
            units = units[:-3]
        groups.insert(0, units)
        integer = self.group.join(groups)
        if dash and self.dash_round and cents == "00":
            return f"{sign}{integer}{self.decimal}{self.dash}"
        return f"{sign}{integer}{self.decimal}{cents}"


def swiss_money_style(r: random.Random, currency: str = "CHF") -> MoneyStyle:
    group = r.choices(("'", "’", " ", "\u00a0", ""), weights=(55, 15, 10, 8, 12))[0]
    if currency == "CHF":
        printed = r.choices(("CHF", "Fr.", "SFr."), weights=(85, 12, 3))[0]
    else:
        printed = r.choices(("EUR", "€"), weights=(80, 20))[0]
    return MoneyStyle(
        group=group,
        decimal=".",
        currency=printed,
        currency_first=True,
        dash_round=r.random() < 0.25,
        dash=r.choice(("–", "-")),
    )


def eu_money_style(r: random.Random, country: str, currency: str = "EUR") -> MoneyStyle:
    group = {"FR": r.choice((" ", "\u00a0")), "DE": ".", "AT": ".", "IT": "."}.get(country, ".")
    symbol_last = r.random() < 0.7
    return MoneyStyle(
        group=group,
        decimal=",",
        currency=("€" if symbol_last else currency) if currency == "EUR" else currency,
        currency_first=not symbol_last,
        dash_round=False,
    )


# --- Dates --------------------------------------------------------------------

MONTHS = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "it": (
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
DATE_STYLES = ("dot", "dot_short", "long", "slash", "dot_yy", "iso")


def format_date(d: date, language: str, style: str = "dot") -> str:
    if style == "dot":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if style == "dot_short":
        return f"{d.day}.{d.month}.{d.year}"
    if style == "dot_yy":
        return f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}"
    if style == "slash":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == "iso":
        return d.isoformat()
    month = MONTHS[language][d.month - 1]
    if language == "de":
        return f"{d.day}. {month} {d.year}"
    if language == "fr":
        return f"{'1er' if d.day == 1 else d.day} {month} {d.year}"
    if language == "it":
        return f"{'1°' if d.day == 1 else d.day} {month} {d.year}"
    return f"{d.day} {month} {d.year}"


def pick_date_style(r: random.Random, language: str) -> str:
    if language in ("fr", "it", "en"):
        return r.choices(("dot", "long", "slash", "dot_short"), weights=(45, 30, 20, 5))[0]
    return r.choices(("dot", "long", "dot_short", "dot_yy"), weights=(60, 25, 10, 5))[0]


def place_and_date(city: str, d: date, language: str, style: str) -> str:
    town = city.removesuffix(" ZH").removesuffix(" SG").removesuffix(" AG").removesuffix(" VD")
    text = format_date(d, language, style)
    if language == "fr":
        return f"{town}, le {text}"
    return f"{town}, {text}"


def s1_date(d: date) -> str:
    return d.strftime("%y%m%d")


# --- Identifiers as printed ---------------------------------------------------


def format_iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def format_qrr(ref: str) -> str:
    """27 digits -> "21 00000 00003 13947 14300 09017" (2 then blocks of 5)."""
    return ref[:2] + " " + " ".join(ref[i : i + 5] for i in range(2, 27, 5))


def format_scor(ref: str) -> str:
    return " ".join(ref[i : i + 4] for i in range(0, len(ref), 4))


def format_reference(ref: str) -> str:
    return format_scor(ref) if ref.startswith("RF") else format_qrr(ref)


VAT_SUFFIX = {"de": "MWST", "fr": "TVA", "it": "IVA", "en": "MWST"}


def vat_number(uid: str, language: str) -> str:
    """UID + " MWST" / " TVA" / " IVA": the Swiss VAT number as printed."""
    return f"{uid} {VAT_SUFFIX[language]}"
