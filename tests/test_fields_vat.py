"""VAT rates by date, and VAT lines and tables as printed in de/fr/it/en/nl/es, US sales
tax and India's CGST/SGST."""

from datetime import date
from decimal import Decimal

import pytest

from domain.enums import DocType
from domain.extraction import VatLine
from extractors.cross_checks import cross_checks
from extractors.field_set import FieldSet
from extractors.fields.vat import find_vat_lines, find_vat_table
from extractors.fields.vat_rates import is_plausible_rate, is_valid_rate
from extractors.layout import group_lines
from extractors.reading import Classification, Word
from tests.extract_helpers import money_of, text_lines

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


# --- VAT lines beyond Swiss layouts (issue 14) ---------------------------------------------


def _key(fs: FieldSet) -> list[tuple[Decimal, Decimal | None, Decimal | None]]:
    return [(v.rate, v.base, v.amount) for v in fs.get("vat") or []]


@pytest.mark.parametrize(
    "line",
    [
        "USt. 19 %  38,00 €",
        "MwSt. 19 %  38,00 €",
        "zzgl. 19% Umsatzsteuer  38,00 €",
        "BTW 21%  € 42,00",
        "B.T.W. 21%  € 42,00",
        "IVA 21%  42,00 €",
        "IVA 22%  44,00 €",
        "TVA 20 %  40,00 €",
        "VAT @ 20%  £40.00",
        "Sales tax 7.00%  $14.00",
        "CGST 9%  18.00",
    ],
)
def test_vat_line_in_every_language(line: str) -> None:
    found = find_vat_lines(text_lines(line), date(2025, 3, 1))
    assert len(found) == 1, line
    assert found[0].amount == (2 * found[0].rate).quantize(D("0.01")), line


def test_vat_lines_of_every_language_get_their_base_from_the_net() -> None:
    fs = money_of("Nettobetrag  200,00 €", "MwSt. 19 %  38,00 €", "Gesamtbetrag  238,00 €")
    assert _key(fs) == [(D("19"), D("200.00"), D("38.00"))]
    assert fs.conf("vat") >= 0.85


def test_sales_tax_rate_of_any_few_per_cent() -> None:
    # A US sales tax has no national table; a VAT line must name a rate some table holds.
    assert find_vat_lines(text_lines("Sales tax 8.875%  $8.88"), date(2025, 3, 1))[0].rate == D(
        "8.875"
    )
    assert find_vat_lines(text_lines("MWST 8.875%  8.88"), date(2025, 3, 1)) == []


def test_rate_and_tax_on_separate_lines() -> None:
    fs = money_of(
        "Subtotal  412.00",
        "Discount  6.00",
        "Tax rate  7.00%",
        "Total tax  28.42",
        "Balance due  $434.42",
    )
    assert fs.get("total") == D("434.42")
    # The base is the total less the tax, the one that fits the rate (not the subtotal).
    assert _key(fs) == [(D("7"), D("406.00"), D("28.42"))]


def test_cgst_and_sgst_are_two_vat_lines_on_one_base() -> None:
    fs = money_of(
        "Taxable value  350.00",
        "CGST @ 9%  31.50",
        "SGST @ 9%  31.50",
        "Grand Total  Rs. 413.00",
    )
    assert _key(fs) == [(D("9"), D("350.00"), D("31.50")), (D("9"), D("350.00"), D("31.50"))]
    assert fs.get("total") == D("413.00")
    assert fs.get("currency") == "INR"


def test_one_rate_twice_for_two_parts_of_the_invoice() -> None:
    fs = money_of(
        "Positionen netto  800,00 €",
        "Versand netto  5,00 €",
        "Positionen USt. 19,00% auf 800,00 €  152,00 €",
        "Versand USt. 19,00% auf 5,00 €  0,95 €",
        "Endsumme  957,95 €",
    )
    assert fs.get("total") == D("957.95")
    assert _key(fs) == [(D("19"), D("800.00"), D("152.00")), (D("19"), D("5.00"), D("0.95"))]


def test_a_net_line_naming_the_rate_is_no_vat_line() -> None:
    found = find_vat_lines(text_lines("Nettobetrag (zzgl. 19,00% MwSt.)  200,00"), date(2025, 3, 1))
    assert found == []


def test_vat_table_columns_told_apart_by_arithmetic() -> None:
    lines = text_lines(
        "USt.-Satz  Nettobetrag  USt.-Betrag",
        "7%  160,00 €  11,20 €",
        "19%  336,00 €  63,84 €",
        "USt. gesamt  75,04 €",
    )
    found = find_vat_table(lines, date(2025, 3, 1))
    assert [(v.rate, v.base, v.amount, v.checked) for v in found] == [
        (D("7"), D("160.00"), D("11.20"), True),
        (D("19"), D("336.00"), D("63.84"), True),
    ]


def test_vat_table_net_and_gross_columns_give_the_vat() -> None:
    lines = text_lines(
        "Gesamtbeträge  Netto EUR  MwSt. EUR  Brutto EUR", "19,00% MwSt.:  376,37  447,88"
    )
    found = find_vat_table(lines, date(2025, 3, 1))
    assert [(v.rate, v.base, v.amount) for v in found] == [(D("19"), D("376.37"), D("71.51"))]


