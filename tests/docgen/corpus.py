"""A reproducible mixed pile of documents, as a fiduciary's inbox sees it (benchmarks)."""

from __future__ import annotations

import random
from collections.abc import Callable

from .bundles import invoice_with_letter
from .degrade import photo, scan
from .einvoice import facturx_invoice, xrechnung_xml
from .invoices import credit_note, customer_invoice, reminder, supplier_invoice
from .letters import letter
from .model import GeneratedDocument
from .receipts import multi_receipt_pdf, receipt
from .statements import bank_statement, payslip

MAKERS: dict[str, Callable[[int], GeneratedDocument]] = {
    "supplier_invoice": supplier_invoice,
    "receipt": receipt,
    "credit_note": credit_note,
    "reminder": reminder,
    "bank_statement": bank_statement,
    "payslip": payslip,
    "letter": letter,
    "customer_invoice": customer_invoice,
    "facturx_invoice": facturx_invoice,
    "xrechnung_xml": xrechnung_xml,
    "multi_receipt_pdf": multi_receipt_pdf,
    "invoice_with_letter": invoice_with_letter,
}

# Mostly supplier invoices and receipts, as in a real fiduciary inbox.
DEFAULT_MIX: dict[str, float] = {
    "supplier_invoice": 38,
    "receipt": 24,
    "credit_note": 5,
    "reminder": 5,
    "bank_statement": 4,
    "payslip": 4,
    "letter": 6,
    "customer_invoice": 5,
    "facturx_invoice": 3,
    "xrechnung_xml": 2,
    "multi_receipt_pdf": 2,
    "invoice_with_letter": 2,
}
# How the clean PDF reaches the fiduciary: as generated, scanned, or photographed.
DEFAULT_COPIES: dict[str, float] = {"text": 55, "scan": 28, "photo": 17}


def corpus(
    n: int,
    seed: int = 0,
    mix: dict[str, float] | None = None,
    copies: dict[str, float] | None = None,
) -> list[GeneratedDocument]:
    """`n` varied documents; the same (n, seed, mix, copies) gives the same bytes.

    `mix` weighs the kinds (keys of `MAKERS`), `copies` the forms "text" / "scan" /
    "photo". Photos are only taken of single-page documents; XML stays XML. Each
    document's `seed` rebuilds it alone with its maker.
    """
    mix = DEFAULT_MIX if mix is None else mix
    copies = DEFAULT_COPIES if copies is None else copies
    unknown = set(mix) - set(MAKERS) | set(copies) - set(DEFAULT_COPIES)
    if unknown:
        raise ValueError(f"unknown corpus keys: {sorted(unknown)}")
    kinds = [k for k in MAKERS if mix.get(k, 0) > 0]
    if not kinds:
        raise ValueError("mix gives every kind weight 0")
    forms = [f for f in DEFAULT_COPIES if copies.get(f, 0) > 0] or ["text"]
    master = random.Random(seed)
    out: list[GeneratedDocument] = []
    for _ in range(n):
        kind = master.choices(kinds, weights=[mix[k] for k in kinds])[0]
        doc = MAKERS[kind](master.getrandbits(32))
        form = master.choices(forms, weights=[copies.get(f, 1) for f in forms])[0]
        degrade_seed = master.getrandbits(32)
        if doc.media_type != "application/pdf" or form == "text":
            out.append(doc)
        elif form == "photo" and doc.truth.pages == 1 and not doc.parts:
            out.append(photo(doc, degrade_seed))
        else:
            dpi = random.Random(degrade_seed).choice((150, 200, 200, 300))
            out.append(scan(doc, degrade_seed, dpi=dpi))
    return out
