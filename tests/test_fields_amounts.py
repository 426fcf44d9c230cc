"""Amount parsing: Swiss and EU formats, currencies, signs; round trips by hypothesis."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.fields.amounts import find_amounts, format_amount, parse_amount

D = Decimal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1'234.50", D("1234.50")),
        ("1’234.50", D("1234.50")),
        ("1 234.50", D("1234.50")),
        ("1\u00a0234.50", D("1234.50")),
        ("1\u202f234.50", D("1234.50")),
        ("1234.50", D("1234.50")),
        ("12.–", D("12.00")),
        ("12.-", D("12.00")),
        ("1'200.–", D("1200.00")),
        ("1.234,50", D("1234.50")),
        ("1,234.50", D("1234.50")),
        ("1234,50", D("1234.50")),
        ("CHF 1'949.75", D("1949.75")),
        ("Fr. 12.50", D("12.50")),
        ("SFr. 12.50", D("12.50")),
        ("EUR 1.234,50", D("1234.50")),
        ("€ 99,90", D("99.90")),
        ("99.90 €", D("99.90")),
        ("-12.50", D("-12.50")),
        ("CHF -12.50", D("-12.50")),
        ("12.50-", D("-12.50")),
        ("1'000'000.00", D("1000000.00")),
        ("CHF 120", D("120.00")),
    ],
)
def test_parse_amount(text: str, value: Decimal) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.234.50", "12", "15.03.2026"])
def test_not_an_amount(text: str) -> None:
    assert parse_amount(text) is None


def test_find_amounts_keeps_columns_apart() -> None:
    # Two spaces are a column gap (the text builder writes them): quantity, then price.
    found = find_amounts("Kabel  2  150.00  300.00")
    assert [a.value for a in found] == [D("150.00"), D("300.00")]


def test_find_amounts_ignores_dates_and_percentages() -> None:
    found = find_amounts("Datum 15.03.2026 MWST 8.10% auf 100.00")
    assert [a.value for a in found] == [D("100.00")]


def test_find_amounts_currency() -> None:
    found = find_amounts("Total CHF 1'949.75")
    assert found[0].currency == "CHF"
    assert found[0].value == D("1949.75")


amounts = st.decimals(min_value=0, max_value=D("9999999.99"), places=2)


@given(amounts, st.sampled_from(["ch", "ch_typo", "space", "eu", "en", "plain"]))
def test_format_parse_round_trip(value: Decimal, style: str) -> None:
    printed = format_amount(value, style)
    assert parse_amount(printed) == value
    assert parse_amount(f"CHF {printed}") == value


@given(st.integers(min_value=0, max_value=999999))
def test_dash_round_trip(francs: int) -> None:
    assert parse_amount(format_amount(D(francs), "dash")) == D(francs)
