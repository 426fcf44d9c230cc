"""Booking or task: the division of labour applied to one document.

The order of the checks is the order a careful bookkeeper works in:

1. unreadable                      → task `unreadable` (fiduciary), nothing booked
2. addressed to someone else       → task `mismatched_recipient` (fiduciary), nothing booked
3. suspected duplicate             → task `suspected_duplicate` (fiduciary), nothing booked
4. reminder                        → linked to the invoice on file (task `reminder_received`
                                     for whoever handles reminders) or, without it, the
                                     invoice is asked for; nothing booked
5. statement / payslip / other     → a task for whoever is responsible; nothing booked
6. nothing to book (no total/date) → review (or ask for the rest of the document)
7. a booking proposal:
   - the client is responsible     → draft + `release_invoice` / `approve_expense` for the
                                     client; releasing posts it
   - the fiduciary is responsible  → posted at once when every required field is confident
                                     and the supplier is known; else a draft and a review
                                     task naming the reasons (an offline client's missing
                                     payment method becomes "ask the client for …")
   A proposed new supplier adds `confirm_supplier` for the fiduciary in every case.

Over all of it, bank details: an IBAN printed on the document that is not the supplier's
known one (`routing.bank_details`) adds a `bank_details` task for the fiduciary, whatever
the division of labour says. It holds the booking: nothing posts, and a client cannot
release it, until a person confirmed the account or rejected the document.

Offline clients are never assigned anything: `DivisionOfLabour` never makes them
responsible, and what they must supply is asked for through a fiduciary task.
"""

from datetime import date, timedelta

from domain.enums import DocType, MatchRule, Party, Phase, ReviewReason, RoutingRule, TaskKind
from domain.learned import Learned
from domain.policy import activity_for
from domain.records import BookingDraft, Client, Decision, DocumentContext, TaskDraft
from routing.accounts import Proposal, propose_booking
from routing.bank_details import BankStatus
from routing.match import Matching
from routing.recipient import RecipientStatus

# Reader confidence a field needs for a booking to post without a human. The reader's
# scale: labelled fields ~0.85+, a QR-bill or e-invoice ~0.95+, the "Zürich, 4. Mai 2026"
# letter-head date 0.78, a first-date-on-the-page guess 0.45.
CONFIDENT = 0.75
SURE_TYPE = 0.6  # classifier confidence below which the type itself is in doubt
REQUIRED = ("total", "issue_date", "currency")
ASK_WITHIN = timedelta(days=10)  # due date of a request to the client
KNOWN = {
    MatchRule.XML,
    MatchRule.IBAN,
    MatchRule.QR_IBAN,
    MatchRule.UID,
    MatchRule.NAME,
    MatchRule.NAME_DIRECTORY,
}
BOOKABLE = {
    DocType.SUPPLIER_INVOICE,
    DocType.RECEIPT,
    DocType.CREDIT_NOTE,
    DocType.CUSTOMER_INVOICE,
}
Issue = tuple[ReviewReason, str]
AUTO_POSTED = "every required field confident, supplier known: posted"


def decide(
    ctx: DocumentContext,
    client: Client,
    matching: Matching,
    phase: Phase = Phase.REGULAR,
    learned: Learned | None = None,
) -> Decision:
    """The booking and tasks for one document, with the rule and the reasons.

    `learned`: what corrections taught for this client and the matched supplier."""
    decision = _decide(ctx, client, matching, phase, learned)
    return _offline_guard(_bank_guard(decision, matching), client)


# Decisions that book nothing and already put the document before the fiduciary.
NOTHING_MOVES = {
    RoutingRule.UNREADABLE,
    RoutingRule.RECIPIENT_MISMATCH,
    RoutingRule.RECIPIENT_OTHER_CLIENT,
    RoutingRule.SUSPECTED_DUPLICATE,
}


