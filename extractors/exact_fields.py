"""Fields from exact data: the Swiss QR-bill's validated payload and the e-invoice XML.

XML values win over the page's (`EXACT`), QR-bill values compete with high confidence;
`xml_checks` holds the e-invoice against itself (VAT breakdown against total, QR amount
against total) and lowers the confidence of exact values that contradict each other.
"""

import re
from decimal import Decimal
from typing import Any

from domain.extraction import Address, Box, Recipient, VatLine
from domain.money import to_money
from extractors.field_set import FieldSet
from extractors.fields.references import find_references
from extractors.fields.terms import due_from_terms, find_term_days
from extractors.fields.uid import find_uids
from extractors.fields.vat import vat_matches
from extractors.qrbill import QrBill, QrBillError, parse_qr_payload
from extractors.reading import EInvoice, Reading


def qr_bill(reading: Reading, part: tuple[int, int] | None) -> tuple[QrBill | None, Box | None]:
    for code in reading.qr_codes:
        if part and not part[0] <= code.page <= part[1]:
            continue
        try:
            return parse_qr_payload(code.payload), code.box
        except QrBillError:
            continue
    if not reading.qr_codes:
        for payload in reading.qr_payloads:
            try:
                return parse_qr_payload(payload), None
            except QrBillError:
                continue
    return None, None


def qr_fields(fs: FieldSet, qr: QrBill, box: Box | None, reminder: bool = False) -> None:
    fs.offer("supplier_iban", qr.iban, 0.98, box, "qr")
    if qr.amount is not None:
        fs.offer("total", qr.amount, 0.97, box, "qr")
    fs.offer("currency", qr.currency, 0.98, box, "qr")
    if qr.reference:
        fs.offer("reference", qr.reference, 0.98, box, "qr")
    fs.offer("supplier_name", qr.creditor.name, 0.93, box, "qr")
    postcode, city = qr.creditor.town_from_combined()
    addr = Address(
        name=qr.creditor.name,
        street=" ".join(x for x in (qr.creditor.street, qr.creditor.house_no) if x) or None
        if qr.creditor.address_type == "S"
        else qr.creditor.street,
        postcode=postcode,
        city=city,
        country=qr.creditor.country,
        lines=qr.creditor.lines,
    )
    fs.set("supplier_address", addr, 0.95, box, "qr")
    if qr.debtor is not None:
        d_post, d_city = qr.debtor.town_from_combined()
        old = fs.get("recipient")
        rec = Recipient(
            name=qr.debtor.name,
            address=Address(
                name=qr.debtor.name,
                street=" ".join(x for x in (qr.debtor.street, qr.debtor.house_no) if x) or None
                if qr.debtor.address_type == "S"
                else qr.debtor.street,
                postcode=d_post,
                city=d_city,
                country=qr.debtor.country,
                lines=qr.debtor.lines,
            ),
            uid=old.uid if old is not None else None,
        )
        fs.set("recipient", rec, 0.95, box, "qr")
    s1 = qr.s1
    if s1 is None:
        return
    if s1.invoice_number:
        fs.offer("invoice_number", s1.invoice_number, 0.95, box, "qr")
    if reminder:
        return  # S1 describes the invoice being reminded of: its date and terms are old
    if s1.invoice_date:
        fs.offer("issue_date", s1.invoice_date, 0.95, box, "qr")
    if s1.uid:
        fs.offer("supplier_uid", s1.uid, 0.95, box, "qr")
    if s1.net_days is not None:
        fs.offer(
            "payment_terms",
            f"{s1.net_days} days net"
            if len(s1.terms) <= 1
            else ";".join(f"{t.discount_percent}%:{t.days}" for t in s1.terms),
            0.95,
            box,
            "qr",
        )
        issue = s1.invoice_date or fs.get("issue_date")
        due = due_from_terms(issue, s1.net_days)
        if due is not None:
            fs.offer("due_date", due, 0.9, box, "qr")
    if s1.vat:
        text_vat = {v.rate: v for v in fs.get("vat") or []}
        lines = []
        for v in s1.vat:
            printed = text_vat.get(v.rate)
            base = to_money(v.net) if v.net is not None else (printed.base if printed else None)
            amount = printed.amount if printed else None
            if amount is None and base is not None:
                amount = to_money(base * v.rate / 100)
            lines.append(VatLine(rate=v.rate, base=base, amount=amount))
        checked = all(
            lv.base is not None
            and lv.amount is not None
            and vat_matches(lv.base, lv.rate, lv.amount)
            for lv in lines
        )
        same_rates = set(text_vat) == {v.rate for v in s1.vat}
        if same_rates and checked:
            # The QR confirms the rates; the printed amounts check out arithmetically.
            fs.set("vat", lines, max(fs.conf("vat"), 0.93), fs.picks["vat"].box, "qr")
        elif len(s1.vat) > 1 or text_vat or all(v.net is not None for v in s1.vat):
            fs.set("vat", lines, 0.75 if checked else 0.45, box, "qr")


EXACT = 1.0  # a value the e-invoice XML states
_DERIVED = 0.85  # computed from the XML's own facts (issue date + its payment terms)


def _exact(fs: FieldSet, name: str, value: Any, conf: float = EXACT) -> None:
    """The XML's value wins over the page's; where the page shows the same value, the
    box where it stands is kept so a reviewer is shown the spot."""
    if value is None or value == "":
        return
    old = fs.picks.get(name)
    same = old is not None and (
        old.value == value
        or (name == "total" and isinstance(old.value, Decimal) and abs(old.value) == value)
    )
    fs.set(name, value, conf, old.box if same and old else None, "xml")


