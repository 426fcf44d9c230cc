"""Hostile input against the running system: the MIME torture corpus (tests/mime_corpus.py,
165 cases) and a PDF/image torture corpus (encrypted, truncated, recursive structures,
decompression bombs, absurd dimensions, XML entity bombs) sent through a real SMTP intake
and the app API while `fiduflow serve`'s feeder processes what they deliver — and
while ordinary invoices keep arriving.

- every hostile delivery is answered at once with a clear code: accepted (250 / 201) or
  refused (5xx / 4xx naming the reason) — never a dropped connection, never a 451 or 5xx
  that means "we broke";
- every document they produce reaches a final state — routed (with a task for a person
  when unreadable), or failed with a task — within a bound;
- the ordinary mail keeps getting its 250 quickly, and every ordinary invoice is booked;
- memory stays bounded: this process (intake and feeder) and its parse workers.
"""

import io
import os
import smtplib
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import select

from domain.settings import Settings
from flows.feeder import DocumentFeeder
from flows.runtime import Runtime, set_runtime
from ingest.api import create_app, run_http_in_thread
from ingest.smtp import start_smtp
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BookingRow, DocumentRow, TaskRow
from tests.factories import C01_ADDRESS, C02_ADDRESS, firm_with_passwords, invoice_pdf, load
from tests.intake_helpers import mail, wire
from tests.mime_corpus import CASES

pytestmark = [
    pytest.mark.prefect,
    pytest.mark.xdist_group("prefect"),
    pytest.mark.slow,
    pytest.mark.smtp,
    pytest.mark.timeout(900),
]

FINAL = ("routed", "failed", "rejected", "duplicate")
# Files the reader (extractors/, not ours to change) does not yet read in bounded memory:
# measured in tests/test_hostile_reader.py (xfail there, strict) and reported. They stay out
# of the system run, whose memory bound they would break for a reason already known.
# Cases the reader did not bound once (all fixed: pdfium now runs in the parse workers,
# and OCR takes a few rendered pages at a time); a new one would be listed here as xfail.
KNOWN_READER_MEMORY_BUGS: dict[str, str] = {}
FINAL_WITHIN_S = 240  # every document final this long after the last delivery
HANS = {"Authorization": "Bearer token-hans"}


# --- the PDF / image torture corpus ----------------------------------------------------


def _pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF from raw object bodies, with a correct xref table (so that readers take the
    structure seriously instead of falling back to repair)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, root, xref)
    )
    return out.getvalue()


def _deflate_zeros(size: int, byte: bytes = b"\x00", row: int = 0) -> bytes:
    """`size` bytes of one value, deflated in chunks (never all in memory here); with
    `row`, a PNG filter byte before every row of `row` bytes."""
    packer = zlib.compressobj(9)
    chunks = []
    if row:
        line = b"\x00" + byte * row
        block = line * max(1, (1 << 20) // len(line))
        rows_left = size // row
        per_block = len(block) // len(line)
        while rows_left > 0:
            take = min(per_block, rows_left)
            chunks.append(packer.compress(block[: take * len(line)]))
            rows_left -= take
    else:
        block = byte * (1 << 20)
        left = size
        while left > 0:
            chunks.append(packer.compress(block[: min(left, len(block))]))
            left -= len(block)
    chunks.append(packer.flush())
    return b"".join(chunks)


def _page(content: bytes, resources: bytes = b"<< >>") -> list[bytes]:
    stream = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources " + resources + b" >>",
        stream,
    ]