def _bank_guard(decision: Decision, matching: Matching) -> Decision:
    """Money never moves on unverified bank details (DESIGN.md, rules of the house)."""
    bank = matching.bank
    if not bank.unverified or decision.rule in NOTHING_MOVES:
        return decision
    holds = decision.booking is not None
    if not holds and bank.status is BankStatus.NO_SUPPLIER:
        # Nothing is booked and there is no supplier whose account could be forged (a
        # reminder for an invoice we do not have): the request for the invoice will do.
        return decision
    task = TaskDraft(
        kind=TaskKind.BANK_DETAILS,
        assignee=Party.FIDUCIARY,
        reason=f"Verify the bank details before anything is paid: {bank.text}. Complete "
        "this task to confirm the account as the supplier's"
        + (", or reject the document." if holds else "."),
        details={
            "supplier_id": bank.supplier_id,
            "iban": bank.printed,
            "known": bank.known,
            "bank_check": bank.status.value,
        },
        holds_booking=holds,
    )
    held = f"held until the fiduciary verifies them: {bank.text}"
    tasks = [
        t.model_copy(update={"reason": f"{t.reason}. The bank details are {held}"})
        if t.kind in (TaskKind.RELEASE_INVOICE, TaskKind.APPROVE_EXPENSE)
        else t
        for t in decision.tasks
    ]
    reasons = [r for r in decision.reasons if r != AUTO_POSTED]
    update: dict = {
        "tasks": [task, *tasks],
        "issues": [*decision.issues, ReviewReason.BANK_DETAILS_UNVERIFIED],
        "reasons": [*reasons, f"bank details {held}"],
    }
    if decision.post:
        update |= {"post": False, "rule": RoutingRule.BANK_DETAILS_UNVERIFIED}
    return decision.model_copy(update=update)


def _offline_guard(decision: Decision, client: Client) -> Decision:
    """Belt and braces: an offline client cannot see tasks, so none is ever its own —
    whatever a future rule or a forged policy says, the fiduciary gets it to ask."""
    if client.online or all(t.assignee is Party.FIDUCIARY for t in decision.tasks):
        return decision
    tasks = [
        t
        if t.assignee is Party.FIDUCIARY
        else t.model_copy(
            update={
                "kind": TaskKind.ASK_CLIENT,
                "assignee": Party.FIDUCIARY,
                "reason": f"Ask the client (offline): {t.reason}",
            }
        )
        for t in decision.tasks
    ]
    return decision.model_copy(update={"tasks": tasks, "responsible": Party.FIDUCIARY})


def _decide(
    ctx: DocumentContext,
    client: Client,
    matching: Matching,
    phase: Phase,
    learned: Learned | None = None,
) -> Decision:
    extraction = ctx.extraction
    doc_type = matching.doc_type
    preface = (
        [f"treated as {doc_type.value}: {matching.typed.reason}"] if matching.typed.reason else []
    )
    activity = activity_for(doc_type)
    responsible = client.policy.responsible(activity, phase)
    if phase is not Phase.REGULAR:  # say why an online client's document is not its own
        preface.append(
            f"client is in the {phase.value} phase: {activity.value} is the "
            f"{responsible.value}'s then"
        )

    if extraction.error is not None:
        return _unreadable(ctx, preface)
    if matching.recipient.blocks_booking:
        return _misaddressed(ctx, client, matching, preface, doc_type)
    if matching.duplicate_of is not None:
        return _duplicate(matching, preface, doc_type)
    if doc_type is DocType.REMINDER:
        return _reminder(ctx, client, matching, responsible, preface)
    if doc_type not in BOOKABLE:
        return _not_bookable(ctx, doc_type, responsible, preface)

    supplier = matching.supplier.supplier or matching.supplier.proposal
    proposal = propose_booking(
        doc_type, ctx, client, supplier, credit=matching.typed.credit, learned=learned
    )
    if proposal.booking is None:
        return _incomplete(ctx, client, proposal, preface, doc_type)
    issues = proposal.issues + _reading_issues(ctx, matching) + _party_issues(matching, doc_type)
    notes = preface + proposal.notes + _explain(matching, proposal)
    tasks = _confirm_supplier(matching)
    if responsible is Party.CLIENT:
        return _client_releases(
            ctx, doc_type, matching.typed.credit, proposal.booking, issues, notes, tasks
        )
    return _fiduciary(ctx, client, doc_type, proposal.booking, issues, notes, tasks)


# --- the outcomes ---------------------------------------------------------------------


