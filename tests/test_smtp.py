"""The SMTP intake over a real loopback socket (smtplib → aiosmtpd), on SQLite and PostgreSQL.

What a sender sees (status codes) and what is stored (rows, objects) for every case of the
issue: unknown recipient, size limits, attachments, forwarded mail, RFC 2231 names, inline
logos, body-only mail, ZIP, duplicate delivery, two clients in one transaction, and the
storage drills (object store down, database down → 451, nothing half-written).
"""

import asyncio
import smtplib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from sqlalchemy import func, select

from domain.enums import Channel, DocumentState, TaskKind
from domain.settings import Settings
from ingest.smtp import SmtpLimits, SmtpServer, read_data, start_smtp
from storage.db import Database
from storage.objects import FilesystemObjectStore, ObjectStore, S3ObjectStore
from storage.tables import DocumentRow, InboundAddress, MessageRow, TaskRow
from tests.conftest import POSTGRES_URL
from tests.factories import C01_ADDRESS, C02_ADDRESS, firm_with_passwords, load
from tests.intake_helpers import (
    PNG_LOGO,
    TcpProxy,
    mail,
    pdf_bytes,
    postgres_behind_proxy,
    wire,
    zip_bytes,
)

pytestmark = [pytest.mark.smtp, pytest.mark.timeout(120)]

ENVELOPE_FROM = "bounce@gloor-elektro.example"


@dataclass
class Asked:
    """A request_processing that records what it was asked, and when."""

    ids: list[int] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)

    def __call__(self, document_id: int) -> None:
        self.ids.append(document_id)
        self.event.set()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.ids) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return sorted(self.ids)


@dataclass
class Rig:
    server: SmtpServer
    db: Database
    store: ObjectStore
    asked: Asked

    def connect(self) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", self.server.port, timeout=30)
        client.ehlo("sender.example")
        return client

    def send(
        self, raw: bytes, recipients: list[str], client: smtplib.SMTP | None = None
    ) -> tuple[int, bytes]:
        """One transaction; the reply to DATA (or to the first refused command)."""
        own = client is None
        client = client or self.connect()
        try:
            code, reply = client.mail(ENVELOPE_FROM, [f"SIZE={len(raw)}"])
            if code != 250:
                return code, reply
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code not in (250, 251):
                    client.rset()
                    return code, reply
            return client.data(raw)
        finally:
            if own:
                client.quit()

    def count(self, table: type) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(table)) or 0

    def documents(self) -> list[DocumentRow]:
        with self.db.session() as session:
            return list(session.scalars(select(DocumentRow).order_by(DocumentRow.id)))

    def objects(self) -> set[str]:
        return set(self.store.iter_originals())


def _rig(db: Database, store: ObjectStore, settings: Settings, **limits: int) -> Iterator[Rig]:
    asked = Asked()
    server = start_smtp(
        db,
        store,
        settings.model_copy(update={"smtp_port": 0}),
        asked,
        limits=SmtpLimits(**limits) if limits else None,
    )
    try:
        yield Rig(server, db, store, asked)
    finally:
        server.stop()


@pytest.fixture
def rig(
    db: Database, fs_store: FilesystemObjectStore, settings: Settings, load_firm
) -> Iterator[Rig]:
    """On SQLite and PostgreSQL: for what the database decides (dedupe, atomicity)."""
    load_firm()
    yield from _rig(db, fs_store, settings)


