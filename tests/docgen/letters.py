"""Documents that are NOT invoices (doc_type "other"): letters, offers, order
confirmations, delivery notes. Several carry amounts or an IBAN on purpose: a careful
reader must still see from the title and wording that nothing is to be paid or booked.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from . import words
from .drafts import Draft, pdf_document, safe_filename
from .identities import swiss_iban
from .invoices import (
    Ctx,
    InvoiceDraft,
    build_invoice,
    item_table,
    total_row,
    vat_rows,
)
from .layouts import Column, fit_columns, render_business_doc
from .model import Company, GeneratedDocument, Rng, Truth, resolve_rng
from .places import SWISS_BANKS
from .swiss_formats import format_iban, place_and_date

LETTER_KINDS = ("letter", "offer", "order_confirmation", "delivery_note")

TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "price_adjustment": {
        "de": (
            "Preisanpassung per 1. Januar {year}",
            "Aufgrund gestiegener Material- und Energiekosten sehen wir uns gezwungen, unsere "
            "Preise per 1. Januar {year} um durchschnittlich {pct}% anzupassen.",
            "Die neue Preisliste finden Sie in der Beilage. Für Fragen stehen wir Ihnen "
            "jederzeit gerne zur Verfügung.",
            "Wir danken Ihnen für Ihr Verständnis und die langjährige Treue.",
        ),
        "fr": (
            "Adaptation des prix au 1er janvier {year}",
            "En raison de la hausse des coûts des matériaux et de l'énergie, nous sommes "
            "contraints d'adapter nos prix de {pct}% en moyenne au 1er janvier {year}.",
            "Vous trouverez la nouvelle liste de prix en annexe. Nous restons à votre "
            "disposition pour toute question.",
            "Nous vous remercions de votre compréhension et de votre fidélité.",
        ),
        "it": (
            "Adeguamento dei prezzi al 1° gennaio {year}",
            "A causa dell'aumento dei costi dei materiali e dell'energia, siamo costretti ad "
            "adeguare i nostri prezzi in media del {pct}% a partire dal 1° gennaio {year}.",
            "In allegato trovate il nuovo listino prezzi. Restiamo volentieri a disposizione "
            "per eventuali domande.",
            "Vi ringraziamo per la comprensione e la fedeltà.",
        ),
        "en": (
            "Price adjustment as of 1 January {year}",
            "Due to higher material and energy costs we have to adjust our prices by {pct}% "
            "on average as of 1 January {year}.",
            "Please find the new price list enclosed. Do not hesitate to contact us with any "
            "questions.",
            "Thank you for your understanding and your loyalty.",
        ),
    },
    "holidays": {
        "de": (
            "Betriebsferien {year}",
            "Wir möchten Sie darüber informieren, dass unser Betrieb vom {start} bis {end} "
            "wegen Betriebsferien geschlossen bleibt.",
            "In dringenden Fällen erreichen Sie unseren Pikettdienst unter {phone}.",
            "Ab dem {back} sind wir gerne wieder für Sie da.",
        ),
        "fr": (
            "Vacances annuelles {year}",
            "Nous vous informons que notre entreprise sera fermée du {start} au {end} pour "
            "cause de vacances annuelles.",
            "En cas d'urgence, notre service de piquet est atteignable au {phone}.",
            "Dès le {back}, nous serons à nouveau à votre service.",
        ),
        "it": (
            "Ferie aziendali {year}",
            "Vi informiamo che la nostra azienda resterà chiusa dal {start} al {end} per "
            "ferie aziendali.",
            "Per urgenze il nostro servizio di picchetto è raggiungibile al numero {phone}.",
            "Dal {back} saremo nuovamente a vostra disposizione.",
        ),
        "en": (
            "Company holidays {year}",
            "Please note that our company will be closed from {start} to {end} for the "
            "annual holidays.",
            "In urgent cases our on-call service can be reached at {phone}.",
            "We will be happy to serve you again from {back}.",
        ),
    },
    "new_bank": {
        "de": (
            "Neue Bankverbindung",
            "Bitte beachten Sie, dass wir unsere Bankverbindung gewechselt haben. Ab sofort "
            "lautet unsere Bankverbindung:",
            "{bank}, IBAN {iban}",
            "Wir bitten Sie, Ihre Stammdaten entsprechend anzupassen. Besten Dank.",
        ),
        "fr": (
            "Nouvelles coordonnées bancaires",
            "Nous vous informons que nous avons changé de banque. Nos nouvelles coordonnées "
            "bancaires sont les suivantes :",
            "{bank}, IBAN {iban}",
            "Nous vous prions d'adapter vos données en conséquence. Merci d'avance.",
        ),
        "it": (
            "Nuove coordinate bancarie",
            "Vi informiamo che abbiamo cambiato banca. Le nostre nuove coordinate bancarie sono:",
            "{bank}, IBAN {iban}",
            "Vi preghiamo di aggiornare i vostri dati di conseguenza. Grazie.",
        ),
        "en": (
            "New bank details",
            "Please note that we have changed our bank. Our new bank details are:",
            "{bank}, IBAN {iban}",
            "Please update your records accordingly. Thank you.",
        ),
    },
    "cancellation": {
        "de": (
            "Bestätigung Ihrer Kündigung",
            "Wir bestätigen den Eingang Ihrer Kündigung vom {date} für den Vertrag Nr. {no}.",
            "Der Vertrag endet ordentlich per {end}. Bis zu diesem Zeitpunkt bleiben "
            "sämtliche Leistungen bestehen.",
            "Wir bedauern Ihren Entscheid und danken Ihnen für das entgegengebrachte Vertrauen.",
        ),
        "fr": (
            "Confirmation de votre résiliation",
            "Nous accusons réception de votre résiliation du {date} concernant le contrat n° {no}.",
            "Le contrat prendra fin au {end}. Jusqu'à cette date, toutes les prestations "
            "restent assurées.",
            "Nous regrettons votre décision et vous remercions de votre confiance.",
        ),
        "it": (
            "Conferma della vostra disdetta",
            "Confermiamo la ricezione della vostra disdetta del {date} relativa al contratto "
            "n. {no}.",
            "Il contratto termina il {end}. Fino a tale data tutte le prestazioni restano "
            "garantite.",
            "Ci dispiace per la vostra decisione e vi ringraziamo per la fiducia.",
        ),
        "en": (
            "Confirmation of your cancellation",
            "We confirm receipt of your cancellation of {date} for contract no. {no}.",
            "The contract ends on {end}. Until then all services remain in place.",
            "We regret your decision and thank you for your trust.",
        ),
    },
}

BUSINESS = {
    "offer": {
        "title": {"de": "Offerte", "fr": "Offre", "it": "Offerta", "en": "Quotation"},
        "no": {"de": "Offerte Nr.", "fr": "Offre n°", "it": "Offerta n.", "en": "Quotation no."},
        "intro": {
            "de": "Besten Dank für Ihre Anfrage. Gerne unterbreiten wir Ihnen folgende Offerte:",
            "fr": "Nous vous remercions de votre demande et avons le plaisir de vous "
            "soumettre l'offre suivante :",
            "it": "Vi ringraziamo per la vostra richiesta e vi sottoponiamo la seguente offerta:",
            "en": "Thank you for your enquiry. We are pleased to submit the following quotation:",
        },
        "outro": {
            "de": "Diese Offerte ist gültig bis {date}. Wir freuen uns auf Ihren Auftrag.",
            "fr": "Cette offre est valable jusqu'au {date}. Dans l'attente de votre "
            "commande, nous vous adressons nos meilleures salutations.",
            "it": "La presente offerta è valida fino al {date}. Restiamo in attesa di un "
            "vostro gradito ordine.",
            "en": "This quotation is valid until {date}. We look forward to receiving your order.",
        },
        "total": {
            "de": "Total Offerte",
            "fr": "Total de l'offre",
            "it": "Totale offerta",
            "en": "Quotation total",
        },
    },
    "order_confirmation": {
        "title": {
            "de": "Auftragsbestätigung",
            "fr": "Confirmation de commande",
            "it": "Conferma d'ordine",
            "en": "Order confirmation",
        },
        "no": {
            "de": "AB-Nr.",
            "fr": "Confirmation n°",
            "it": "Conferma n.",
            "en": "Confirmation no.",
        },
        "intro": {
            "de": "Wir danken Ihnen für Ihren Auftrag vom {date}, den wir wie folgt bestätigen:",
            "fr": "Nous vous remercions de votre commande du {date}, que nous confirmons "
            "comme suit :",
            "it": "Vi ringraziamo per il vostro ordine del {date}, che confermiamo come segue:",
            "en": "Thank you for your order of {date}, which we confirm as follows:",
        },
        "outro": {
            "de": "Liefertermin: KW {week}. Die Rechnung erhalten Sie nach erfolgter Lieferung.",
            "fr": "Délai de livraison : semaine {week}. La facture vous parviendra après "
            "la livraison.",
            "it": "Termine di consegna: settimana {week}. La fattura vi sarà inviata dopo "
            "la consegna.",
            "en": "Delivery: week {week}. You will receive the invoice after delivery.",
        },
        "total": {
            "de": "Auftragssumme",
            "fr": "Montant de la commande",
            "it": "Importo dell'ordine",
            "en": "Order total",
        },
    },
    "delivery_note": {
        "title": {
            "de": "Lieferschein",
            "fr": "Bulletin de livraison",
            "it": "Bolla di consegna",
            "en": "Delivery note",
        },
        "no": {
            "de": "Lieferschein Nr.",
            "fr": "Bulletin n°",
            "it": "Bolla n.",
            "en": "Delivery note no.",
        },
        "intro": {
            "de": "Wir liefern Ihnen gemäss Ihrer Bestellung vom {date}:",
            "fr": "Selon votre commande du {date}, nous vous livrons :",
            "it": "Secondo il vostro ordine del {date} vi consegniamo:",
            "en": "As per your order of {date} we deliver:",
        },
        "outro": {
            "de": "Ware in einwandfreiem Zustand erhalten. Datum / Unterschrift: "
            "______________________",
            "fr": "Marchandise reçue en parfait état. Date / signature : ______________________",
            "it": "Merce ricevuta in perfetto stato. Data / firma: ______________________",
            "en": "Goods received in good condition. Date / signature: ______________________",
        },
        "total": {"de": "", "fr": "", "it": "", "en": ""},
    },
}


def _general_letter(r: random.Random, base: InvoiceDraft) -> tuple[dict, Truth]:
    ctx: Ctx = base.ctx
    data = base.data
    lang = ctx.language
    topic = r.choice(list(TOPICS))
    subject, *paras = TOPICS[topic][lang]
    d = ctx.issue_date
    start = date(d.year, 7, r.randint(10, 20)) if d.month < 7 else date(d.year, 12, 22)
    end = start + timedelta(days=r.choice((13, 20)))
    new_iban, new_bank = None, None
    if topic == "new_bank":
        iid, new_bank, _ = r.choice(SWISS_BANKS)
        new_iban = swiss_iban(r, iid=iid)
    values = {
        "year": d.year + 1 if topic == "price_adjustment" else d.year,
        "pct": r.choice(("2.5", "3", "3.5", "4", "5")),
        "start": ctx.d(start),
        "end": ctx.d(end if topic == "holidays" else d + timedelta(days=90)),
        "back": ctx.d(end + timedelta(days=1)),
        "phone": data.supplier.phone,
        "bank": new_bank or "",
        "iban": format_iban(new_iban) if new_iban else "",
        "date": ctx.d(d - timedelta(days=r.randint(2, 12))),
        "no": f"{r.randint(1000, 9999)}-{r.randint(10, 99)}",
    }
    changes = {
        "title": subject.format(**values),
        "intro": [p.format(**values) for p in paras],
        "columns": [],
        "rows": [],
        "totals": [],
        "outro": [],
        "meta": [],
        "qr": None,
        "greeting": ctx.w("greeting"),
        "closing": [ctx.w("closing"), "", data.supplier.name],
        "place_date": place_and_date(data.supplier.city, d, lang, ctx.date_style),
    }
    if topic == "new_bank":
        changes["bank_lines"] = []  # the old account would contradict the letter
    truth_extra = {"letter_kind": "letter", "topic": topic}
    if new_iban:
        truth_extra["new_iban"] = new_iban
    return changes, _letter_truth(base, changes, truth_extra, new_iban)


def _business_letter(r: random.Random, base: InvoiceDraft, kind: str) -> tuple[dict, Truth]:
    ctx, data = base.ctx, base.data
    lang = ctx.language
    spec = BUSINESS[kind]
    number = f"{r.choice(('', 'O-', 'AB-', 'LS-'))}{ctx.issue_date.year}-{r.randint(10, 999):03d}"
    ordered = ctx.issue_date - timedelta(days=r.randint(1, 14))
    intro = spec["intro"][lang].format(date=ctx.d(ordered))
    outro = spec["outro"][lang].format(
        date=ctx.d(ctx.issue_date + timedelta(days=30)),
        week=(ctx.issue_date + timedelta(days=21)).isocalendar()[1],
    )
    extra: dict = {"letter_kind": kind, "document_number": number}
    if kind == "delivery_note":
        cols = [ctx.w("col_pos"), ctx.w("col_desc"), ctx.w("col_qty"), ctx.w("col_unit")]
        widths = fit_columns([10, 110, 20, 26])
        columns = [
            Column(h, w, "right" if i == 2 else "left")
            for i, (h, w) in enumerate(zip(cols, widths, strict=True))
        ]
        rows = [
            [str(i), ln.description, f"{ln.qty.normalize():f}", ln.unit]
            for i, ln in enumerate(data.lines, start=1)
        ]
        totals = []
    else:
        columns, rows = item_table(ctx, data.lines)
        totals = vat_rows(ctx, data)
        row, printed = total_row(ctx, spec["total"][lang], data.total)
        totals.append(row)
        extra["amount"] = data.total
        extra["printed_amount"] = printed
    changes = {
        "title": f"{spec['title'][lang]}",
        "meta": [(spec["no"][lang], number), (words.first("date", lang), ctx.d(ctx.issue_date))],
        "place_date": None,
        "intro": [intro],
        "columns": columns,
        "rows": rows,
        "totals": totals,
        "outro": [outro],
        "qr": None,
        "closing": [ctx.w("closing"), "", data.supplier.name],
        "short_ref": f"{spec['title'][lang]} {number}",
    }
    return changes, _letter_truth(base, changes, extra, None)


def _letter_truth(base: InvoiceDraft, changes: dict, extra: dict, new_iban: str | None) -> Truth:
    data, doc = base.data, base.doc
    bank_lines = changes.get("bank_lines", doc.bank_lines)
    iban = new_iban or (data.supplier.iban if bank_lines else None)
    truth = base.draft.truth
    return Truth(
        doc_type="other",
        language=truth.language,
        supplier_name=truth.supplier_name,
        supplier_uid=truth.supplier_uid,
        supplier_iban=iban,
        invoice_number=None,
        issue_date=data.issue_date,
        due_date=None,
        currency=None,
        total=None,
        vat=[],
        reference=None,
        has_qr=False,
        recipient_name=truth.recipient_name,
        recipient_uid=None,
        recipient_address=truth.recipient_address,
        supplier_address=truth.supplier_address,
        payment_terms=None,
        printed={"title": changes["title"]},
        extra=extra,
    )


def build_letter(
    r: random.Random,
    *,
    kind: str | None = None,
    supplier: Company | None = None,
    recipient: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
) -> Draft:
    kind = kind or r.choices(LETTER_KINDS, weights=(40, 30, 20, 10))[0]
    if kind not in LETTER_KINDS:
        raise ValueError(f"letter kind must be one of {LETTER_KINDS}")
    base = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=False,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
    )
    if kind == "letter":
        changes, truth = _general_letter(r, base)
    else:
        changes, truth = _business_letter(r, base, kind)
    doc = replace(base.doc, **changes)
    title = changes["title"]
    return replace(
        base.draft,
        truth=truth,
        draw=lambda c: render_business_doc(c, doc),
        filename=safe_filename(title.split(" per ")[0])[:40] + ".pdf",
        title=title,
        data=None,
    )


def letter(
    rng: Rng,
    *,
    kind: str | None = None,
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
    """A document that is not to be booked: `kind` "letter" (price change, holidays, new
    bank details, cancellation), "offer", "order_confirmation" or "delivery_note".

    Truth: doc_type "other", `total` None even when amounts are printed (offers carry
    them in `extra["amount"]`), `invoice_number` None, `supplier_iban` only when printed
    (a "new bank details" letter prints the new one). `with_qr`, `invoice_number` are
    ignored.
    """
    del with_qr, invoice_number
    r, seed = resolve_rng(rng)
    draft = build_letter(
        r,
        kind=kind,
        supplier=supplier,
        recipient=recipient,
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
    )
    return pdf_document(draft, seed)