def _unreadable(ctx: DocumentContext, preface: list[str]) -> Decision:
    error = ctx.extraction.error
    assert error is not None
    return Decision(
        rule=RoutingRule.UNREADABLE,
        doc_type=ctx.extraction.doc_type,
        issues=[ReviewReason.UNREADABLE],
        reasons=[*preface, f"the file could not be read ({error.kind.value}): {error.message}"],
        tasks=[
            TaskDraft(
                kind=TaskKind.UNREADABLE,
                assignee=Party.FIDUCIARY,
                reason=f"Unreadable document {ctx.filename!r} ({error.kind.value}): "
                f"{error.message}",
                details={"error": error.kind.value},
            )
        ],
    )


def _misaddressed(
    ctx: DocumentContext, client: Client, matching: Matching, preface: list[str], doc_type: DocType
) -> Decision:
    check = matching.recipient
    printed = check.printed or "someone else"
    details: dict = {"addressee": printed}
    if check.status is RecipientStatus.OTHER_CLIENT:
        # The other client's identity goes into the details only: the task is visible to
        # this client's users too, and they must not learn who else the firm serves
        # (`storage.tasks.task_view` shows `other_client` to staff only).
        details["other_client"] = {"id": check.other_client_id, "name": check.other_client_name}
        rule = RoutingRule.RECIPIENT_OTHER_CLIENT
    else:
        rule = RoutingRule.RECIPIENT_MISMATCH
    # One text for both: the client's users read it, and whether the addressee is another
    # client of the firm is not theirs to learn (staff see `other_client` in the details).
    hint = "Invoice control failed: ask for a corrected invoice or clarify who it is for."
    reason = f"Addressed to {printed}, not to {client.name} ({client.id}). {hint}"
    return Decision(
        rule=rule,
        doc_type=doc_type,
        issues=[ReviewReason.RECIPIENT_MISMATCH],
        reasons=[*preface, f"the addressee ({printed}) is not {client.name}: nothing booked"],
        tasks=[
            TaskDraft(
                kind=TaskKind.MISMATCHED_RECIPIENT,
                assignee=Party.FIDUCIARY,
                reason=reason,
                details=details,
            )
        ],
    )


def _duplicate(matching: Matching, preface: list[str], doc_type: DocType) -> Decision:
    prior = matching.duplicate_of
    assert prior is not None
    facts = matching.facts
    if doc_type is DocType.RECEIPT:
        same = (
            f"same supplier, date {facts.issue_date}, total {facts.total} and submitter "
            f"({facts.submitted_by or 'unknown'})"
        )
    else:
        same = f"same supplier, invoice number {facts.invoice_number} and total {facts.total}"
    booked = f" (booking #{prior.booking_id})" if prior.booking_id else ""
    links = {"duplicate_of": prior.document_id}
    if prior.booking_id:
        links["duplicate_booking"] = prior.booking_id
    return Decision(
        rule=RoutingRule.SUSPECTED_DUPLICATE,
        doc_type=doc_type,
        issues=[ReviewReason.SUSPECTED_DUPLICATE],
        links=links,
        reasons=[*preface, f"suspected duplicate of document {prior.document_id}: {same}"],
        tasks=[
            TaskDraft(
                kind=TaskKind.SUSPECTED_DUPLICATE,
                assignee=Party.FIDUCIARY,
                reason=f"Suspected duplicate of document {prior.document_id}{booked}: {same}. "
                "Nothing was booked; book it by hand if it is not a duplicate.",
                details={"duplicate_of": prior.document_id, "booking_id": prior.booking_id},
                booking_id=prior.booking_id,
            )
        ],
    )


def _ask(client: Client, what: str, kind_for_client: TaskKind, due: date, **kw) -> TaskDraft:
    """Something only the client can supply: its own task when it is online, else the
    fiduciary asks (an offline client cannot see tasks)."""
    if client.online:
        return TaskDraft(
            kind=kind_for_client, assignee=Party.CLIENT, reason=f"Please {what}", due_date=due, **kw
        )
    return TaskDraft(
        kind=TaskKind.ASK_CLIENT,
        assignee=Party.FIDUCIARY,
        reason=f"Ask the client to {what}",
        due_date=due,
        **kw,
    )


