"""Forged bank details never post or get released silently (routing, pure).

A document that names a known supplier (by UID or by name) but carries another IBAN or
QR-IBAN, or an IBAN for a supplier with none on file, gets a `bank_details` task for the
fiduciary that holds the booking, for online and offline clients alike.
"""

from domain.enums import DocType, MatchRule, Party, PaymentMethod, ReviewReason, TaskKind
from routing.bank_details import BankStatus, check_bank_details
from tests.factories import GLOOR, OFFLINE, ONLINE
from tests.routing_fakes import KRONE, NEW_IBAN, Firm, context, invoice, receipt, tasks_of

FORGED_QR_IBAN = "CH3630000000000000008"  # valid QR-IBAN (IID 30000), on nobody's record
BANK = (TaskKind.BANK_DETAILS.value, Party.FIDUCIARY.value, True)


def test_offline_client_known_supplier_by_uid_other_iban_is_held_not_posted():
    doc = invoice(OFFLINE, supplier_uid=GLOOR.uid, supplier_iban=NEW_IBAN)
    matching, decision = Firm().route(OFFLINE, context(OFFLINE, doc))

    assert matching.supplier.match.rule is MatchRule.UID  # the supplier is known...
    assert matching.bank.status is BankStatus.DIFFERS  # ...its account is not
    assert decision.post is False
    assert decision.booking is not None
    assert decision.rule == "bank_details_unverified"
    assert tasks_of(decision) == [BANK]
    task = decision.tasks[0]
    assert "known: CH93 0076 2011 6238 5295 7" in task.reason
    assert "on the invoice: CH58 0079 1123 0008 8901 2" in task.reason
    assert task.details == {
        "supplier_id": "S001",
        "iban": NEW_IBAN,
        "known": ["CH9300762011623852957"],
        "bank_check": "differs",
    }
    assert ReviewReason.BANK_DETAILS_UNVERIFIED in decision.issues
    assert not any(r.endswith(": posted") for r in decision.reasons)


def test_offline_client_known_supplier_by_exact_name_forged_qr_iban_is_held():
    doc = invoice(OFFLINE, supplier_uid=None, supplier_iban=FORGED_QR_IBAN)
    matching, decision = Firm().route(OFFLINE, context(OFFLINE, doc))

    assert matching.supplier.supplier is not None
    assert matching.supplier.supplier.id == "S001"
    assert decision.post is False
    assert BANK in tasks_of(decision)


def test_online_client_release_waits_for_the_fiduciary_to_verify_the_bank_details():
    doc = invoice(ONLINE, supplier_uid=GLOOR.uid, supplier_iban=NEW_IBAN)
    _, decision = Firm().route(ONLINE, context(ONLINE, doc))

    assert decision.post is False
    assert decision.rule == "client_releases"
    kinds = tasks_of(decision)
    assert BANK in kinds
    assert (TaskKind.RELEASE_INVOICE.value, Party.CLIENT.value, True) in kinds
    release = next(t for t in decision.tasks if t.kind is TaskKind.RELEASE_INVOICE)
    assert "held until the fiduciary verifies them" in release.reason


def test_supplier_with_no_account_on_file_is_held():
    firm = Firm(suppliers=[GLOOR.model_copy(update={"ibans": []}), KRONE])
    doc = invoice(OFFLINE, supplier_uid=GLOOR.uid, supplier_iban=NEW_IBAN)
    matching, decision = firm.route(OFFLINE, context(OFFLINE, doc))

    assert matching.bank.status is BankStatus.NONE_ON_FILE
    assert decision.post is False
    assert tasks_of(decision) == [BANK]
    assert "has no account on file" in decision.tasks[0].reason


def test_known_account_posts_as_before():
    doc = invoice(OFFLINE)  # Gloor's own IBAN
    matching, decision = Firm().route(OFFLINE, context(OFFLINE, doc))

    assert matching.bank.status is BankStatus.KNOWN
    assert decision.post is True
    assert decision.tasks == []


def test_the_clients_own_account_is_not_a_payee():
    # A direct-debit invoice prints the debtor's (the client's own) IBAN; no money goes there.
    doc = invoice(OFFLINE, supplier_uid=GLOOR.uid, supplier_iban=OFFLINE.ibans[0])
    check = check_bank_details(doc, DocType.SUPPLIER_INVOICE, OFFLINE, GLOOR)

    assert check.status is BankStatus.OWN_ACCOUNT
    assert not check.unverified


def test_a_new_supplier_proposed_from_the_document_is_checked_by_its_confirm_task():
    doc = invoice(OFFLINE, supplier_name="Huber Sanitär GmbH", supplier_iban=NEW_IBAN)
    matching, decision = Firm().route(OFFLINE, context(OFFLINE, doc))

    assert matching.bank.status is BankStatus.PROPOSED
    assert tasks_of(decision) == [(TaskKind.CONFIRM_SUPPLIER.value, Party.FIDUCIARY.value, True)]


def test_a_receipt_paid_by_card_moves_no_money():
    doc = receipt(OFFLINE, supplier_iban=NEW_IBAN)
    ctx = context(OFFLINE, doc, payment_method=PaymentMethod.COMPANY_CARD)
    matching, decision = Firm().route(OFFLINE, ctx)

    assert matching.bank.status is BankStatus.NOT_CHECKED
    assert decision.post is True


def test_a_receipt_still_to_pay_is_checked():
    doc = receipt(OFFLINE, supplier_iban=NEW_IBAN)
    ctx = context(OFFLINE, doc, payment_method=PaymentMethod.INVOICE_TO_PAY)
    matching, decision = Firm().route(OFFLINE, ctx)

    assert matching.bank.status is BankStatus.NONE_ON_FILE  # Krone has no account on file
    assert decision.post is False
    assert BANK in tasks_of(decision)


def test_a_reminder_from_a_known_supplier_with_another_account_warns_the_fiduciary():
    doc = invoice(
        OFFLINE, doc_type=DocType.REMINDER, supplier_uid=GLOOR.uid, supplier_iban=NEW_IBAN
    )
    _, decision = Firm().route(OFFLINE, context(OFFLINE, doc))

    bank = [t for t in decision.tasks if t.kind is TaskKind.BANK_DETAILS]
    assert len(bank) == 1
    assert bank[0].holds_booking is False  # a reminder books nothing


def test_credit_note_with_another_account_is_held_too():
    doc = invoice(
        OFFLINE,
        doc_type=DocType.CREDIT_NOTE,
        supplier_uid=GLOOR.uid,
        supplier_iban=NEW_IBAN,
        total=-invoice(OFFLINE).total,  # type: ignore[operator]
    )
    _, decision = Firm().route(OFFLINE, context(OFFLINE, doc))

    assert decision.post is False
    assert BANK in tasks_of(decision)
