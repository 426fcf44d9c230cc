"""A fiduciary's firm and a generated inbox for it, shared by the benchmark and the drills.

The documents are addressed to the firm's own clients (invoice control passes) and come
from suppliers the firm partly knows, so that processing ends in real bookings and tasks:
posted bookings for the offline clients, release tasks with draft bookings for the
online ones, review tasks where the reading is not certain.

    firm = Firm.make(seed)                 # clients, suppliers, tokens, inbound addresses
    docs = inbox(firm, 200, seed)          # 60 % text PDFs, 25 % scans, 15 % photos
    firm.master_data()                     # what `fiduflow setup load` takes (a dict)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bench.common import ROOT  # noqa: F401 - puts the repository on sys.path

# Kinds of the issue's mix (invoices, receipts, credit notes, statements) and their weights.
KINDS: dict[str, float] = {
    "supplier_invoice": 45,
    "receipt": 30,
    "credit_note": 10,
    "bank_statement": 15,
}
# How the documents reach the fiduciary (the issue's 60 / 25 / 15).
FORMS: dict[str, float] = {"text": 60, "scan": 25, "photo": 15}
CLIENT_MODES = ("offline", "online", "offline", "online")


@dataclass
class FirmClient:
    id: str
    mode: str
    company: Any  # tests.docgen.Company
    inbound: str
    token: str
    suppliers: list[str]


@dataclass
class Firm:
    clients: list[FirmClient]
    suppliers: dict[str, Any]  # id → Company
    staff_token: str = "bench-staff-token"  # noqa: S105 - a generated test firm
    unknown_suppliers: list[Any] = field(default_factory=list)

    @classmethod
    def make(cls, seed: int = 7, clients: int = 4) -> Firm:
        from tests.docgen import random_client_company, random_company

        rng = random.Random(seed)
        suppliers = {f"S{n:03d}": random_company(rng.getrandbits(32)) for n in range(1, 9)}
        # Suppliers nobody knows yet: their invoices become "confirm supplier" tasks.
        unknown = [random_company(rng.getrandbits(32)) for _ in range(3)]
        ids = list(suppliers)
        members = []
        for n in range(clients):
            company = random_client_company(rng.getrandbits(32))
            members.append(
                FirmClient(
                    id=f"C{n + 1:02d}",
                    mode=CLIENT_MODES[n % len(CLIENT_MODES)],
                    company=company,
                    inbound=f"c{n + 1:02d}-{rng.getrandbits(32):08x}@in.bench.example",
                    token=f"bench-token-c{n + 1:02d}",
                    suppliers=rng.sample(ids, 5),
                )
            )
        return cls(clients=members, suppliers=suppliers, unknown_suppliers=unknown)

    def client(self, client_id: str) -> FirmClient:
        return next(c for c in self.clients if c.id == client_id)

    def master_data(self) -> dict[str, Any]:
        def address(company: Any) -> dict[str, str]:
            return {
                "street": company.street_line,
                "postcode": company.postcode,
                "city": company.city,
                "country": company.country,
            }

        return {
            "fiduciary": {"name": "Treuhand Bench AG", "inbound_domain": "in.bench.example"},
            "staff": [{"username": "staff", "token": self.staff_token}],
            "clients": [
                {
                    "id": c.id,
                    "name": c.company.name,
                    "mode": c.mode,
                    "address": address(c.company),
                    "uid": c.company.uid,
                    "iban": c.company.iban,
                    "inbound": c.inbound,
                    "users": [{"username": f"user-{c.id.lower()}", "token": c.token}],
                    "suppliers": c.suppliers,
                }
                for c in self.clients
            ],
            "suppliers": [
                {
                    "id": sid,
                    "name": s.name,
                    "uid": s.uid,
                    "iban": s.iban,
                    "address": address(s),
                }
                for sid, s in self.suppliers.items()
            ],
        }


@dataclass
class InboxDocument:
    index: int
    client_id: str
    kind: str
    form: str  # text | scan | photo
    data: bytes
    filename: str
    media_type: str
    pages: int
    truth: Any  # tests.docgen.Truth

    @property
    def needs_ocr(self) -> bool:
        return self.form != "text"


def make_document(
    firm: Firm, index: int, seed: int, *, kind: str, form: str, client_id: str
) -> InboxDocument:
    """One document of `kind` for `client_id`, as `form` (text, scan or photo)."""
    from tests import docgen

    rng = random.Random(seed)
    client = firm.client(client_id)
    known = [firm.suppliers[s] for s in client.suppliers]
    supplier = rng.choice(known + firm.unknown_suppliers[:1])
    if kind == "receipt":
        doc = docgen.receipt(rng.getrandbits(32))
    elif kind == "bank_statement":
        doc = docgen.bank_statement(rng.getrandbits(32), recipient=client.company, lines=6)
    else:
        maker = docgen.supplier_invoice if kind == "supplier_invoice" else docgen.credit_note
        doc = maker(rng.getrandbits(32), supplier=supplier, recipient=client.company)
    if form == "photo" and doc.truth.pages != 1:
        form = "scan"  # a phone photo shows one page
    if form == "scan":
        doc = docgen.scan(doc, rng.getrandbits(32), dpi=rng.choice((200, 300)))
    elif form == "photo":
        doc = docgen.photo(doc, rng.getrandbits(32))
    return InboxDocument(
        index=index,
        client_id=client_id,
        kind=kind,
        form=form,
        data=doc.data,
        filename=f"{index:04d}-{doc.filename}",
        media_type=doc.media_type,
        pages=doc.truth.pages if form != "photo" else 1,
        truth=doc.truth,
    )


def inbox(
    firm: Firm,
    n: int,
    seed: int = 1,
    *,
    kinds: dict[str, float] | None = None,
    forms: dict[str, float] | None = None,
) -> list[InboxDocument]:
    """`n` documents with the issue's mix; the same arguments give the same bytes."""
    kinds = kinds or KINDS
    forms = forms or FORMS
    master = random.Random(seed)
    out = []
    for index in range(n):
        kind = master.choices(list(kinds), weights=list(kinds.values()))[0]
        form = master.choices(list(forms), weights=list(forms.values()))[0]
        client_id = master.choice(firm.clients).id
        out.append(
            make_document(
                firm, index, master.getrandbits(32), kind=kind, form=form, client_id=client_id
            )
        )
    return out
