"""Booking or task: the division of labour applied to one document (first version)."""

from domain.enums import DocType, Party, Phase, TaskKind
from domain.policy import activity_for
from domain.records import (
    BookingDraft,
    Client,
    Decision,
    DocumentContext,
    Supplier,
    SupplierMatch,
    TaskDraft,
)

BOOKABLE = {DocType.SUPPLIER_INVOICE, DocType.RECEIPT, DocType.CREDIT_NOTE}
REQUIRED = ("total", "issue_date", "currency")
CONFIDENT = 0.8


def decide(
    ctx: DocumentContext,
    client: Client,
    match: SupplierMatch,
    supplier: Supplier | None,
    booking: BookingDraft | None,
) -> Decision:
    extraction = ctx.extraction
    if extraction.error is not None:
        return Decision(
            rule="unreadable",
            reasons=[f"the file could not be read ({extraction.error.kind.value})"],
            tasks=[
                TaskDraft(
                    kind=TaskKind.UNREADABLE,
                    assignee=Party.FIDUCIARY,
                    reason=f"Unreadable document: {extraction.error.message}",
                )
            ],
        )
    responsible = client.policy.responsible(activity_for(extraction.doc_type), Phase.REGULAR)
    if extraction.doc_type not in BOOKABLE or booking is None:
        return Decision(
            rule="review",
            responsible=Party.FIDUCIARY,
            reasons=[f"{extraction.doc_type.value} is not booked automatically"],
            tasks=[
                TaskDraft(
                    kind=TaskKind.REVIEW_DOCUMENT,
                    assignee=Party.FIDUCIARY,
                    reason=f"Review {extraction.doc_type.value}: no booking proposed",
                )
            ],
        )
    if responsible is Party.CLIENT:
        kind = (
            TaskKind.APPROVE_EXPENSE
            if extraction.doc_type is DocType.RECEIPT
            else TaskKind.RELEASE_INVOICE
        )
        return Decision(
            booking=booking,
            post=False,
            responsible=Party.CLIENT,
            rule="client_releases",
            reasons=["the client releases this activity itself (division of labour)"],
            tasks=[
                TaskDraft(
                    kind=kind, assignee=Party.CLIENT, reason=f"Please release: {booking.text}"
                )
            ],
        )
    unsure = [f for f in REQUIRED if extraction.conf(f) < CONFIDENT]
    if supplier is None or unsure:
        why = "supplier unknown" if supplier is None else f"unsure fields: {', '.join(unsure)}"
        return Decision(
            booking=booking,
            post=False,
            responsible=Party.FIDUCIARY,
            rule="fiduciary_review",
            reasons=[why],
            tasks=[
                TaskDraft(
                    kind=TaskKind.REVIEW_DOCUMENT,
                    assignee=Party.FIDUCIARY,
                    reason=f"Check before booking: {why}",
                )
            ],
        )
    return Decision(
        booking=booking,
        post=True,
        responsible=Party.FIDUCIARY,
        rule="auto_post",
        reasons=["all required fields confident, supplier known"],
    )
