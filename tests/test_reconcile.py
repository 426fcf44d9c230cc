"""Reconciliation one rule at a time (routing/reconcile.py): a bank entry against open
documents and posting rules. Pure: constructed entries and open items, no database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.reconciliation import (
    Direction,
    EntryToMatch,
    MatchStatus,
    OpenItem,
    OpenItemKind,
    PaymentMatchRule,
    PostingRule,
    ReconciliationSettings,
)
from routing.reconcile import (
    exact_subsets,
    index_open_items,
    reconcile,
    reconcile_statement,
    skonto_rate,
)

D = Decimal
DAY = date(2026, 3, 16)
GLOOR_IBAN = "CH93 0076 2011 6238 5295 7"
GLOOR_QR_IBAN = "CH44 3199 9123 0008 8901 2"
DECOY_IBAN = "CH56 0483 5012 3456 7800 9"
LANDLORD_IBAN = "CH10 0900 0000 8765 4321 0"
QRR = "210000000003139471430009017"
SCOR = "RF18539007547034"
SETTINGS = ReconciliationSettings()  # window 10 days, Skonto up to 3 %, fees up to 5.00


def invoice(
    document_id: int,
    amount: str,
    *,
    supplier: str = "Gloor Elektro AG",
    ibans: tuple[str, ...] = (GLOOR_IBAN,),
    reference: str | None = None,
    issued: date = DAY - timedelta(days=20),
    due: date | None = DAY + timedelta(days=5),
    number: str | None = None,
    kind: OpenItemKind = OpenItemKind.INVOICE,
    supplier_id: str | None = None,
) -> OpenItem:
    return OpenItem(
        document_id=document_id,
        kind=kind,
        supplier_id=supplier_id or supplier.split()[0].upper(),
        supplier_name=supplier,
        supplier_ibans=ibans,
        amount=D(amount),
        currency="CHF",
        issue_date=issued,
        due_date=due,
        reference=reference,
        invoice_number=number,
    )


def receipt(document_id: int, amount: str, merchant: str, bought: date) -> OpenItem:
    return OpenItem(
        document_id=document_id,
        kind=OpenItemKind.RECEIPT,
        supplier_name=merchant,
        amount=D(amount),
        currency="CHF",
        issue_date=bought,
    )


def entry(
    amount: str,
    *,
    name: str | None = "Gloor Elektro AG",
    iban: str | None = GLOOR_IBAN,
    reference: str | None = None,
    remittance: str = "",
    booked: date = DAY,
) -> EntryToMatch:
    return EntryToMatch(
        amount=D(amount),
        currency="CHF",
        booking_date=booked,
        counterparty_name=name,
        counterparty_iban=iban,
        reference=reference,
        remittance=remittance,
    )


def run(e: EntryToMatch, *items: OpenItem, rules=(), settings=SETTINGS):  # type: ignore[no-untyped-def]
    return reconcile(e, index_open_items(items), rules, settings)


def matched_ids(outcome) -> list[int]:  # type: ignore[no-untyped-def]
    return [m.document_id for m in outcome.matches]


def suggested_ids(outcome) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(m.document_id for m in outcome.suggestions)


RENT = PostingRule(
    name="Rent", counterparty_iban=LANDLORD_IBAN, direction=Direction.DEBIT, account="6000"
)
FEES = PostingRule(name="Bank fees", text_contains="Kontoführung", account="6900")


# --- references ------------------------------------------------------------------------


def test_a_qr_reference_matches_its_invoice_whatever_the_name_and_account() -> None:
    wanted = invoice(1, "1949.75", reference=QRR, ibans=(GLOOR_QR_IBAN,))
    decoy = invoice(2, "1949.75", supplier="Meier Sanitär GmbH", ibans=(DECOY_IBAN,))
    outcome = run(
        entry(
            "-1949.75",
            name="GLOOR",
            iban=GLOOR_QR_IBAN,
            reference="21 00000 00003 13947 14300 09017",
        ),
        wanted,
        decoy,
    )
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [1]
    assert outcome.matches[0].rule is PaymentMatchRule.REFERENCE
    assert outcome.matches[0].score == 100.0
    assert outcome.matches[0].amount == D("1949.75")
    assert "reference" in outcome.reason


def test_a_scor_reference_matches_in_any_spelling() -> None:
    outcome = run(
        entry("-300.00", name=None, iban=None, reference="rf18 5390 0754 7034"),
        invoice(7, "300.00", reference=SCOR),
    )
    assert matched_ids(outcome) == [7]


def test_a_reference_naming_an_invoice_with_another_amount_is_only_a_suggestion() -> None:
    # A part payment: the entry is about invoice 1, but it does not pay it.
    outcome = run(entry("-900.00", reference=QRR), invoice(1, "1949.75", reference=QRR))
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert outcome.matches == []
    assert suggested_ids(outcome) == [1]
    assert "does not fit" in outcome.reason


def test_a_reference_of_no_open_invoice_excludes_other_referenced_invoices() -> None:
    # Last month's invoice (already paid) had this reference; this month's open one has
    # another reference and the same amount and IBAN: it is not what was paid.
    other = invoice(2, "120.00", reference="RF97" + "12345678")
    outcome = run(entry("-120.00", reference=QRR), other)
    assert outcome.status is MatchStatus.MISSING_DOCUMENT


# --- IBAN + amount + date window -------------------------------------------------------


def test_iban_and_amount_match_and_a_decoy_with_the_same_amount_does_not() -> None:
    wanted = invoice(1, "540.00")
    decoy = invoice(2, "540.00", supplier="Meier Sanitär GmbH", ibans=(DECOY_IBAN,))
    outcome = run(entry("-540.00"), wanted, decoy)
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [1]
    assert outcome.matches[0].rule is PaymentMatchRule.IBAN_AMOUNT


def test_same_amount_from_another_creditor_is_never_matched_by_amount_alone() -> None:
    decoy = invoice(2, "540.00", supplier="Meier Sanitär GmbH", ibans=(DECOY_IBAN,))
    outcome = run(entry("-540.00", name="Huber Transporte AG", iban="CH2100700110000987654"), decoy)
    assert outcome.status is MatchStatus.MISSING_DOCUMENT
    assert outcome.matches == [] and outcome.suggestions == []


def test_two_invoices_with_the_same_amount_and_iban_are_ambiguous() -> None:
    outcome = run(entry("-540.00"), invoice(1, "540.00"), invoice(2, "540.00"))
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert outcome.matches == []
    assert suggested_ids(outcome) == [1, 2]


def test_the_invoice_number_in_the_remittance_settles_a_tie() -> None:
    outcome = run(
        entry("-540.00", remittance="Rechnung RE-2026-0412, danke"),
        invoice(1, "540.00", number="RE-2026-0411"),
        invoice(2, "540.00", number="RE-2026-0412"),
    )
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [2]


def test_the_date_window_tells_this_months_invoice_from_a_later_one() -> None:
    now = invoice(1, "99.00", issued=DAY - timedelta(days=25), due=DAY + timedelta(days=5))
    later = invoice(2, "99.00", issued=DAY + timedelta(days=40), due=DAY + timedelta(days=70))
    outcome = run(entry("-99.00"), now, later)
    assert matched_ids(outcome) == [1]


def test_a_payment_mid_term_is_inside_the_window() -> None:
    mid = invoice(1, "99.00", issued=DAY - timedelta(days=15), due=DAY + timedelta(days=15))
    assert matched_ids(run(entry("-99.00"), mid)) == [1]


def test_iban_and_amount_outside_the_window_fall_back_to_the_name() -> None:
    late = invoice(1, "99.00", issued=DAY - timedelta(days=90), due=DAY - timedelta(days=60))
    outcome = run(entry("-99.00"), late)
    assert outcome.status is MatchStatus.MATCHED
    assert outcome.matches[0].rule is PaymentMatchRule.NAME_AMOUNT
    # Neither the name nor the window: a suggestion, not a guess and not a missing document.
    outcome = run(entry("-99.00", name="ZKB Zahlung"), late)
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert suggested_ids(outcome) == [1]
    assert "window" in outcome.reason


# --- credits: the client's customer invoices ---------------------------------------------


def customer_invoice(document_id: int, amount: str, **kw) -> OpenItem:  # type: ignore[no-untyped-def]
    kw.setdefault("supplier", "Hans Muster")
    kw.setdefault("ibans", ())
    return invoice(document_id, amount, kind=OpenItemKind.CUSTOMER_INVOICE, **kw)


def test_a_credit_with_our_reference_pays_our_customer_invoice() -> None:
    ours = customer_invoice(5, "2400.00", reference=QRR)
    supplier_side = invoice(6, "2400.00", reference=None)
    outcome = run(
        entry("2400.00", name="Muster Hans", iban=None, reference=QRR), ours, supplier_side
    )
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [5]


def test_a_credit_by_name_and_amount_and_never_a_supplier_invoice() -> None:
    ours = customer_invoice(5, "2400.00")
    outcome = run(entry("2400.00", name="MUSTER HANS", iban="CH1234"), ours)
    assert matched_ids(outcome) == [5]
    assert outcome.matches[0].rule is PaymentMatchRule.NAME_AMOUNT
    # A credit of a supplier invoice's amount from that supplier is not its payment.
    outcome = run(entry("540.00"), invoice(1, "540.00"))
    assert outcome.status is MatchStatus.UNMATCHED


def test_a_customer_paying_less_a_fee_is_matched_with_the_difference() -> None:
    ours = customer_invoice(5, "2400.00", ibans=("CH9300762011623852957",))
    outcome = run(entry("2397.50", name="Hans Muster", iban="CH9300762011623852957"), ours)
    assert outcome.status is MatchStatus.MATCHED
    assert outcome.matches[0].rule is PaymentMatchRule.FEE
    assert outcome.matches[0].difference == D("2.50")


# --- name + amount -----------------------------------------------------------------------


def test_name_and_amount_match_when_the_iban_is_unknown() -> None:
    item = invoice(1, "812.40", ibans=())
    outcome = run(entry("-812.40", name="GLOOR ELEKTRO", iban="CH3900700110000123456"), item)
    assert matched_ids(outcome) == [1]
    assert outcome.matches[0].rule is PaymentMatchRule.NAME_AMOUNT


def test_a_similar_name_of_another_company_is_not_matched() -> None:
    # The twin: same words in another order and another legal form.
    item = invoice(1, "812.40", ibans=())
    outcome = run(entry("-812.40", name="Elektro Gloor GmbH", iban=None), item)
    assert outcome.status is MatchStatus.MISSING_DOCUMENT


def test_name_and_amount_with_another_known_iban_is_only_suggested() -> None:
    item = invoice(1, "812.40")  # Gloor's IBAN is on file; the money went elsewhere
    outcome = run(entry("-812.40", iban=DECOY_IBAN), item)
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert suggested_ids(outcome) == [1]
    assert "IBAN" in outcome.reason


def test_name_and_amount_with_two_candidates_is_ambiguous() -> None:
    a = invoice(1, "812.40", ibans=())
    b = invoice(2, "812.40", ibans=(), issued=DAY - timedelta(days=200), due=None)
    outcome = run(entry("-812.40", iban=None), a, b)
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert suggested_ids(outcome) == [1, 2]


# --- Skonto and fees ------------------------------------------------------------------------


def test_skonto_of_two_percent_within_the_settings_is_a_discount() -> None:
    outcome = run(entry("-1910.75"), invoice(1, "1949.75"))  # 1949.75 × 0.98 = 1910.755
    assert outcome.status is MatchStatus.MATCHED
    match = outcome.matches[0]
    assert match.rule is PaymentMatchRule.DISCOUNT
    assert match.amount == D("1910.75")
    assert match.difference == D("39.00")
    assert "2" in outcome.reason and "discount" in outcome.reason


def test_skonto_by_reference_rounded_to_five_rappen() -> None:
    outcome = run(
        entry("-1910.75", name=None, iban=None, reference=QRR), invoice(1, "1949.75", reference=QRR)
    )
    assert outcome.matches[0].rule is PaymentMatchRule.DISCOUNT


def test_skonto_of_five_percent_is_outside_the_settings() -> None:
    # 1949.75 × 0.95 = 1852.26: more than the client's 3 % and more than a fee.
    outcome = run(entry("-1852.25"), invoice(1, "1949.75"))
    assert outcome.status is MatchStatus.MISSING_DOCUMENT
    with_reference = run(entry("-1852.25", reference=QRR), invoice(1, "1949.75", reference=QRR))
    assert with_reference.status is MatchStatus.AMBIGUOUS
    # A client that allows 5 % takes it.
    generous = ReconciliationSettings(discount_pct=D(5))
    outcome = run(entry("-1852.25"), invoice(1, "1949.75"), settings=generous)
    assert outcome.matches[0].rule is PaymentMatchRule.DISCOUNT


def test_a_small_difference_within_the_fee_tolerance_is_a_fee() -> None:
    outcome = run(entry("-544.00"), invoice(1, "540.00"))  # paid 4.00 more: a bank charge
    assert outcome.matches[0].rule is PaymentMatchRule.FEE
    assert outcome.matches[0].difference == D("-4.00")
    over = run(entry("-546.00"), invoice(1, "540.00"))
    assert over.status is MatchStatus.MISSING_DOCUMENT
    strict = ReconciliationSettings(fee_tolerance=D("0"))
    assert run(entry("-544.00"), invoice(1, "540.00"), settings=strict).status is (
        MatchStatus.MISSING_DOCUMENT
    )


def test_an_exact_amount_beats_a_discount_of_another_invoice() -> None:
    exact = invoice(1, "980.00")
    discounted = invoice(2, "1000.00")  # 2 % Skonto would also give 980.00
    outcome = run(entry("-980.00"), exact, discounted)
    assert matched_ids(outcome) == [1]
    assert outcome.matches[0].rule is PaymentMatchRule.IBAN_AMOUNT


@pytest.mark.parametrize(
    ("paid", "invoiced", "max_pct", "expected"),
    [
        ("98.00", "100.00", "3", D("2")),
        ("97.50", "100.00", "3", D("2.5")),
        ("97.00", "100.00", "2", None),
        ("95.00", "100.00", "5", D("5")),
        ("99.00", "100.00", "0", None),
        ("1910.75", "1949.75", "3", D("2")),
        ("1910.80", "1949.75", "3", D("2")),  # rounded up to 5 Rappen
        ("1910.90", "1949.75", "3", None),
    ],
)
def test_skonto_rate(paid: str, invoiced: str, max_pct: str, expected: Decimal | None) -> None:
    assert skonto_rate(D(paid), D(invoiced), D(max_pct)) == expected


# --- collective debits ----------------------------------------------------------------------


def test_a_collective_debit_pays_three_invoices_of_one_supplier() -> None:
    items = [
        invoice(1, "120.00"),
        invoice(2, "310.50"),
        invoice(3, "69.50"),
        invoice(4, "1000.00"),
        invoice(9, "200.00", supplier="Meier Sanitär GmbH", ibans=(DECOY_IBAN,)),
    ]
    outcome = run(entry("-500.00"), *items)
    assert outcome.status is MatchStatus.MATCHED
    assert sorted(matched_ids(outcome)) == [1, 2, 3]
    assert {m.rule for m in outcome.matches} == {PaymentMatchRule.COLLECTIVE}
    assert sum(m.amount for m in outcome.matches) == D("500.00")


def test_a_collective_by_name_when_the_iban_is_unknown() -> None:
    items = [invoice(1, "120.00", ibans=()), invoice(2, "380.00", ibans=())]
    outcome = run(entry("-500.00", name="GLOOR ELEKTRO AG", iban=None), *items)
    assert sorted(matched_ids(outcome)) == [1, 2]


def test_a_collective_never_mixes_suppliers() -> None:
    items = [
        invoice(1, "120.00", ibans=()),
        invoice(9, "380.00", supplier="Meier Sanitär GmbH", ibans=()),
    ]
    assert run(entry("-500.00", iban=None), *items).status is MatchStatus.MISSING_DOCUMENT


def test_two_sets_summing_to_the_amount_are_ambiguous() -> None:
    items = [invoice(1, "100.00"), invoice(2, "400.00"), invoice(3, "200.00"), invoice(4, "300.00")]
    outcome = run(entry("-500.00"), *items)
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert outcome.matches == []


def test_subset_search_is_bounded_and_exact() -> None:
    items = [invoice(i, str(10 + i)) for i in range(1, 13)]
    found = exact_subsets(items, D("23.00"), limit=2)  # 11 + 12 only
    assert [[i.document_id for i in s] for s in found] == [[1, 2]]
    assert exact_subsets(items, D("23.01"), limit=2) == []


# --- posting rules --------------------------------------------------------------------------


def test_a_rent_rule_books_the_landlords_debit() -> None:
    outcome = run(entry("-2500.00", name="Immo Verwaltung AG", iban=LANDLORD_IBAN), rules=[RENT])
    assert outcome.status is MatchStatus.RULE
    assert outcome.posting_rule == "Rent"


def test_a_rent_rule_does_not_take_a_debit_whose_reference_names_an_open_invoice() -> None:
    landlord_invoice = invoice(
        3, "2500.00", supplier="Immo Verwaltung AG", ibans=(LANDLORD_IBAN,), reference=QRR
    )
    outcome = run(
        entry("-2500.00", name="Immo Verwaltung AG", iban=LANDLORD_IBAN, reference=QRR),
        landlord_invoice,
        rules=[RENT],
    )
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [3]
    assert outcome.posting_rule is None


def test_a_rule_does_not_take_an_entry_iban_and_amount_tie_to_an_open_invoice() -> None:
    # Even outside the date window: the invoice is the likelier explanation.
    bill = invoice(
        3,
        "2500.00",
        supplier="Immo Verwaltung AG",
        ibans=(LANDLORD_IBAN,),
        issued=DAY - timedelta(days=100),
        due=DAY - timedelta(days=70),
    )
    outcome = run(entry("-2500.00", name="Hausverwaltung", iban=LANDLORD_IBAN), bill, rules=[RENT])
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert suggested_ids(outcome) == [3]


def test_a_rule_with_text_direction_and_amounts() -> None:
    fees = PostingRule(
        name="Bank fees",
        text_contains="Kontoführung",
        direction=Direction.DEBIT,
        amount_max=D("50"),
        account="6900",
    )
    e = entry("-7.50", name=None, iban=None, remittance="KONTOFÜHRUNGSGEBÜHR 03/2026")
    assert run(e, rules=[fees]).posting_rule == "Bank fees"
    assert run(
        entry("-70.00", name=None, iban=None, remittance="Kontoführung"), rules=[fees]
    ).status is (MatchStatus.MISSING_DOCUMENT)
    assert run(
        entry("7.50", name=None, iban=None, remittance="Kontoführung"), rules=[fees]
    ).status is (MatchStatus.UNMATCHED)
    leasing = PostingRule(
        name="Leasing", text_contains="leasing", amount=D("489.00"), account="6260"
    )
    assert (
        run(entry("-489.00", name="AMAG Leasing AG", iban=None), rules=[leasing]).status
        is MatchStatus.RULE
    )
    assert run(entry("-489.05", name="AMAG Leasing AG", iban=None), rules=[leasing]).status is (
        MatchStatus.MISSING_DOCUMENT
    )


def test_the_first_rule_that_applies_wins() -> None:
    both = entry("-2500.00", name="Immo", iban=LANDLORD_IBAN, remittance="Kontoführung")
    assert run(both, rules=[FEES, RENT]).posting_rule == "Bank fees"
    assert run(both, rules=[RENT, FEES]).posting_rule == "Rent"


def test_a_rule_must_name_something() -> None:
    with pytest.raises(ValidationError):
        PostingRule(name="Everything", direction=Direction.DEBIT, account="6000")


# --- card lines and receipts --------------------------------------------------------------


def test_a_card_line_matches_its_receipt_within_three_days() -> None:
    coop = receipt(11, "23.80", "Coop Pronto", DAY - timedelta(days=2))
    other = receipt(12, "23.80", "Migrolino AG", DAY - timedelta(days=1))
    card = entry("-23.80", name=None, iban=None, remittance="Einkauf Karte 1234 COOP-1234 ZUERICH")
    outcome = run(card, coop, other)
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [11]
    assert outcome.matches[0].rule is PaymentMatchRule.CARD


def test_a_card_line_four_days_after_the_receipt_is_not_matched() -> None:
    coop = receipt(11, "23.80", "Coop Pronto", DAY - timedelta(days=4))
    card = entry("-23.80", name=None, iban=None, remittance="COOP PRONTO ZUERICH")
    assert run(card, coop).status is MatchStatus.MISSING_DOCUMENT


def test_a_card_line_needs_the_merchant_not_just_the_amount() -> None:
    krone = receipt(11, "86.00", "Restaurant Krone", DAY)
    card = entry("-86.00", name=None, iban=None, remittance="RESTAURANT LOEWEN BERN")
    assert run(card, krone).status is MatchStatus.MISSING_DOCUMENT
    card = entry("-86.00", name=None, iban=None, remittance="KRONE BERN")
    assert matched_ids(run(card, krone)) == [11]


def test_two_receipts_equally_good_for_one_card_line_are_ambiguous() -> None:
    a = receipt(11, "5.00", "Parkhaus City", DAY - timedelta(days=1))
    b = receipt(12, "5.00", "Parkhaus City", DAY)
    card = entry("-5.00", name=None, iban=None, remittance="PARKHAUS CITY ZUERICH")
    outcome = run(card, a, b)
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert suggested_ids(outcome) == [11, 12]


# --- nothing found ---------------------------------------------------------------------------


def test_a_debit_without_document_or_rule_is_a_missing_document() -> None:
    outcome = run(
        entry("-77.70", name="Unbekannt AG", iban=DECOY_IBAN), invoice(1, "540.00"), rules=[RENT]
    )
    assert outcome.status is MatchStatus.MISSING_DOCUMENT
    assert outcome.posting_rule is None


def test_a_credit_without_customer_invoice_or_rule_is_unmatched() -> None:
    outcome = run(entry("77.70", name="Unbekannt AG", iban=DECOY_IBAN))
    assert outcome.status is MatchStatus.UNMATCHED


def test_other_currencies_are_not_matched() -> None:
    eur = EntryToMatch(
        amount=D("-540.00"),
        currency="EUR",
        booking_date=DAY,
        counterparty_name="Gloor Elektro AG",
        counterparty_iban=GLOOR_IBAN,
    )
    assert run(eur, invoice(1, "540.00")).status is MatchStatus.MISSING_DOCUMENT


def test_the_outcome_serialises_money_as_strings() -> None:
    outcome = run(entry("-540.00"), invoice(1, "540.00"))
    data = outcome.model_dump(mode="json")
    assert data["status"] == "matched"
    assert data["matches"] == [
        {
            "document_id": 1,
            "amount": "540.00",
            "rule": "iban_amount",
            "score": 95.0,
            "difference": "0.00",
        }
    ]


def test_a_bank_adding_the_town_to_the_name_still_names_the_supplier() -> None:
    item = invoice(1, "812.40", ibans=())
    outcome = run(entry("-812.40", name="GLOOR ELEKTRO AG ZUERICH", iban=None), item)
    assert matched_ids(outcome) == [1]


def test_last_months_invoice_paid_late_is_not_taken_for_this_months() -> None:
    # Nothing is paid before it is written: the later invoice of the same amount is out.
    last = invoice(1, "99.00", issued=DAY - timedelta(days=35), due=DAY - timedelta(days=5))
    this = invoice(2, "99.00", issued=DAY + timedelta(days=3), due=DAY + timedelta(days=33))
    outcome = run(entry("-99.00"), last, this)
    assert outcome.status is MatchStatus.MATCHED
    assert matched_ids(outcome) == [1]


def test_the_same_name_with_skonto_is_a_discount_and_persons_may_be_printed_surname_first() -> None:
    ours = customer_invoice(5, "8714.00")
    outcome = run(entry("8539.70", name="MUSTER HANS", iban=None), ours)  # 2 %, to 5 Rappen
    assert outcome.status is MatchStatus.MATCHED
    assert outcome.matches[0].rule is PaymentMatchRule.DISCOUNT
    # A similar name is enough with the exact amount only.
    outcome = run(entry("8539.70", name="MUSTER HANSPETER", iban=None), ours)
    assert outcome.status is MatchStatus.UNMATCHED


def test_a_receipt_read_with_a_slip_is_still_equally_good() -> None:
    a = receipt(11, "3.00", "Parkhaus Citty AG", DAY - timedelta(days=1))
    b = receipt(12, "3.00", "Parkhaus City AG", DAY)
    card = entry("-3.00", name=None, iban=None, remittance="PARKHAUS CITY ZUERICH")
    assert run(card, a, b).status is MatchStatus.AMBIGUOUS
    # A word the line does not print at all ("Cty" is no word of it) is no match.
    c = receipt(13, "3.00", "Parkhaus Cty AG", DAY)
    assert run(card, c).status is MatchStatus.MISSING_DOCUMENT


def test_an_overdue_invoice_of_the_same_amount_makes_the_timely_one_a_suggestion() -> None:
    # March's subscription paid in June, late; May's is in its window: which one was paid?
    overdue = invoice(
        1, "344.19", issued=DAY - timedelta(days=90), due=DAY - timedelta(days=60), number="RE-0301"
    )
    timely = invoice(2, "344.19", number="RE-0502")
    outcome = run(entry("-344.19"), overdue, timely)
    assert outcome.status is MatchStatus.AMBIGUOUS
    assert suggested_ids(outcome) == [1, 2]
    named = run(entry("-344.19", remittance="RE-0301"), overdue, timely)
    assert matched_ids(named) == [1]


# --- a whole statement ------------------------------------------------------------------


def test_a_document_is_paid_once_in_a_statement() -> None:
    parking = receipt(11, "3.00", "Parkhaus City AG", DAY)
    line = entry("-3.00", name=None, iban=None, remittance="PARKHAUS CITY BERN")
    first, second = reconcile_statement([line, line], index_open_items([parking]))
    assert matched_ids(first) == [11]
    assert second.status is MatchStatus.MISSING_DOCUMENT
    # The index itself is not changed: the next statement starts from what is open then.
    index = index_open_items([parking])
    assert index.without([11]).with_amount(OpenItemKind.RECEIPT, "CHF", D("3.00")) == []
    assert index.with_amount(OpenItemKind.RECEIPT, "CHF", D("3.00")) == [parking]


def test_an_entry_takes_the_parsers_spellings() -> None:
    parsed = EntryToMatch(
        amount=D("-12.5"),
        currency="CHF",
        booking_date=DAY,
        counterparty_iban="ch93 0076 2011 6238 5295 7",
        reference="RF18 5390 0754 7034",
        remittance=None,
    )
    assert parsed.counterparty_iban == "CH9300762011623852957"
    assert parsed.reference == SCOR
    assert parsed.remittance == ""
    assert parsed.amount == D("-12.50") and parsed.direction is Direction.DEBIT
    with pytest.raises(ValidationError):
        EntryToMatch(amount=D("0"), currency="CHF", booking_date=DAY)
