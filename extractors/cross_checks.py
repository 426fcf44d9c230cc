"""Cross-checks of fields read from the page: net + VAT (or the VAT bases) against the
total, and a QR-bill's amount against the printed total. Agreement raises the confidence
of total and VAT, a failed check lowers it; no value is replaced by a guess.
"""

from decimal import Decimal

from domain.extraction import VatLine
from extractors.field_set import FieldSet
from extractors.qrbill import QrBill
from extractors.reading import Classification


def cross_checks(fs: FieldSet, cls: Classification, qr: QrBill | None) -> None:
    total = fs.get("total")
    if total is None:
        return
    vat: list[VatLine] = fs.get("vat") or []
    net = fs.net
    amounts = [v.amount for v in vat if v.amount is not None]
    bases = [v.base for v in vat if v.base is not None]
    checks = []
    # Only the bases and amounts adding up to the total vouch for the VAT lines: a QR-bill
    # agreeing with the total, or net + VAT where a base is missing, say nothing of them.
    vat_checked = False
    if vat and amounts:
        if bases and len(bases) == len(vat):
            # India's CGST and SGST tax one base at the same rate twice: count it once.
            bases = [base for _rate, base in {(v.rate, v.base) for v in vat if v.base is not None}]
            checks.append(abs(sum(bases) + sum(amounts) - abs(total)) <= Decimal("0.05"))
            vat_checked = True
        elif net is not None:
            checks.append(abs(net + sum(amounts) - abs(total)) <= Decimal("0.05"))
    if qr is not None and qr.amount is not None and fs.picks["total"].source != "qr":
        checks.append(qr.amount == abs(total))
    if not checks:
        return
    if all(checks):
        fs.adjust("total", max(fs.conf("total"), 0.97))
        if vat and vat_checked:
            fs.adjust("vat", max(fs.conf("vat"), 0.95))
    else:
        fs.adjust("total", fs.conf("total") * 0.6)
        if vat:
            fs.adjust("vat", fs.conf("vat") * 0.6)
