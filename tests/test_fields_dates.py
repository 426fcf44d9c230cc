"""Date parsing in de/fr/it/en, numeric and named, and Swico's YYMMDD."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.fields.dates import find_dates, format_date, parse_date, parse_yymmdd


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("01.02.2026", date(2026, 2, 1)),
        ("1.2.26", date(2026, 2, 1)),
        ("01/02/2026", date(2026, 2, 1)),
        ("2026-02-01", date(2026, 2, 1)),
        ("1. Februar 2026", date(2026, 2, 1)),
        ("1er février 2026", date(2026, 2, 1)),
        ("1° febbraio 2026", date(2026, 2, 1)),
        ("February 1, 2026", date(2026, 2, 1)),
        ("1 Feb 2026", date(2026, 2, 1)),
        ("15. März 2026", date(2026, 3, 15)),
        ("15 mars 2026", date(2026, 3, 15)),
        ("3 dicembre 2025", date(2025, 12, 3)),
        ("Zürich, 15. Dez. 2025", date(2025, 12, 15)),
    ],
)
def test_parse_date(text: str, value: date) -> None:
    assert parse_date(text) == value


@pytest.mark.parametrize("text", ["32.01.2026", "31.02.2026", "1'234.50", "Seite 1/2"])
def test_not_a_date(text: str) -> None:
    assert parse_date(text) is None


def test_find_dates_in_order() -> None:
    text = "Rechnungsdatum: 01.03.2026, zahlbar bis 31.03.2026"
    assert [d.value for d in find_dates(text)] == [date(2026, 3, 1), date(2026, 3, 31)]


def test_yymmdd() -> None:
    assert parse_yymmdd("200701") == date(2020, 7, 1)
    assert parse_yymmdd("201301") is None


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["de", "fr", "it", "en"]),
    st.integers(min_value=0, max_value=3),
)
def test_format_parse_round_trip(value: date, language: str, variant: int) -> None:
    assert parse_date(format_date(value, language, variant)) == value
