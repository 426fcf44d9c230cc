"""Booking proposals: which accounts, how VAT splits, which counter-account.

Swiss SME chart of accounts (DOMAIN.md). The cost account comes, in this order, from what
a person's correction taught for this client and supplier (`domain.learned.Learned`,
handed in: routing stays pure), the supplier's master-data default, what the document is
about (words on it), else a neutral default that is flagged *account unclear*; the
reasons name which one applied. A learned VAT code replaces the computed one on a
single-rate document; a learned payment method answers "payment method unknown"; a
supplier learned as "private" is put before a person (see `_private`).

Input VAT is split per rate onto 1170 (class-4 costs) / 1171 (everything else) for
clients on the effective method; on the net-tax-rate method costs are booked gross. The
counter-account is 2000 for supplier invoices, by payment method for receipts (1000
cash, 1020 debit card, 2100 company card, 2000 when unknown — DOMAIN.md's rule; the
booking then stays a draft until someone says how it was paid), and 1100 debtors for the
client's own invoices. Credit notes are the mirror image. Amounts stay in the document's
currency (no conversion). Balanced by construction: the counter line is the total, the
other side is split from the same total.
"""

import re
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.enums import DocType, LearnedField, PaymentMethod, ReviewReason, VatMethod
from domain.extraction import Extraction
from domain.learned import Learned, LearnedValue
from domain.money import to_money
from domain.records import BookingDraft, BookingLine, Client, DocumentContext, Supplier
from routing.vat import (
    input_vat_account,
    input_vat_code,
    is_any_swiss_rate,
    is_swiss_rate,
    output_vat_code,
)

PAYABLES = "2000"
RECEIVABLES = "1100"
OUTPUT_VAT = "2200"
DEFAULT_COST = "4400"  # bezogene Dienstleistungen: neutral, and flagged "account unclear"
DEFAULT_SALES = "3400"  # Dienstleistungserlöse: an SME's usual revenue account
ROUNDING = Decimal("0.05")  # cash rounding: differences up to this are rounding, not content

COUNTER_BY_PAYMENT = {
    PaymentMethod.CASH: "1000",
    PaymentMethod.DEBIT_CARD: "1020",
    PaymentMethod.COMPANY_CARD: "2100",
    PaymentMethod.INVOICE_TO_PAY: PAYABLES,
    PaymentMethod.EMPLOYEE_EXPENSE: PAYABLES,  # owed to the employee, paid with the salary
}

# What a document is about -> cost account. First hit wins; words in de/fr/it/en; a
# trailing * is a German stem that also matches compounds ("Stromrechnung"). Not the bare
# "Telefon" / "téléphone" / "telefono": every letterhead prints it before its number.
_CONTENT_RULES: tuple[tuple[str, str, str], ...] = (
    ("6000", "rent", "miete* mietzins loyer affitto pigione rent"),
    (
        "6200",
        "vehicle and fuel",
        "benzin diesel bleifrei treibstoff tankstelle* carburant essence benzina fuel shell "
        "migrol avia tamoil socar parking parkhaus* autobahnvignette vignette pneu* reifen*",
    ),
    ("6300", "insurance", "versicherung* prämie* praemie* assurance assicurazione insurance"),
    (
        "6400",
        "energy and disposal",
        "strom* elektrizität energie* heizöl entsorgung* kehricht électricité elettricità "
        "electricity",
    ),
    (
        "6570",
        "IT",
        "software* hosting lizenz* licence license domain cloud microsoft adobe server saas",
    ),
    ("6600", "advertising", "inserat* werbung* publicité pubblicità advertising flyer annonce"),
    (
        "6900",
        "bank charges",
        "bankspesen kontoführung* frais_bancaires spese_bancarie bank_charges zinsen",
    ),
    (
        "6500",
        "office and communication",
        "büromaterial* papeterie porto* briefmarken swisscom sunrise salt telefonie* "
        "telefonkosten téléphonie telefonia internet mobile toner druckerpatrone* bürobedarf "
        "die_post",
    ),
    (
        "5820",
        "travel and meals",
        "restaurant ristorante café cafe bistro pizzeria hotel übernachtung* hôtel albergo sbb "
        "cff ffs bahn billet biglietto ticket taxi uber mittagessen verpflegung repas pasto "
        "spesen flug* flight",
    ),
    # Before repairs: "Unterhaltsreinigung" is cleaning, not maintenance.
    ("6040", "cleaning", "reinigung* unterhaltsreinigung nettoyage pulizia cleaning"),
    (
        "6100",
        "repairs and maintenance",
        "reparatur* unterhalt* wartung* servicearbeiten réparation entretien riparazione "
        "manutenzione repair maintenance",
    ),
    ("4000", "material", "material* matériel materiale baumaterial* werkzeug* outillage holz*"),
    ("4200", "goods for resale", "handelsware* wareneinkauf marchandises merce"),
)


