"""Swiss VAT rates by date of supply, and the VAT codes fiduflow writes on booking lines.

VAT codes (ours, consistent, two letters + the rate without its point):

| code   | meaning                                               | lines               |
|--------|-------------------------------------------------------|---------------------|
| `VM81` | input VAT, material / goods / services (class 4)      | 1170 + net cost     |
| `VI81` | input VAT, investments and other costs (class 1/5/6)  | 1171 + net cost     |
| `UN81` | output VAT on sales                                   | 2200 + net sales    |

`81` is 8.1 %, `26` 2.6 %, `38` 3.8 %, `77` 7.7 %, `25` 2.5 %, `37` 3.7 %, `80` 8.0 %.
The code on the *net* line marks the taxable base (VAT form digits 200/400/405), the same
code on the VAT account line marks the tax itself; a downstream system tells them apart by
the account. Clients on the net-tax-rate method get no input-VAT lines and no codes.
"""

from datetime import date
from decimal import Decimal

# (valid from, valid to inclusive or None, normal, reduced, accommodation) — DOMAIN.md
_D = Decimal
SWISS_RATES: tuple[tuple[date, date | None, tuple[Decimal, ...]], ...] = (
    (date(2024, 1, 1), None, (_D("8.1"), _D("2.6"), _D("3.8"))),
    (date(2018, 1, 1), date(2023, 12, 31), (_D("7.7"), _D("2.5"), _D("3.7"))),
    (date(2011, 1, 1), date(2017, 12, 31), (_D("8.0"), _D("2.5"), _D("3.8"))),
)


def swiss_rates_on(on: date) -> tuple[Decimal, ...]:
    for start, end, rates in SWISS_RATES:
        if start <= on and (end is None or on <= end):
            return rates
    return ()


def is_swiss_rate(rate: Decimal, on: date) -> bool:
    """A rate Swiss VAT had on the date of supply (0 % is exempt: never an input tax)."""
    return rate.normalize() in {r.normalize() for r in swiss_rates_on(on)}


def is_any_swiss_rate(rate: Decimal) -> bool:
    return any(rate.normalize() == r.normalize() for _, _, rates in SWISS_RATES for r in rates)


def rate_digits(rate: Decimal) -> str:
    """8.1 -> "81", 8.0 -> "80", 2.6 -> "26"."""
    return f"{rate.quantize(Decimal('0.1'))}".replace(".", "")


def input_vat_account(cost_account: str) -> str:
    """1170 for class-4 costs (material, goods, services); 1171 for everything else."""
    return "1170" if cost_account.startswith("4") else "1171"


def input_vat_code(rate: Decimal, cost_account: str) -> str:
    prefix = "VM" if input_vat_account(cost_account) == "1170" else "VI"
    return f"{prefix}{rate_digits(rate)}"


def output_vat_code(rate: Decimal) -> str:
    return f"UN{rate_digits(rate)}"
