"""VAT rates as data with validity dates: a rate is only plausible for the date of supply."""

from datetime import date
from decimal import Decimal

# (country, valid from, valid to inclusive or None, rates)
_D = Decimal
RATES: list[tuple[str, date, date | None, tuple[Decimal, ...]]] = [
    ("CH", date(2024, 1, 1), None, (_D("8.1"), _D("2.6"), _D("3.8"))),
    ("CH", date(2018, 1, 1), date(2023, 12, 31), (_D("7.7"), _D("2.5"), _D("3.7"))),
    ("CH", date(2011, 1, 1), date(2017, 12, 31), (_D("8.0"), _D("2.5"), _D("3.8"))),
    ("DE", date(2021, 1, 1), None, (_D("19"), _D("7"))),
    ("DE", date(2020, 7, 1), date(2020, 12, 31), (_D("16"), _D("5"))),
    ("DE", date(2007, 1, 1), date(2020, 6, 30), (_D("19"), _D("7"))),
    ("FR", date(2014, 1, 1), None, (_D("20"), _D("10"), _D("5.5"), _D("2.1"))),
    ("IT", date(2013, 10, 1), None, (_D("22"), _D("10"), _D("5"), _D("4"))),
    ("AT", date(2016, 1, 1), None, (_D("20"), _D("13"), _D("10"))),
]
ZERO = Decimal("0")


def rates_on(
    on: date | None, countries: tuple[str, ...] = ("CH", "DE", "FR", "IT", "AT")
) -> set[Decimal]:
    """Rates in force on `on` (today's table when unknown) in the given countries."""
    on = on or date.today()
    out: set[Decimal] = set()
    for country, start, end, rates in RATES:
        if country in countries and start <= on and (end is None or on <= end):
            out.update(rates)
    return out


def is_valid_rate(
    rate: Decimal, on: date | None, countries: tuple[str, ...] = ("CH", "DE", "FR", "IT", "AT")
) -> bool:
    """Zero is always allowed (exempt lines print 0 %)."""
    return rate == ZERO or rate.normalize() in {r.normalize() for r in rates_on(on, countries)}
