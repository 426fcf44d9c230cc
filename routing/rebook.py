"""A draft booking rebuilt from a corrected reading (pure).

When a person corrects a document on its task, the draft is made again the way routing
made it the first time (`routing.accounts.propose_booking`), from the corrected fields,
so VAT split, counter-account and texts follow the same rules; the person's account and
VAT code override routing's choices. `storage.tasks.complete_task` is handed
`rebuild_booking` (storage does not import routing: DESIGN.md, "Architecture").
"""

from dataclasses import dataclass

from domain.booking_lines import main_index
from domain.enums import DocType, LearnedField
from domain.learned import Learned
from domain.records import (
    BookingDraft,
    BookingLine,
    Client,
    DocumentContext,
    PriorDocument,
    Supplier,
)
from routing.accounts import DEFAULT_SALES, PAYABLES, RECEIVABLES, propose_booking
from routing.duplicates import facts_of


class CannotRebook(ValueError):
    """The corrected reading books nothing; the message says what is missing."""


@dataclass(frozen=True)
class Rebuilt:
    booking: BookingDraft
    facts: PriorDocument  # the document's identifying facts, for later duplicate checks


def rebuild_booking(
    doc_type: DocType,
    ctx: DocumentContext,
    client: Client,
    supplier: Supplier | None,
    *,
    account: str | None = None,
    vat_code: str | None = None,
    credit: bool = False,
    learned: Learned | None = None,
) -> Rebuilt:
    """The booking `ctx.extraction` makes, with `account` as the main account and
    `vat_code` on its VAT-carrying lines when given; what corrections taught for the
    supplier (`learned`) fills in the rest, as in routing. Raises CannotRebook."""
    sales = doc_type is DocType.CUSTOMER_INVOICE
    if learned is not None:
        # The person's values now beat what earlier corrections taught.
        overridden = {
            f
            for f, given in ((LearnedField.ACCOUNT, account), (LearnedField.VAT_CODE, vat_code))
            if given
        }
        values = {f: v for f, v in learned.values.items() if f not in overridden}
        learned = learned.model_copy(update={"values": values})
    chooser = supplier
    if account is not None and not sales:
        # The cost account follows the supplier's default: a stand-in supplier with the
        # person's account makes routing use it (VAT account and code follow it too).
        chooser = Supplier(
            id=supplier.id if supplier else "-",
            name=supplier.name if supplier else (ctx.extraction.supplier_name or "Beleg"),
            account=account,
        )
    proposal = propose_booking(doc_type, ctx, client, chooser, credit=credit, learned=learned)
    if proposal.booking is None:
        why = "; ".join(text for _, text in proposal.issues) or "nothing to book"
        raise CannotRebook(f"the corrected document cannot be booked: {why}")
    booking = proposal.booking.model_copy(
        update={"supplier_id": supplier.id if supplier and not sales else None}
    )
    lines = booking.lines
    if account is not None and sales:
        lines = [
            _with(line, account=account) if line.account == DEFAULT_SALES else line
            for line in lines
        ]
    if vat_code is not None:
        lines = _with_vat_code(lines, vat_code)
    booking = BookingDraft.model_validate({**booking.model_dump(), "lines": lines})
    facts = facts_of(
        ctx.document_id,
        doc_type,
        ctx.extraction,
        supplier.id if supplier else None,
        ctx.submitted_by,
    )
    return Rebuilt(booking=booking, facts=facts)


def is_credit(doc_type: DocType, lines: list[BookingLine]) -> bool:
    """Whether a draft books the document's mirror image (a credit note, a negative
    invoice): its counter-account is on the other side than usual."""
    for line in lines:
        if line.account == RECEIVABLES and doc_type is DocType.CUSTOMER_INVOICE:
            return line.credit > 0
        if line.account == PAYABLES and doc_type is not DocType.CUSTOMER_INVOICE:
            return line.debit > 0
    return doc_type is DocType.CREDIT_NOTE


def _with(line: BookingLine, **update: object) -> BookingLine:
    return line.model_copy(update=update)


def _with_vat_code(lines: list[BookingLine], vat_code: str) -> list[BookingLine]:
    """The person's VAT code on every line that carries one; on a gross booking (no
    code anywhere), on the main line."""
    if any(line.vat_code for line in lines):
        return [_with(line, vat_code=vat_code) if line.vat_code else line for line in lines]
    main = main_index(lines)
    return [_with(line, vat_code=vat_code) if i == main else line for i, line in enumerate(lines)]
