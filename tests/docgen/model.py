"""The data classes every generator returns: `Company`, `Truth`, `GeneratedDocument`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any, Literal

DocType = Literal[
    "supplier_invoice",
    "receipt",
    "credit_note",
    "reminder",
    "bank_statement",
    "payslip",
    "customer_invoice",
    "other",
]
Copy = Literal["text", "scan", "photo", "xml"]
Rng = random.Random | int


def resolve_rng(rng: Rng) -> tuple[random.Random, int]:
    """A private generator and the seed that rebuilds it.

    An int is the seed itself; a `Random` hands out a sub-seed, so every document of a
    corpus can be rebuilt alone from `GeneratedDocument.seed` (with the same overrides).
    """
    seed = rng.getrandbits(32) if isinstance(rng, random.Random) else int(rng)
    return random.Random(seed), seed


@dataclass
class Company:
    name: str
    street: str
    house_no: str
    postcode: str
    city: str
    country: str  # ISO: CH, DE, AT, FR, IT, LI
    uid: str | None  # Swiss UID "CHE-123.456.789" (valid check digit) or None
    iban: str | None  # compact, valid mod 97 (None: unknown, e.g. a hand-made recipient)
    qr_iban: str | None = None  # compact, IID 30000-31999
    email: str = ""
    phone: str = ""
    eu_vat: str | None = None  # e.g. "DE123456789", "ATU12345678" (EU suppliers only)
    language: str = "de"  # language of the company's region: de / fr / it / en
    trade: str = "general"  # key into catalog.TRADES
    legal_form: str = ""  # AG, GmbH, SA, Sàrl, Sagl, Einzelfirma, ...
    vat_registered: bool = True  # False: small business below the VAT threshold
    bank_name: str = ""
    website: str = ""
    contact: str | None = None  # "Frau Anna Meier" for a "z.H." line in the window

    @property
    def street_line(self) -> str:
        if not self.house_no:
            return self.street
        if self.country == "FR":  # France writes the number first; Swiss Romands do not
            return f"{self.house_no} {self.street}"
        return f"{self.street} {self.house_no}"

    @property
    def town_line(self) -> str:
        return f"{self.postcode} {self.city}"

    def address_lines(self, *, abroad_from: str = "CH") -> list[str]:
        """Name, street, town and, when the company is abroad, the country line."""
        lines = [self.name, self.street_line, self.town_line]
        if self.country != abroad_from:
            lines.append(COUNTRY_NAMES[self.country])
        return lines


COUNTRY_NAMES = {
    "CH": "Schweiz",
    "DE": "Deutschland",
    "AT": "Österreich",
    "FR": "France",
    "IT": "Italia",
    "LI": "Liechtenstein",
}


@dataclass
class Truth:
    """What a perfect reader extracts from the document (mirrors `domain.Extraction`)."""

    doc_type: DocType
    language: str
    supplier_name: str | None = None
    supplier_uid: str | None = None  # CHE-123.456.789
    supplier_iban: str | None = None  # compact; the QR-IBAN when the QR-bill carries one
    invoice_number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    total: Decimal | None = None  # 2 places, negative for credit notes
    vat: list[dict[str, Decimal]] = field(default_factory=list)  # {rate, base, amount}
    reference: str | None = None  # QRR (27 digits) or SCOR (RF...), compact
    has_qr: bool = False
    recipient_name: str | None = None
    recipient_uid: str | None = None
    recipient_address: list[str] = field(default_factory=list)
    supplier_address: list[str] = field(default_factory=list)
    payment_terms: str | None = None
    pages: int = 1
    # Page ranges (1-based, inclusive) when one file holds several documents.
    parts: list[tuple[int, int]] = field(default_factory=list)
    # Exact strings as printed (e.g. "total": "CHF 1'234.50"), for parser tests.
    printed: dict[str, str] = field(default_factory=dict)
    # Kind-specific ground truth (statement transactions, payslip lines, ...).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-able: money as "1234.50", rates as "8.1", dates ISO."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class GeneratedDocument:
    data: bytes
    filename: str
    media_type: str  # application/pdf, image/jpeg, image/png, application/xml
    truth: Truth
    copy: Copy
    seed: int
    # When one file holds several documents: each one's truth and page range.
    parts: list[Truth] = field(default_factory=list)
    page_ranges: list[tuple[int, int]] = field(default_factory=list)