def _reminder(
    ctx: DocumentContext, client: Client, matching: Matching, responsible: Party, preface: list[str]
) -> Decision:
    facts = matching.facts
    supplier = matching.supplier.supplier
    who = supplier.name if supplier else (ctx.extraction.supplier_name or "a supplier")
    number = ctx.extraction.invoice_number or facts.reference or "?"
    invoice = matching.reminded
    if invoice is not None:
        booked = f", booked as #{invoice.booking_id}" if invoice.booking_id else ""
        links = {"invoice_document": invoice.document_id}
        if invoice.booking_id:
            links["invoice_booking"] = invoice.booking_id
        return Decision(
            rule=RoutingRule.REMINDER_LINKED,
            doc_type=DocType.REMINDER,
            responsible=responsible,
            links=links,
            reasons=[
                *preface,
                f"reminder for invoice {number} (document {invoice.document_id}{booked}): "
                "nothing booked",
            ],
            tasks=[
                TaskDraft(
                    kind=TaskKind.REMINDER_RECEIVED,
                    assignee=responsible,
                    reason=f"Reminder from {who} for invoice {number} (document "
                    f"{invoice.document_id}{booked}): check that it is paid.",
                    due_date=ctx.extraction.due_date,
                    details={"invoice_document": invoice.document_id},
                    booking_id=invoice.booking_id,
                )
            ],
        )
    due = ctx.received_at.date() + ASK_WITHIN
    return Decision(
        rule=RoutingRule.REMINDER_INVOICE_MISSING,
        doc_type=DocType.REMINDER,
        responsible=Party.CLIENT if client.online else Party.FIDUCIARY,
        issues=[ReviewReason.DOCUMENT_INCOMPLETE],
        reasons=[*preface, f"reminder for invoice {number} of {who}, which we do not have"],
        tasks=[
            _ask(
                client,
                f"upload invoice {number} of {who}: a reminder for it came in, the invoice did not",
                TaskKind.MISSING_DOCUMENT,
                due,
            )
        ],
    )


def _not_bookable(
    ctx: DocumentContext, doc_type: DocType, responsible: Party, preface: list[str]
) -> Decision:
    what = {
        DocType.BANK_STATEMENT: (
            RoutingRule.STATEMENT_RECONCILE,
            "reconcile",
            "Reconcile the transactions of",
        ),
        DocType.PAYSLIP: (RoutingRule.PAYROLL, "payroll", "Book the payroll of"),
    }.get(doc_type, (RoutingRule.NOT_BOOKABLE, "review", "Look at"))
    rule, action, verb = what
    return Decision(
        rule=rule,
        doc_type=doc_type,
        responsible=responsible,
        issues=[]
        if doc_type in (DocType.BANK_STATEMENT, DocType.PAYSLIP)
        else [ReviewReason.NOT_BOOKABLE],
        reasons=[
            *preface,
            f"a {doc_type.value} is not booked automatically; {responsible.value} acts",
        ],
        tasks=[
            TaskDraft(
                kind=TaskKind.REVIEW_DOCUMENT,
                assignee=responsible,
                reason=f"{verb} {ctx.filename} ({doc_type.value}).",
                details={"action": action},
            )
        ],
    )


def _incomplete(
    ctx: DocumentContext, client: Client, proposal: Proposal, preface: list[str], doc_type: DocType
) -> Decision:
    why = "; ".join(text for _, text in proposal.issues)
    slip_only = "QR payment part" in why
    due = ctx.received_at.date() + ASK_WITHIN
    task = (
        _ask(
            client,
            f"send the complete invoice for {ctx.filename}: {why}",
            TaskKind.MISSING_DOCUMENT,
            due,
        )
        if slip_only
        else TaskDraft(
            kind=TaskKind.REVIEW_DOCUMENT,
            assignee=Party.FIDUCIARY,
            reason=f"Document incomplete, nothing booked: {why}.",
            details={"issues": [ReviewReason.DOCUMENT_INCOMPLETE.value]},
        )
    )
    return Decision(
        rule=RoutingRule.INCOMPLETE,
        doc_type=doc_type,
        responsible=task.assignee,
        issues=[ReviewReason.DOCUMENT_INCOMPLETE],
        reasons=[*preface, f"document incomplete: {why}"],
        tasks=[task],
    )


