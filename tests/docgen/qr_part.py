"""The Swiss QR-bill payment part (SIX IG v2.3): payload via `qrbill`, drawing by us.

`qrbill` builds and validates the payload (`QRBill.qr_data()`); we draw the receipt and
payment part ourselves into the PDF so the text stays a real text layer and the code a
vector image, as invoicing software does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import qrbill
from reportlab.lib.colors import black

from .model import Company
from .pdfkit import Pen, draw_qr
from .swiss_formats import format_iban, format_rate, format_reference, s1_date

PART_TOP = 192.0  # the payment part is the bottom 105 mm of an A4 page

_EN_LABELS = {key: key for key in qrbill.bill.LABELS}


def label(key: str, language: str) -> str:
    if language == "en":
        return _EN_LABELS[key]
    return qrbill.bill.LABELS[key][language]


def _s1_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("/", "\\/")


def swico_s1(
    invoice_no: str,
    issue_date: date,
    uid: str | None,
    vat: list[dict[str, Decimal]],
    terms: list[tuple[Decimal, int]],
    customer_ref: str | None = None,
) -> str:
    """Swico S1 billing information: //S1/10/<no>/11/<YYMMDD>/30/<uid9>/32/<vat>/40/<terms>."""
    parts = [f"/10/{_s1_escape(invoice_no)}", f"/11/{s1_date(issue_date)}"]
    if customer_ref:
        parts.append(f"/20/{_s1_escape(customer_ref)}")
    if uid:
        parts.append("/30/" + "".join(ch for ch in uid if ch.isdigit()))
    if vat:
        if len(vat) == 1:
            parts.append(f"/32/{format_rate(vat[0]['rate'])}")
        else:
            parts.append(
                "/32/" + ";".join(f"{format_rate(v['rate'])}:{v['base']:.2f}" for v in vat)
            )
    if terms:
        parts.append("/40/" + ";".join(f"{format_rate(Decimal(p))}:{days}" for p, days in terms))
    return "//S1" + "".join(parts)


def _qr_address(company: Company) -> dict[str, str]:
    return {
        "name": company.name[:70],
        "street": company.street,
        "house_num": company.house_no,
        "pcode": company.postcode,
        "city": company.city,
        "country": company.country,
    }


@dataclass
class QrBillSpec:
    language: str
    account: str  # compact IBAN or QR-IBAN
    creditor: Company
    amount: Decimal | None
    currency: str
    debtor: Company | None
    reference: str | None
    message: str = ""
    billing: str = ""
    alt_procs: tuple[str, ...] = field(default_factory=tuple)

    def bill(self) -> qrbill.QRBill:
        return qrbill.QRBill(
            account=self.account,
            creditor=_qr_address(self.creditor),
            amount=None if self.amount is None else f"{self.amount:.2f}",
            currency=self.currency,
            debtor=_qr_address(self.debtor) if self.debtor else None,
            reference_number=self.reference,
            additional_information=self.message,
            billing_information=self.billing,
            alt_procs=self.alt_procs,
            language=self.language if self.language in ("de", "fr", "it", "en") else "en",
        )

    def payload(self) -> str:
        return self.bill().qr_data()


def _amount_text(amount: Decimal) -> str:
    # The payment part groups thousands with a space (SIX IG 3.5.3).
    return f"{amount:,.2f}".replace(",", " ")


def _hard_wrap(pen: Pen, text: str, width: float, size: float, font: str) -> list[str]:
    """Wrap at spaces, and inside long tokens (S1 strings have no spaces)."""
    out: list[str] = []
    for line in _wrap(pen, text, width, size, font):
        while pen.width(line, size, font=font) > width:
            cut = len(line)
            while cut > 1 and pen.width(line[:cut], size, font=font) > width:
                cut -= 1
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def draw_payment_part(pen: Pen, spec: QrBillSpec, font: str = "Helvetica") -> None:
    """Receipt (62 mm) and payment part (148 mm) in the bottom 105 mm of the page."""
    lang = spec.language
    top = PART_TOP
    bold = "Helvetica-Bold" if font == "Helvetica" else pen.fonts.bold
    pen.line(0, top, 210, top, 0.2, black, dash=(2, 2))
    pen.line(62, top, 62, 297, 0.2, black, dash=(2, 2))
    pen.text(105, top - 1.5, label("Separate before paying in", lang), 6, align="center", font=font)

    account_lines = [format_iban(spec.account), *spec.creditor.address_lines()[:3]]
    debtor_lines = spec.debtor.address_lines()[:3] if spec.debtor else []
    ref = format_reference(spec.reference) if spec.reference else None

    # Receipt
    x = 5.0
    pen.text(x, top + 9, label("Receipt", lang), 11, font=bold)
    y = top + 14
    y = _section(pen, x, y, label("Account / Payable to", lang), account_lines, 6, 8, bold, font)
    if ref:
        y = _section(pen, x, y, label("Reference", lang), [ref], 6, 8, bold, font)
    if debtor_lines:
        _section(pen, x, y, label("Payable by", lang), debtor_lines, 6, 8, bold, font)
    pen.text(x, top + 68, label("Currency", lang), 6, font=bold)
    pen.text(x + 14, top + 68, label("Amount", lang), 6, font=bold)
    pen.text(x, top + 72, spec.currency, 8, font=font)
    if spec.amount is not None:
        pen.text(x + 14, top + 72, _amount_text(spec.amount), 8, font=font)
    pen.text(57, top + 82, label("Acceptance point", lang), 6, align="right", font=bold)

    # Payment part
    x = 67.0
    pen.text(x, top + 9, label("Payment part", lang), 11, font=bold)
    draw_qr(pen, spec.payload(), x, top + 17, 46.0)
    pen.text(x, top + 68, label("Currency", lang), 8, font=bold)
    pen.text(x + 16, top + 68, label("Amount", lang), 8, font=bold)
    pen.text(x, top + 73, spec.currency, 10, font=font)
    if spec.amount is not None:
        pen.text(x + 16, top + 73, _amount_text(spec.amount), 10, font=font)

    x = 118.0
    y = top + 9
    y = _section(pen, x, y, label("Account / Payable to", lang), account_lines, 8, 10, bold, font)
    if ref:
        y = _section(pen, x, y, label("Reference", lang), [ref], 8, 10, bold, font)
    info = [line for line in (spec.message, spec.billing) if line]
    if info:
        y = _section(pen, x, y, label("Additional information", lang), info, 8, 10, bold, font)
    if debtor_lines:
        _section(pen, x, y, label("Payable by", lang), debtor_lines, 8, 10, bold, font)


def _wrap(pen: Pen, text: str, width: float, size: float, font: str) -> list[str]:
    out: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if not line or pen.width(candidate, size, font=font) <= width:
            line = candidate
        else:
            out.append(line)
            line = word
    out.append(line)
    return out


def _section(
    pen: Pen,
    x: float,
    y: float,
    heading: str,
    lines: list[str],
    head_size: float,
    size: float,
    bold: str,
    font: str,
) -> float:
    width = 52.0 if x < 62 else 87.0
    pen.text(x, y, heading, head_size, font=bold)
    y += size * 0.3528 * 1.1
    for line in (w for raw in lines for w in _hard_wrap(pen, raw, width, size, font)):
        pen.text(x, y, line, size, font=font)
        y += size * 0.3528 * 1.1
    return y + size * 0.3528 * 0.9