def test_vat_table_rate_without_percent_sign_and_a_stray_line() -> None:
    lines = text_lines(
        "Taxe  Base  Montant",
        "20.0  -20,50 €  -4,10 €",
        "~ ~",
        "5.5  -198,00 €  -10,89 €",
    )
    found = find_vat_table(lines, date(2025, 3, 1))
    assert [(v.rate, v.base, v.amount) for v in found] == [
        (D("20"), D("20.50"), D("4.10")),
        (D("5.5"), D("198.00"), D("10.89")),
    ]


def test_vat_table_item_rows_are_no_vat_rows() -> None:
    # A position number that happens to be a rate, under a header naming the tax.
    lines = text_lines("Pos  Artikel  MwSt  Preis  Betrag", "7  Eisvogel  3  50,00  150,00")
    assert find_vat_table(lines, date(2025, 3, 1)) == []


def test_receipt_vat_table_prefers_net_vat_gross_that_add_up() -> None:
    # 6.75 x 2.6 % also rounds to 0.17: the printed net column decides.
    lines = text_lines("MWST  Brutto  MWST  Netto", "2.6%  6.75  0.17  6.58")
    found = find_vat_table(lines, date(2025, 3, 1))
    assert [(v.rate, v.base, v.amount) for v in found] == [(D("2.6"), D("6.58"), D("0.17"))]


def test_vat_larger_than_its_share_of_the_total_is_dropped() -> None:
    # "Total incl. 19 % VAT" holds a rate and an amount, but the amount is the total.
    fs = money_of("Gesamtbetrag inkl. 19% MwSt.  1.190,00 €")
    assert fs.get("total") == D("1190.00")
    assert fs.get("vat") is None


def test_rate_of_the_year_before_the_invoice_still_counts() -> None:
    # A 2023 supply billed in February 2024 carries the old Swiss rate.
    assert find_vat_lines(text_lines("MWST 7.7% auf 1'000.00  77.00"), date(2024, 2, 15))
    assert is_plausible_rate(D("7.7"), date(2024, 2, 15))
    assert not is_plausible_rate(D("7.7"), date(2025, 3, 1))
    assert is_plausible_rate(D("21"), date(2025, 3, 1))  # Dutch, Belgian, Spanish
    assert is_plausible_rate(D("18"), date(2025, 3, 1))  # Indian IGST
    assert not is_plausible_rate(D("11"), date(2025, 3, 1))


def test_vat_amount_equal_to_the_rate() -> None:
    # 19 % of 100.00 is 19.00: the amount is not the rate printed twice.
    found = find_vat_lines(text_lines("MwSt. 19 %  19,00 €"), date(2025, 3, 1))
    assert [(v.rate, v.amount) for v in found] == [(D("19"), D("19.00"))]
    found = find_vat_lines(text_lines("MWST 8.1% auf 100.00  8.10"), date(2025, 3, 1))
    assert [(v.base, v.amount, v.checked) for v in found] == [(D("100.00"), D("8.10"), True)]


def test_vat_above_its_share_of_the_total_is_kept_but_not_trusted() -> None:
    # One of the two is misread: the VAT line is shown, with a confidence that says so.
    fs = money_of("MWST 8.1% auf 1'000.00  81.00", "Total  500.00")
    assert _key(fs) == [(D("8.1"), D("1000.00"), D("81.00"))]
    assert fs.conf("vat") <= 0.5
    fair = money_of("MWST 8.1% auf 1'000.00  81.00", "Total  1'081.00")
    assert fair.conf("vat") >= 0.85


def test_vat_included_in_the_price_in_several_languages() -> None:
    for line in ("davon MwSt. 19%  3,19", "dont TVA 20 %  3,33", "of which VAT 20%  3.33"):
        found = find_vat_lines(text_lines(line), date(2025, 3, 1))
        assert found and found[0].included, line


def test_base_word_before_the_base_in_dutch_and_spanish() -> None:
    for line in ("BTW 21% over € 200,00", "IVA 21% sobre 200,00"):
        found = find_vat_lines(text_lines(line), date(2025, 3, 1))
        assert [(v.base, v.amount) for v in found] == [(D("200.00"), D("42.00"))], line


def test_cross_check_vouches_for_vat_lines_only_when_their_bases_add_up() -> None:
    cls = Classification(doc_type=DocType.SUPPLIER_INVOICE, confidence=0.9)
    fs = FieldSet()
    fs.offer("total", D("1099.50"), 0.8)
    fs.offer(
        "vat",
        [
            VatLine(rate=D("8.1"), base=None, amount=D("81.00")),
            VatLine(rate=D("2.6"), base=None, amount=D("18.50")),
        ],
        0.5,
    )
    fs.net = D("1000.00")
    cross_checks(fs, cls, None)
    assert fs.conf("total") >= 0.97  # net + VAT = total
    assert fs.conf("vat") == 0.5  # but the lines lack their bases: nothing vouches for them
    complete = FieldSet()
    complete.offer("total", D("1081.00"), 0.8)
    complete.offer("vat", [VatLine(rate=D("8.1"), base=D("1000.00"), amount=D("81.00"))], 0.5)
    cross_checks(complete, cls, None)
    assert complete.conf("vat") >= 0.95