def _client_releases(
    ctx: DocumentContext,
    doc_type: DocType,
    credit: bool,
    booking: BookingDraft,
    issues: list[Issue],
    notes: list[str],
    tasks: list[TaskDraft],
) -> Decision:
    expense = doc_type is DocType.RECEIPT
    kind = TaskKind.APPROVE_EXPENSE if expense else TaskKind.RELEASE_INVOICE
    verb = (
        "Approve expense" if expense else ("Confirm credit note" if credit else "Release invoice")
    )
    # What the client should look at before releasing; what only the fiduciary can settle
    # (a new supplier's master data) is the fiduciary's own task.
    checks = [
        text
        for reason, text in issues
        if not (reason is ReviewReason.SUPPLIER_UNKNOWN and _proposing(tasks))
    ]
    reason = f"{verb}: {booking.text} — {booking.currency} {booking.amount}"
    if checks:
        reason += ". Please check: " + "; ".join(checks)
    tasks = [
        TaskDraft(
            kind=kind,
            assignee=Party.CLIENT,
            reason=reason,
            due_date=ctx.extraction.due_date,
            details={"checks": checks, "issues": sorted({r.value for r, _ in issues})},
            holds_booking=True,
        ),
        *tasks,
    ]
    return Decision(
        booking=booking,
        post=False,
        responsible=Party.CLIENT,
        rule=RoutingRule.CLIENT_RELEASES,
        doc_type=doc_type,
        issues=_unique(issues),
        reasons=[*notes, "the client releases this activity itself (division of labour)", *checks],
        tasks=tasks,
    )


def _fiduciary(
    ctx: DocumentContext,
    client: Client,
    doc_type: DocType,
    booking: BookingDraft,
    issues: list[Issue],
    notes: list[str],
    tasks: list[TaskDraft],
) -> Decision:
    if not issues and not tasks:
        return Decision(
            booking=booking,
            post=True,
            responsible=Party.FIDUCIARY,
            rule=RoutingRule.AUTO_POST,
            doc_type=doc_type,
            reasons=[*notes, AUTO_POSTED],
        )
    due = ctx.received_at.date() + ASK_WITHIN
    review = list(issues)
    if not client.online and any(r is ReviewReason.PAYMENT_METHOD_UNKNOWN for r, _ in issues):
        # An offline client is asked through the fiduciary, who then completes the booking.
        review = [i for i in issues if i[0] is not ReviewReason.PAYMENT_METHOD_UNKNOWN]
        tasks = [
            *tasks,
            TaskDraft(
                kind=TaskKind.ASK_CLIENT,
                assignee=Party.FIDUCIARY,
                reason=f"Ask the client for the payment method of {booking.text} "
                f"({booking.currency} {booking.amount}, {booking.date.isoformat()})",
                due_date=due,
                details={"issues": [ReviewReason.PAYMENT_METHOD_UNKNOWN.value]},
                holds_booking=True,
            ),
        ]
    # A proposed supplier is settled by its confirm task; anything else needs a review.
    review = [
        i for i in review if not (i[0] is ReviewReason.SUPPLIER_UNKNOWN and _proposing(tasks))
    ]
    if review:
        tasks = [
            TaskDraft(
                kind=TaskKind.REVIEW_DOCUMENT,
                assignee=Party.FIDUCIARY,
                reason=f"Check before booking {booking.text} ({booking.currency} "
                f"{booking.amount}): " + "; ".join(text for _, text in review),
                details={"issues": sorted({r.value for r, _ in review})},
                holds_booking=True,
            ),
            *tasks,
        ]
    return Decision(
        booking=booking,
        post=False,
        responsible=Party.FIDUCIARY,
        rule=RoutingRule.FIDUCIARY_REVIEW,
        doc_type=doc_type,
        issues=_unique(issues),
        reasons=[*notes, *(text for _, text in issues)],
        tasks=tasks,
    )


# --- what is in doubt --------------------------------------------------------------------