def xml_fields(fs: FieldSet, xml: EInvoice) -> None:
    seller = xml.seller
    _exact(fs, "supplier_name", seller.name)
    # Only a Swiss UID goes into `supplier_uid`: routing reads any nine digits there as
    # one, and a German VAT number has nine.
    for candidate in (seller.vat_id, *seller.tax_ids, seller.legal_id):
        uids = find_uids(str(candidate or ""))
        if uids:
            _exact(fs, "supplier_uid", uids[0][0])
            break
    if xml.iban and xml.iban_valid:
        _exact(fs, "supplier_iban", xml.iban)
    elif xml.iban:
        # Check digits that do not hold: the page may show the right one.
        fs.offer("supplier_iban", xml.iban, 0.5, None, "xml")
    _exact(fs, "invoice_number", xml.invoice_number)
    _exact(fs, "issue_date", xml.issue_date)
    _exact(fs, "due_date", xml.due_date)
    if xml.due_date is None and xml.issue_date is not None:
        _due_from_xml_terms(fs, xml)
    _exact(fs, "currency", xml.currency)
    if xml.total is not None:
        # The sign follows the document type (credit notes negative), set by the caller.
        _exact(fs, "total", to_money(abs(xml.total)))
    if xml.vat:
        _exact(
            fs,
            "vat",
            [
                VatLine(
                    rate=v.rate,
                    base=to_money(v.base) if v.base is not None else None,
                    amount=to_money(v.amount) if v.amount is not None else None,
                )
                for v in xml.vat
            ],
        )
    _exact(fs, "payment_terms", xml.payment_terms)
    if seller.name or seller.city:
        _exact(
            fs,
            "supplier_address",
            Address(
                name=seller.name,
                street=seller.street,
                postcode=seller.postcode,
                city=seller.city,
                country=seller.country,
            ),
        )
    buyer = xml.buyer
    if buyer.name:
        buids = find_uids(" ".join(str(v or "") for v in (buyer.vat_id, *buyer.tax_ids)))
        _exact(
            fs,
            "recipient",
            Recipient(
                name=buyer.name,
                address=Address(
                    name=buyer.name,
                    street=buyer.street,
                    postcode=buyer.postcode,
                    city=buyer.city,
                    country=buyer.country,
                ),
                uid=buids[0][0] if buids else None,
            ),
        )
    if xml.remittance:
        # `reference` is a structured payment reference (QR reference or ISO 11649 creditor
        # reference); free remittance text ("Rechnung 4711") is not one.
        refs = find_references(xml.remittance)
        if refs:
            _exact(fs, "reference", refs[0][1])


# Terms that are no net term: a cash discount's period ("2% Skonto innerhalb 10 Tagen").
_DISCOUNT_TERMS = re.compile(r"skonto|escompte|sconto|discount|rabatt|%")
_IMMEDIATE_TERMS = re.compile(
    r"sofort|umgehend|immediate|upon\s+receipt|on\s+receipt|[aà]\s+r[eé]ception|"
    r"d[eè]s\s+r[eé]ception|immediatamente|a\s+vista"
)


def _net_term_days(terms: str) -> int | None:
    """The net payment term of an e-invoice's terms text, in days (0: at once)."""
    days: list[int] = []
    for clause in re.split(r"[;\n]|,\s|\.\s", terms):
        if not _DISCOUNT_TERMS.search(clause.lower()):
            days.extend(d for d, _ in find_term_days(clause))
    if days:
        return max(days)
    return 0 if _IMMEDIATE_TERMS.search(terms.lower()) else None


def _due_from_xml_terms(fs: FieldSet, xml: EInvoice) -> None:
    """No due date in the XML: its issue date plus the net term of its payment terms
    ("30 Tage netto"); only an XML without terms borrows the term the page states. A due
    date the page computed from terms the XML does not state gives way."""
    if xml.payment_terms:
        days, source = _net_term_days(xml.payment_terms), "xml"
    else:
        days, source = fs.term_days, "terms"
    due = due_from_terms(xml.issue_date, days)
    old = fs.picks.get("due_date")
    if due is not None and (old is None or old.source in ("terms", "xml") or old.value == due):
        fs.set("due_date", due, _DERIVED, old.box if old and old.value == due else None, source)
    elif due is None and old is not None and old.source == "terms":
        fs.picks.pop("due_date")


def xml_checks(fs: FieldSet, xml: EInvoice, qr: QrBill | None) -> None:
    """The e-invoice against itself: its VAT breakdown (or net + VAT) adds up to its gross
    total, and a QR-bill on its page asks for that total or the amount due. Exact values
    that contradict each other are still what the XML says, but not to be posted unseen."""
    total = xml.total
    if total is None:
        return
    checks = []
    bases = [v.base for v in xml.vat if v.base is not None]
    amounts = [v.amount for v in xml.vat if v.amount is not None]
    if xml.vat and len(bases) == len(amounts) == len(xml.vat):
        checks.append(abs(sum(bases) + sum(amounts) - total) <= Decimal("0.05"))
    elif xml.net is not None and xml.vat_total is not None:
        checks.append(abs(xml.net + xml.vat_total - total) <= Decimal("0.05"))
    if qr is not None and qr.amount is not None:
        asked = {abs(total)} | ({abs(xml.amount_due)} if xml.amount_due is not None else set())
        checks.append(qr.amount in asked)
    if all(checks):
        return
    for name in ("total", "vat"):
        pick = fs.picks.get(name)
        if pick is not None and pick.source == "xml":
            pick.conf = round(pick.conf * 0.6, 3)
