"""The routing matrix: {online, offline} × every document type × {known supplier,
unknown supplier, unsure reading, mis-addressed} → the expected booking and tasks,
asserted field by field. Pure: routing on constructed Extractions, no database.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.enums import DocType, MatchRule, PaymentMethod
from domain.extraction import Address, Extraction, Recipient, VatLine
from domain.records import Client, PriorDocument
from tests.factories import OFFLINE, ONLINE
from tests.routing_fakes import (
    NEW_IBAN,
    Firm,
    addressed_to,
    confident,
    context,
    invoice,
    lines_of,
    other_of,
    receipt,
    tasks_of,
)

D = Decimal
SCENARIOS = ("known", "unknown", "unsure", "misaddressed")
DOC_TYPES = list(DocType)

# --- the documents -------------------------------------------------------------------------

INVOICE_HISTORY = PriorDocument(
    document_id=3,
    doc_type=DocType.SUPPLIER_INVOICE,
    supplier_id="S001",
    supplier_iban="CH9300762011623852957",
    invoice_number="RE202617",
    reference="RF18539007547034",
    issue_date=date(2026, 2, 1),
    total=D("1081.00"),
    currency="CHF",
    booking_id=11,
)
NEW_SUPPLIER = {
    "supplier_name": "Huber Sanitär GmbH",
    "supplier_iban": NEW_IBAN,
    "supplier_uid": None,
    "supplier_address": Address(street="Seestrasse 4", postcode="6003", city="Luzern"),
    "reference": "RF7112345678901",
}
UNSURE = {
    "supplier_name": None,
    "supplier_iban": None,
    "supplier_uid": None,
    "confidence": confident(total=0.5, supplier_name=0.0),
}


def base_document(client: Client, doc_type: DocType) -> Extraction:
    if doc_type is DocType.SUPPLIER_INVOICE:
        return invoice(client)
    if doc_type is DocType.RECEIPT:
        return receipt(client)
    if doc_type is DocType.CREDIT_NOTE:
        return invoice(
            client,
            doc_type=DocType.CREDIT_NOTE,
            invoice_number="GS-2026-3",
            total=D("-108.10"),
            vat=[VatLine(rate=D("8.1"), base=D("-100.00"), amount=D("-8.10"))],
            text="Gutschrift GS-2026-3\nReparatur: Kulanz",
        )
    if doc_type is DocType.REMINDER:
        return invoice(client, doc_type=DocType.REMINDER, total=D("1101.00"), vat=[])
    if doc_type is DocType.CUSTOMER_INVOICE:
        assert client.address is not None
        return Extraction(
            doc_type=DocType.CUSTOMER_INVOICE,
            supplier_name=client.name,
            supplier_iban=client.ibans[0],
            supplier_address=client.address,
            invoice_number="2026-0042",
            issue_date=date(2026, 3, 2),
            currency="CHF",
            total=D("540.50"),
            vat=[VatLine(rate=D("8.1"), base=D("500.00"), amount=D("40.50"))],
            recipient=Recipient(name="Kunde AG", address=Address(postcode="4051", city="Basel")),
            confidence=confident(),
            text="Rechnung 2026-0042 Beratung",
        )
    sure = 0.4 if doc_type is DocType.OTHER else 0.95
    return Extraction(doc_type=doc_type, confidence=confident(doc_type=sure), pages=1)


def document(client: Client, doc_type: DocType, scenario: str) -> Extraction:
    doc = base_document(client, doc_type)
    changes: dict[str, Any] = {}
    if scenario == "unknown":
        if doc_type is DocType.RECEIPT:
            changes = {"supplier_name": "Café Sonne", "supplier_uid": None}
        elif doc_type is DocType.CUSTOMER_INVOICE:
            # The reader cannot know the IBAN is the client's own: routing recognises it.
            changes = {"doc_type": DocType.SUPPLIER_INVOICE}
        elif doc.supplier_name:
            changes = NEW_SUPPLIER
    elif scenario == "unsure":
        if doc_type is DocType.CUSTOMER_INVOICE:
            changes = {"confidence": confident(total=0.5)}
        elif doc.supplier_name:
            changes = UNSURE
    elif scenario == "misaddressed":
        changes = {"recipient": addressed_to(other_of(client))}
        if doc_type is DocType.RECEIPT:  # over CHF 400: a receipt must name the buyer
            changes |= {"total": D("486.00"), "vat": [VatLine(rate=D("8.1"), amount=D("36.42"))]}
    return doc.model_copy(update=changes)


# --- what must come out ---------------------------------------------------------------------

INVOICE = [
    ("6100", "1000.00", "", "VI81"),
    ("1171", "81.00", "", "VI81"),
    ("2000", "", "1081.00", None),
]
RECEIPT = [("5820", "49.95", "", "VI81"), ("1171", "4.05", "", "VI81"), ("2100", "", "54.00", None)]
CREDIT = [
    ("6100", "", "100.00", "VI81"),
    ("1171", "", "8.10", "VI81"),
    ("2000", "108.10", "", None),
]
SALES = [
    ("1100", "540.50", "", None),
    ("3400", "", "500.00", "UN81"),
    ("2200", "", "40.50", "UN81"),
]
LINES = {
    DocType.SUPPLIER_INVOICE: INVOICE,
    DocType.RECEIPT: RECEIPT,
    DocType.CREDIT_NOTE: CREDIT,
    DocType.CUSTOMER_INVOICE: SALES,
}
MISMATCH = ("recipient_other_client", False, [("mismatched_recipient", "fiduciary", False)])
REVIEW = [("review_document", "fiduciary", True)]
CONFIRM = [("confirm_supplier", "fiduciary", True)]
RELEASE = [("release_invoice", "client", True)]
APPROVE = [("approve_expense", "client", True)]


def expected(online: bool, doc_type: DocType, scenario: str) -> tuple[str, bool, list]:
    """(rule, posted, tasks as (kind, assignee, holds the booking))."""
    if doc_type in (DocType.SUPPLIER_INVOICE, DocType.CREDIT_NOTE, DocType.RECEIPT):
        if scenario == "misaddressed":
            return MISMATCH
        if online:  # the client releases / approves; a new supplier is the fiduciary's
            first = APPROVE if doc_type is DocType.RECEIPT else RELEASE
            extra = CONFIRM if scenario == "unknown" and doc_type is not DocType.RECEIPT else []
            return "client_releases", False, first + extra
        if scenario == "known" or (scenario == "unknown" and doc_type is DocType.RECEIPT):
            return "auto_post", True, []
        return "fiduciary_review", False, CONFIRM if scenario == "unknown" else REVIEW
    if doc_type is DocType.REMINDER:
        if scenario == "misaddressed":
            return MISMATCH
        if scenario == "unknown":  # no invoice on file: asked for
            ask = ("missing_document", "client") if online else ("ask_client", "fiduciary")
            return "reminder_invoice_missing", False, [(*ask, False)]
        who = "client" if online else "fiduciary"
        return "reminder_linked", False, [("reminder_received", who, False)]
    if doc_type is DocType.CUSTOMER_INVOICE:  # issued by the client: no invoice control
        if scenario == "unsure":
            return "fiduciary_review", False, REVIEW
        return "auto_post", True, []
    if doc_type is DocType.BANK_STATEMENT:
        return (
            "statement_reconcile",
            False,
            [("review_document", "client" if online else "fiduciary", False)],
        )
    if doc_type is DocType.PAYSLIP:
        return "payroll", False, [("review_document", "fiduciary", False)]
    return "not_bookable", False, [("review_document", "fiduciary", False)]


def expected_supplier(doc_type: DocType, scenario: str) -> tuple[MatchRule, str | None]:
    if doc_type in (DocType.SUPPLIER_INVOICE, DocType.CREDIT_NOTE, DocType.REMINDER):
        if scenario == "unknown":
            if doc_type is DocType.REMINDER:
                return MatchRule.NONE, None
            return MatchRule.PROPOSED, "new-50"
        if scenario == "unsure":
            return MatchRule.NONE, None
        return MatchRule.IBAN, "S001"
    if doc_type is DocType.RECEIPT:
        if scenario in ("unknown", "unsure"):
            return MatchRule.NONE, None
        return MatchRule.UID, "S002"
    return MatchRule.NONE, None


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("doc_type", DOC_TYPES, ids=[d.value for d in DOC_TYPES])
@pytest.mark.parametrize("client", [ONLINE, OFFLINE], ids=["online", "offline"])
def test_matrix(client: Client, doc_type: DocType, scenario: str) -> None:
    extraction = document(client, doc_type, scenario)
    method = PaymentMethod.COMPANY_CARD if doc_type is DocType.RECEIPT else None
    ctx = context(client, extraction, payment_method=method)
    firm = Firm(history=[INVOICE_HISTORY] if doc_type is DocType.REMINDER else [])
    matching, decision = firm.route(client, ctx)

    rule, posted, tasks = expected(client.online, doc_type, scenario)
    assert decision.rule == rule, decision.reasons
    assert decision.post is posted
    assert tasks_of(decision) == tasks, decision.reasons
    match_rule, supplier_id = expected_supplier(doc_type, scenario)
    assert (matching.supplier.match.rule, matching.supplier.match.supplier_id) == (
        match_rule,
        supplier_id,
    )
    assert decision.reasons, "every decision says why"

    if rule in ("client_releases", "auto_post", "fiduciary_review"):
        booking = decision.booking
        assert booking is not None
        assert lines_of(booking) == LINES[decision.doc_type]
        assert booking.currency == "CHF"
        assert booking.date == extraction.issue_date
        if decision.doc_type is not DocType.CUSTOMER_INVOICE:
            assert booking.supplier_id == supplier_id
    else:
        assert decision.booking is None

    # Offline clients are never assigned anything; every task says why.
    for task in decision.tasks:
        assert task.reason
        if not client.online:
            assert task.assignee.value == "fiduciary"
    if doc_type is DocType.REMINDER and scenario in ("known", "unsure"):
        assert decision.links == {"invoice_document": 3, "invoice_booking": 11}
        assert decision.tasks[0].booking_id == 11
    if scenario == "misaddressed" and rule == MISMATCH[0]:
        assert decision.tasks[0].details["other_client"]["id"] == other_of(client).id
        # The other client's identity stays out of what this client's users can read.
        assert other_of(client).id not in " ".join(decision.reasons)
        assert f"({other_of(client).id})" not in decision.tasks[0].reason


def test_customer_invoice_recognised_from_a_supplier_invoice_reading() -> None:
    ctx = context(ONLINE, document(ONLINE, DocType.CUSTOMER_INVOICE, "unknown"))
    matching, decision = Firm().route(ONLINE, ctx)
    assert matching.typed.issued_by_client
    assert decision.doc_type is DocType.CUSTOMER_INVOICE
    assert "IBAN on it is the client's own" in decision.reasons[0]