def _reading_issues(ctx: DocumentContext, matching: Matching) -> list[Issue]:
    extraction = ctx.extraction
    unsure = [
        f for f in REQUIRED if getattr(extraction, f) is not None and extraction.conf(f) < CONFIDENT
    ]
    issues: list[Issue] = []
    if unsure:
        issues.append((ReviewReason.UNCERTAIN_READING, f"unsure reading of {', '.join(unsure)}"))
    if not matching.typed.reason and extraction.conf("doc_type") < SURE_TYPE:
        issues.append(
            (
                ReviewReason.UNCERTAIN_READING,
                f"document type unsure ({extraction.doc_type.value}?)",
            )
        )
    return issues


def _party_issues(matching: Matching, doc_type: DocType) -> list[Issue]:
    issues: list[Issue] = []
    match = matching.supplier.match
    supplier = matching.supplier.supplier
    extraction_name_ok = matching.facts.supplier_name is not None
    if doc_type is DocType.RECEIPT:
        # A shop is not a creditor: a receipt needs the shop identified, not on file.
        if match.rule not in KNOWN and not extraction_name_ok:
            issues.append((ReviewReason.SUPPLIER_UNKNOWN, "the shop's name could not be read"))
    elif doc_type is not DocType.CUSTOMER_INVOICE:
        if match.rule is MatchRule.PROPOSED:
            issues.append((ReviewReason.SUPPLIER_UNKNOWN, f"new supplier: {match.detail}"))
        elif match.rule not in KNOWN or supplier is None:
            issues.append((ReviewReason.SUPPLIER_UNKNOWN, f"supplier unknown: {match.detail}"))
        elif supplier.status.value != "active":
            issues.append(
                (
                    ReviewReason.SUPPLIER_UNKNOWN,
                    f"supplier {supplier.name} is still awaiting confirmation",
                )
            )
    recipient = matching.recipient
    if recipient.status is RecipientStatus.MISSING:
        issues.append(
            (ReviewReason.RECIPIENT_MISMATCH, "no addressee read: invoice control not possible")
        )
    elif recipient.status is RecipientStatus.UNCERTAIN:
        issues.append((ReviewReason.RECIPIENT_MISMATCH, f"invoice control: {recipient.detail}"))
    return issues


def _explain(matching: Matching, proposal: Proposal) -> list[str]:
    out = []
    match = matching.supplier.match
    if match.rule is not MatchRule.NONE:
        out.append(f"supplier: rule {match.rule.value}, score {match.score:.0f} — {match.detail}")
    if proposal.account is not None:
        account = proposal.account
        learned_it = account.source == "learned"
        out.append(
            f"account {account.account}: {account.detail}"
            if learned_it
            else f"account: {account.detail}"
        )
    if proposal.payment is not None and proposal.payment.method is not None:
        out.append(f"paid: {proposal.payment.detail}")
    if matching.recipient.status is RecipientStatus.MATCH:
        out.append(f"invoice control passed ({matching.recipient.detail})")
    return out


def _confirm_supplier(matching: Matching) -> list[TaskDraft]:
    proposal = matching.supplier.proposal
    if proposal is None:
        return []
    ids = ", ".join(filter(None, [proposal.uid, *proposal.ibans]))
    return [
        TaskDraft(
            kind=TaskKind.CONFIRM_SUPPLIER,
            assignee=Party.FIDUCIARY,
            reason=f"Confirm the new supplier {proposal.name} ({ids}) proposed from this document.",
            details={"supplier_id": proposal.id},
            holds_booking=True,
        )
    ]


def _proposing(tasks: list[TaskDraft]) -> bool:
    return any(t.kind is TaskKind.CONFIRM_SUPPLIER for t in tasks)


def _unique(issues: list[Issue]) -> list[ReviewReason]:
    return list(dict.fromkeys(reason for reason, _ in issues))


def demote_to_duplicate(decision: Decision, matching: Matching) -> Decision:
    """A duplicate found only at commit time (a copy was persisted meanwhile): the
    decision becomes the duplicate's, so a second booking can never be made."""
    return _duplicate(matching, [], decision.doc_type or matching.doc_type)
