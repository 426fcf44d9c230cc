"""Which accounts a document books to (Swiss SME chart of accounts), first version."""

from decimal import Decimal

from domain.enums import DocType, PaymentMethod, VatMethod
from domain.extraction import Extraction
from domain.money import to_money
from domain.records import BookingDraft, BookingLine, Client, Supplier

PAYABLES = "2000"
DEFAULT_EXPENSE = "4400"  # bezogene Dienstleistungen: the neutral default for services
COUNTER_BY_PAYMENT = {
    PaymentMethod.CASH: "1000",
    PaymentMethod.DEBIT_CARD: "1020",
    PaymentMethod.COMPANY_CARD: "2100",
    PaymentMethod.INVOICE_TO_PAY: PAYABLES,
}


def input_vat_account(expense_account: str) -> str:
    return "1170" if expense_account.startswith("4") else "1171"


def propose_booking(
    extraction: Extraction,
    client: Client,
    supplier: Supplier | None,
    payment_method: PaymentMethod | None,
) -> BookingDraft | None:
    """A balanced booking for a supplier invoice, receipt or credit note, or None."""
    if extraction.total is None or extraction.issue_date is None:
        return None
    total = to_money(abs(extraction.total))
    expense = (supplier.account if supplier and supplier.account else None) or DEFAULT_EXPENSE
    counter = PAYABLES
    if extraction.doc_type is DocType.RECEIPT:
        counter = COUNTER_BY_PAYMENT.get(payment_method, PAYABLES) if payment_method else PAYABLES
    vat_lines: list[BookingLine] = []
    if client.vat_method is VatMethod.EFFECTIVE:
        for vat in extraction.vat:
            if vat.amount:
                vat_lines.append(
                    BookingLine(
                        account=input_vat_account(expense),
                        debit=to_money(vat.amount),
                        vat_code=f"VS{vat.rate}",
                        text=f"Vorsteuer {vat.rate}%",
                    )
                )
    net = total - sum((line.debit for line in vat_lines), Decimal(0))
    if net <= 0:
        return None
    text = f"{extraction.supplier_name or 'Beleg'} {extraction.invoice_number or ''}".strip()
    lines = [
        BookingLine(account=expense, debit=net, text=text),
        *vat_lines,
        BookingLine(account=counter, credit=total, text=text),
    ]
    if extraction.doc_type is DocType.CREDIT_NOTE:
        lines = [
            BookingLine(
                account=line.account,
                debit=line.credit,
                credit=line.debit,
                vat_code=line.vat_code,
                text=line.text,
            )
            for line in lines
        ]
    return BookingDraft(
        date=extraction.issue_date,
        currency=extraction.currency or "CHF",
        supplier_id=supplier.id if supplier else None,
        text=text,
        lines=lines,
    )
