"""VAT rates as data with validity dates: a rate is only plausible for the date of supply.

Swiss firms receive invoices from the neighbouring countries, the rest of Europe and
further: the table holds the standard and reduced rates of those countries, India's GST
(IGST at the full rate, CGST and SGST at half of it each) included.
"""

from datetime import date, timedelta
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
    ("NL", date(2019, 1, 1), None, (_D("21"), _D("9"))),
    ("NL", date(2012, 10, 1), date(2018, 12, 31), (_D("21"), _D("6"))),
    ("BE", date(1996, 1, 1), None, (_D("21"), _D("12"), _D("6"))),
    ("ES", date(2012, 9, 1), None, (_D("21"), _D("10"), _D("4"))),
    ("PT", date(2011, 1, 1), None, (_D("23"), _D("13"), _D("6"))),
    ("GB", date(2011, 1, 4), None, (_D("20"), _D("5"))),
    ("IE", date(2012, 1, 1), None, (_D("23"), _D("13.5"), _D("9"))),
    ("LU", date(2015, 1, 1), None, (_D("17"), _D("14"), _D("8"), _D("3"))),
    ("LU", date(2023, 1, 1), date(2023, 12, 31), (_D("16"), _D("13"), _D("7"))),
    (
        "IN",
        date(2017, 7, 1),
        None,
        (_D("5"), _D("12"), _D("18"), _D("28"), _D("2.5"), _D("6"), _D("9"), _D("14")),
    ),
    ("AU", date(2000, 7, 1), None, (_D("10"),)),
    ("NZ", date(2010, 10, 1), None, (_D("15"),)),
]
ZERO = Decimal("0")
# An invoice may bill a supply made before a rate change: the rate of the date of supply
# holds, and that may lie up to a year before the invoice date.
SUPPLY_BEFORE_INVOICE = timedelta(days=365)


def rates_on(on: date | None, countries: tuple[str, ...] | None = None) -> set[Decimal]:
    """Rates in force on `on` (today's table when unknown) in the given countries (all
    countries of the table when None)."""
    on = on or date.today()
    out: set[Decimal] = set()
    for country, start, end, rates in RATES:
        if (
            (countries is None or country in countries)
            and start <= on
            and (end is None or on <= end)
        ):
            out.update(rates)
    return out


def is_valid_rate(rate: Decimal, on: date | None, countries: tuple[str, ...] | None = None) -> bool:
    """Zero is always allowed (exempt lines print 0 %)."""
    return rate == ZERO or rate.normalize() in {r.normalize() for r in rates_on(on, countries)}


def is_plausible_rate(
    rate: Decimal, on: date | None, countries: tuple[str, ...] | None = None
) -> bool:
    """A rate the table of one of `countries` (all when None) held on the invoice date or
    in the year before it (the supply billed may predate a rate change)."""
    if rate == ZERO:
        return True
    on = on or date.today()
    earliest = on - SUPPLY_BEFORE_INVOICE
    wanted = rate.normalize()
    return any(
        (countries is None or country in countries)
        and start <= on
        and (end is None or end >= earliest)
        and wanted in {r.normalize() for r in rates}
        for country, start, end, rates in RATES
    )
