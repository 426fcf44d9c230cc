"""Helpers for the intake tests: small documents, mails, and a TCP proxy that can take a
real server "down" (for 451/503 drills). The firm they deliver to is tests/factories.py's."""

import io
import os
import socket
import threading
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email import policy
from email.message import EmailMessage

from sqlalchemy import text

from storage.db import Database, make_engine, normalize_url
from tests.factories import C01_ADDRESS

# A PNG signature and a minimal header: enough for the magic-byte sniffer.
PNG_LOGO = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


def pdf_bytes(label: str = "", size: int = 0) -> bytes:
    """A small PDF-looking file whose bytes are unique per label, padded to about `size`."""
    label = label or uuid.uuid4().hex
    head = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n% " + label.encode() + b"\n"
    )
    padding = b""
    if size > len(head):
        # Comment lines of random hex: incompressible, like a scanned page.
        raw = os.urandom((size - len(head)) // 2).hex().encode()
        padding = b"".join(b"% " + raw[i : i + 72] + b"\n" for i in range(0, len(raw), 72))
    return head + padding + b"trailer<</Root 1 0 R>>\n%%EOF\n"


def structured_pdf(*, xref_stream: bool = False) -> bytes:
    """A one-page PDF that pdfium opens, with a classic xref table or an xref stream
    (`pdf_bytes` has neither: enough for a header at byte 0, not for a late one)."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ]
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    if xref_stream:
        # Object 4 is the xref stream: a type byte, four offset bytes, a generation byte.
        rows = [b"\x00" + (0).to_bytes(4, "big") + b"\xff"]
        rows += [b"\x01" + o.to_bytes(4, "big") + b"\x00" for o in [*offsets, xref_at]]
        data = b"".join(rows)
        out += (
            b"4 0 obj\n<</Type/XRef/Size 5/W[1 4 1]/Root 1 0 R/Length %d>>\nstream\n" % len(data)
            + data
            + b"\nendstream\nendobj\n"
        )
    else:
        out += b"xref\n0 4\n0000000000 65535 f \n"
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<</Size 4/Root 1 0 R>>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def invoice_pdf(number: str, total: str = "108.10") -> bytes:
    """A one-page supplier invoice with a text layer (reportlab), for real processing."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    lines = [
        "Gloor Elektro AG, Werkstrasse 12, 8400 Winterthur",
        "CHE-109.322.551 MWST",
        "",
        "Muster Bau AG, Bahnhofstrasse 1, 8001 Zürich",
        "",
        f"Rechnung Nr. {number}",
        "Rechnungsdatum: 03.02.2026",
        "Elektroinstallation Büro",
        f"Total CHF {total}",
        "zahlbar bis 05.03.2026",
    ]
    y = 780
    for line in lines:
        page.drawString(60, y, line)
        y -= 18
    page.showPage()
    page.save()
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def mail(
    *,
    to: str = C01_ADDRESS,
    sender: str = "Buchhaltung Gloor <rechnung@gloor-elektro.example>",
    subject: str = "Rechnung",
    body: str = "Guten Tag, anbei die Rechnung.",
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@gloor-elektro.example>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, data, mime_type in attachments:
        maintype, subtype = mime_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def wire(message: EmailMessage) -> bytes:
    """The bytes as they go over SMTP (CRLF line ends)."""
    return message.as_bytes(policy=policy.SMTP)


# --- a TCP proxy to take a real server down and up again -----------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to a target. `down()` closes the listener and every live
    connection (the server seems to have crashed); `up()` listens on the same port again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def up(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def postgres_behind_proxy(postgres_url: str) -> Iterator[tuple[Database, TcpProxy]]:
    """A fresh schema on the test PostgreSQL, reached through a TcpProxy."""
    from sqlalchemy.engine import make_url

    url = make_url(normalize_url(postgres_url))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).up()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(normalize_url(postgres_url))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    database = Database(proxied, schema=schema)
    database.migrate()
    try:
        yield database, proxy
    finally:
        database.dispose()
        proxy.down()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
