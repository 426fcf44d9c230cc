"""Invoice control: is the document addressed to the client it came in for?

A document arrives for a client (its inbound address or token). A supplier invoice must
name that client — by UID, by name, or at least at its address (an invoice to the owner
"Hans Muster" at the company's address is the company's). One clearly addressed to
*another client of the firm* is not booked: the fiduciary moves it. Till receipts up to
CHF 400 need not name the buyer (VAT law), so they are not checked.
"""

from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel

from domain.enums import DocType
from domain.extraction import Address, Extraction, Recipient
from domain.identifiers import fold, normalize_uid
from domain.records import Client
from routing.names import person_or_company_matches, street_key

RECEIPT_LIMIT = Decimal("400.00")  # receipts up to this amount need not name the buyer
SAME_NAME = 88.0  # addressee name at or above: it is this client
OTHER_NAME = 92.0  # addressee name at or above: it is clearly that other client
DIFFERENT_NAME = 60.0  # below: it is not this client's name (unless the address says so)


class ClientDirectory(Protocol):
    """The firm's *other* clients that an addressee might be (same UID, similar name)."""

    def others_like(self, recipient: Recipient) -> list[Client]: ...


class RecipientStatus(StrEnum):
    MATCH = "match"
    NOT_REQUIRED = "not_required"
    MISSING = "missing"  # required, but no addressee was read
    UNCERTAIN = "uncertain"  # something like the client, not clearly it
    OTHER_CLIENT = "other_client"  # clearly another client of the firm
    MISMATCH = "mismatch"  # clearly someone else


class RecipientCheck(BaseModel):
    status: RecipientStatus
    detail: str = ""
    printed: str | None = None  # the addressee as printed, for messages
    other_client_id: str | None = None
    other_client_name: str | None = None

    @property
    def blocks_booking(self) -> bool:
        return self.status in (RecipientStatus.OTHER_CLIENT, RecipientStatus.MISMATCH)


CHECKED = {DocType.SUPPLIER_INVOICE, DocType.CREDIT_NOTE, DocType.REMINDER, DocType.RECEIPT}


def recipient_required(doc_type: DocType, extraction: Extraction) -> bool:
    if doc_type not in CHECKED:
        return False  # customer invoices name the customer; statements, payslips: n/a
    if doc_type is DocType.RECEIPT:
        return extraction.total is None or abs(extraction.total) > RECEIPT_LIMIT
    return True


def addressee_name(recipient: Recipient | None) -> str | None:
    if recipient is None:
        return None
    if recipient.name:
        return recipient.name
    if recipient.address and recipient.address.name:
        return recipient.address.name
    if recipient.address and recipient.address.lines:
        return recipient.address.lines[0]
    return None


def printed_addressee(recipient: Recipient) -> str:
    parts = [addressee_name(recipient) or ""]
    address = recipient.address
    if address:
        parts.append(address.street or "")
        parts.append(" ".join(p for p in (address.postcode, address.city) if p))
    if recipient.uid:
        parts.append(recipient.uid)
    return ", ".join(p for p in parts if p)


def _uid(value: str | None) -> str | None:
    try:
        return normalize_uid(value) if value else None
    except ValueError:
        return None


def same_address(printed: Address | None, known: Address | None) -> bool:
    """The place (postcode, else town) and the street with its number agree; `Str.` and
    `Strasse` are equal. A combined address is searched line by line: a window address
    read without its name starts with the street."""
    if printed is None or known is None:
        return False
    wanted = street_key(known.street)
    if not wanted:
        return False
    streets = [printed.street, *printed.lines]
    return in_place(printed, known) and any(street_key(s) == wanted for s in streets if s)


def in_place(printed: Address, known: Address) -> bool:
    if printed.postcode and known.postcode:
        return printed.postcode == known.postcode
    lines = [fold(line) for line in printed.lines]
    if known.postcode and any(known.postcode in line.split() for line in lines):
        return True
    town = fold(known.city or "")
    return bool(town) and (fold(printed.city or "") == town or any(town in line for line in lines))


def is_the_clients_address(text: str | None, client: Client) -> bool:
    """The addressee "name" read is the client's street or postcode-and-town line: the
    name itself was not legible (a faint first line, a logo, a cut-off window)."""
    known = client.address
    if not text or known is None:
        return False
    if known.street and street_key(text) == street_key(known.street):
        return True
    words = fold(text).split()
    return bool(known.postcode) and known.postcode in words and len(words) <= 4


def check_recipient(
    extraction: Extraction,
    client: Client,
    doc_type: DocType,
    others: ClientDirectory,
) -> RecipientCheck:
    if not recipient_required(doc_type, extraction):
        return RecipientCheck(status=RecipientStatus.NOT_REQUIRED)
    recipient = extraction.recipient
    name = addressee_name(recipient)
    uid = _uid(recipient.uid) if recipient else None
    if recipient is None or (not name and not uid):
        return RecipientCheck(
            status=RecipientStatus.MISSING, detail="no addressee could be read on the document"
        )
    printed = printed_addressee(recipient)
    # Read as the "name" is the client's own street or town: the name was not legible.
    if is_the_clients_address(name, client) and same_address(recipient.address, client.address):
        return RecipientCheck(
            status=RecipientStatus.MATCH,
            detail="the name is not legible; addressed to the client's own address",
            printed=printed,
        )
    if uid and client.uid and uid == client.uid:
        return RecipientCheck(status=RecipientStatus.MATCH, detail="UID", printed=printed)
    score = person_or_company_matches(name, client.name) if name else 0.0
    if score >= SAME_NAME:
        return RecipientCheck(status=RecipientStatus.MATCH, detail="name", printed=printed)
    if same_address(recipient.address, client.address):
        return RecipientCheck(
            status=RecipientStatus.MATCH,
            detail=f"addressed to {name!r} at the client's address",
            printed=printed,
        )
    other = _other_client(recipient, name, uid, client, others)
    if other is not None:
        return RecipientCheck(
            status=RecipientStatus.OTHER_CLIENT,
            detail=f"addressed to another client of the firm ({other.id})",
            printed=printed,
            other_client_id=other.id,
            other_client_name=other.name,
        )
    if score >= DIFFERENT_NAME:
        return RecipientCheck(
            status=RecipientStatus.UNCERTAIN,
            detail=f"addressee {name!r} only resembles {client.name!r} ({score:.0f})",
            printed=printed,
        )
    return RecipientCheck(
        status=RecipientStatus.MISMATCH,
        detail=f"addressed to {printed!r}, not to {client.name}",
        printed=printed,
    )


def _other_client(
    recipient: Recipient,
    name: str | None,
    uid: str | None,
    client: Client,
    others: ClientDirectory,
) -> Client | None:
    found: list[tuple[float, Client]] = []
    for other in others.others_like(recipient):
        if other.id == client.id:
            continue
        if uid and other.uid == uid:
            found.append((101.0, other))
        elif name and (score := person_or_company_matches(name, other.name)) >= OTHER_NAME:
            found.append((score, other))
    found.sort(key=lambda pair: (-pair[0], pair[1].id))
    if not found or (len(found) > 1 and found[0][0] == found[1][0]):
        return None  # no one, or two clients alike: not "clearly" another client
    return found[0][1]