@pytest.fixture
def mime_rig(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[Rig]:
    """On SQLite only: for what the MIME parsing and the protocol decide."""
    load(sqlite_db, firm_with_passwords())
    yield from _rig(sqlite_db, fs_store, settings)


def test_unknown_recipient_is_refused_at_rcpt_and_nothing_is_stored(rig: Rig):
    raw = wire(mail(attachments=[("r.pdf", pdf_bytes(), "application/pdf")]))
    code, reply = rig.send(raw, ["nobody-123456@in.treuhand.example"])
    assert code == 550
    assert reply.startswith(b"5.1.1")
    # The local part is the secret, so the domain alone must not be enough either.
    code, _ = rig.send(raw, ["muster-7f3a9d@in.treuhand.example"])
    assert code == 550
    assert rig.count(MessageRow) == 0
    assert rig.count(DocumentRow) == 0
    assert rig.objects() == set()


def test_recipient_case_does_not_matter_and_new_clients_work_without_restart(rig: Rig):
    code, _ = rig.send(wire(mail(to=C01_ADDRESS.upper())), [C01_ADDRESS.upper()])
    assert code == 250
    data = firm_with_passwords()
    data["clients"].append(
        {
            "id": "C09",
            "name": "Neu AG",
            "mode": "offline",
            "inbound": "neu-5d1e77@in.treuhand.example",
        }
    )
    load(rig.db, data)  # the server is running and has cached the old address list
    raw = wire(mail(attachments=[("neu.pdf", pdf_bytes(), "application/pdf")]))
    code, _ = rig.send(raw, ["neu-5d1e77@in.treuhand.example"])
    assert code == 250
    assert [d.client_id for d in rig.documents()] == ["C09"]


def test_size_limits_give_552_and_the_connection_stays_usable(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
):
    db = sqlite_db
    load(db, firm_with_passwords())
    limit = 200_000
    small = settings.model_copy(update={"max_message_bytes": limit})
    for rig in _rig(db, fs_store, small):
        client = rig.connect()
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == limit
        # Announced size over the limit: refused at MAIL, before any data is sent.
        code, reply = client.mail(ENVELOPE_FROM, [f"SIZE={limit + 1}"])
        assert code == 552
        assert b"limit" in reply
        # No SIZE announced, DATA over the limit: read, dropped, 552.
        big = wire(
            mail(attachments=[("big.pdf", pdf_bytes(size=limit + 50_000), "application/pdf")])
        )
        assert client.mail(ENVELOPE_FROM) == (250, b"OK")
        assert client.rcpt(C01_ADDRESS)[0] == 250
        code, reply = client.data(big)
        assert code == 552
        assert reply.startswith(b"5.3.4")
        assert rig.count(DocumentRow) == 0
        # The same connection delivers the next mail normally.
        raw = wire(mail(attachments=[("ok.pdf", pdf_bytes(), "application/pdf")]))
        code, _ = rig.send(raw, [C01_ADDRESS], client)
        assert code == 250
        client.quit()
        assert rig.count(DocumentRow) == 1
        assert rig.objects() == {rig.documents()[0].sha256} | _raw_sha(raw)


def _raw_sha(raw: bytes) -> set[str]:
    from storage.objects import sha256_hex

    return {sha256_hex(raw)}


def test_two_attachments_become_two_documents_with_the_mail_metadata(rig: Rig):
    first, second = pdf_bytes("first"), pdf_bytes("second")
    message = mail(
        attachments=[
            ("Rechnung 4711.pdf", first, "application/pdf"),
            ("Lieferschein.pdf", second, "application/pdf"),
        ],
        body="Guten Tag\n.\n..eine Zeile mit Punkten\n.",  # dot-stuffed on the wire
        subject="Rechnung 4711",
        message_id="<4711@gloor-elektro.example>",
        headers={"Authentication-Results": "mx.example; dkim=pass header.d=gloor-elektro.example"},
    )
    raw = wire(message)
    code, reply = rig.send(raw, [C01_ADDRESS])
    assert code == 250
    assert b"2 document(s)" in reply
    documents = rig.documents()
    assert [d.filename for d in documents] == ["Rechnung 4711.pdf", "Lieferschein.pdf"]
    assert {d.sha256 for d in documents} == {_sha(first), _sha(second)}
    for document in documents:
        assert document.client_id == "C01"
        assert document.channel == Channel.EMAIL.value
        assert document.state == DocumentState.RECEIVED.value
        assert document.message_id == "<4711@gloor-elektro.example>"
        assert "rechnung@gloor-elektro.example" in (document.sender or "")
        assert document.message_row_id is not None
        # "Acknowledged means stored": every document's original is in the store.
        assert rig.store.get_original(document.sha256)
    with rig.db.session() as session:
        message_row = session.scalars(select(MessageRow)).one()
        assert message_row.subject == "Rechnung 4711"
        assert message_row.message_id == "<4711@gloor-elektro.example>"
        assert message_row.meta["authentication_results"] == [
            "mx.example; dkim=pass header.d=gloor-elektro.example"
        ]
        assert message_row.meta["envelope_from"] == ENVELOPE_FROM
    # The raw mail itself is kept too, byte for byte (dots unstuffed).
    assert rig.store.get_original(message_row.raw_sha256) == raw
    # Processing is asked for each new document, after the 250.
    assert rig.asked.wait_for(2) == sorted(d.id for d in documents)


def _sha(data: bytes) -> str:
    from storage.objects import sha256_hex

    return sha256_hex(data)


def test_overlong_headers_are_kept_clipped_not_refused(rig: Rig):
    long_name = "Buchhaltung " + "sehr " * 250
    raw = wire(
        mail(
            sender=f'"{long_name}" <rechnung@gloor-elektro.example>',
            subject="Rechnung " + "x" * 3000,
            message_id="<" + "m" * 1200 + "@gloor-elektro.example>",
            attachments=[("r.pdf", pdf_bytes(), "application/pdf")],
        )
    )
    assert rig.send(raw, [C01_ADDRESS])[0] == 250
    [document] = rig.documents()
    assert len(document.sender or "") <= 998
    assert len(document.message_id or "") <= 998


def test_forwarded_mail_is_opened(mime_rig: Rig):
    inner = mail(
        sender="Lieferant <info@lieferant.example>",
        subject="Ihre Rechnung",
        attachments=[("Rechnung-Lieferant.pdf", pdf_bytes("inner"), "application/pdf")],
    )
    outer = mail(sender="Hans <hans@muster-bau.example>", subject="Fwd: Ihre Rechnung", body="FYI")
    outer.add_attachment(inner)  # message/rfc822
    code, _ = mime_rig.send(wire(outer), [C01_ADDRESS])
    assert code == 250
    [document] = mime_rig.documents()
    assert document.filename == "Rechnung-Lieferant.pdf"
    assert document.meta["origin"].startswith("forwarded:")


def test_rfc2231_filename_with_umlauts_is_decoded(mime_rig: Rig):
    message = MIMEMultipart()
    message["From"] = "kunde@example.ch"
    message["To"] = C01_ADDRESS
    message["Subject"] = "Beleg"
    message.attach(MIMEText("Siehe Anhang", "plain", "utf-8"))
    part = MIMEApplication(pdf_bytes("umlaut"), "pdf")
    # RFC 2231: filename*=utf-8''Rechnung%20M%C3%BCller%20M%C3%A4rz.pdf
    part.add_header(
        "Content-Disposition", "attachment", filename=("utf-8", "", "Rechnung Müller März.pdf")
    )
    message.attach(part)
    assert b"filename*=utf-8''" in message.as_bytes()
    code, _ = mime_rig.send(message.as_bytes().replace(b"\n", b"\r\n"), [C01_ADDRESS])
    assert code == 250
    assert [d.filename for d in mime_rig.documents()] == ["Rechnung Müller März.pdf"]


def test_inline_logo_is_not_a_document(mime_rig: Rig):
    message = MIMEMultipart("related")
    message["From"] = "rechnung@gloor-elektro.example"
    message["To"] = C01_ADDRESS
    message["Subject"] = "Rechnung mit Logo"
    message.attach(MIMEText('<p>Anbei</p><img src="cid:logo@gloor">', "html", "utf-8"))
    logo = MIMEImage(PNG_LOGO + bytes(4000), "png")
    logo.add_header("Content-ID", "<logo@gloor>")
    logo.add_header("Content-Disposition", "inline", filename="logo.png")
    message.attach(logo)
    invoice = MIMEApplication(pdf_bytes("with-logo"), "pdf")
    invoice.add_header("Content-Disposition", "attachment", filename="Rechnung.pdf")
    message.attach(invoice)
    code, _ = mime_rig.send(message.as_bytes().replace(b"\n", b"\r\n"), [C01_ADDRESS])
    assert code == 250
    assert [d.filename for d in mime_rig.documents()] == ["Rechnung.pdf"]


def test_body_only_mail_gives_the_fiduciary_a_task_and_no_document(rig: Rig):
    raw = wire(mail(subject="Frage zur MWST", body="Wann ist die Abrechnung fällig?"))
    code, reply = rig.send(raw, [C02_ADDRESS])
    assert code == 250
    assert b"0 document(s)" in reply
    assert rig.count(DocumentRow) == 0
    with rig.db.session() as session:
        [message_row] = session.scalars(select(MessageRow)).all()
        [task] = session.scalars(select(TaskRow)).all()
        assert message_row.client_id == "C02"
        assert task.kind == TaskKind.MAIL_WITHOUT_DOCUMENT.value
        assert task.assignee == "fiduciary"
        assert task.client_id == "C02"
        assert "Frage zur MWST" in task.reason
        assert task.details["message_row_id"] == message_row.id
    # Delivered again: still one task (dedupe per message row), no new message row.
    assert rig.send(raw, [C02_ADDRESS])[0] == 250
    assert rig.count(TaskRow) == 1
    assert rig.count(MessageRow) == 1
    assert rig.asked.ids == []


def test_zip_attachment_is_opened_with_limits(mime_rig: Rig):
    archive = zip_bytes(
        {
            "belege/januar.pdf": pdf_bytes("jan"),
            "../../etc/februar.pdf": pdf_bytes("feb"),  # a path outside: only the name is kept
            "notes.txt": b"not a document",
        }
    )
    raw = wire(mail(attachments=[("belege.zip", archive, "application/zip")]))
    code, _ = mime_rig.send(raw, [C01_ADDRESS])
    assert code == 250
    documents = mime_rig.documents()
    assert sorted(d.filename for d in documents) == ["februar.pdf", "januar.pdf"]
    assert all(d.meta["origin"].startswith("zip:") for d in documents)


def test_duplicate_delivery_is_accepted_and_adds_nothing(rig: Rig):
    raw = wire(mail(attachments=[("r.pdf", pdf_bytes(), "application/pdf")]))
    assert rig.send(raw, [C01_ADDRESS])[0] == 250
    before = (rig.count(MessageRow), rig.count(DocumentRow), rig.objects())
    code, reply = rig.send(raw, [C01_ADDRESS])
    assert code == 250
    assert b"already received" in reply
    assert (rig.count(MessageRow), rig.count(DocumentRow), rig.objects()) == before
    assert len(rig.asked.wait_for(1)) == 1


def test_two_clients_in_one_transaction_each_get_their_own_documents(rig: Rig):
    attachment = pdf_bytes("shared")
    raw = wire(
        mail(
            to=f"{C01_ADDRESS}, {C02_ADDRESS}",
            attachments=[("r.pdf", attachment, "application/pdf")],
        )
    )
    code, _ = rig.send(raw, [C01_ADDRESS, C02_ADDRESS])
    assert code == 250
    documents = rig.documents()
    assert sorted(d.client_id for d in documents) == ["C01", "C02"]
    # Same bytes, two clients: two originals of their own, neither a duplicate.
    assert {d.state for d in documents} == {DocumentState.RECEIVED.value}
    assert rig.count(MessageRow) == 2
    assert rig.asked.wait_for(2) == sorted(d.id for d in documents)


def test_too_many_clients_in_one_transaction_gets_452(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
):
    db = sqlite_db
    load(db, firm_with_passwords())
    for rig in _rig(db, fs_store, settings, max_recipients=1):
        client = rig.connect()
        assert client.mail(ENVELOPE_FROM)[0] == 250
        assert client.rcpt(C01_ADDRESS)[0] == 250
        assert client.rcpt(C01_ADDRESS.upper())[0] == 250  # same client again is fine
        code, reply = client.rcpt(C02_ADDRESS)
        assert code == 452
        assert reply.startswith(b"4.5.3")
        raw = wire(mail(attachments=[("r.pdf", pdf_bytes(), "application/pdf")]))
        assert client.data(raw)[0] == 250
        client.quit()
        assert [d.client_id for d in rig.documents()] == ["C01"]


# --- storage drills: real failures, not mocks ----------------------------------------


def test_object_store_down_gives_451_and_nothing_is_written(
    sqlite_db: Database, settings: Settings, moto_server: str
):
    """S3 (moto's real server) behind a proxy that we take down mid-session."""
    db = sqlite_db
    load(db, firm_with_passwords())
    host, port = moto_server.split(":")
    proxy = TcpProxy(host, int(port)).up()
    store = S3ObjectStore(f"127.0.0.1:{proxy.port}", "smtp-drill", "testing", "testing")
    try:
        for rig in _rig(db, store, settings):
            assert (
                rig.send(
                    wire(mail(attachments=[("a.pdf", pdf_bytes(), "application/pdf")])),
                    [C01_ADDRESS],
                )[0]
                == 250
            )
            before = (rig.count(MessageRow), rig.count(DocumentRow), rig.count(TaskRow))
            proxy.down()
            raw = wire(mail(attachments=[("b.pdf", pdf_bytes(), "application/pdf")]))
            code, reply = rig.send(raw, [C01_ADDRESS])
            assert code == 451
            assert reply.startswith(b"4.3.0")
            assert (rig.count(MessageRow), rig.count(DocumentRow), rig.count(TaskRow)) == before
            # The sender's retry, once the store is back, is accepted exactly once.
            proxy.up()
            assert rig.send(raw, [C01_ADDRESS])[0] == 250
            assert rig.count(DocumentRow) == 2
            for document in rig.documents():
                assert store.get_original(document.sha256)
    finally:
        proxy.down()


@pytest.mark.postgres
def test_database_down_gives_451_and_the_retry_is_recorded_once(
    settings: Settings, fs_store: FilesystemObjectStore
):
    """PostgreSQL behind a proxy that we take down: connections die, reconnects are refused."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured")
    with postgres_behind_proxy(POSTGRES_URL) as (db, proxy):
        load(db, firm_with_passwords())
        for rig in _rig(db, fs_store, settings):
            raw = wire(mail(attachments=[("a.pdf", pdf_bytes(), "application/pdf")]))
            proxy.down()
            code, reply = rig.send(raw, [C01_ADDRESS])  # the address is cached: RCPT passes
            assert code == 451
            assert reply.startswith(b"4.3.0")
            # An address not in the cache cannot be checked either: 451 at RCPT, not 550.
            code, _ = rig.send(raw, ["unknown-000000@in.treuhand.example"])
            assert code == 451
            proxy.up()
            assert rig.send(raw, [C01_ADDRESS])[0] == 250
            assert rig.send(raw, [C01_ADDRESS])[0] == 250  # and once more: a duplicate
            [document] = rig.documents()
            assert rig.count(MessageRow) == 1
            # No row without its object.
            assert fs_store.get_original(document.sha256)


def test_connections_over_the_limit_are_told_to_come_back_later(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
):
    load(sqlite_db, firm_with_passwords())
    for rig in _rig(sqlite_db, fs_store, settings, max_connections=1):
        first = rig.connect()
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", rig.server.port, timeout=10)
        assert refused.value.smtp_code == 421
        first.quit()
        time.sleep(0.1)  # the server counts the closed connection out
        second = rig.connect()
        assert second.noop()[0] == 250
        second.quit()


def test_inbound_domain_setting_overrides_the_master_data_domain(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
):
    db = sqlite_db
    load(db, firm_with_passwords())
    moved = settings.model_copy(update={"inbound_domain": "belege.treuhand-muster.ch"})
    for rig in _rig(db, fs_store, moved):
        raw = wire(mail(attachments=[("a.pdf", pdf_bytes(), "application/pdf")]))
        assert rig.send(raw, ["muster-7f3a9c@belege.treuhand-muster.ch"])[0] == 250
        assert rig.send(raw, [C01_ADDRESS])[0] == 250  # the master-data address still works
        assert rig.send(raw, ["nobody@belege.treuhand-muster.ch"])[0] == 550
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(InboundAddress)) == 2


# --- the DATA reader, byte by byte ----------------------------------------------------


def _read(chunks: list[bytes], limit: int = 0) -> tuple[bytes | None, bytes]:
    """Feed `chunks` to read_data as the network would; (result, what is left unread)."""

    async def run() -> tuple[bytes | None, bytes]:
        reader = asyncio.StreamReader(limit=1001)

        async def feed() -> None:
            for chunk in chunks:
                reader.feed_data(chunk)
                await asyncio.sleep(0)
            reader.feed_eof()

        feeding = asyncio.create_task(feed())
        result = await read_data(reader, limit, lambda: None)
        await feeding
        return result, await reader.read()

    return asyncio.run(run())


def test_read_data_finds_the_end_wherever_the_chunks_split():
    wire_bytes = b"Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n"
    expected = b"Subject: x\r\n\r\n.dot\r\nline\r\n"
    for split in range(1, len(wire_bytes)):
        result, rest = _read([wire_bytes[:split], wire_bytes[split:]])
        assert result == expected, split
        assert rest == b"QUIT\r\n", split  # a pipelined command is not lost
    assert _read([bytes([b]) for b in wire_bytes])[0] == expected


def test_read_data_edge_cases():
    assert _read([b".\r\n"]) == (b"", b"")  # an empty mail
    assert _read([b"a\r\n", b".\r\n"]) == (b"a\r\n", b"")
    # Only CRLF.CRLF ends DATA: a bare LF dot line is content (SMTP smuggling).
    assert _read([b"a\n.\nb\r\n.\r\n"]) == (b"a\n.\nb\r\n", b"")
    assert _read([b"a\r\n.\n", b"b\r\n.\r\n"]) == (b"a\r\n\nb\r\n", b"")
    # Cut off before the end: nothing.
    assert _read([b"a\r\nb"]) == (None, b"")
    # Over the limit: None, and the stream is read past the end, ready for the next mail.
    big = [b"x" * 1000 + b"\r\n"] * 50 + [b".\r\nRSET\r\n"]
    assert _read(big, limit=10_000) == (None, b"RSET\r\n")
    assert _read(big, limit=100_000)[0] == b"".join(big[:-1])
