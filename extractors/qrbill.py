"""Swiss QR-bill payload (SIX IG v2.3) and Swico S1 billing information -> `QrBill`.

No parser exists on PyPI (`qrbill` only generates), so this is ours. Tolerant of what
circulates (CR LF or LF, a trailing newline, 31-34 lines, address types S and K),
strict where a wrong value would cost money (IBAN, amount, reference check digits).
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, Field

from extractors.fields.dates import parse_yymmdd
from extractors.fields.iban import is_qr_iban, is_valid_iban
from extractors.fields.references import is_valid_qrr, is_valid_scor
from extractors.fields.uid import format_uid, is_valid_uid_digits


class QrBillError(ValueError):
    """The text is not a valid Swiss QR-bill payload."""


class QrAddress(BaseModel):
    address_type: str  # S structured, K combined
    name: str
    street: str | None = None  # S: street; K: address line 1
    house_no: str | None = None  # S: house number; K: address line 2 (postcode + town)
    postcode: str | None = None
    city: str | None = None
    country: str | None = None

    @property
    def lines(self) -> list[str]:
        if self.address_type == "K":
            return [x for x in (self.street, self.house_no) if x]
        street = " ".join(x for x in (self.street, self.house_no) if x)
        town = " ".join(x for x in (self.postcode, self.city) if x)
        return [x for x in (street, town) if x]

    def town_from_combined(self) -> tuple[str | None, str | None]:
        """For K addresses: split line 2 (`8001 Zürich`) into postcode and town."""
        if self.address_type != "K" or not self.house_no:
            return self.postcode, self.city
        m = re.match(r"(?:[A-Z]{1,2}-)?(\d{4,5})\s+(.+)", self.house_no.strip())
        return (m.group(1), m.group(2)) if m else (None, self.house_no)


class VatRate(BaseModel):
    rate: Decimal
    net: Decimal | None = None  # base the rate applies to, when several are listed


class PaymentTerm(BaseModel):
    discount_percent: Decimal
    days: int


class SwicoS1(BaseModel):
    invoice_number: str | None = None
    invoice_date: date | None = None
    customer_reference: str | None = None
    uid: str | None = None  # CHE-123.456.789, only when its check digit is right
    vat_date: date | None = None
    vat_period_end: date | None = None
    vat: list[VatRate] = Field(default_factory=list)
    import_vat: list[VatRate] = Field(default_factory=list)
    terms: list[PaymentTerm] = Field(default_factory=list)

    @property
    def net_days(self) -> int | None:
        """Days until the full amount is due (the term without discount)."""
        days = [t.days for t in self.terms if t.discount_percent == 0]
        return days[0] if days else (max(t.days for t in self.terms) if self.terms else None)


class QrBill(BaseModel):
    version: str
    iban: str
    is_qr_iban: bool
    creditor: QrAddress
    amount: Decimal | None = None
    currency: str
    debtor: QrAddress | None = None
    reference_type: str  # QRR, SCOR, NON
    reference: str | None = None
    message: str | None = None
    billing_information: str | None = None
    alternative_procedures: list[str] = Field(default_factory=list)
    s1: SwicoS1 | None = None


def _address(fields: list[str], what: str, required: bool) -> QrAddress | None:
    kind, name, a, b, postcode, city, country = (f.strip() for f in fields)
    if not any((kind, name, a, b, postcode, city, country)):
        if required:
            raise QrBillError(f"{what}: address missing")
        return None
    if kind not in ("S", "K"):
        raise QrBillError(f"{what}: address type {kind!r} is neither S nor K")
    if not name:
        raise QrBillError(f"{what}: name missing")
    return QrAddress(
        address_type=kind,
        name=name,
        street=a or None,
        house_no=b or None,
        postcode=postcode or None,
        city=city or None,
        country=country or None,
    )


def _split_lines(payload: str) -> list[str]:
    text = payload.replace("\r\n", "\n").replace("\r", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def parse_qr_payload(payload: str) -> QrBill:
    """Parse and validate one QR-bill payload; raises `QrBillError` when it is not valid."""
    payload = payload.lstrip("\ufeff")
    lines = _split_lines(payload)
    if len(lines) < 31 and len(lines) == 30 and lines[-1].strip() == "EPD":
        lines.append("")  # some generators drop an empty billing-information line
    if not 31 <= len(lines) <= 34:
        raise QrBillError(f"{len(lines)} lines; a QR-bill has 31 to 34")
    if lines[0].strip() != "SPC":
        raise QrBillError("does not start with SPC")
    version = lines[1].strip()
    if not re.fullmatch(r"02\d\d", version):
        raise QrBillError(f"unsupported version {version!r}")
    if lines[2].strip() != "1":
        raise QrBillError(f"unsupported coding {lines[2]!r}")
    iban = re.sub(r"\s", "", lines[3]).upper()
    if iban[:2] not in ("CH", "LI") or len(iban) != 21 or not is_valid_iban(iban):
        raise QrBillError("creditor IBAN is not a valid CH/LI IBAN")
    creditor = _address(lines[4:11], "creditor", required=True)
    assert creditor is not None
    amount_text = lines[18].strip()
    amount: Decimal | None = None
    if amount_text:
        if not re.fullmatch(r"\d{1,9}(?:\.\d{1,2})?", amount_text):
            raise QrBillError(f"amount {amount_text!r} is malformed")
        try:
            amount = Decimal(amount_text).quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise QrBillError(f"amount {amount_text!r} is malformed") from exc
        if amount > Decimal("999999999.99"):
            raise QrBillError("amount too large")
    currency = lines[19].strip().upper()
    if currency not in ("CHF", "EUR"):
        raise QrBillError(f"currency {currency!r} is neither CHF nor EUR")
    debtor = _address(lines[20:27], "debtor", required=False)
    ref_type = lines[27].strip().upper()
    reference = re.sub(r"\s", "", lines[28]) or None
    qr_iban = is_qr_iban(iban)
    if ref_type == "QRR":
        if not qr_iban:
            raise QrBillError("QR reference without a QR-IBAN")
        if not reference or not is_valid_qrr(reference):
            raise QrBillError("QR reference check digit is wrong")
    elif ref_type == "SCOR":
        if qr_iban:
            raise QrBillError("a QR-IBAN requires a QR reference")
        if not reference or not is_valid_scor(reference):
            raise QrBillError("creditor reference (SCOR) check digits are wrong")
        reference = reference.upper()
    elif ref_type == "NON":
        if qr_iban:
            raise QrBillError("a QR-IBAN requires a QR reference")
        if reference:
            raise QrBillError("reference given with type NON")
    else:
        raise QrBillError(f"unknown reference type {ref_type!r}")
    if lines[30].strip() != "EPD":
        raise QrBillError("trailer EPD missing")
    billing = lines[31].strip() if len(lines) > 31 else ""
    return QrBill(
        version=version,
        iban=iban,
        is_qr_iban=qr_iban,
        creditor=creditor,
        amount=amount,
        currency=currency,
        debtor=debtor,
        reference_type=ref_type,
        reference=reference,
        message=lines[29].strip() or None,
        billing_information=billing or None,
        alternative_procedures=[x.strip() for x in lines[32:] if x.strip()],
        s1=parse_swico_s1(billing) if billing.startswith("//S1/") else None,
    )


_UNESCAPED_SLASH = re.compile(r"(?<!\\)/")


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _rate_list(value: str) -> list[VatRate]:
    out = []
    for part in value.split(";"):
        rate_text, _, net_text = part.partition(":")
        rate = _decimal(rate_text)
        if rate is None:
            continue
        out.append(VatRate(rate=rate, net=_decimal(net_text) if net_text else None))
    return out


def parse_swico_s1(text: str) -> SwicoS1 | None:
    """`//S1/10/10201409/11/200701/...` -> SwicoS1; unknown tags and bad values are skipped."""
    if not text.startswith("//S1/"):
        return None
    tokens = [t.replace("\\/", "/").replace("\\\\", "\\") for t in _UNESCAPED_SLASH.split(text[5:])]
    s1 = SwicoS1()
    for i in range(0, len(tokens) - 1, 2):
        tag, value = tokens[i], tokens[i + 1]
        if tag == "10":
            s1.invoice_number = value or None
        elif tag == "11":
            s1.invoice_date = parse_yymmdd(value)
        elif tag == "20":
            s1.customer_reference = value or None
        elif tag == "30":
            digits = re.sub(r"\D", "", value)
            if is_valid_uid_digits(digits):
                s1.uid = format_uid(digits)
        elif tag == "31":
            s1.vat_date = parse_yymmdd(value[:6])
            s1.vat_period_end = parse_yymmdd(value[6:12]) if len(value) >= 12 else None
        elif tag == "32":
            s1.vat = _rate_list(value)
        elif tag == "33":
            s1.import_vat = _rate_list(value)
        elif tag == "40":
            for part in value.split(";"):
                pct, _, days = part.partition(":")
                p = _decimal(pct)
                days = days.strip()
                # ASCII only: str.isdigit() also says yes to "²", and str.strip() removes
                # control characters int() refuses — both found by the fuzzer.
                if p is not None and days.isascii() and days.isdigit():
                    s1.terms.append(PaymentTerm(discount_percent=p, days=int(days)))
    return s1
