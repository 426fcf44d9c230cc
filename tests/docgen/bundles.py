"""Files that hold more than one document: an invoice followed by an unrelated letter."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from .drafts import build_pdf
from .invoices import build_invoice
from .letters import build_letter
from .model import Company, GeneratedDocument, Rng, resolve_rng


def invoice_with_letter(
    rng: Rng,
    *,
    supplier: Company | None = None,
    recipient: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    with_qr: bool | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
    invoice_number: str | None = None,
) -> GeneratedDocument:
    """A supplier invoice (its pages first) and then an unrelated letter from another sender.

    `truth` is the invoice's, with `pages` = all pages and `parts` = both page ranges;
    `parts` holds [invoice truth, letter truth], `page_ranges` their pages.
    """
    r, seed = resolve_rng(rng)
    invoice = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=with_qr,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
    ).draft
    letter = build_letter(
        r, kind="letter", recipient=invoice.data.recipient, issue_date=invoice.data.issue_date
    )
    data, ranges = build_pdf([invoice, letter], seed)
    parts = [invoice.truth, letter.truth]
    truth = replace(
        invoice.truth,
        pages=ranges[-1][1],
        parts=list(ranges),
        printed=dict(invoice.truth.printed),
        extra=dict(invoice.truth.extra),
    )
    return GeneratedDocument(
        data=data,
        filename=invoice.filename,
        media_type="application/pdf",
        truth=truth,
        copy="text",
        seed=seed,
        parts=parts,
        page_ranges=ranges,
    )