def _png_bomb(side: int) -> bytes:
    """A real, valid grey PNG of side × side pixels: a few hundred KB that decode to
    side² bytes."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = _deflate_zeros(side * side, b"\xff", row=side)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def _encrypted(data: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _blank_pages_pdf(pages: int) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for _ in range(pages):
        c.showPage()
    c.save()
    return out.getvalue()


def _multi_frame_tiff(frames: int) -> bytes:
    from PIL import Image

    images = [Image.new("L", (200, 100), 255) for _ in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "TIFF", save_all=True, append_images=images[1:])
    return out.getvalue()


def torture_files() -> dict[str, bytes]:
    invoice = invoice_pdf("C01", number=1, seed=404)[0]
    bomb_stream = _deflate_zeros(300 * 1024 * 1024, b" ")  # 300 MB of spaces, ~300 KB
    image_side = 20_000  # 400 MB of pixels behind ~400 KB
    image = _deflate_zeros(image_side * image_side, b"\xff")
    image_obj = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 "
        b"/ColorSpace /DeviceGray /Filter /FlateDecode /Length %d >>\nstream\n"
        % (image_side, image_side, len(image))
        + image
        + b"\nendstream"
    )
    huge_jpeg = bytes.fromhex(
        "ffd8ffe000104a46494600010100000100010000ffc0000b08ffd4ffd40101110000"
    )
    return {
        "encrypted.pdf": _encrypted(invoice, "user-secret"),
        "encrypted-empty-password.pdf": _encrypted(invoice, ""),
        "truncated.pdf": invoice[: len(invoice) // 2],
        "header-only.pdf": b"%PDF-1.7\n" + os.urandom(4096),
        "recursive-pages.pdf": _pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
            ]
        ),
        "recursive-outline.pdf": _pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R /Outlines 5 0 R >>",
                *_page(b"BT /F1 12 Tf 72 720 Td (Rechnung) Tj ET")[1:],
                b"<< /Type /Outlines /First 5 0 R /Last 5 0 R /Next 5 0 R /Count 1 >>",
            ]
        ),
        "self-referencing-object.pdf": _pdf(
            [b"<< /Type /Catalog /Pages 1 0 R /Kids [1 0 R] /Parent 1 0 R >>"]
        ),
        "content-stream-bomb.pdf": _pdf(
            [
                *_page(b"")[:3],
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb_stream)
                + bomb_stream
                + b"\nendstream",
            ]
        ),
        "image-bomb.pdf": _pdf(
            [
                *_page(
                    b"q 595 0 0 842 0 0 cm /Im1 Do Q",
                    resources=b"<< /XObject << /Im1 5 0 R >> >>",
                ),
                image_obj,
            ]
        ),
        "250-blank-pages.pdf": _blank_pages_pdf(250),
        "5000-pages.pdf": _blank_pages_pdf(5000),
        "png-bomb-20000px.png": _png_bomb(20_000),
        "png-bomb-9000px.png": _png_bomb(9_000),  # under the pixel limit: a real job
        "jpeg-65500px-truncated.jpg": huge_jpeg,
        "tiff-150-frames.tif": _multi_frame_tiff(150),
        "tiff-30-frames.tif": _multi_frame_tiff(30),
        "heic-garbage.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + os.urandom(2048),
        "pdf-in-jpeg.jpg": b"\xff\xd8\xff\xe0" + invoice,
        "xml-billion-laughs.xml": (
            b'<?xml version="1.0"?>\n<!DOCTYPE Invoice [\n<!ENTITY a "aaaaaaaaaa">\n'
            + b"".join(
                b'<!ENTITY %s "%s">\n' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10)
                for i in range(9)
            )
            + b']>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
            b"<ID>&j;</ID></Invoice>\n"
        ),
        "xml-external-entity.xml": (
            b'<?xml version="1.0"?>\n<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
            b"<ID>&x;</ID></Invoice>\n"
        ),
        "empty.pdf": b"",
    }


# --- the rig -----------------------------------------------------------------------------


@dataclass
class Sent:
    name: str
    channel: str
    reply: str = ""
    acked_at: float | None = None
    latency: float | None = None


@dataclass
class Rig:
    db: Database
    smtp_port: int
    base: str
    runtime: Runtime
    memory: dict[str, float] = field(default_factory=dict)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


@pytest.fixture
def rig(
    prefect_harness,
    settings: Settings,
    sqlite_db: Database,
    fs_store: FilesystemObjectStore,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Rig]:
    load(sqlite_db, firm_with_passwords())
    settings = settings.model_copy(
        update={"smtp_port": 0, "http_port": 0, "parse_timeout_s": 10.0, "ocr_page_timeout_s": 20.0}
    )
    runtime = Runtime(settings=settings, db=sqlite_db, store=fs_store)
    set_runtime(runtime)
    # `fiduflow serve`'s feeder under load: every due document to its batch.
    worker = DocumentFeeder(max_runs=0, poll_s=0.3).start()
    smtp = start_smtp(sqlite_db, fs_store, settings, worker.wake)
    ready = threading.Event()
    http = run_http_in_thread(
        create_app(sqlite_db, fs_store, settings, worker.wake), settings, ready
    )
    assert ready.wait(30)
    memory: dict[str, float] = {"baseline": _rss_mb(os.getpid())}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            memory["peak"] = max(memory.get("peak", 0.0), _rss_mb(os.getpid()))
            for child in _children(os.getpid()):
                memory["child_peak"] = max(memory.get("child_peak", 0.0), _rss_mb(child))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield Rig(sqlite_db, smtp.port, f"http://127.0.0.1:{http.port}", runtime, memory)
    finally:
        stop.set()
        http.stop()
        smtp.stop()
        worker.stop()
        set_runtime(None)


def _smtp(port: int, to: str, raw: bytes) -> str:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            refused = client.sendmail("sender@hostile.example", [to], raw)
            return "250" if not refused else f"refused {refused}"
    except smtplib.SMTPResponseException as exc:
        return f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')[:80]}"
    except smtplib.SMTPRecipientsRefused as exc:
        return f"rcpt {exc.recipients}"
    except (OSError, smtplib.SMTPException) as exc:
        return f"connection: {exc.__class__.__name__}: {exc}"


def test_hostile_corpora_through_the_running_system_while_mail_keeps_flowing(rig: Rig):
    files = {k: v for k, v in torture_files().items() if k not in KNOWN_READER_MEMORY_BUGS}
    ordinary: list[Sent] = []
    stop = threading.Event()

    def ordinary_mail() -> None:
        n = 0
        while not stop.is_set():
            data = invoice_pdf("C02", number=n, seed=808)[0]
            raw = wire(mail(to=C02_ADDRESS, attachments=[(f"ok-{n}.pdf", data, "application/pdf")]))
            sent = Sent(f"ok-{n}", "smtp")
            started = time.monotonic()
            sent.reply = _smtp(rig.smtp_port, C02_ADDRESS, raw)
            sent.latency = time.monotonic() - started
            sent.acked_at = time.monotonic()
            ordinary.append(sent)
            n += 1
            stop.wait(0.7)

    flowing = threading.Thread(target=ordinary_mail, daemon=True)
    flowing.start()
    hostile: list[Sent] = []
    try:
        for case in CASES:
            sent = Sent(f"mime:{case.name}", "smtp")
            sent.reply = _smtp(rig.smtp_port, C01_ADDRESS, case.build())
            sent.acked_at = time.monotonic()
            hostile.append(sent)
        with httpx.Client(base_url=rig.base, timeout=120) as http:
            for name, data in files.items():
                raw = wire(
                    mail(to=C01_ADDRESS, attachments=[(name, data, "application/octet-stream")])
                )
                sent = Sent(f"mail:{name}", "smtp", reply=_smtp(rig.smtp_port, C01_ADDRESS, raw))
                sent.acked_at = time.monotonic()
                hostile.append(sent)
                response = http.post(
                    "/api/v1/documents",
                    headers=HANS,
                    files={"file": (name, data + b"\n%api", "application/octet-stream")},
                )
                hostile.append(
                    Sent(
                        f"api:{name}",
                        "api",
                        f"{response.status_code} {response.text[:80]}",
                        time.monotonic(),
                    )
                )
    finally:
        # Ten ordinary mails at least, however quickly the hostile ones went in: those are
        # still being read meanwhile. (Counting only what fits into the hostile delivery
        # made the check depend on how fast the machine and the feeder were.)
        enough = time.monotonic() + 30
        while len(ordinary) < 10 and flowing.is_alive() and time.monotonic() < enough:
            time.sleep(0.1)
        stop.set()
        flowing.join(60)
    last_delivery = time.monotonic()

    # Answers: immediate and clear.
    codes = Counter(s.reply.split(" ")[0] for s in hostile)
    broken = [s for s in hostile if not s.reply[:3].isdigit() or s.reply.startswith(("451", "5 "))]
    assert not broken, broken[:5]
    assert set(codes) <= {"250", "201", "400", "413", "415", "552", "554"}, codes
    assert codes["250"] >= len(CASES) // 2 and codes["201"] >= 5, codes

    # Ordinary mail kept flowing, promptly.
    assert len(ordinary) >= 10, len(ordinary)
    assert {s.reply for s in ordinary} == {"250"}, Counter(s.reply for s in ordinary)
    slowest = max(s.latency or 0 for s in ordinary)
    assert slowest < 10, slowest

    # Everything final within the bound.
    deadline = last_delivery + FINAL_WITHIN_S
    while True:
        with rig.db.session() as session:
            pending = session.scalars(
                select(DocumentRow).where(DocumentRow.state.not_in(FINAL))
            ).all()
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not pending, [(r.id, r.filename, r.state, r.attempts, r.error) for r in pending][:10]

    with rig.db.session() as session:
        rows = session.scalars(select(DocumentRow)).all()
        tasks = session.execute(select(TaskRow.document_id, TaskRow.kind)).all()
        bookings = Counter(session.scalars(select(BookingRow.document_id)))
    by_id = {r.id: r for r in rows}
    task_kinds: dict[int, set[str]] = {}
    for document_id, kind in tasks:
        task_kinds.setdefault(document_id, set()).add(kind)
    # A document nobody could read is a task for a person, never a silent "routed".
    for row in rows:
        if row.client_id != "C01" or row.state == "duplicate":
            continue
        assert row.state in ("routed", "failed"), (row.filename, row.state)
        assert bookings.get(row.id) or task_kinds.get(row.id), (row.filename, row.state)
    # Every ordinary invoice was booked, once.
    ordinary_rows = [r for r in rows if r.client_id == "C02"]
    assert len(ordinary_rows) == len(ordinary)
    assert all(r.state == "routed" and bookings.get(r.id) == 1 for r in ordinary_rows), [
        (r.filename, r.state, r.error) for r in ordinary_rows if bookings.get(r.id) != 1
    ]
    # Memory: this process (intake + feeder) and each child stayed bounded.
    assert rig.memory.get("peak", 0) - rig.memory["baseline"] < 1500, rig.memory
    assert rig.memory.get("child_peak", 0) < 3200, rig.memory  # parse workers are capped at 3 GiB
    print(  # the figures for the report (pytest -s)
        f"hostile: {len(hostile)} deliveries {dict(codes)}; {len(rows)} documents "
        f"{dict(Counter(r.state for r in rows))}; ordinary {len(ordinary)} mails, slowest 250 "
        f"{slowest:.2f} s; memory {rig.memory}; failed "
        f"{[by_id[i].filename for i in by_id if by_id[i].state == 'failed']}"
    )
