"""In-memory stand-ins for what `storage/` gives routing, and documents of the test firm
(tests/factories.py) to route.

Routing gets its master data and history through Protocols; these fakes answer them from
lists, so routing is tested as pure functions (milliseconds, no database).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from domain.enums import Channel, DocType, PaymentMethod, VatMethod
from domain.extraction import Address, Extraction, ReadError, Recipient, VatLine
from domain.identifiers import normalize_iban
from domain.records import Client, DocumentContext, PriorDocument, Supplier
from routing.decide import decide
from routing.match import Matching, match_document
from tests.factories import GLOOR, OFFLINE, ONLINE

D = Decimal


@dataclass
class FakeSuppliers:
    suppliers: list[Supplier]
    own: set[str] = field(default_factory=set)

    def by_iban(self, iban: str) -> list[Supplier]:
        return [s for s in self.suppliers if normalize_iban(iban) in s.ibans]

    def by_uid(self, uid: str) -> list[Supplier]:
        return [s for s in self.suppliers if s.uid == uid]

    def by_name(self, name: str, limit: int = 25) -> list[Supplier]:
        return self.suppliers[:limit]

    def client_supplier_ids(self) -> set[str]:
        return self.own


@dataclass
class FakeClients:
    clients: list[Client]

    def others_like(self, recipient: Recipient) -> list[Client]:
        return self.clients


@dataclass
class FakeHistory:
    priors: list[PriorDocument] = field(default_factory=list)

    def with_invoice_number(self, invoice_number: str) -> list[PriorDocument]:
        return [p for p in self.priors if p.invoice_number == invoice_number]

    def on_date_with_total(self, on: date, total: Decimal) -> list[PriorDocument]:
        return [p for p in self.priors if p.issue_date == on and abs(p.total or 0) == total]

    def with_reference(self, reference: str) -> list[PriorDocument]:
        return [p for p in self.priors if p.reference == reference]


KRONE = Supplier(
    id="S002",
    name="Restaurant Krone AG",
    uid="CHE-101.544.298",
    address=Address(street="Marktgasse 2", postcode="8400", city="Winterthur"),
)
NET_TAX = OFFLINE.model_copy(update={"id": "C03", "vat_method": VatMethod.NET_TAX_RATE})
NEW_IBAN = "CH5800791123000889012"  # valid, on nobody's record
SURE = 0.95


def addressed_to(client: Client) -> Recipient:
    assert client.address is not None
    return Recipient(name=client.name, address=client.address.model_copy(update={"name": None}))


def other_of(client: Client) -> Client:
    return OFFLINE if client.id == ONLINE.id else ONLINE


def confident(**overrides: float) -> dict[str, float]:
    fields = [
        "doc_type",
        "total",
        "issue_date",
        "currency",
        "supplier_name",
        "supplier_iban",
        "supplier_uid",
        "invoice_number",
        "vat",
        "reference",
        "recipient",
    ]
    return {f: SURE for f in fields} | overrides


def invoice(client: Client, **kw: Any) -> Extraction:
    data: dict[str, Any] = {
        "doc_type": DocType.SUPPLIER_INVOICE,
        "supplier_name": GLOOR.name,
        "supplier_iban": "CH93 0076 2011 6238 5295 7",
        "supplier_address": GLOOR.address,
        "invoice_number": "RE-2026-17",
        "issue_date": date(2026, 3, 1),
        "due_date": date(2026, 3, 31),
        "currency": "CHF",
        "total": D("1081.00"),
        "vat": [VatLine(rate=D("8.1"), base=D("1000.00"), amount=D("81.00"))],
        "reference": "RF18539007547034",
        "recipient": addressed_to(client),
        "confidence": confident(),
        "text": "Rechnung RE-2026-17\nReparatur Heizungssteuerung\nTotal CHF 1081.00",
    }
    return Extraction(**(data | kw))


def receipt(client: Client, **kw: Any) -> Extraction:
    data: dict[str, Any] = {
        "doc_type": DocType.RECEIPT,
        "supplier_name": KRONE.name,
        "supplier_uid": "CHE-101.544.298 MWST",
        "issue_date": date(2026, 3, 4),
        "currency": "CHF",
        "total": D("54.00"),
        "vat": [VatLine(rate=D("8.1"), amount=D("4.05"))],
        "confidence": confident(),
        "text": "Restaurant Krone\n2 Mittagessen\nTotal CHF 54.00",
    }
    return Extraction(**(data | kw))


def context(
    client: Client,
    extraction: Extraction,
    *,
    document_id: int = 50,
    payment_method: PaymentMethod | None = None,
    **kw: Any,
) -> DocumentContext:
    return DocumentContext(
        document_id=document_id,
        client_id=client.id,
        channel=kw.pop("channel", Channel.APP),
        filename=kw.pop("filename", "beleg.pdf"),
        received_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
        submitted_by=kw.pop("submitted_by", "lea"),
        payment_method=payment_method,
        extraction=extraction,
        **kw,
    )


@dataclass
class Firm:
    """The directories and history routing sees for one test."""

    suppliers: list[Supplier] = field(default_factory=lambda: [GLOOR, KRONE])
    own: set[str] = field(default_factory=lambda: {"S001"})
    clients: list[Client] = field(default_factory=lambda: [ONLINE, OFFLINE])
    history: list[PriorDocument] = field(default_factory=list)

    def match(self, client: Client, ctx: DocumentContext) -> Matching:
        return match_document(
            ctx,
            client,
            FakeSuppliers(self.suppliers, self.own),
            FakeClients(self.clients),
            FakeHistory(self.history),
        )

    def route(self, client: Client, ctx: DocumentContext):  # type: ignore[no-untyped-def]
        matching = self.match(client, ctx)
        return matching, decide(ctx, client, matching)


def unreadable() -> Extraction:
    from domain.enums import ReadErrorKind

    return Extraction(error=ReadError(kind=ReadErrorKind.ENCRYPTED, message="needs a password"))


def lines_of(booking: Any) -> list[tuple[str, str, str, str | None]]:
    """(account, debit, credit, vat code) per line, amounts as strings ("" for zero)."""
    return [
        (
            line.account,
            f"{line.debit:.2f}" if line.debit else "",
            f"{line.credit:.2f}" if line.credit else "",
            line.vat_code,
        )
        for line in booking.lines
    ]


def tasks_of(decision: Any) -> list[tuple[str, str, bool]]:
    return [(t.kind.value, t.assignee.value, t.holds_booking) for t in decision.tasks]


def now() -> datetime:
    return datetime.now(UTC)


# --- routing a recorded document through the steps, without Prefect -----------------------


def record(db: Any, client_id: str, sha: str, **kw: Any) -> int:
    """A received document (as intake records it)."""
    from storage import documents as repo

    with db.session() as session:
        new = repo.NewDocument(
            client_id=client_id,
            channel=kw.pop("channel", Channel.APP),
            filename=kw.pop("filename", f"{sha[:6]}.pdf"),
            media_type="application/pdf",
            size=100,
            sha256=sha.ljust(64, "0")[:64],
            **kw,
        )
        return repo.record_document(session, new).document_id


def job_for(db: Any, document_id: int) -> Any:
    from flows.pipeline import job_of
    from storage.tables import DocumentRow

    with db.session() as session:
        return job_of(session.get(DocumentRow, document_id))


def decide_for(db: Any, document_id: int, extraction: Extraction) -> tuple[Any, Any, Any]:
    """Match and decide (the steps' own functions, called plainly)."""
    from flows import steps

    job = job_for(db, document_id)
    matched = steps.match_document.fn(job, extraction)
    return job, matched, steps.decide_routing.fn(job, extraction, matched)


def persist(job: Any, extraction: Extraction, matched: Any, decision: Any) -> Any:
    from flows import steps

    return steps.persist_outcome.fn(job, extraction, matched, decision)


def route_recorded(db: Any, document_id: int, extraction: Extraction) -> Any:
    """match → decide → persist for one recorded document; returns the Outcome."""
    job, matched, decision = decide_for(db, document_id, extraction)
    return persist(job, extraction, matched, decision)
