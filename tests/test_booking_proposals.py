"""Booking proposals: accounts, VAT split per rate and VAT codes, counter-accounts, credit
notes, currencies — and that every proposal balances, whatever the reader produced."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import DocType, PaymentMethod, ReviewReason
from domain.extraction import VatLine
from domain.records import BookingDraft, BookingLine, Supplier
from routing.accounts import cost_account, propose_booking
from routing.vat import input_vat_code, is_swiss_rate, output_vat_code, swiss_rates_on
from tests.factories import GLOOR, OFFLINE
from tests.routing_fakes import NET_TAX, context, invoice, lines_of, receipt

D = Decimal


def propose(extraction, client=OFFLINE, supplier: Supplier | None = GLOOR, **ctx):
    doc_type = extraction.doc_type
    return propose_booking(doc_type, context(client, extraction, **ctx), client, supplier)


def test_vat_codes_and_rates_by_date():
    assert input_vat_code(D("8.1"), "4400") == "VM81"
    assert input_vat_code(D("2.6"), "6500") == "VI26"
    assert output_vat_code(D("7.7")) == "UN77"
    assert swiss_rates_on(date(2023, 12, 31)) == (D("7.7"), D("2.5"), D("3.7"))
    assert is_swiss_rate(D("8.1"), date(2024, 1, 1))
    assert not is_swiss_rate(D("8.1"), date(2023, 12, 31))


def test_material_costs_book_input_vat_to_1170():
    material = GLOOR.model_copy(update={"account": "4000"})
    proposal = propose(invoice(OFFLINE), supplier=material)
    assert lines_of(proposal.booking) == [
        ("4000", "1000.00", "", "VM81"),
        ("1170", "81.00", "", "VM81"),
        ("2000", "", "1081.00", None),
    ]


def test_two_rates_split_into_two_net_lines_and_two_vat_lines():
    extraction = invoice(
        OFFLINE,
        total=D("1132.30"),
        vat=[
            VatLine(rate=D("8.1"), base=D("1000.00"), amount=D("81.00")),
            VatLine(rate=D("2.6"), base=D("50.00"), amount=D("1.30")),
        ],
    )
    assert lines_of(propose(extraction).booking) == [
        ("6100", "1000.00", "", "VI81"),
        ("1171", "81.00", "", "VI81"),
        ("6100", "50.00", "", "VI26"),
        ("1171", "1.30", "", "VI26"),
        ("2000", "", "1132.30", None),
    ]


def test_untaxed_part_of_the_total_gets_its_own_line():
    extraction = invoice(OFFLINE, total=D("1131.00"))  # 50.00 deposit without VAT
    proposal = propose(extraction)
    assert lines_of(proposal.booking)[-2:] == [
        ("6100", "50.00", "", None),
        ("2000", "", "1131.00", None),
    ]
    assert any("carries no VAT" in n for n in proposal.notes)


def test_cash_rounding_goes_to_the_largest_base():
    extraction = receipt(
        OFFLINE, total=D("23.95"), vat=[VatLine(rate=D("8.1"), base=D("22.13"), amount=D("1.79"))]
    )
    proposal = propose(extraction, supplier=None, payment_method=PaymentMethod.CASH)
    assert lines_of(proposal.booking) == [
        ("5820", "22.16", "", "VI81"),
        ("1171", "1.79", "", "VI81"),
        ("1000", "", "23.95", None),
    ]


def test_vat_amount_computed_from_the_total_when_only_the_rate_is_printed():
    extraction = receipt(OFFLINE, vat=[VatLine(rate=D("8.1"))])
    proposal = propose(extraction, supplier=None, payment_method=PaymentMethod.COMPANY_CARD)
    assert lines_of(proposal.booking)[:2] == [
        ("5820", "49.95", "", "VI81"),
        ("1171", "4.05", "", "VI81"),
    ]


def test_net_tax_rate_method_books_gross():
    proposal = propose(invoice(NET_TAX), client=NET_TAX)
    assert lines_of(proposal.booking) == [
        ("6100", "1081.00", "", None),
        ("2000", "", "1081.00", None),
    ]


def test_eur_invoice_with_german_vat_books_gross_in_eur():
    extraction = invoice(
        OFFLINE,
        currency="EUR",
        total=D("119.00"),
        vat=[VatLine(rate=D("19"), base=D("100.00"), amount=D("19.00"))],
    )
    proposal = propose(extraction)
    assert proposal.booking.currency == "EUR"
    assert lines_of(proposal.booking) == [
        ("6100", "119.00", "", None),
        ("2000", "", "119.00", None),
    ]
    assert any("foreign VAT" in n for n in proposal.notes)
    assert not proposal.issues


def test_swiss_supplier_invoicing_in_eur_splits_swiss_vat_in_eur():
    proposal = propose(invoice(OFFLINE, currency="EUR"))
    assert proposal.booking.currency == "EUR"
    assert lines_of(proposal.booking)[1] == ("1171", "81.00", "", "VI81")


def test_a_rate_not_in_force_on_the_date_is_flagged():
    extraction = invoice(
        OFFLINE,
        total=D("1077.00"),
        vat=[VatLine(rate=D("7.7"), base=D("1000.00"), amount=D("77.00"))],
    )
    proposal = propose(extraction)
    assert (ReviewReason.UNCERTAIN_READING, "VAT rate 7.7% was not in force on 2026-03-01") in (
        proposal.issues
    )


def test_vat_lines_that_exceed_the_total_are_not_split():
    extraction = invoice(OFFLINE, total=D("500.00"))
    proposal = propose(extraction)
    assert lines_of(proposal.booking) == [
        ("6100", "500.00", "", None),
        ("2000", "", "500.00", None),
    ]
    assert proposal.issues[0][0] is ReviewReason.UNCERTAIN_READING


def test_credit_note_with_a_positive_total_is_still_reversed():
    extraction = invoice(
        OFFLINE,
        doc_type=DocType.CREDIT_NOTE,
        total=D("108.10"),
        vat=[VatLine(rate=D("8.1"), base=D("100.00"), amount=D("8.10"))],
    )
    assert lines_of(propose(extraction).booking) == [
        ("6100", "", "100.00", "VI81"),
        ("1171", "", "8.10", "VI81"),
        ("2000", "108.10", "", None),
    ]


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("Miete Büro April", "6000"),
        ("Tankstelle Bleifrei 95", "6200"),
        ("Prämienrechnung Betriebshaftpflicht", "6300"),
        ("Stromrechnung EKZ", "6400"),
        ("Microsoft 365 Lizenz", "6570"),
        ("Inserat Anzeiger", "6600"),
        ("Swisscom Mobile", "6500"),
        ("SBB Billet Zürich-Bern", "5820"),
        ("Baumaterial Lieferung", "4000"),
    ],
)
def test_account_from_what_the_document_is_about(text, account):
    choice = cost_account(invoice(OFFLINE, text=text, supplier_name="X AG"), None, None)
    assert (choice.account, choice.source, choice.certain) == (account, "content", True)


def test_account_unclear_when_nothing_says_what_it_is_for():
    choice = cost_account(invoice(OFFLINE, text="Rechnung 17", supplier_name="X AG"), None, None)
    assert (choice.account, choice.certain) == ("4400", False)
    proposal = propose(invoice(OFFLINE, text="Rechnung 17"), supplier=None)
    assert proposal.issues[0][0] is ReviewReason.ACCOUNT_UNCLEAR


def test_a_booking_cannot_be_unbalanced():
    with pytest.raises(ValueError, match="debits"):
        BookingDraft(
            date=date(2026, 1, 1),
            currency="CHF",
            lines=[
                BookingLine(account="6100", debit=D("1")),
                BookingLine(account="2000", credit=D("2")),
            ],
        )


amounts = st.decimals(min_value=D("0.05"), max_value=D("99999.95"), places=2)
rates = st.sampled_from([D("8.1"), D("2.6"), D("3.8"), D("7.7"), D("19"), D("0")])
vat_lines = st.lists(
    st.builds(
        VatLine,
        rate=rates,
        base=st.one_of(st.none(), amounts),
        amount=st.one_of(st.none(), amounts),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    total=amounts,
    sign=st.sampled_from([1, -1]),
    vat=vat_lines,
    doc_type=st.sampled_from([DocType.SUPPLIER_INVOICE, DocType.RECEIPT, DocType.CREDIT_NOTE]),
    method=st.one_of(st.none(), st.sampled_from(list(PaymentMethod))),
    net_tax=st.booleans(),
)
def test_every_proposal_balances_and_books_the_total(total, sign, vat, doc_type, method, net_tax):
    client = NET_TAX if net_tax else OFFLINE
    extraction = invoice(client, doc_type=doc_type, total=total * sign, vat=vat)
    proposal = propose(extraction, client=client, payment_method=method)
    booking = proposal.booking
    assert booking is not None
    debit = sum(line.debit for line in booking.lines)
    credit = sum(line.credit for line in booking.lines)
    assert debit == credit == total
    assert all(line.debit >= 0 and line.credit >= 0 for line in booking.lines)
    if net_tax:
        assert all(line.vat_code is None for line in booking.lines)
