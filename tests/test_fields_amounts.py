"""Amount parsing: Swiss, EU, US and Indian formats, currencies, signs; round trips by
hypothesis; which labelled amount of a page is its total, and its currency."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.enums import DocType
from extractors.fields.amounts import find_amounts, find_currencies, format_amount, parse_amount
from tests.extract_helpers import money_of

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


# --- formats and currencies beyond Swiss layouts (issue 14) --------------------------------


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1.234,56", D("1234.56"), None),
        ("1,234.56", D("1234.56"), None),
        ("1'234.56", D("1234.56"), None),
        ("1 234,56", D("1234.56"), None),
        ("1\u202f234,56", D("1234.56"), None),
        ("–12.50", D("-12.50"), None),
        ("−12.50", D("-12.50"), None),  # U+2212, the typographic minus
        ("12.50-", D("-12.50"), None),
        ("(12.50)", D("-12.50"), None),
        ("(USD 1,200.00)", D("-1200.00"), "USD"),
        ("€12.50", D("12.50"), "EUR"),
        ("12.50 €", D("12.50"), "EUR"),
        ("USD 12.50", D("12.50"), "USD"),
        ("$1,536.52", D("1536.52"), "USD"),
        ("£98,640.00", D("98640.00"), "GBP"),
        ("₹ 7,08,000.00", D("708000.00"), "INR"),  # Indian lakh grouping
        ("12,34,567.89 INR", D("1234567.89"), "INR"),
        ("Rs. 1,250.00", D("1250.00"), "INR"),
        ("CA$ 40.00", D("40.00"), "CAD"),
        ("310,00 EURO", D("310.00"), "EUR"),
        ("SEK 99.00", D("99.00"), "SEK"),
        ("12,–", D("12.00"), None),  # German round amounts
        ("1.234,–", D("1234.00"), None),
    ],
)
def test_amount_formats_and_their_currency(text: str, value: Decimal, currency: str) -> None:
    assert parse_amount(text) == value
    found = find_amounts(f"Betrag {text} ")
    assert [(a.value, a.currency) for a in found] == [(value, currency)]


def test_currency_letters_inside_a_word_are_no_currency() -> None:
    # "Mrs" is no rupee sign, "EUROPA" no euro code.
    assert [a.currency for a in find_amounts("Mrs 12.50  EUROPA 3.00")] == [None, None]
    assert find_currencies("Mrs Smith, EUROPA Handels AG") == []


def test_lakh_grouping_is_not_mistaken_for_other_groupings() -> None:
    assert parse_amount("1,23,45.00") is None
    assert parse_amount("1,234,56.00") is None


def test_currencies_written_out() -> None:
    assert find_currencies("Rupees Four Hundred Thirteen Only", names=True) == ["INR"]
    assert find_currencies("Alle Beträge in Euro", names=True) == ["EUR"]
    assert find_currencies("payable in Swiss francs", names=True) == ["CHF"]
    assert find_currencies("twelve US dollars", names=True) == ["USD"]
    # Words count only when asked for: a body text may name a currency in passing.
    assert find_currencies("Rupees Four Hundred Only") == []


def test_currencies_in_order_of_the_page() -> None:
    assert find_currencies("Amount (EUR)  ₹ 12.00  $ 3.00  Rs. 4.00  £5") == [
        "EUR",
        "INR",
        "USD",
        "INR",
        "GBP",
    ]


# --- which amount is the total, and in which currency (extractors.text_amounts) -------------


def test_the_tax_line_is_never_the_total() -> None:
    fs = money_of(
        "Description  Qty  Unit price  Total",
        "Plumbing work  8  90.00  720.00",
        "Subtotal  1,440.00",
        "Total tax  100.80",
        "Balance due  $1,540.80",
    )
    assert fs.get("total") == D("1540.80")
    # net + tax = total: the arithmetic vouches for it.
    assert fs.conf("total") >= 0.9
    assert fs.get("currency") == "USD"


def test_a_previous_balance_is_not_this_invoices_total() -> None:
    fs = money_of(
        "Subtotal  $200.00",
        "Sales tax  $16.00",
        "Total  $216.00",
        "Previous unpaid balance  $350.00",
        "Amount due  $566.00",
    )
    assert fs.get("total") == D("216.00")


def test_a_balance_after_a_payment_is_not_the_total() -> None:
    fs = money_of("Total charges  $480.00", "Payment  $480.00", "Balance due  $0.00")
    assert fs.get("total") == D("480.00")


def test_saldo_vortrag_is_carried_not_totalled() -> None:
    fs = money_of(
        "Saldovortrag  1.000,00 €", "Rechnungsbetrag  238,00 €", "Neuer Saldo  1.238,00 €"
    )
    assert fs.get("total") == D("238.00")


def test_gross_total_wins_over_net_and_vat_in_every_language() -> None:
    cases = [
        ("Nettobetrag  100,00 €", "MwSt. 19 %  19,00 €", "Gesamtbetrag  119,00 €"),
        ("Total HT  100,00 €", "TVA 20 %  20,00 €", "Total TTC  120,00 €"),
        ("Imponibile  100,00 €", "IVA 22%  22,00 €", "Totale  122,00 €"),
        ("Subtotaal  € 100,00", "BTW 21%  € 21,00", "Totaal  € 121,00"),
        ("Base imponible  100,00 €", "IVA 21%  21,00 €", "Importe total  121,00 €"),
        ("Net amount  £100.00", "VAT 20%  £20.00", "Total incl. VAT  £120.00"),
    ]
    for net, vat, total in cases:
        fs = money_of(net, vat, total)
        assert fs.get("total") == D(total.split("  ")[1].strip("€£ ").replace(",", ".")), total
        assert fs.conf("total") >= 0.9, total
        assert fs.net == D("100.00"), total


def test_amount_including_tax_is_a_gross_total() -> None:
    fs = money_of("Betrag exkl. MwSt.  1'000.00", "Betrag inkl. MwSt.  1'081.00")
    assert fs.get("total") == D("1081.00")


def test_rival_totals_without_a_check_are_trusted_less() -> None:
    alone = money_of("Total  CHF 150.00")
    rivals = money_of("Total  CHF 120.00", "Total  CHF 150.00")
    assert rivals.get("total") == D("150.00")  # the last one, at the bottom of the block
    assert rivals.conf("total") < alone.conf("total")


def test_a_column_header_does_not_take_the_first_item_row() -> None:
    fs = money_of("Code  Description  Unit price  Total", "A12  Garden hose  5.00  15.00")
    assert fs.get("total") is None


def test_a_lone_label_takes_the_amount_on_its_own_line_below() -> None:
    fs = money_of("Subtotaal  100,00", "Totaal", "121,00")
    assert fs.get("total") == D("121.00")
    assert fs.conf("total") < 0.6


def test_zero_balance_is_not_the_total() -> None:
    fs = money_of("Total  $75.00", "Balance due  $0.00")
    assert fs.get("total") == D("75.00")


def test_currency_from_a_column_header() -> None:
    fs = money_of("Item  Qty  Amount (EUR)", "Consulting  2  400.00", "Total  400.00")
    assert (fs.get("currency"), fs.conf("currency")) == ("EUR", 0.8)
    fs = money_of("Pos  Artikel  Betrag CHF", "1  Kabel  40.00", "Total  40.00")
    assert fs.get("currency") == "CHF"


def test_currency_from_the_total_line() -> None:
    for printed, code in [("₹ 7,08,000.00", "INR"), ("Rs. 413.00", "INR"), ("£ 12.00", "GBP")]:
        fs = money_of(f"Grand Total  {printed}")
        assert fs.get("currency") == code, printed
    fs = money_of("Grand Total  413.00", "Rupees Four Hundred Thirteen Only")
    assert fs.get("currency") == "INR"


def test_a_bare_dollar_sign_defers_to_a_named_dollar() -> None:
    fs = money_of("All amounts in CAD", "Total  $40.00")
    assert fs.get("currency") == "CAD"
    assert fs.conf("currency") < 0.9


def test_a_short_label_including_vat_is_a_gross_total() -> None:
    fs = money_of("Brutto  1'500.50", "Mehrwertsteuer  7.7%  115.54", "Netto inkl. MWST  1'616.04")
    assert fs.get("total") == D("1616.04")
    # An item described "incl. VAT" is no total.
    fs = money_of("Gartenschlauch 20 m Preis inkl. MwSt.  49.90")
    assert fs.get("total") is None


def test_a_net_amount_that_adds_the_tax_is_the_amount_payable() -> None:
    fs = money_of(
        "Taxable Value  350.00",
        "CGST @ 9%  31.50",
        "SGST @ 9%  31.50",
        "Net Amount  Rs. 413.00",
    )
    assert fs.get("total") == D("413.00")
    assert fs.conf("total") >= 0.9
    assert fs.net == D("350.00")


def test_shipping_and_tip_lines_are_no_total() -> None:
    # Printed below the total, as some shops do: still not the total.
    fs = money_of("Total  $117.00", "Total shipping (included)  $12.00", "Total tip  $5.00")
    assert fs.get("total") == D("117.00")


def test_checked_total_with_a_different_amount_due_below_is_not_trusted_blindly() -> None:
    # Net + VAT = 1'081.00, but a deposit leaves 581.00 to pay: which one is meant?
    fs = money_of(
        "Total exkl. MWST  1'000.00",
        "MWST 8.1%  81.00",
        "Total  1'081.00",
        "Restbetrag zu bezahlen  581.00",
    )
    assert fs.get("total") == D("1081.00")
    assert fs.conf("total") < 0.9


def test_what_was_paid_is_the_total_of_a_receipt_that_says_nothing_else() -> None:
    fs = money_of(
        "Espresso  3.50", "Croissant  2.80", "Total paid  CHF 6.30", doc_type=DocType.RECEIPT
    )
    assert fs.get("total") == D("6.30")
    fs = money_of(
        "Espresso  3.50", "Croissant  2.80", "Amount paid  CHF 6.30", doc_type=DocType.RECEIPT
    )
    assert fs.get("total") == D("6.30")
    assert fs.conf("total") <= 0.6
