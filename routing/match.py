"""Everything routing looks up about one document, before it decides.

    type (reader + hints + the client's own identifiers) → supplier → bank details
    (the printed IBAN is the supplier's known one) → addressee (invoice control) →
    history (duplicates, the invoice a reminder is about)

The lookups go through Protocols (directories and history that `storage/` implements
with indexed queries), so this runs without a database in tests.
"""

from pydantic import BaseModel

from domain.enums import DocType, MatchRule
from domain.records import Client, DocumentContext, PriorDocument, SupplierMatch
from routing.bank_details import BankCheck, check_bank_details
from routing.doctype import TypeDecision, settle_doc_type
from routing.duplicates import History, facts_of, find_duplicate, find_reminded_invoice
from routing.recipient import ClientDirectory, RecipientCheck, RecipientStatus, check_recipient
from routing.suppliers import SupplierDirectory, SupplierResult, match_supplier

# Documents whose issuer is a creditor worth a supplier record. Till receipts are not:
# a shop is identified by its name, and proposing every café would bury the fiduciary.
# Reminders are not either: the invoice they remind of proposes its supplier when it comes.
PROPOSE_FOR = {DocType.SUPPLIER_INVOICE, DocType.CREDIT_NOTE}
# Documents whose issuer is not a supplier at all.
NO_SUPPLIER = {DocType.CUSTOMER_INVOICE, DocType.BANK_STATEMENT, DocType.PAYSLIP}
DUPLICATE_CHECKED = {
    DocType.SUPPLIER_INVOICE,
    DocType.RECEIPT,
    DocType.CREDIT_NOTE,
    DocType.CUSTOMER_INVOICE,
}


class Matching(BaseModel):
    typed: TypeDecision
    supplier: SupplierResult
    bank: BankCheck = BankCheck()
    recipient: RecipientCheck
    facts: PriorDocument  # this document's identifying facts (stored for later ones)
    duplicate_of: PriorDocument | None = None
    reminded: PriorDocument | None = None  # the invoice a reminder is about

    @property
    def doc_type(self) -> DocType:
        return self.typed.doc_type


def proposal_id(document_id: int) -> str:
    """Deterministic, so a proposal is made at most once per document."""
    return f"new-{document_id}"


def match_document(
    ctx: DocumentContext,
    client: Client,
    suppliers: SupplierDirectory,
    clients: ClientDirectory,
    history: History,
) -> Matching:
    extraction = ctx.extraction
    typed = settle_doc_type(ctx, client)
    doc_type = typed.doc_type
    if extraction.error is not None:
        return Matching(
            typed=typed,
            supplier=SupplierResult(match=SupplierMatch(detail="unreadable")),
            recipient=RecipientCheck(status=RecipientStatus.NOT_REQUIRED),
            facts=facts_of(ctx.document_id, doc_type, extraction, None, ctx.submitted_by),
        )
    if doc_type in NO_SUPPLIER:
        why = "issued by the client itself" if typed.issued_by_client else f"a {doc_type.value}"
        supplier = SupplierResult(match=SupplierMatch(rule=MatchRule.NONE, detail=why))
    else:
        supplier = match_supplier(
            extraction,
            suppliers,
            proposal_id=proposal_id(ctx.document_id) if doc_type in PROPOSE_FOR else None,
        )
    bank = check_bank_details(
        extraction,
        doc_type,
        client,
        supplier.supplier,
        proposed=supplier.proposal is not None,
        payment_method=ctx.payment_method,
    )
    recipient = check_recipient(extraction, client, doc_type, clients)
    facts = facts_of(
        ctx.document_id, doc_type, extraction, supplier.match.supplier_id, ctx.submitted_by
    )
    duplicate = find_duplicate(facts, history) if doc_type in DUPLICATE_CHECKED else None
    reminded = find_reminded_invoice(facts, history) if doc_type is DocType.REMINDER else None
    return Matching(
        typed=typed,
        supplier=supplier,
        bank=bank,
        recipient=recipient,
        facts=facts,
        duplicate_of=duplicate,
        reminded=reminded,
    )