def _words_pattern(words: str) -> re.Pattern[str]:
    alternatives = [
        re.escape(w.rstrip("*").replace("_", " ")) + (r"\w*" if w.endswith("*") else "")
        for w in words.split()
    ]
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b", re.IGNORECASE)


_CONTENT = [(account, label, _words_pattern(words)) for account, label, words in _CONTENT_RULES]


class AccountChoice(BaseModel):
    account: str
    source: str  # learned | supplier | content | convention | default
    certain: bool
    detail: str


class PaymentChoice(BaseModel):
    method: PaymentMethod | None = None
    source: str | None = None  # app | printed
    detail: str = ""


class Proposal(BaseModel):
    """A booking (or why there is none) and what a reviewer should look at."""

    booking: BookingDraft | None = None
    account: AccountChoice | None = None
    payment: PaymentChoice | None = None
    issues: list[tuple[ReviewReason, str]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # facts worth telling, not blocking


def cost_account(
    extraction: Extraction,
    supplier: Supplier | None,
    note: str | None,
    learned: Learned | None = None,
) -> AccountChoice:
    if learned is not None and learned.account is not None:
        # A person booked this supplier's document to it: as certain as master data.
        return AccountChoice(
            account=learned.account.value,
            source="learned",
            certain=True,
            detail=learned.account.source,
        )
    if supplier is not None and supplier.account:
        return AccountChoice(
            account=supplier.account,
            source="supplier",
            certain=True,
            detail=f"{supplier.name}'s default account {supplier.account}",
        )
    haystack = " ".join(
        part for part in (extraction.supplier_name, note, extraction.text[:5000]) if part
    )
    for account, label, pattern in _CONTENT:
        if m := pattern.search(haystack):
            return AccountChoice(
                account=account,
                source="content",
                certain=True,
                detail=f"{label} ({m.group(0)!r} on the document) -> {account}",
            )
    return AccountChoice(
        account=DEFAULT_COST,
        source="default",
        certain=False,
        detail=f"nothing on the document says what it is for; {DEFAULT_COST} proposed",
    )


# Words on a till slip that say how it was paid. Debit before credit: "Debit Mastercard"
# is a debit card, and "Mastercard" alone a credit card.
_PRINTED_PAYMENT: tuple[tuple[PaymentMethod, re.Pattern[str]], ...] = (
    (
        PaymentMethod.DEBIT_CARD,
        re.compile(
            r"\b(maestro|debit ?mastercard|visa ?debit|v ?pay|postfinance ?card|debitkarte|"
            r"carte de débit|ec[- ]karte|twint)\b",
            re.IGNORECASE,
        ),
    ),
    (
        PaymentMethod.COMPANY_CARD,
        re.compile(
            r"\b(visa|mastercard|american express|amex|diners|kreditkarte|carte de crédit|"
            r"carta di credito|credit card)\b",
            re.IGNORECASE,
        ),
    ),
    (
        PaymentMethod.CASH,
        re.compile(
            r"\b(bargeld|barzahlung|bar bezahlt|bar\s+(chf|fr\.?)|rückgeld|rueckgeld|retourgeld|"
            r"gegeben|espèces|en espèces|contanti|contante|cash)\b",
            re.IGNORECASE,
        ),
    ),
)


def payment_method(ctx: DocumentContext, learned: LearnedValue | None = None) -> PaymentChoice:
    """From the app upload (the submitter knows), else printed on the slip, else how a
    person's correction said this supplier's slips are paid."""
    if ctx.payment_method is not None:
        return PaymentChoice(
            method=ctx.payment_method, source="app", detail=f"{ctx.payment_method.value} (app)"
        )
    text = ctx.extraction.text or ""
    for method, pattern in _PRINTED_PAYMENT:
        if m := pattern.search(text):
            return PaymentChoice(
                method=method, source="printed", detail=f"{method.value} ({m.group(0)!r} printed)"
            )
    if learned is not None:
        method = PaymentMethod(learned.value)
        return PaymentChoice(
            method=method, source="learned", detail=f"{method.value}: {learned.source}"
        )
    return PaymentChoice(detail="payment method unknown")


class VatPart(BaseModel):
    rate: Decimal
    base: Decimal
    amount: Decimal


def split_vat(
    extraction: Extraction, gross: Decimal, client: Client, *, output: bool
) -> tuple[list[VatPart], Decimal, list[tuple[ReviewReason, str]], list[str]]:
    """VAT parts per rate and the untaxed rest, from the reader's VAT lines.

    Returns (parts, untaxed, issues, notes); `gross` = sum(base + amount) + untaxed.
    """
    issues: list[tuple[ReviewReason, str]] = []
    notes: list[str] = []
    if client.vat_method is VatMethod.NET_TAX_RATE:
        if extraction.vat:
            notes.append("net-tax-rate method: booked gross, no VAT lines")
        return [], gross, issues, notes
    on = extraction.issue_date
    lines = [v for v in extraction.vat if v.rate and v.rate > 0]
    parts: list[VatPart] = []
    for v in lines:
        rate = Decimal(v.rate)
        if on is not None and not is_swiss_rate(rate, on):
            if is_any_swiss_rate(rate):
                issues.append(
                    (
                        ReviewReason.UNCERTAIN_READING,
                        f"VAT rate {rate}% was not in force on {on.isoformat()}",
                    )
                )
            else:
                notes.append(f"{rate}% is foreign VAT, not Swiss input tax: booked gross")
                continue
        amount = to_money(v.amount) if v.amount is not None else None
        base = to_money(v.base) if v.base is not None else None
        if amount is None and base is not None:
            amount = to_money(base * rate / 100)
        if amount is None and len(lines) == 1:
            amount = to_money(gross * rate / (100 + rate))
        if amount is None:
            issues.append(
                (ReviewReason.UNCERTAIN_READING, "VAT lines without amounts: split unclear")
            )
            return [], gross, issues, notes
        if base is None:
            base = to_money(amount * 100 / rate) if len(lines) > 1 else gross - amount
        parts.append(VatPart(rate=rate, base=abs(base), amount=abs(amount)))
    if not parts:
        return [], gross, issues, notes
    rest = gross - sum((p.base + p.amount for p in parts), Decimal(0))
    if rest < -ROUNDING:
        issues.append(
            (
                ReviewReason.UNCERTAIN_READING,
                f"VAT lines add up to more than the total ({-rest} too much): booked gross",
            )
        )
        return [], gross, issues, notes
    if abs(rest) <= ROUNDING:
        largest = max(parts, key=lambda p: p.base)
        if largest.base + rest < 0:
            issues.append((ReviewReason.UNCERTAIN_READING, "VAT lines do not fit the total"))
            return [], gross, issues, notes
        largest.base += rest  # rounding goes to the biggest base, so the total is exact
        rest = Decimal("0.00")
    else:
        kind = "sales" if output else "costs"
        notes.append(f"{rest} of the total carries no VAT: booked to {kind} without a code")
    if extraction.conf("vat") and extraction.conf("vat") < 0.8:
        issues.append((ReviewReason.UNCERTAIN_READING, "VAT lines read with low confidence"))
    return parts, rest, issues, notes


def _line(
    account: str, amount: Decimal, *, debit: bool, vat_code: str | None = None, text: str = ""
) -> list[BookingLine]:
    """One line on the given side, or none for a zero amount."""
    if amount == 0:
        return []
    side = {"debit": amount} if debit else {"credit": amount}
    return [BookingLine(account=account, vat_code=vat_code, text=text, **side)]


def _mirror(lines: list[BookingLine]) -> list[BookingLine]:
    return [
        BookingLine(
            account=line.account,
            debit=line.credit,
            credit=line.debit,
            vat_code=line.vat_code,
            text=line.text,
        )
        for line in lines
    ]


def booking_text(doc_type: DocType, extraction: Extraction, supplier: Supplier | None) -> str:
    if doc_type is DocType.CUSTOMER_INVOICE:
        who = (
            extraction.recipient.name
            if extraction.recipient and extraction.recipient.name
            else "Kunde"
        )
    else:
        who = supplier.name if supplier else (extraction.supplier_name or "Beleg")
    number = extraction.invoice_number or ""
    label = "Gutschrift " if (extraction.total or 0) < 0 else ""
    return f"{label}{who} {number}".strip()[:500]


def propose_booking(
    doc_type: DocType,
    ctx: DocumentContext,
    client: Client,
    supplier: Supplier | None,
    *,
    credit: bool = False,
    learned: Learned | None = None,
) -> Proposal:
    """The booking a document would make, or none (and why).

    `credit`: the document reduces what it would otherwise book (a credit note, whichever
    sign the reader gave its total). `learned`: what corrections taught for this client
    and this supplier (ignored when it is another supplier's)."""
    extraction = ctx.extraction
    if learned is not None and (supplier is None or learned.supplier_id != supplier.id):
        learned = None
    if extraction.total is None or extraction.issue_date is None or extraction.total == 0:
        missing = [f for f in ("total", "issue_date") if getattr(extraction, f) in (None, 0)]
        slip_only = extraction.has_qr and not extraction.invoice_number and not extraction.vat
        why = (
            "only the QR payment part seems to be there; the invoice itself is missing"
            if slip_only
            else f"{' and '.join(missing)} not found on the document"
        )
        return Proposal(issues=[(ReviewReason.DOCUMENT_INCOMPLETE, why)])
    gross = to_money(abs(extraction.total))
    # The sign says which way: a credit note, or a negative "invoice" that is one.
    reverse = extraction.total < 0 or doc_type is DocType.CREDIT_NOTE or credit
    currency = (extraction.currency or "CHF").upper()
    text = booking_text(doc_type, extraction, supplier)
    issues: list[tuple[ReviewReason, str]] = []
    notes: list[str] = []
    if not extraction.currency:
        issues.append((ReviewReason.UNCERTAIN_READING, "no currency read: CHF assumed"))

    sales = doc_type is DocType.CUSTOMER_INVOICE
    if sales:
        account = AccountChoice(
            account=DEFAULT_SALES,
            source="convention",
            certain=True,
            detail=f"sales to {DEFAULT_SALES} (the client's revenue account)",
        )
        payment = None
        counter = RECEIVABLES
    else:
        account = cost_account(extraction, supplier, ctx.note, learned)
        if not account.certain:
            issues.append((ReviewReason.ACCOUNT_UNCLEAR, account.detail))
        counter, payment = _counter(doc_type, ctx, issues, learned)
        issues.extend(_private(learned))
    parts, rest, vat_issues, vat_notes = split_vat(extraction, gross, client, output=sales)
    learned_code = _learned_vat_code(learned, parts, sales, notes)
    # Costs are debits and sales credits; the counter-account takes the other side.
    main: list[BookingLine] = []
    for p in parts:
        code = learned_code or (
            output_vat_code(p.rate) if sales else input_vat_code(p.rate, account.account)
        )
        vat_account = OUTPUT_VAT if sales else input_vat_account(account.account)
        vat_text = f"MWST {p.rate}%" if sales else f"Vorsteuer {p.rate}%"
        main += _line(account.account, p.base, debit=not sales, vat_code=code, text=text)
        main += _line(vat_account, p.amount, debit=not sales, vat_code=code, text=vat_text)
    main += _line(account.account, rest, debit=not sales, text=text)
    counter_line = _line(counter, gross, debit=sales, text=text)
    lines = counter_line + main if sales else main + counter_line
    issues.extend(vat_issues)
    notes.extend(vat_notes)
    booking = BookingDraft(
        date=extraction.issue_date,
        currency=currency,
        supplier_id=supplier.id if supplier and doc_type is not DocType.CUSTOMER_INVOICE else None,
        text=text,
        lines=_mirror(lines) if reverse else lines,
    )
    return Proposal(booking=booking, account=account, payment=payment, issues=issues, notes=notes)


def _learned_vat_code(
    learned: Learned | None, parts: list[VatPart], sales: bool, notes: list[str]
) -> str | None:
    """A learned VAT code, where it can apply: one input-tax rate on the document (a code
    names its rate; with several rates the computed codes stay)."""
    if learned is None or learned.vat_code is None or sales or not parts:
        return None
    if len(parts) > 1:
        notes.append(f"learned VAT code {learned.vat_code.value} not used: several VAT rates")
        return None
    notes.append(f"VAT code {learned.vat_code.value}: {learned.vat_code.source}")
    return learned.vat_code.value


def _private(learned: Learned | None) -> list[tuple[ReviewReason, str]]:
    """A supplier a person rejected as private: not booked as the company's expense on a
    guess. Which private account (2850 Privat of a sole proprietorship, a shareholder's
    current account of an AG) or whether it is business after all is a person's call, so
    it goes before one, who rejects it as private again with one click."""
    if learned is None or not learned.private:
        return []
    value = learned.get(LearnedField.PRIVATE)
    assert value is not None
    return [
        (
            ReviewReason.ACCOUNT_UNCLEAR,
            f"private: {value.source} — reject as private, or book it if it is business",
        )
    ]


def _counter(
    doc_type: DocType,
    ctx: DocumentContext,
    issues: list[tuple[ReviewReason, str]],
    learned: Learned | None = None,
) -> tuple[str, PaymentChoice | None]:
    if doc_type is not DocType.RECEIPT:
        return PAYABLES, None
    payment = payment_method(ctx, learned.payment_method if learned else None)
    if payment.method is None:
        issues.append((ReviewReason.PAYMENT_METHOD_UNKNOWN, "payment method unknown"))
        return PAYABLES, payment
    if payment.method is PaymentMethod.PRIVATE:
        issues.append(
            (
                ReviewReason.ACCOUNT_UNCLEAR,
                "paid privately: the owner's current account is to be chosen",
            )
        )
        return PAYABLES, payment
    return COUNTER_BY_PAYMENT.get(payment.method, PAYABLES), payment
