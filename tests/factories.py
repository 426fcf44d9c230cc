"""The test firm, once: its clients, its known supplier and the documents they exchange.

Each party is written down here once and given in the forms the tests need: master data
for `fiduflow setup load` (`master_data`, `SUPPLIER_GLOOR`), the records routing works on
(`GLOOR`, `ONLINE`, `OFFLINE`), and letterheads for generated documents (`GLOOR_COMPANY`,
`RECIPIENTS`, used by `invoice`). The `load_firm` fixture in tests/conftest.py loads
`master_data` into the test's database.
"""

import io
import random
from decimal import Decimal
from typing import Any

from domain.enums import Channel, ClientMode
from domain.extraction import Address
from domain.masterdata import MasterData
from domain.policy import DivisionOfLabour
from domain.records import Client, Supplier
from storage.db import Database
from storage.masterdata import load_master_data
from tests.docgen import Company, GeneratedDocument, supplier_invoice

# --- the parties ---------------------------------------------------------------------------

# S001, the supplier every client of the firm already works with.
GLOOR_NAME = "Gloor Elektro AG"
GLOOR_UID = "CHE-109.322.551"
GLOOR_IBAN = "CH9300762011623852957"
GLOOR_STREET, GLOOR_HOUSE_NO, GLOOR_POSTCODE, GLOOR_CITY = "Werkstrasse", "12", "8400", "Winterthur"

# C01, online.
MUSTER_NAME = "Muster Bau AG"
MUSTER_UID = "CHE-116.281.710"
MUSTER_IBAN = "CH4431999123000889012"
MUSTER_STREET, MUSTER_HOUSE_NO, MUSTER_POSTCODE, MUSTER_CITY = (
    "Bahnhofstrasse",
    "1",
    "8001",
    "Zürich",
)
C01_ADDRESS = "muster-7f3a9c@in.treuhand.example"

# C02, offline. Its account is known to routing's records only, not to the master data.
BROT_NAME = "Bäckerei Brot GmbH"
BROT_UID = "CHE-945.807.305"
BROT_IBAN = "CH5604835012345678009"
BROT_STREET, BROT_HOUSE_NO, BROT_POSTCODE, BROT_CITY = "Dorfplatz", "3", "3000", "Bern"
C02_ADDRESS = "brot-a81c2e@in.treuhand.example"


