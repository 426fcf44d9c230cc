"""Are the bank details on a document the supplier's known ones?

Changed bank details are the classic fraud on accounts payable: a mail that looks like a
known supplier's invoice, with the forger's IBAN or QR-IBAN. So an IBAN printed on a
document that can move money (an invoice, a credit note, a reminder, a receipt still to
be paid) is checked against the supplier's known accounts. Anything but a match is
*unverified*: routing holds the booking for a fiduciary task, whatever the division of
labour says, and the account becomes the supplier's only when a person confirms it
(`storage.tasks.complete_task`). Pure: the supplier and the client come in as arguments.

Not checked, on purpose: a new supplier proposed from this very document (its confirm
task is the person's check of the IBAN it carries), and the client's own account (a
direct-debit invoice prints the debtor's IBAN; no money goes there). Why:
docs/decisions/0001-bank-details-hold-the-booking.md.
"""

from enum import StrEnum

from pydantic import BaseModel, Field

from domain.enums import DocType, PaymentMethod
from domain.extraction import Extraction
from domain.identifiers import format_iban, normalize_iban
from domain.records import Client, Supplier

# Documents whose printed IBAN money may be sent to. A receipt only while it is unpaid.
PAYABLE = {DocType.SUPPLIER_INVOICE, DocType.CREDIT_NOTE, DocType.REMINDER}
PAID_ALREADY = {
    PaymentMethod.COMPANY_CARD,
    PaymentMethod.DEBIT_CARD,
    PaymentMethod.CASH,
    PaymentMethod.EMPLOYEE_EXPENSE,
    PaymentMethod.PRIVATE,
}


class BankStatus(StrEnum):
    NOT_CHECKED = "not_checked"  # no IBAN printed, or a document no money goes out on
    KNOWN = "known"  # one of the supplier's confirmed accounts
    OWN_ACCOUNT = "own_account"  # the client's own IBAN (direct debit)
    PROPOSED = "proposed"  # a new supplier from this document: its confirm task checks it
    DIFFERS = "differs"  # the supplier has other accounts on file
    NONE_ON_FILE = "none_on_file"  # the supplier has no account on file
    NO_SUPPLIER = "no_supplier"  # nobody on file to compare with


class BankCheck(BaseModel):
    status: BankStatus = BankStatus.NOT_CHECKED
    printed: str | None = None  # the IBAN on the document, compact
    known: list[str] = Field(default_factory=list)  # the supplier's accounts on file
    supplier_id: str | None = None
    supplier_name: str | None = None

    @property
    def unverified(self) -> bool:
        """Money must not move on these details until a person confirms them."""
        return self.status in (BankStatus.DIFFERS, BankStatus.NONE_ON_FILE, BankStatus.NO_SUPPLIER)

    @property
    def text(self) -> str:
        """The sentence on the task and in the reasons."""
        printed = format_iban(self.printed) if self.printed else "?"
        if self.status is BankStatus.DIFFERS:
            known = ", ".join(format_iban(i) for i in self.known)
            return (
                f"bank details differ from the supplier's (known: {known}, "
                f"on the invoice: {printed})"
            )
        if self.status is BankStatus.NONE_ON_FILE:
            return (
                f"bank details not verified: {self.supplier_name or 'the supplier'} has no "
                f"account on file (on the invoice: {printed})"
            )
        if self.status is BankStatus.NO_SUPPLIER:
            return f"bank details not verified: no known supplier holds {printed}"
        return f"bank details: {self.status.value}"


def check_bank_details(
    extraction: Extraction,
    doc_type: DocType,
    client: Client,
    supplier: Supplier | None,
    *,
    proposed: bool = False,
    payment_method: PaymentMethod | None = None,
) -> BankCheck:
    """Compare the printed IBAN with the matched supplier's known accounts.

    `supplier` is the matched record (None when no supplier was matched); `proposed`
    says the supplier is a new one proposed from this document.
    """
    if not extraction.supplier_iban or not _money_goes_out(doc_type, payment_method):
        return BankCheck()
    printed = normalize_iban(extraction.supplier_iban)
    if printed in {normalize_iban(i) for i in client.ibans}:
        return BankCheck(status=BankStatus.OWN_ACCOUNT, printed=printed)
    if proposed:
        return BankCheck(status=BankStatus.PROPOSED, printed=printed)
    if supplier is None:
        return BankCheck(status=BankStatus.NO_SUPPLIER, printed=printed)
    known = [normalize_iban(i) for i in supplier.ibans]
    if printed in known:
        status = BankStatus.KNOWN
    else:
        status = BankStatus.DIFFERS if known else BankStatus.NONE_ON_FILE
    return BankCheck(
        status=status,
        printed=printed,
        known=known,
        supplier_id=supplier.id,
        supplier_name=supplier.name,
    )


def _money_goes_out(doc_type: DocType, payment_method: PaymentMethod | None) -> bool:
    if doc_type in PAYABLE:
        return True
    return doc_type is DocType.RECEIPT and payment_method not in PAID_ALREADY
