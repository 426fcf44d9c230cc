"""The document type routing works with: the reader's, corrected by what we know better.

- A document *issued by the client itself* (its own IBAN, UID or name as the issuer) is a
  customer invoice (or, negative, a customer credit note), whatever the reader called it:
  the reader cannot know whose the IBAN is.
- What the uploader said is a strong hint: the web upload's document class (payable /
  receivable / expense) and the app's payment method ("paid by company card" makes a hotel
  invoice an expense receipt, "supplier invoice to pay" a payable).
- Credit notes, reminders, bank statements and payslips keep their type: no hint turns a
  reminder into something to book.
"""

from pydantic import BaseModel

from domain.enums import DocType, DocumentClass, PaymentMethod
from domain.extraction import Extraction
from domain.identifiers import normalize_iban
from domain.records import Client, DocumentContext
from routing.names import person_or_company_matches
from routing.suppliers import clean_uid

OWN_NAME = 92.0  # the issuer's name at or above this is the client's own
_FLEXIBLE = {DocType.SUPPLIER_INVOICE, DocType.RECEIPT, DocType.CUSTOMER_INVOICE, DocType.OTHER}
_PAID_ALREADY = {
    PaymentMethod.COMPANY_CARD,
    PaymentMethod.DEBIT_CARD,
    PaymentMethod.CASH,
    PaymentMethod.EMPLOYEE_EXPENSE,
    PaymentMethod.PRIVATE,
}


class TypeDecision(BaseModel):
    doc_type: DocType
    issued_by_client: bool = False
    credit: bool = False  # a credit note (the client's own, when issued_by_client)
    reason: str = ""  # why it differs from the reader's type ("" when it does not)


def issued_by_client(extraction: Extraction, client: Client) -> str | None:
    """Why the issuer printed on the document is the client itself, or None."""
    if extraction.supplier_iban and normalize_iban(extraction.supplier_iban) in {
        normalize_iban(i) for i in client.ibans
    }:
        return "the IBAN on it is the client's own"
    uid = clean_uid(extraction.supplier_uid)
    if uid and client.uid and uid == client.uid:
        return "the UID of the issuer is the client's own"
    if (
        extraction.supplier_name
        and person_or_company_matches(extraction.supplier_name, client.name) >= OWN_NAME
    ):
        return "the issuer's name is the client's own"
    return None


def settle_doc_type(ctx: DocumentContext, client: Client) -> TypeDecision:
    extraction = ctx.extraction
    read = extraction.doc_type
    own = issued_by_client(extraction, client)
    if own and read in (_FLEXIBLE | {DocType.CREDIT_NOTE}):
        kind = "customer credit note" if read is DocType.CREDIT_NOTE else "customer invoice"
        return TypeDecision(
            doc_type=DocType.CUSTOMER_INVOICE,
            issued_by_client=True,
            credit=read is DocType.CREDIT_NOTE,
            reason=f"issued by the client itself ({own}): a {kind}",
        )
    if read not in _FLEXIBLE:
        return TypeDecision(doc_type=read, credit=read is DocType.CREDIT_NOTE)
    hinted = _hint(ctx)
    if hinted is not None and hinted[0] is not read:
        return TypeDecision(doc_type=hinted[0], reason=hinted[1])
    return TypeDecision(doc_type=read)


def _hint(ctx: DocumentContext) -> tuple[DocType, str] | None:
    if ctx.document_class is DocumentClass.PAYABLE:
        return DocType.SUPPLIER_INVOICE, "uploaded as a payable"
    if ctx.document_class is DocumentClass.RECEIVABLE:
        return DocType.CUSTOMER_INVOICE, "uploaded as a receivable"
    if ctx.document_class is DocumentClass.EXPENSE:
        return DocType.RECEIPT, "uploaded as an expense"
    method = ctx.payment_method
    if method is PaymentMethod.CUSTOMER_INVOICE:
        return DocType.CUSTOMER_INVOICE, "the app says: customer invoice"
    if (
        method is PaymentMethod.INVOICE_TO_PAY
        and ctx.extraction.doc_type is not DocType.CUSTOMER_INVOICE
    ):
        return DocType.SUPPLIER_INVOICE, "the app says: supplier invoice to pay"
    if method in _PAID_ALREADY and ctx.extraction.doc_type is not DocType.CUSTOMER_INVOICE:
        return DocType.RECEIPT, f"the app says it was paid ({method.value}): an expense"
    return None