def spaced(iban: str) -> str:
    """An IBAN as people write it: in groups of four."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


# --- master data (`fiduflow setup load`) ---------------------------------------------------

SUPPLIER_GLOOR = {
    "id": "S001",
    "name": GLOOR_NAME,
    "uid": GLOOR_UID,
    "iban": spaced(GLOOR_IBAN),
    "address": {
        "street": f"{GLOOR_STREET} {GLOOR_HOUSE_NO}",
        "postcode": GLOOR_POSTCODE,
        "city": GLOOR_CITY,
    },
    "account": "6100",
}


def master_data(**overrides: Any) -> dict[str, Any]:
    """A small firm: one online and one offline client, one known supplier."""
    data: dict[str, Any] = {
        "fiduciary": {"name": "Treuhand Muster AG", "inbound_domain": "in.treuhand.example"},
        "staff": [{"username": "anna", "password": "anna-pw-123456", "token": "staff-token-anna"}],
        "clients": [
            {
                "id": "C01",
                "name": MUSTER_NAME,
                "mode": "online",
                "address": {
                    "street": f"{MUSTER_STREET} {MUSTER_HOUSE_NO}",
                    "postcode": MUSTER_POSTCODE,
                    "city": MUSTER_CITY,
                },
                "uid": MUSTER_UID,
                "iban": spaced(MUSTER_IBAN),
                "inbound": C01_ADDRESS,
                "users": [
                    {
                        "username": "hans",
                        "access": "company",
                        "password": "hans-pw-123456",
                        "token": "token-hans",
                    },
                    {"username": "lea", "access": "employee", "token": "token-lea"},
                ],
                "suppliers": ["S001"],
            },
            {
                "id": "C02",
                "name": BROT_NAME,
                "mode": "offline",
                "address": {
                    "street": f"{BROT_STREET} {BROT_HOUSE_NO}",
                    "postcode": BROT_POSTCODE,
                    "city": BROT_CITY,
                },
                "uid": BROT_UID,
                "inbound": C02_ADDRESS,
                "users": [{"username": "fritz", "access": "employee", "token": "token-fritz"}],
                "suppliers": ["S001"],
            },
        ],
        "suppliers": [SUPPLIER_GLOOR],
    }
    data.update(overrides)
    return data


def firm_with_passwords() -> dict[str, Any]:
    """`master_data`, with passwords for every user (for the web login tests)."""
    data = master_data()
    for client in data["clients"]:
        for user in client["users"]:
            user.setdefault("password", f"{user['username']}-pw-123456")
    return data


def load(db: Database, data: dict[str, Any]) -> None:
    with db.session() as session:
        load_master_data(session, MasterData.model_validate(data))


# --- the records routing works on ----------------------------------------------------------

GLOOR = Supplier(
    id="S001",
    name=GLOOR_NAME,
    uid=GLOOR_UID,
    ibans=[GLOOR_IBAN],
    address=Address(
        street=f"{GLOOR_STREET} {GLOOR_HOUSE_NO}", postcode=GLOOR_POSTCODE, city=GLOOR_CITY
    ),
    account="6100",
)
ONLINE = Client(
    id="C01",
    name=MUSTER_NAME,
    mode=ClientMode.ONLINE,
    uid=MUSTER_UID,
    ibans=[MUSTER_IBAN],
    address=Address(
        name=MUSTER_NAME,
        street=f"{MUSTER_STREET} {MUSTER_HOUSE_NO}",
        postcode=MUSTER_POSTCODE,
        city=MUSTER_CITY,
    ),
    policy=DivisionOfLabour(mode=ClientMode.ONLINE),
)
OFFLINE = Client(
    id="C02",
    name=BROT_NAME,
    mode=ClientMode.OFFLINE,
    uid=BROT_UID,
    ibans=[BROT_IBAN],
    address=Address(
        name=BROT_NAME,
        street=f"{BROT_STREET} {BROT_HOUSE_NO}",
        postcode=BROT_POSTCODE,
        city=BROT_CITY,
    ),
    policy=DivisionOfLabour(mode=ClientMode.OFFLINE),
)


# --- letterheads and documents (tests/docgen) ----------------------------------------------

GLOOR_COMPANY = Company(
    name=GLOOR_NAME,
    street=GLOOR_STREET,
    house_no=GLOOR_HOUSE_NO,
    postcode=GLOOR_POSTCODE,
    city=GLOOR_CITY,
    country="CH",
    uid=GLOOR_UID,
    iban=GLOOR_IBAN,
)
# The clients as the recipients printed on their suppliers' documents.
RECIPIENTS = {
    "C01": Company(
        name=MUSTER_NAME,
        street=MUSTER_STREET,
        house_no=MUSTER_HOUSE_NO,
        postcode=MUSTER_POSTCODE,
        city=MUSTER_CITY,
        country="CH",
        uid=MUSTER_UID,
        iban=None,
    ),
    "C02": Company(
        name=BROT_NAME,
        street=BROT_STREET,
        house_no=BROT_HOUSE_NO,
        postcode=BROT_POSTCODE,
        city=BROT_CITY,
        country="CH",
        uid=BROT_UID,
        iban=None,
    ),
}


def chf(amount: Decimal) -> str:
    """Swiss format: 1'234.50."""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return "'".join(groups) + "." + cents


def invoice(client_id: str = "C02", *, number: int = 1, seed: int = 0) -> GeneratedDocument:
    """A Swiss supplier invoice from the client's known supplier (tests/docgen)."""
    return supplier_invoice(
        random.Random(seed * 1000 + number),
        supplier=GLOOR_COMPANY,
        recipient=RECIPIENTS[client_id],
        language="de",
        with_qr=number % 2 == 0,
    )


def invoice_pdf(client_id: str = "C02", *, number: int = 1, seed: int = 0) -> tuple[bytes, Decimal]:
    document = invoice(client_id, number=number, seed=seed)
    return document.data, document.truth.total


def scan_png() -> bytes:
    """A small image: reading it needs OCR."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(image).text((20, 80), "Quittung Total CHF 12.50", fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def take_in(
    runtime: Any,
    client_id: str,
    data: bytes,
    filename: str = "rechnung.pdf",
    channel: Channel = Channel.EMAIL,
) -> int:
    """The document taken in through the intake, as a channel would; its id."""
    from ingest.intake import Submission, intake

    recorded = intake(
        runtime.db,
        runtime.store,
        Submission(client_id=client_id, channel=channel, data=data, filename=filename),
        max_bytes=runtime.settings.max_message_bytes,
    )
    return recorded.document_id


def mail_pdf(port: int, data: bytes, *, subject: str, filename: str, timeout: float = 60) -> None:
    """Mail a PDF to the offline client C02's inbound address over SMTP on loopback, as its
    supplier's bookkeeping would."""
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "buchhaltung@brot.example"
    message["To"] = C02_ADDRESS
    message["Subject"] = subject
    message.set_content("Anbei die Rechnung.")
    message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as smtp:
        smtp.send_message(message)
