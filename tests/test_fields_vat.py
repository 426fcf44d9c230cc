"""VAT rates by date, and VAT lines as printed."""

from datetime import date
from decimal import Decimal

from extractors.fields.vat import find_vat_lines
from extractors.fields.vat_rates import is_valid_rate
from extractors.layout import group_lines
from extractors.reading import Word

D = Decimal


def _lines(*texts: str):
    words = []
    for row, text in enumerate(texts):
        x = 50.0
        for token in text.split(" "):
            if token:
                words.append(
                    Word(
                        text=token,
                        page=1,
                        x0=x,
                        top=100 + 14 * row,
                        x1=x + 6 * len(token),
                        bottom=110 + 14 * row,
                        size=10,
                    )
                )
            x += 6 * len(token) + 5
    return group_lines(words)


def test_rates_by_date() -> None:
    assert is_valid_rate(D("8.1"), date(2024, 1, 1))
    assert not is_valid_rate(D("8.1"), date(2023, 12, 31))
    assert is_valid_rate(D("7.7"), date(2023, 12, 31))
    assert is_valid_rate(D("8.0"), date(2017, 6, 1))
    assert is_valid_rate(D("19"), date(2025, 1, 1))  # German supplier
    assert is_valid_rate(D("0"), date(2025, 1, 1))


def test_vat_line_base_and_amount() -> None:
    found = find_vat_lines(_lines("MWST 8.1% auf CHF 1'000.00 CHF 81.00"), date(2025, 3, 1))
    assert len(found) == 1
    v = found[0]
    assert (v.rate, v.base, v.amount, v.checked) == (D("8.1"), D("1000.00"), D("81.00"), True)


def test_vat_rate_not_valid_on_date_is_ignored() -> None:
    assert find_vat_lines(_lines("MWST 7.7% auf 1'000.00 77.00"), date(2025, 3, 1)) == []


def test_vat_included_on_receipt() -> None:
    found = find_vat_lines(_lines("inkl. MWST 8.1% 1.87"), date(2025, 3, 1))
    assert found[0].included and found[0].amount == D("1.87")
